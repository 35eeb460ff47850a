/**
 * How a PartyCluster starts a party: in a worker thread (`threadLauncher`, light, shares the
 * process's heap limit) or in a child process (`processLauncher`, its own heap, V8 flags and
 * environment, its own RSS). Both give the cluster the same PartyEndpoint: post a message, listen to
 * messages and to the party's end, stop it politely ({ type: 'close' }, then by force), kill it.
 * Both run compiled code (`compiledEntry`), also when the orchestrator runs under ts-jest.
 */
import { fork, type ForkOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

export interface PartyEndpoint {
  send(message: unknown): void;
  /** Subscribe to the party's messages; returns the unsubscribe. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Subscribe to the party's end (exit or crash); `reason` names the exit code. Returns the unsubscribe. */
  onExit(listener: (reason: string) => void): () => void;
  /** Send { type: 'close' }, wait for the exit, force it after a grace period. */
  stop(): Promise<void>;
  /** End it now (failed start-up). */
  kill(): void;
}

export type PartyLauncher = () => PartyEndpoint;

/** The compiled file `dist/<relPath>` of this package (beside this file once built). */
export function compiledEntry(relPath: string): string {
  const p = resolve(__dirname, '../../dist', relPath);
  if (!existsSync(p)) throw new Error(`${basename(relPath)} not found: run \`npm run build\` first`);
  return p;
}

/** Parties in worker threads; `stop` terminates a thread that has not exited 2 s after close. */
export function threadLauncher(entry: string): PartyLauncher {
  return () => {
    const w = new Worker(entry);
    let exited: string | undefined;
    let crash: Error | undefined;
    w.on('error', (e) => (crash = e));
    w.once('exit', (code) => (exited = crash ? `code ${code}: ${crash.name}: ${crash.message}` : `code ${code}`));
    return {
      send: (m) => w.postMessage(m),
      onMessage: (f) => (w.on('message', f), () => void w.off('message', f)),
      onExit(f) {
        const on = () => f(exited!);
        if (exited !== undefined) queueMicrotask(on);
        else w.once('exit', on);
        return () => void w.off('exit', on);
      },
      stop: () => new Promise<void>((done) => {
        if (exited !== undefined) return done();
        const force = setTimeout(() => void w.terminate(), 2000);
        w.once('exit', () => { clearTimeout(force); done(); });
        w.postMessage({ type: 'close' });
      }),
      kill: () => void w.terminate(),
    };
  };
}

/**
 * Parties in child processes (child_process.fork with `options`; use `serialization: 'advanced'` for
 * typed arrays and bigints); `stop` SIGKILLs a process that has not exited 5 s after close, and
 * SIGTERMs one whose IPC channel is already gone.
 */
export function processLauncher(entry: string, options: ForkOptions): PartyLauncher {
  return () => {
    const p = fork(entry, [], options);
    const reason = (code: number | null, signal: NodeJS.Signals | null) => `code ${code}, signal ${signal}`;
    return {
      send: (m) => void p.send(m as Parameters<typeof p.send>[0]),
      onMessage: (f) => (p.on('message', f), () => void p.off('message', f)),
      onExit(f) {
        const on = (code: number | null, signal: NodeJS.Signals | null) => f(reason(code, signal));
        if (p.exitCode !== null || p.signalCode !== null) queueMicrotask(() => on(p.exitCode, p.signalCode));
        else p.once('exit', on);
        return () => void p.off('exit', on);
      },
      stop: () => new Promise<void>((done) => {
        if (p.exitCode !== null || p.signalCode !== null) return done();
        const force = setTimeout(() => p.kill('SIGKILL'), 5000);
        p.once('exit', () => { clearTimeout(force); done(); });
        if (p.connected) p.send({ type: 'close' });
        else p.kill('SIGTERM');
      }),
      kill: () => void p.kill('SIGKILL'),
    };
  };
}

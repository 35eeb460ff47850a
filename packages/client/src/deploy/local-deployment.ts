/**
 * LocalDeployment — the dealer, P0 and P1 as three child processes on this machine (`mpcache
 * serve` on loopback, free ports), the way docker-compose.yml runs them as three containers. Each
 * gets a fresh secret key through its environment and the others' public keys as pins. P0 and P1
 * compute in parallel (one process each), so this is also the fastest local setup.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPair } from '@mpcache/mpc-core';
import { toHex } from '@mpcache/party-server';
import { withMallocTunables } from '../runtime/malloc-tunables';

export interface LocalDeploymentOptions {
  /** The model the parties serve (each loads its share at start). */
  readonly model: string;
  readonly fracBits?: number;
  /** Each party's model share file (`mpcache share-model`); default: the stand-in owner's shares. */
  readonly shares?: { readonly p0: string; readonly p1: string };
  readonly net?: 'none' | 'lan' | 'wan';
  /** Show the servers' log lines on stderr (default: keep them for error reports only). */
  readonly verbose?: boolean;
  /** PEM files: all three serve wss:// with cert and key, and the parties trust ca when dialing. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /** Time for all three to listen (loading stories15M's shares takes a few seconds). */
  readonly startTimeoutMs?: number;
}

interface Listening {
  readonly type: 'listening';
  readonly url: string;
  readonly publicKey: string;
}

/** The compiled CLI (forked children run compiled code, also when this file runs under ts-jest). */
export function cliPath(): string {
  for (const p of [join(__dirname, '..', 'cli.js'), resolve(__dirname, '../../dist/cli.js')]) if (existsSync(p)) return p;
  throw new Error('packages/client/dist/cli.js not found: run `npm run build` first');
}

export class LocalDeployment {
  private constructor(
    private readonly children: readonly ChildProcess[],
    readonly dealerUrl: string,
    readonly p0Url: string,
    readonly p1Url: string,
    /** The parties' public keys (hex), for the client to pin. */
    readonly p0PublicKey: string,
    readonly p1PublicKey: string,
  ) {}

  static async start(opts: LocalDeploymentOptions): Promise<LocalDeployment> {
    const keys = { p0: generateKeyPair(), p1: generateKeyPair(), dealer: generateKeyPair() };
    const pub = (k: keyof typeof keys) => toHex(keys[k].publicKey);
    const children: ChildProcess[] = [];
    const common = [
      '--host', '127.0.0.1', '--port', '0', '--model', opts.model, '--net', opts.net ?? 'none', ...(opts.fracBits ? ['--frac-bits', String(opts.fracBits)] : []),
      ...(opts.tls ? ['--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key] : []),
    ];
    const ca = opts.tls ? ['--tls-ca', opts.tls.ca] : [];
    const spawn = (role: keyof typeof keys, args: string[]) => {
      const child = fork(cliPath(), ['serve', '--role', role, ...common, ...args], {
        env: withMallocTunables({ ...process.env, MPCACHE_SECRET_KEY: toHex(keys[role].secretKey) }),
        stdio: ['ignore', 'ignore', opts.verbose ? 'inherit' : 'pipe', 'ipc'],
      });
      children.push(child);
      return listening(child, role, opts.startTimeoutMs ?? 120_000);
    };
    try {
      const dealer = await spawn('dealer', ['--p0-public-key', pub('p0'), '--p1-public-key', pub('p1')]);
      const shares = (role: 'p0' | 'p1') => (opts.shares ? ['--shares', opts.shares[role]] : []);
      const p0 = await spawn('p0', ['--dealer', dealer.url, '--peer-public-key', pub('p1'), '--dealer-public-key', pub('dealer'), ...ca, ...shares('p0')]);
      const p1 = await spawn('p1', ['--dealer', dealer.url, '--peer', p0.url, '--peer-public-key', pub('p0'), '--dealer-public-key', pub('dealer'), ...ca, ...shares('p1')]);
      return new LocalDeployment(children, dealer.url, p0.url, p1.url, pub('p0'), pub('p1'));
    } catch (e) {
      await stopAll(children);
      throw e;
    }
  }

  /** Send `signal` to one server; resolves with its exit code once it has exited. */
  signal(role: 'dealer' | 'p0' | 'p1', signal: NodeJS.Signals): Promise<number | null> {
    const c = this.children[['dealer', 'p0', 'p1'].indexOf(role)];
    const exited = new Promise<number | null>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve(c.exitCode);
      else c.once('exit', (code) => resolve(code));
    });
    c.kill(signal);
    return exited;
  }

  /** SIGTERM every server and wait for them to exit (SIGKILL after 3 s). */
  close(): Promise<void> {
    return stopAll(this.children);
  }
}

/** The child's 'listening' report; rejects with its last stderr lines if it exits first. */
function listening(child: ChildProcess, role: string, timeoutMs: number): Promise<Listening> {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role} did not start listening within ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (m: Listening) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with code ${code} before listening${tail ? `:\n${tail.trim()}` : ''}`));
    });
  });
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

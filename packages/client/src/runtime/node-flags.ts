/**
 * The V8 flags every MPCache process runs with (the `mpcache` command relaunches itself with them;
 * bench parties and the Docker image pass them directly).
 *
 * Why: secure inference allocates and frees hundreds of MB of ring words per token in every process
 * (dealer material, openings, temporaries). V8 answers each 64 MB of new ArrayBuffer memory with
 * an incremental marking cycle on the JS heap, and runs its marking on helper threads — on a 2-core
 * machine shared by P0, P1 and the dealer those threads take cores from the protocol. Atomic
 * (non-incremental), single-threaded GC of the small JS heap (≈ 10–50 MB) is cheaper per cycle and
 * steals no core. Measured, gpt2-small MPCache at 4096 (2 cores, Node 20.20, 2026-11):
 * 4.95 → 3.56 s per token; GC ≈ 2.8 → ≈ 0.9 s per process over the same window.
 *
 * The relaunch also sets the allocator's settings (malloc-tunables.ts), which glibc reads only at
 * process start. MPCACHE_NODE_FLAGS=off keeps Node's and glibc's defaults (no relaunch).
 */
import { spawn } from 'node:child_process';
import { hasMallocTunables, withMallocTunables } from './malloc-tunables';

export const RUNTIME_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--no-incremental-marking'];

/** Whether this process runs with every runtime flag and the allocator's settings (or the user turned them off). */
export function hasRuntimeFlags(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): boolean {
  return env.MPCACHE_NODE_FLAGS === 'off' || (RUNTIME_NODE_FLAGS.every((f) => execArgv.includes(f)) && hasMallocTunables(env));
}

/**
 * Run `script` again in a child Node with the runtime flags, the same arguments and stdio, and the
 * environment plus the allocator's settings; forward SIGINT/SIGTERM/SIGHUP to it and exit as it exits. Returns false (and does
 * nothing) when this process already has the flags and the settings.
 */
export function relaunchWithRuntimeFlags(script: string): boolean {
  if (hasRuntimeFlags()) return false;
  const flags = RUNTIME_NODE_FLAGS.filter((f) => !process.execArgv.includes(f));
  const child = spawn(process.execPath, [...flags, ...process.execArgv, script, ...process.argv.slice(2)], { stdio: 'inherit', env: withMallocTunables() });
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (s: NodeJS.Signals) => () => child.kill(s);
  for (const s of signals) process.on(s, forward(s));
  child.on('error', (e) => {
    process.stderr.write(`mpcache: could not start node with ${RUNTIME_NODE_FLAGS.join(' ')}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      for (const s of signals) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
  return true;
}

/**
 * Ctrl-C of a client command: cancel the session on both parties (they count it canceled; a client
 * that just vanished fails it) and exit 130. A terminal's Ctrl-C may arrive twice (the bin's relaunch
 * forwards it to this process as well): the second is ignored. readline at a terminal takes Ctrl-C
 * itself (raw mode: no signal), so a chat passes its interface as another source.
 */
import type { Interface } from 'node:readline';

/** The user interrupted the command (SIGINT); the CLI exits 130 instead of 1. */
export class InterruptedError extends Error {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

export interface InterruptWatch {
  readonly interrupted: boolean;
  /** Stop listening (always, in a finally). */
  dispose(): void;
}

/** On the first Ctrl-C: `session.cancel()`, then `then()` (e.g. stop reading input). */
export function cancelOnInterrupt(session: { cancel(): void }, opts: { readline?: Interface; then?: () => void } = {}): InterruptWatch {
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    session.cancel();
    opts.then?.();
  };
  process.on('SIGINT', interrupt);
  opts.readline?.on('SIGINT', interrupt);
  return {
    get interrupted() {
      return interrupted;
    },
    dispose() {
      process.off('SIGINT', interrupt);
      opts.readline?.off('SIGINT', interrupt);
    },
  };
}

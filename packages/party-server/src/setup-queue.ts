/**
 * SetupQueue — how many sessions set up at once. A session's setup (the job's start: masking its
 * share of the weights, ≈ 1.6 s of CPU per party for stories15M) holds the event loop in long
 * stretches; sixteen at once starved the handshakes of other sessions past their timeouts (links
 * from P1 that never arrived in time, dials that failed). P0 takes a slot before it answers P1's
 * hello and gives it back when its setup ends; P1 sets a session up only once P0's hello arrives, so
 * P1's setups follow P0's admissions in P0's order, with no cross-wait: at most `slots` at once on
 * P0, and on P1 at most twice that (a P1 setup may still be in its last local steps when P0, done
 * with its own, admits the next; the real setup is interactive, so the two end together).
 * FIFO; a waiter that gets no slot within its time limit fails with LimitError
 * MPC_ERR_TOO_MANY_SESSIONS and leaves the queue.
 */
import { LimitError } from '@mpcache/mpc-core';

interface Waiter {
  readonly grant: () => void;
}

export class SetupQueue {
  private free: number;
  private readonly waiters: Waiter[] = [];

  constructor(readonly slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`setup slots expected an integer ≥ 1, got ${slots}`);
    this.free = slots;
  }

  /** Sessions waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Wait for a slot (FIFO) for at most `timeoutMs`; resolves to its release function (idempotent). */
  acquire(timeoutMs: number, what: string): Promise<() => void> {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.free++;
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: () => { clearTimeout(timer); resolve(release); } };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new LimitError(`${what}: no setup slot within ${timeoutMs} ms (${this.slots} sessions set up at once, ${this.waiters.length} more waiting)`, 'MPC_ERR_TOO_MANY_SESSIONS'));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

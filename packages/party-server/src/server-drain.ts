/**
 * ServerDrain — a server's graceful stop: once `begin` is called the server takes no new session
 * (it answers LimitError MPC_ERR_TOO_MANY_SESSIONS, and `/healthz` says 503 so a balancer stops
 * routing to it) while the sessions already running go on; `begin` resolves once the last one has
 * ended, or after the timeout. The server then closes as before (failing whatever is left).
 */
import { LimitError } from '@mpcache/mpc-core';

export class ServerDrain {
  private started = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly name: string,
    private readonly sessionCount: () => number,
  ) {}

  get draining(): boolean {
    return this.started;
  }

  /** Throws if draining: the check at every new session. */
  refuseIfDraining(): void {
    if (this.started) throw new LimitError(`${this.name} is shutting down and takes no new session`, 'MPC_ERR_TOO_MANY_SESSIONS');
  }

  /** Stop taking sessions; true when every session ended within timeoutMs, false if some are left. */
  begin(timeoutMs: number): Promise<boolean> {
    this.started = true;
    if (this.sessionCount() === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /** Call after a session ended. */
  sessionEnded(): void {
    if (this.sessionCount() === 0) for (const wake of [...this.waiters]) wake();
  }
}

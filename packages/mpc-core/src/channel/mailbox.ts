/**
 * The receiving half shared by every Channel implementation: an ordered inbox of tagged messages,
 * waiters, tag checking, close propagation and receive timeouts. Transports only call `deliver`
 * and `fail`.
 */
import { ChannelClosedError, ProtocolError, TimeoutError } from '../errors';
import type { Ledger } from '../ledger/ledger';

interface Message {
  tag: number;
  payload: Uint8Array;
}

interface Waiter {
  tag: number;
  resolve: (p: Uint8Array) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

export class Mailbox {
  private readonly inbox: Message[] = [];
  private readonly waiters: Waiter[] = [];
  private error: Error | undefined;

  constructor(
    private readonly ledger?: Ledger,
    private readonly recvTimeoutMs?: number,
  ) {}

  get failed(): boolean {
    return this.error !== undefined;
  }

  deliver(tag: number, payload: Uint8Array): void {
    if (this.error) return;
    const w = this.waiters.shift();
    if (w) this.settle(w, { tag, payload });
    else this.inbox.push({ tag, payload });
  }

  recv(tag: number): Promise<Uint8Array> {
    const ledger = this.ledger;
    if (!ledger) return this.take(tag);
    // Count the bytes in the receiver's async context (a `.then` registered here runs in it), so they
    // land in the receiver's ledger scope however the message arrived: from the peer's call stack
    // (memory), a socket event (WebSocket), or the inbox.
    return this.take(tag).then((p) => {
      ledger.recordReceive(p.byteLength);
      return p;
    });
  }

  private take(tag: number): Promise<Uint8Array> {
    const m = this.inbox.shift();
    if (m) {
      return new Promise((resolve, reject) => this.settle({ tag, resolve, reject }, m));
    }
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const w: Waiter = { tag, resolve, reject };
      if (this.recvTimeoutMs !== undefined) {
        w.timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new TimeoutError(`no message with tag ${tag} within ${this.recvTimeoutMs} ms`));
        }, this.recvTimeoutMs);
      }
      this.waiters.push(w);
    });
  }

  /** Fail every pending and future receive (close or transport error). */
  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.inbox.length = 0;
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
  }

  private settle(w: Waiter, m: Message): void {
    if (w.timer) clearTimeout(w.timer);
    if (m.tag !== w.tag) {
      const e = new ProtocolError(`expected message tag ${w.tag}, got ${m.tag}`, 'MPC_ERR_BAD_TAG');
      w.reject(e);
      this.fail(e);
      return;
    }
    w.resolve(m.payload);
  }
}

export function closedError(reason?: string): ChannelClosedError {
  return new ChannelClosedError(reason ? `channel closed: ${reason}` : 'channel closed');
}

/**
 * The receiving half shared by every Channel implementation: an ordered inbox of tagged messages,
 * waiters, tag checking, close propagation and receive timeouts. Transports only call `deliver`
 * and `fail`.
 *
 * Out-of-band tags (`divert`): a message carrying a diverted tag skips the inbox and goes to its
 * handler as it arrives, whatever the receiver is waiting for — a link's control message (a party's
 * end-of-session notice) must not break the protocol's message order, which a session still reading
 * protocol messages would otherwise see as MPC_ERR_BAD_TAG. It is counted in the ledger like any
 * received message. Arrival order still holds: a notice sent before a close is handled before the
 * close fails the mailbox, and nothing is handed over after that.
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
  private readonly diverted = new Map<number, (payload: Uint8Array) => void>();
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
    const handler = this.diverted.get(tag);
    if (handler) {
      this.handOver(handler, payload);
      return;
    }
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

  /**
   * From now on, messages carrying `tag` go to `handler` on arrival instead of the inbox; one already
   * queued is handed over at once (it arrived after everything received so far), and the error of a
   * handler that throws then goes to the caller. On arrival, such an error goes to the transport,
   * which fails the channel as it does on a bad frame.
   */
  divert(tag: number, handler: (payload: Uint8Array) => void): void {
    this.diverted.set(tag, handler);
    for (let i = 0; i < this.inbox.length; ) {
      if (this.inbox[i].tag === tag) this.handOver(handler, this.inbox.splice(i, 1)[0].payload);
      else i++;
    }
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

  private handOver(handler: (payload: Uint8Array) => void, payload: Uint8Array): void {
    this.ledger?.recordReceive(payload.byteLength);
    handler(payload);
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

/**
 * What MemoryChannel and WsChannel share: receives come through a Mailbox, sends go out through an
 * Outbox, and once the channel closes (locally, by the peer, or on a frame that breaks a limit) every
 * pending and later receive fails with the reason and a send throws ChannelClosedError.
 */
import type { Channel } from './channel';
import { closedError, type Mailbox } from './mailbox';

export abstract class MailboxChannel implements Channel {
  protected abstract readonly mailbox: Mailbox;
  protected abstract readonly outbox: { send(tag: number, payload: Uint8Array): void };
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  send(tag: number, payload: Uint8Array): void {
    if (this.isClosed) throw closedError('send after close');
    this.outbox.send(tag, payload);
  }

  /** Plain sends by default; a socket transport batches them (ws-channel.ts). */
  sendTogether<T>(fn: () => T): T {
    return fn();
  }

  recv(tag: number): Promise<Uint8Array> {
    return this.mailbox.recv(tag);
  }

  /**
   * Out-of-band messages: those carrying `tag` go to `handler` as they arrive (already queued ones
   * at once) instead of to `recv`, so they never break the protocol's message order (mailbox.ts).
   */
  divert(tag: number, handler: (payload: Uint8Array) => void): void {
    this.mailbox.divert(tag, handler);
  }

  close(reason?: string): void {
    if (this.isClosed) return;
    this.fail(closedError(reason ?? 'closed locally'));
    this.closeTransport(reason);
  }

  /** Mark the channel closed and fail every pending and later receive with `e` (the first reason wins). */
  protected fail(e: Error): void {
    this.isClosed = true;
    this.mailbox.fail(e);
  }

  /** After a local close: let the peer know (once the queued sends are out, where they queue). */
  protected abstract closeTransport(reason: string | undefined): void;
}

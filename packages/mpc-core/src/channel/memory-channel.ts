/**
 * In-memory Channel pair for tests and single-process runs. Messages are copied on send, so a
 * sender may reuse its buffers (as over a socket).
 */
import { closedError, Mailbox } from './mailbox';
import { LinkEmulator } from './link-emulator';
import type { Channel, ChannelOptions } from './channel';

export class MemoryChannel implements Channel {
  private peer!: MemoryChannel;
  private readonly mailbox: Mailbox;
  private readonly link?: LinkEmulator;
  private isClosed = false;

  private constructor(private readonly opts: ChannelOptions) {
    this.mailbox = new Mailbox(opts.ledger, opts.recvTimeoutMs);
    if (opts.link) this.link = new LinkEmulator(opts.link);
  }

  /** Two connected endpoints; options apply to each side's own sends/receives. */
  static pair(a: ChannelOptions = {}, b: ChannelOptions = {}): [MemoryChannel, MemoryChannel] {
    const x = new MemoryChannel(a);
    const y = new MemoryChannel(b);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(tag: number, payload: Uint8Array): void {
    if (this.isClosed) throw closedError('send after close');
    const copy = Uint8Array.from(payload);
    this.opts.ledger?.recordSend(copy.byteLength);
    const peer = this.peer;
    if (this.link) this.link.schedule(copy.byteLength, () => peer.mailbox.deliver(tag, copy));
    else peer.mailbox.deliver(tag, copy);
  }

  recv(tag: number): Promise<Uint8Array> {
    return this.mailbox.recv(tag);
  }

  close(reason?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.mailbox.fail(closedError(reason ?? 'closed locally'));
    this.peer.closeFromPeer(reason);
  }

  private closeFromPeer(reason?: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.mailbox.fail(closedError(reason ?? 'closed by peer'));
  }
}

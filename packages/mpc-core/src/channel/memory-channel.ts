/**
 * In-memory Channel pair for tests and single-process runs. Messages are copied on send, so a
 * sender may reuse its buffers (as over a socket).
 *
 * Frames and limits are those of WsChannel without the byte encoding: the shared Outbox cuts a
 * message longer than maxFrameBytes into frames (header objects with their copied chunk), the
 * receiver checks each against its own maxFrameBytes and reassembles them (MessageAssembler). A
 * frame that breaks a limit fails the receiver with that error and closes the pair.
 */
import { MAX_FRAME_BYTES } from '../limits';
import type { ChannelOptions } from './channel';
import { assertFrameBytes, type FrameHeader } from './frame';
import { closedError, Mailbox } from './mailbox';
import { MailboxChannel } from './mailbox-channel';
import { MessageAssembler } from './message-assembler';
import { Outbox } from './outbox';

interface MemoryFrame {
  readonly header: FrameHeader;
  /** A copy owned by the frame. */
  readonly body: Uint8Array;
}

export class MemoryChannel extends MailboxChannel {
  private peer!: MemoryChannel;
  protected readonly mailbox: Mailbox;
  protected readonly outbox: Outbox<MemoryFrame>;
  private readonly assembler: MessageAssembler;
  private readonly maxFrameBytes: number;

  private constructor(opts: ChannelOptions) {
    super();
    this.mailbox = new Mailbox(opts.ledger, opts.recvTimeoutMs);
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.assembler = new MessageAssembler(opts.maxRecvMessageBytes ?? opts.maxMessageBytes);
    this.outbox = new Outbox<MemoryFrame>(
      opts,
      (tag, chunk, part) => ({ header: { tag, payloadBytes: chunk.byteLength, ...part }, body: Uint8Array.from(chunk) }),
      (frame) => this.peer.receive(frame),
    );
  }

  /** Two connected endpoints; options apply to each side's own sends/receives. */
  static pair(a: ChannelOptions = {}, b: ChannelOptions = {}): [MemoryChannel, MemoryChannel] {
    const x = new MemoryChannel(a);
    const y = new MemoryChannel(b);
    x.peer = y;
    y.peer = x;
    return [x, y];
  }

  protected closeTransport(reason: string | undefined): void {
    this.peer.closeFromPeer(reason);
  }

  private receive(frame: MemoryFrame): void {
    if (this.closed) return;
    try {
      assertFrameBytes(frame.header.payloadBytes, this.maxFrameBytes);
      const m = this.assembler.push(frame.header, frame.body, true);
      if (m) this.mailbox.deliver(m.tag, m.payload);
    } catch (e) {
      // The peer broke this end's limits: fail here with the reason, the peer sees the close.
      this.fail(e as Error);
      this.peer.closeFromPeer((e as { code?: string }).code ?? (e as Error).name);
    }
  }

  private closeFromPeer(reason?: string): void {
    this.fail(closedError(reason ?? 'closed by peer'));
  }
}

/**
 * The receiving half of fragmentation (frame.ts): turns the frames of one link back into messages,
 * one at a time, and checks the sequence. A transport feeds every frame to `push` in arrival order
 * and hands each completed message to its Mailbox, so a fragmented message is delivered — and
 * counted by the ledger — exactly once, as the one message its sender sent.
 *
 * Failure mapping (the transport then fails the link as for any bad frame):
 *
 *   declared message length > maxMessageBytes ........ LimitError MPC_ERR_MESSAGE_TOO_LARGE
 *   a new message begins before the last one ended ... ProtocolError MPC_ERR_BAD_FRAGMENT (truncated)
 *   continuation frame with no message in progress ... ProtocolError MPC_ERR_BAD_FRAGMENT
 *   continuation of another tag or message length ..... ProtocolError MPC_ERR_BAD_FRAGMENT (interleaved)
 *   empty frame inside a fragmented message ........... ProtocolError MPC_ERR_BAD_FRAGMENT
 *   frames carry more than the declared length ........ ProtocolError MPC_ERR_BAD_LENGTH
 *
 * Memory: the message buffer is allocated once, at its declared length, on the first frame (after
 * the limit check), and each frame is copied into it — a fragmented message costs no more copies
 * than a whole one, and a peer can make us hold at most maxMessageBytes per link.
 */
import { LimitError, ProtocolError } from '../errors';
import { MAX_MESSAGE_BYTES } from '../limits';
import type { FrameHeader } from './frame';

export interface AssembledMessage {
  readonly tag: number;
  /** Owns its buffer (byteOffset 0). */
  readonly payload: Uint8Array;
}

export class MessageAssembler {
  private tag = 0;
  private buffer: Uint8Array | undefined;
  private received = 0;

  constructor(private readonly maxMessageBytes = MAX_MESSAGE_BYTES) {}

  /**
   * Take the next frame of the link; returns the message it completes, if any. `body` is the
   * frame's payload; `owned` says it is a fresh buffer that may become the message as it is (else
   * a message of one frame is copied, as the transport's buffer may be pooled or unaligned).
   */
  push(h: FrameHeader, body: Uint8Array, owned: boolean): AssembledMessage | undefined {
    const pending = this.buffer;
    if (!h.continues) {
      if (pending) {
        throw bad(`message with tag ${this.tag} truncated at ${this.received} of ${pending.byteLength} bytes: a message with tag ${h.tag} began`);
      }
      if (h.messageBytes > this.maxMessageBytes) {
        throw new LimitError(
          `message with tag ${h.tag} declares ${h.messageBytes} bytes, maxMessageBytes is ${this.maxMessageBytes}`,
          'MPC_ERR_MESSAGE_TOO_LARGE',
        );
      }
      if (h.payloadBytes === h.messageBytes) return { tag: h.tag, payload: owned ? body : new Uint8Array(body) }; // one memcpy, aligned (Buffer#slice would be a view)
      if (h.payloadBytes === 0) throw bad(`empty first frame of a ${h.messageBytes}-byte message with tag ${h.tag}`);
      this.tag = h.tag;
      this.buffer = new Uint8Array(h.messageBytes);
      this.buffer.set(body);
      this.received = h.payloadBytes;
      return undefined;
    }
    if (!pending) throw bad(`continuation frame with tag ${h.tag} and no message in progress`);
    if (h.tag !== this.tag || h.messageBytes !== pending.byteLength) {
      throw bad(
        `frame of a ${h.messageBytes}-byte message with tag ${h.tag} inside the ${pending.byteLength}-byte message with tag ${this.tag}`,
      );
    }
    if (h.payloadBytes === 0) throw bad(`empty continuation frame in the message with tag ${this.tag}`);
    if (this.received + h.payloadBytes > pending.byteLength) {
      throw new ProtocolError(
        `frames of the message with tag ${this.tag} carry ${this.received + h.payloadBytes} bytes, it declares ${pending.byteLength}`,
        'MPC_ERR_BAD_LENGTH',
      );
    }
    pending.set(body, this.received);
    this.received += h.payloadBytes;
    if (this.received < pending.byteLength) return undefined;
    this.buffer = undefined;
    return { tag: this.tag, payload: pending };
  }

  /** The message cut off so far, for a close reason ("" when none is). */
  describePartial(): string {
    const b = this.buffer;
    return b ? `message with tag ${this.tag} truncated at ${this.received} of ${b.byteLength} bytes` : '';
  }
}

function bad(message: string): ProtocolError {
  return new ProtocolError(message, 'MPC_ERR_BAD_FRAGMENT');
}

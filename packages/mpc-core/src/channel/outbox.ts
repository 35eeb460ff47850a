/**
 * The sending half shared by every Channel implementation (the Mailbox is the receiving half): the
 * per-message limit, cutting a message into frames of at most maxFrameBytes (frame.ts), the ledger
 * count and link emulation. A transport supplies `seal` (make a frame it owns, copying the chunk:
 * the sender may reuse its buffer right after `send`) and `transmit` (put one frame on the link).
 *
 * A message is counted once in the ledger — its payload bytes, one message — however many frames it
 * takes, and link emulation delays it as one message of that many bytes; its frames are then
 * transmitted back to back, so frames of different messages never interleave.
 */
import { LimitError } from '../errors';
import type { Ledger } from '../ledger/ledger';
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from '../limits';
import type { ChannelOptions } from './channel';
import type { FramePart } from './frame';
import { LinkEmulator } from './link-emulator';

/** Make one frame of a message: `chunk` is a view into the caller's payload. */
export type SealFrame<F> = (tag: number, chunk: Uint8Array, part: FramePart) => F;

export class Outbox<F> {
  readonly maxFrameBytes: number;
  readonly maxMessageBytes: number;
  private readonly ledger?: Ledger;
  private readonly link?: LinkEmulator;
  private inFlight = 0;
  private onDrained: (() => void) | undefined;

  constructor(
    opts: ChannelOptions,
    private readonly seal: SealFrame<F>,
    private readonly transmit: (frame: F) => void,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxMessageBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (!Number.isSafeInteger(this.maxFrameBytes) || this.maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes expected a positive integer, got ${this.maxFrameBytes}`);
    }
    this.ledger = opts.ledger;
    if (opts.link) this.link = new LinkEmulator(opts.link);
  }

  send(tag: number, payload: Uint8Array): void {
    const n = payload.byteLength;
    if (n > this.maxMessageBytes) {
      throw new LimitError(`message of ${n} bytes exceeds maxMessageBytes ${this.maxMessageBytes}`, 'MPC_ERR_MESSAGE_TOO_LARGE');
    }
    const step = this.maxFrameBytes;
    const frames: F[] = [];
    for (let at = 0; at === 0 || at < n; at += step) {
      frames.push(this.seal(tag, payload.subarray(at, Math.min(n, at + step)), { messageBytes: n, continues: at > 0 }));
    }
    this.ledger?.recordSend(n);
    if (!this.link) {
      for (const f of frames) this.transmit(f);
      return;
    }
    this.inFlight++;
    this.link.schedule(n, () => {
      this.inFlight--;
      for (const f of frames) this.transmit(f);
      if (this.inFlight === 0 && this.onDrained) {
        const done = this.onDrained;
        this.onDrained = undefined;
        done();
      }
    });
  }

  /** Run `fn` once every message held back by link emulation has been transmitted (now if none is). */
  whenDrained(fn: () => void): void {
    if (this.inFlight === 0) fn();
    else this.onDrained = fn;
  }
}

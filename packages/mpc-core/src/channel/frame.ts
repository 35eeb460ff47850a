/**
 * The wire frame of channel messages over a byte transport (one WebSocket binary message = one frame).
 *
 *   offset 0   u8    magic   0x4d ('M')
 *   offset 1   u8    version 2
 *   offset 2   u8    flags   bit 0 CONTINUES: this frame continues the message begun by the previous
 *                            frame; the other bits are 0
 *   offset 3   u8    0 (reserved)
 *   offset 4   u32   tag (little-endian)
 *   offset 8   u32   payload length of this frame in bytes (little-endian)
 *   offset 12  u32   message length: payload bytes of the whole message this frame belongs to
 *   offset 16  ...   payload, raw bytes (tensor words travel as they are in memory, little-endian)
 *
 * Messages and fragments: one `send(tag, payload)` is one message. A message of at most
 * maxFrameBytes is one frame (message length = payload length). A longer one is cut into frames of
 * at most maxFrameBytes: the first has CONTINUES clear, the others set it; all carry the message's
 * tag and length, their payloads add up to that length, and no other frame comes between them (a
 * channel writes a message's frames in one go). The receiver (message-assembler.ts) delivers the
 * message once, when its last byte has arrived; the per-message limit (MAX_MESSAGE_BYTES) is checked
 * on the first frame. Version 1 (10-byte header, one frame per message, no fragments) is rejected:
 * both ends of a link run the same build.
 *
 * Design rationale: a fixed 16-byte header instead of a msgpackr envelope per message. The channel
 * carries exactly (tag, bytes), so a schema-free binary header is the smallest thing that can be
 * checked completely: no object is ever deserialised on the hot path, and the declared lengths are
 * compared with the limits before anything is allocated (ws `haveLength`, mplex `_decodeHeader`).
 * Structured messages (hello, dealer requests) go inside the payload as msgpackr envelopes
 * (envelope.ts). Headers are not counted in the ledger: ledgers count message payload bytes, exactly
 * as the in-memory channel does, so costs depend neither on the transport nor on fragmentation.
 */
import { LimitError, ProtocolError } from '../errors';
import { MAX_FRAME_BYTES } from '../limits';
import { claimHeadroom } from './headroom';

export const FRAME_MAGIC = 0x4d;
export const FRAME_VERSION = 2;
export const FRAME_HEADER_BYTES = 16;
export const MAX_FRAME_TAG = 0xffff_ffff;
/** Flag bit: the frame continues a message begun by an earlier frame. */
export const FRAME_CONTINUES = 0x01;

export interface FrameHeader {
  readonly tag: number;
  /** Payload bytes carried by this frame. */
  readonly payloadBytes: number;
  /** Payload bytes of the whole message (= payloadBytes for a message of one frame). */
  readonly messageBytes: number;
  /** True for the second and later frames of a message. */
  readonly continues: boolean;
}

export interface Frame extends FrameHeader {
  /** A fresh copy that owns its buffer (byteOffset 0, so 8-byte aligned). */
  readonly payload: Uint8Array;
}

/** Where a frame sits in its message; the default is a whole message of one frame. */
export interface FramePart {
  readonly messageBytes: number;
  readonly continues: boolean;
}

/**
 * Header + payload in one buffer: a fresh one (the sender may reuse `payload` right after), or, for a
 * payload with free headroom (headroom.ts), the payload's own buffer with the header written in front
 * of it — no copy; such a payload is handed over.
 */
export function encodeFrame(tag: number, payload: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES, part?: FramePart): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_FRAME_TAG) {
    throw new RangeError(`frame tag expected an integer in [0, 2^32), got ${tag}`);
  }
  assertFrameBytes(payload.byteLength, maxFrameBytes);
  const messageBytes = part?.messageBytes ?? payload.byteLength;
  if (!Number.isInteger(messageBytes) || messageBytes < payload.byteLength || messageBytes > 0xffff_ffff) {
    throw new RangeError(`frame message length ${messageBytes} must be a u32 of at least the payload length ${payload.byteLength}`);
  }
  const inPlace = claimHeadroom(payload, FRAME_HEADER_BYTES);
  const out = inPlace ?? new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES);
  out[0] = FRAME_MAGIC;
  out[1] = FRAME_VERSION;
  out[2] = part?.continues ? FRAME_CONTINUES : 0;
  out[3] = 0;
  view.setUint32(4, tag, true);
  view.setUint32(8, payload.byteLength, true);
  view.setUint32(12, messageBytes, true);
  if (!inPlace) out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Parse a header from the start of `bytes`. Returns undefined when fewer than FRAME_HEADER_BYTES
 * are available (need more bytes — for stream transports); throws on a bad magic/version/flags
 * (ProtocolError MPC_ERR_BAD_FRAME), a payload longer than its message (MPC_ERR_BAD_LENGTH) or a
 * declared payload length over the limit (LimitError MPC_ERR_FRAME_TOO_LARGE).
 */
export function readFrameHeader(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): FrameHeader | undefined {
  if (bytes.byteLength < FRAME_HEADER_BYTES) return undefined;
  if (bytes[0] !== FRAME_MAGIC) fail('MPC_ERR_BAD_FRAME', `bad frame magic 0x${hex(bytes[0])}`);
  if (bytes[1] !== FRAME_VERSION) fail('MPC_ERR_BAD_FRAME', `unsupported frame version ${bytes[1]}`);
  if ((bytes[2] & ~FRAME_CONTINUES) !== 0 || bytes[3] !== 0) {
    fail('MPC_ERR_BAD_FRAME', `unknown frame flags 0x${hex(bytes[2])}${hex(bytes[3])}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const tag = view.getUint32(4, true);
  const payloadBytes = view.getUint32(8, true);
  const messageBytes = view.getUint32(12, true);
  // The declared length is checked before any allocation or waiting for the rest.
  assertFrameBytes(payloadBytes, maxFrameBytes);
  if (payloadBytes > messageBytes) {
    fail('MPC_ERR_BAD_LENGTH', `frame with tag ${tag} carries ${payloadBytes} payload bytes of a ${messageBytes}-byte message`);
  }
  return { tag, payloadBytes, messageBytes, continues: (bytes[2] & FRAME_CONTINUES) !== 0 };
}

/**
 * Check one complete transport message (exactly one frame) and return its header and a view of its
 * payload inside `bytes` (no copy: the caller copies what it keeps).
 */
export function parseFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): { header: FrameHeader; body: Uint8Array } {
  const h = readFrameHeader(bytes, maxFrameBytes);
  if (h === undefined) {
    fail('MPC_ERR_BAD_FRAME', `truncated frame: ${bytes.byteLength} bytes, header needs ${FRAME_HEADER_BYTES}`);
  }
  const have = bytes.byteLength - FRAME_HEADER_BYTES;
  if (have !== h.payloadBytes) {
    fail('MPC_ERR_BAD_LENGTH', `frame with tag ${h.tag} declares ${h.payloadBytes} payload bytes, carries ${have}`);
  }
  return { header: h, body: bytes.subarray(FRAME_HEADER_BYTES) };
}

/** Decode one complete transport message (one WebSocket binary message = exactly one frame). */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): Frame {
  const { header, body } = parseFrame(bytes, maxFrameBytes);
  // An explicit copy: Buffer#slice would return a view into the transport's (pooled) buffer.
  const payload = new Uint8Array(header.payloadBytes);
  payload.set(body);
  return { ...header, payload };
}

/** LimitError MPC_ERR_FRAME_TOO_LARGE unless a frame's payload fits the limit. */
export function assertFrameBytes(payloadBytes: number, maxFrameBytes: number): void {
  if (payloadBytes > maxFrameBytes) {
    throw new LimitError(`frame of ${payloadBytes} payload bytes exceeds maxFrameBytes ${maxFrameBytes}`, 'MPC_ERR_FRAME_TOO_LARGE');
  }
}

function fail(code: 'MPC_ERR_BAD_FRAME' | 'MPC_ERR_BAD_LENGTH', message: string): never {
  throw new ProtocolError(message, code);
}

const hex = (b: number) => b.toString(16).padStart(2, '0');

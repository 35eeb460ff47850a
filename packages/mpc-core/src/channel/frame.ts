/**
 * The wire frame of one channel message over a byte transport (WebSocket binary message).
 *
 *   offset 0   u8    magic   0x4d ('M')
 *   offset 1   u8    version 1
 *   offset 2   u32   tag (little-endian)
 *   offset 6   u32   payload length in bytes (little-endian)
 *   offset 10  ...   payload, raw bytes (tensor words travel as they are in memory, little-endian)
 *
 * Design rationale: a fixed 10-byte header instead of a msgpackr envelope per message. The channel
 * carries exactly (tag, bytes), so a schema-free binary header is the smallest thing that can be
 * checked completely: no object is ever deserialised on the hot path, and the declared length is
 * compared with the limit before anything is allocated (ws `haveLength`, mplex `_decodeHeader`).
 * Structured messages (hello, dealer requests) go inside the payload as msgpackr envelopes
 * (envelope.ts). The header is not counted in the ledger: ledgers count payload bytes, exactly as
 * the in-memory channel does, so costs do not depend on the transport.
 */
import { LimitError, ProtocolError } from '../errors';
import { MAX_FRAME_BYTES } from '../limits';

export const FRAME_MAGIC = 0x4d;
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 10;
export const MAX_FRAME_TAG = 0xffff_ffff;

export interface FrameHeader {
  readonly tag: number;
  readonly payloadBytes: number;
}

export interface Frame {
  readonly tag: number;
  /** A fresh copy that owns its buffer (byteOffset 0, so 8-byte aligned). */
  readonly payload: Uint8Array;
}

/** Header + payload in one fresh buffer (the sender may reuse `payload` right after). */
export function encodeFrame(tag: number, payload: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > MAX_FRAME_TAG) {
    throw new RangeError(`frame tag expected an integer in [0, 2^32), got ${tag}`);
  }
  if (payload.byteLength > maxFrameBytes) {
    throw new LimitError(
      `frame payload of ${payload.byteLength} bytes exceeds maxFrameBytes ${maxFrameBytes}`,
      'MPC_ERR_FRAME_TOO_LARGE',
    );
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = FRAME_MAGIC;
  out[1] = FRAME_VERSION;
  view.setUint32(2, tag, true);
  view.setUint32(6, payload.byteLength, true);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Parse a header from the start of `bytes`. Returns undefined when fewer than FRAME_HEADER_BYTES
 * are available (need more bytes — for stream transports); throws on a bad magic/version
 * (ProtocolError MPC_ERR_BAD_FRAME) or a declared length over the limit (LimitError).
 */
export function readFrameHeader(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): FrameHeader | undefined {
  if (bytes.byteLength < FRAME_HEADER_BYTES) return undefined;
  if (bytes[0] !== FRAME_MAGIC) fail('MPC_ERR_BAD_FRAME', `bad frame magic 0x${hex(bytes[0])}`);
  if (bytes[1] !== FRAME_VERSION) fail('MPC_ERR_BAD_FRAME', `unsupported frame version ${bytes[1]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_BYTES);
  const tag = view.getUint32(2, true);
  const payloadBytes = view.getUint32(6, true);
  // The declared length is checked before any allocation or waiting for the rest.
  if (payloadBytes > maxFrameBytes) {
    throw new LimitError(
      `frame declares ${payloadBytes} payload bytes, maxFrameBytes is ${maxFrameBytes}`,
      'MPC_ERR_FRAME_TOO_LARGE',
    );
  }
  return { tag, payloadBytes };
}

/** Decode one complete transport message (one WebSocket binary message = exactly one frame). */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): Frame {
  const h = readFrameHeader(bytes, maxFrameBytes);
  if (h === undefined) {
    fail('MPC_ERR_BAD_FRAME', `truncated frame: ${bytes.byteLength} bytes, header needs ${FRAME_HEADER_BYTES}`);
  }
  const have = bytes.byteLength - FRAME_HEADER_BYTES;
  if (have !== h.payloadBytes) {
    fail('MPC_ERR_BAD_LENGTH', `frame with tag ${h.tag} declares ${h.payloadBytes} payload bytes, carries ${have}`);
  }
  // An explicit copy: Buffer#slice would return a view into the transport's (pooled) buffer.
  const payload = new Uint8Array(h.payloadBytes);
  payload.set(bytes.subarray(FRAME_HEADER_BYTES));
  return { tag: h.tag, payload };
}

function fail(code: 'MPC_ERR_BAD_FRAME' | 'MPC_ERR_BAD_LENGTH', message: string): never {
  throw new ProtocolError(message, code);
}

const hex = (b: number) => b.toString(16).padStart(2, '0');

/**
 * A structured message with an optional raw attachment, as the payload of one channel frame:
 *
 *   offset 0        u32le  envelopeBytes (≤ MAX_ENVELOPE_BYTES)
 *   offset 4        ...    msgpackr envelope (envelope.ts: plain data only, schema-checked by the reader)
 *   offset 4 + e    ...    attachment: raw bytes (share words, little-endian u64), possibly empty
 *
 * Design rationale: one frame per message keeps a request and its tensor together, so a request
 * whose envelope is rejected cannot leave a stray tensor frame behind that would desynchronise the
 * connection; the reader can reply with an error and go on serving the same connection.
 * Tensors never travel inside an envelope (STYLE §6): the attachment is checked against the length
 * the envelope declares before it is used.
 */
import {
  decodeEnvelope,
  encodeEnvelope,
  LimitError,
  MAX_ENVELOPE_BYTES,
  ProtocolError,
  type Envelope,
} from '@mpcache/mpc-core';

export interface WireMessage {
  readonly env: Envelope;
  /** Raw bytes after the envelope (a view into the frame payload). */
  readonly attachment: Uint8Array;
}

const LENGTH_BYTES = 4;

/** Envelope and attachment in one fresh buffer. */
export function encodeMessage(env: Envelope, attachment: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = encodeEnvelope(env);
  const out = new Uint8Array(LENGTH_BYTES + body.byteLength + attachment.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength, true);
  out.set(body, LENGTH_BYTES);
  out.set(attachment, LENGTH_BYTES + body.byteLength);
  return out;
}

/** Split and check a frame payload; `what` names the message in errors ("client request"). */
export function decodeMessage(payload: Uint8Array, what: string): WireMessage {
  if (payload.byteLength < LENGTH_BYTES) {
    throw new ProtocolError(`${what}: ${payload.byteLength} bytes, need at least ${LENGTH_BYTES}`, 'MPC_ERR_BAD_LENGTH');
  }
  const envBytes = new DataView(payload.buffer, payload.byteOffset, LENGTH_BYTES).getUint32(0, true);
  // The declared length is checked before it is used to slice anything.
  if (envBytes > MAX_ENVELOPE_BYTES) {
    throw new LimitError(`${what}: envelope declares ${envBytes} bytes, limit ${MAX_ENVELOPE_BYTES}`, 'MPC_ERR_LIMIT');
  }
  if (LENGTH_BYTES + envBytes > payload.byteLength) {
    throw new ProtocolError(
      `${what}: envelope declares ${envBytes} bytes, frame carries ${payload.byteLength - LENGTH_BYTES}`,
      'MPC_ERR_BAD_LENGTH',
    );
  }
  const env = decodeEnvelope(payload.subarray(LENGTH_BYTES, LENGTH_BYTES + envBytes), what);
  return { env, attachment: payload.subarray(LENGTH_BYTES + envBytes) };
}

/** The attachment as exactly `n` u64 words (an aligned copy); ProtocolError on any other length. */
export function attachmentWords(attachment: Uint8Array, n: number, what: string): BigUint64Array {
  if (attachment.byteLength !== 8 * n) {
    throw new ProtocolError(`${what}: expected ${8 * n} attachment bytes (${n} words), got ${attachment.byteLength}`, 'MPC_ERR_BAD_LENGTH');
  }
  const out = new BigUint64Array(n);
  new Uint8Array(out.buffer).set(attachment);
  return out;
}

/** The bytes of a word array (a view, no copy). */
export function wordBytes(words: BigUint64Array): Uint8Array {
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

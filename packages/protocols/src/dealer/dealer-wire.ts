/**
 * Messages between a party and the dealer service over a Channel (one channel per party and
 * session). The k-th correlation a party takes travels under channel tag k mod 2^32, both ways:
 *
 *   request  (party → dealer)  msgpackr envelope { index: k, name, params? }   (≤ MAX_ENVELOPE_BYTES)
 *   reply    (dealer → party)  0x00 ‖ 7 zero bytes ‖ the raw dealer message   (offline bytes)
 *                            | 0x01 ‖ 7 zero bytes ‖ msgpackr envelope { code, message }  (then the dealer closes)
 *
 * The 8-byte status header is the only framing on the reply: correlation material travels as raw
 * bytes and the ledger's offlineBytes count the message after it, exactly as with the in-process
 * dealer. Eight bytes, not one, so the message starts word-aligned in a received buffer and the
 * party reads its words in place (one copy less of every dealer byte).
 * The dealer validates every request at this boundary: known fields only, integer index equal to
 * the expected one, a registered name, and params accepted by the spec's own `validate`.
 */
import {
  assertEnvelopeKeys,
  claimHeadroom,
  FRAME_HEADER_BYTES,
  decodeEnvelope,
  encodeEnvelope,
  envelopeInt,
  envelopeString,
  LimitError,
  ProtocolError,
  type EnvelopeValue,
  type LimitErrorCode,
  type ProtocolErrorCode,
  LIMIT_ERROR_CODES,
  PROTOCOL_ERROR_CODES,
} from '@mpcache/mpc-core';

export interface DealerRequest {
  readonly index: number;
  readonly name: string;
  /** Plain data (numbers, strings, arrays, objects); undefined when the spec takes none. */
  readonly params: unknown;
}

/** Longest correlation name on the wire. */
export const MAX_CORRELATION_NAME = 64;
const REPLY_OK = 0;
const REPLY_ERROR = 1;
/** Status byte and padding before a reply's body. */
export const DEALER_REPLY_HEADER_BYTES = 8;
const H = DEALER_REPLY_HEADER_BYTES;
const MAX_ERROR_MESSAGE = 300;

/** The channel tag of the index-th correlation. */
export const dealerTag = (index: number): number => index % 2 ** 32;

export function encodeDealerRequest(r: DealerRequest): Uint8Array {
  const env: { [k: string]: EnvelopeValue } = { index: r.index, name: r.name };
  if (r.params !== undefined) env.params = r.params as EnvelopeValue;
  return encodeEnvelope(env);
}

export function decodeDealerRequest(bytes: Uint8Array): DealerRequest {
  const what = 'dealer request';
  const env = decodeEnvelope(bytes, what);
  assertEnvelopeKeys(env, what, ['index', 'name'], ['params']);
  return {
    index: envelopeInt(env, 'index', what, 0, Number.MAX_SAFE_INTEGER),
    name: envelopeString(env, 'name', what, MAX_CORRELATION_NAME),
    params: env.params,
  };
}

/**
 * The reply for a dealer message: written into the message's free headroom when it has some
 * (DealerSession builds every message with room for this header and the frame's: no copy), else a copy.
 */
export function encodeDealerReply(message: Uint8Array): Uint8Array {
  const inPlace = claimHeadroom(message, H);
  const out = inPlace ?? new Uint8Array(H + message.byteLength);
  out.fill(0, 0, H);
  out[0] = REPLY_OK;
  if (!inPlace) out.set(message, H);
  return out;
}

/** Free bytes a dealer message keeps in front of it: the reply header and the frame header. */
export const DEALER_MESSAGE_HEADROOM = H + FRAME_HEADER_BYTES;

/** An error reply: the error's class code and message (which carry names and lengths, never values). */
export function encodeDealerError(err: Error): Uint8Array {
  const code = (err as { code?: unknown }).code;
  const body = encodeEnvelope({
    code: typeof code === 'string' ? code : 'MPC_ERR_BAD_MESSAGE',
    message: err.message.slice(0, MAX_ERROR_MESSAGE),
  });
  const out = new Uint8Array(H + body.byteLength);
  out[0] = REPLY_ERROR;
  out.set(body, H);
  return out;
}

/** The dealer message in a reply, or the dealer's error rethrown as ProtocolError / LimitError. */
export function decodeDealerReply(bytes: Uint8Array, index: number, name: string): Uint8Array {
  if (bytes.byteLength < H || (bytes[0] !== REPLY_OK && bytes[0] !== REPLY_ERROR)) {
    throw new ProtocolError(`dealer reply #${index} ("${name}"): bad status header`, 'MPC_ERR_BAD_MESSAGE');
  }
  if (bytes[0] === REPLY_OK) return bytes.subarray(H);
  const what = 'dealer error reply';
  const env = decodeEnvelope(bytes.subarray(H), what);
  assertEnvelopeKeys(env, what, ['code', 'message']);
  const code = envelopeString(env, 'code', what, 64);
  const message = envelopeString(env, 'message', what, MAX_ERROR_MESSAGE);
  const text = `dealer rejected correlation #${index} ("${name}"): ${message}`;
  if (LIMIT_CODES.includes(code)) throw new LimitError(text, code as LimitErrorCode);
  const pcode = PROTOCOL_CODES.includes(code) ? (code as ProtocolErrorCode) : 'MPC_ERR_BAD_MESSAGE';
  throw new ProtocolError(text, pcode);
}

const PROTOCOL_CODES: readonly string[] = PROTOCOL_ERROR_CODES;
const LIMIT_CODES: readonly string[] = LIMIT_ERROR_CODES;

/**
 * msgpackr envelopes for structured messages from a peer (hello, dealer requests): small maps of
 * plain data that travel inside a frame's payload. Tensor data never goes in an envelope.
 *
 * Never deserialise arbitrary objects from a peer [CrypTen RestrictedUnpickler lesson]: msgpackr
 * can build Sets, Errors, RegExps, typed arrays and records from extension types, so every decoded
 * value is walked and only plain data is let through — null, booleans, finite numbers, strings,
 * byte strings, arrays and plain objects — within a size, depth and node budget. Callers then read
 * fields with the typed readers below, which name the envelope and field in their errors.
 */
import { Packr, Unpackr } from 'msgpackr';
import { LimitError, ProtocolError } from '../errors';
import { MAX_ENVELOPE_BYTES } from '../limits';

export type EnvelopeValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | EnvelopeValue[]
  | { [key: string]: EnvelopeValue };

export type Envelope = { [key: string]: EnvelopeValue };

/** Deepest nesting accepted in an envelope. */
const MAX_DEPTH = 8;
/** Most values (nodes) accepted in one envelope. */
const MAX_NODES = 4096;

const packr = new Packr({ useRecords: false, structuredClone: false });
// Untrusted mode (the default) drops record structures after every message, so one peer cannot
// change how another peer's messages decode.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false, int64AsType: 'number' });

export function encodeEnvelope(value: Envelope): Uint8Array {
  return packr.pack(value);
}

/** Decode and schema-check one envelope; `what` names it in errors (e.g. "dealer request"). */
export function decodeEnvelope(bytes: Uint8Array, what: string, maxBytes = MAX_ENVELOPE_BYTES): Envelope {
  if (bytes.byteLength > maxBytes) {
    throw new LimitError(`${what}: envelope of ${bytes.byteLength} bytes exceeds ${maxBytes}`, 'MPC_ERR_LIMIT');
  }
  let value: unknown;
  try {
    value = unpackr.unpack(bytes);
  } catch {
    throw bad(`${what}: malformed msgpack envelope (${bytes.byteLength} bytes)`);
  }
  if (!isPlainObject(value)) throw bad(`${what}: envelope must be a map`);
  const budget = { nodes: 0 };
  checkPlain(value, what, 0, budget);
  return value as Envelope;
}

/** Throws unless `env` has exactly the listed keys (optional ones may be missing). */
export function assertEnvelopeKeys(env: Envelope, what: string, required: readonly string[], optional: readonly string[] = []): void {
  for (const k of required) if (!(k in env)) throw bad(`${what}: missing field "${k}"`);
  for (const k of Object.keys(env)) {
    if (!required.includes(k) && !optional.includes(k)) throw bad(`${what}: unexpected field "${k.slice(0, 32)}"`);
  }
}

export function envelopeInt(env: Envelope, key: string, what: string, min: number, max: number): number {
  const v = env[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw bad(`${what}: field "${key}" expected an integer in [${min}, ${max}]`);
  }
  return v;
}

export function envelopeString(env: Envelope, key: string, what: string, maxLength: number): string {
  const v = env[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
    throw bad(`${what}: field "${key}" expected a non-empty string of at most ${maxLength} characters`);
  }
  return v;
}

// ------------------------------------------------------------------ helpers

function checkPlain(v: unknown, what: string, depth: number, budget: { nodes: number }): void {
  if (++budget.nodes > MAX_NODES) throw bad(`${what}: envelope has more than ${MAX_NODES} values`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(`${what}: non-finite number in envelope`);
    return;
  }
  if (v instanceof Uint8Array) return;
  if (depth >= MAX_DEPTH) throw bad(`${what}: envelope nested deeper than ${MAX_DEPTH}`);
  if (Array.isArray(v)) {
    for (const x of v) checkPlain(x, what, depth + 1, budget);
    return;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) checkPlain(v[k], what, depth + 1, budget);
    return;
  }
  throw bad(`${what}: envelope holds a value of type ${describe(v)}; only plain data is accepted`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (typeof v !== 'object' || v === null) return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

function bad(message: string): ProtocolError {
  return new ProtocolError(message, 'MPC_ERR_BAD_MESSAGE');
}

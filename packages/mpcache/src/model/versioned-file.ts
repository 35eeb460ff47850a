/**
 * Versioned binary files — the one framing shared by the attention-gate file (attention-gate-file.ts)
 * and the model share file (secure/model-share-file.ts). Little-endian throughout:
 *
 *   bytes [0, 8)        magic (8 ASCII bytes, e.g. "MPCGATE\0")
 *   bytes [8, 12)       u32 format version
 *   bytes [12, 16)      u32 H: header length in bytes (≤ the kind's maxHeaderBytes)
 *   bytes [16, 16 + H)  header: UTF-8 JSON, with at least `payloadBytes` and `payloadSha256`
 *   zero bytes          up to the next multiple of the kind's `align` (1: none)
 *   then                the payload: exactly `payloadBytes` bytes whose sha256 is `payloadSha256`
 *
 * Decoding checks magic, version, header size, JSON, the payload's length and hash, and throws
 * ModelFileError (MPC_ERR_MODEL_HEADER / _SIZE / _HASH / _MISSING) naming byte counts and fields —
 * never a payload value. The caller validates its own header fields.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelFileError, type ModelFileErrorCode } from './model-file-error';

export interface VersionedFileKind {
  readonly magic: string;
  readonly version: number;
  readonly maxHeaderBytes: number;
  /** The payload starts at a multiple of this many bytes (8: BigUint64Array views); default 1. */
  readonly align?: number;
}

/** The fields every versioned header carries. */
export interface PayloadFields {
  payloadBytes: number;
  payloadSha256: string;
}

const PREFIX_BYTES = 16;

/** sha256 (hex) of the concatenation of `parts`. */
export function sha256Hex(...parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Magic, version, header length, the header's JSON and the zero padding: everything before the payload. */
export function encodeVersionedPrefix(kind: VersionedFileKind, header: object): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > kind.maxHeaderBytes) throw new RangeError(`${kind.magic.replace(/\0/g, '')} header expected ≤ ${kind.maxHeaderBytes} bytes, got ${json.length}`);
  const align = kind.align ?? 1, end = PREFIX_BYTES + json.length, padded = Math.ceil(end / align) * align;
  const out = new Uint8Array(padded), dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(kind.magic));
  dv.setUint32(8, kind.version, true);
  dv.setUint32(12, json.length, true);
  out.set(json, PREFIX_BYTES);
  return out;
}

/** An error constructor that prefixes `what` (the file's name in messages). */
export type FileErrorMaker = (msg: string, code?: ModelFileErrorCode) => ModelFileError;

export function fileErrorMaker(what: string): FileErrorMaker {
  return (msg, code = 'MPC_ERR_MODEL_HEADER') => new ModelFileError(`${what}: ${msg}`, code);
}

/**
 * Split `bytes` into its JSON header and its payload. Order of checks: prefix, JSON, the payload
 * fields' types, `validate(header)` (the caller's fields; it returns the typed header), then the
 * payload's length and sha256. `bad` makes the errors.
 */
export function decodeVersionedFile<H extends PayloadFields>(
  bytes: Uint8Array, kind: VersionedFileKind, bad: FileErrorMaker, validate: (header: PayloadFields & Record<string, unknown>) => H,
): { header: H; payload: Uint8Array } {
  if (bytes.length < PREFIX_BYTES) throw bad(`expected at least ${PREFIX_BYTES} bytes, got ${bytes.length}`, 'MPC_ERR_MODEL_SIZE');
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== kind.magic) throw bad(`bad magic (not a "${kind.magic.replace(/\0/g, '')}" file)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), version = dv.getUint32(8, true), H = dv.getUint32(12, true);
  if (version !== kind.version) throw bad(`format version expected ${kind.version}, got ${version}`);
  if (H > kind.maxHeaderBytes) throw bad(`header length expected ≤ ${kind.maxHeaderBytes} bytes, got ${H}`);
  if (bytes.length < PREFIX_BYTES + H) throw bad(`header declares ${H} bytes, file has ${bytes.length - PREFIX_BYTES} after the prefix`, 'MPC_ERR_MODEL_SIZE');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + H)));
  } catch {
    throw bad(`header (${H} bytes) is not valid UTF-8 JSON`);
  }
  const h = header as Partial<PayloadFields> | null;
  if (typeof h !== 'object' || h === null || !Number.isInteger(h.payloadBytes) || h.payloadBytes! < 0 || typeof h.payloadSha256 !== 'string') {
    throw bad('header "payloadBytes"/"payloadSha256" expected a non-negative integer and a hex string');
  }
  const valid = validate(h as PayloadFields & Record<string, unknown>);
  const align = kind.align ?? 1, start = Math.ceil((PREFIX_BYTES + H) / align) * align, payload = bytes.subarray(Math.min(start, bytes.length));
  if (payload.length !== valid.payloadBytes) throw bad(`payload expected ${valid.payloadBytes} bytes, got ${payload.length}`, 'MPC_ERR_MODEL_SIZE');
  if (sha256Hex(payload) !== valid.payloadSha256) throw bad(`payload sha256 differs from the header's (${valid.payloadSha256.slice(0, 8)}…): corrupt file`, 'MPC_ERR_MODEL_HASH');
  return { header: valid, payload };
}

/**
 * The whole file in a fresh ArrayBuffer (offset 0, so 8-aligned payloads can be viewed as
 * BigUint64Array without a copy); ModelFileError MPC_ERR_MODEL_MISSING if unreadable.
 */
export function readFileAligned(path: string, what: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ModelFileError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, 'MPC_ERR_MODEL_MISSING');
  }
  try {
    const out = new Uint8Array(new ArrayBuffer(fstatSync(fd).size));
    for (let at = 0; at < out.length;) {
      const n = readSync(fd, out, at, out.length - at, at);
      if (n === 0) throw new ModelFileError(`${what} ${path}: file shrank while reading (${at} of ${out.length} bytes)`, 'MPC_ERR_MODEL_SIZE');
      at += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

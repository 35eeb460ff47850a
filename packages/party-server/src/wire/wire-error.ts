/**
 * Errors on the wire: a server that rejects a request or fails a session sends the error's class
 * name, stable `code` and message (which carry shapes, lengths, tags, session and party ids —
 * never values, STYLE §7); the receiver rebuilds an error of the same family, so a client catches
 * `SessionNotFoundError` or `LimitError` (MPC_ERR_PROMPT_TOO_LONG) as if it had been thrown locally.
 */
import {
  ChannelClosedError,
  envelopeString,
  LimitError,
  ProtocolError,
  SessionNotFoundError,
  ShapeError,
  TimeoutError,
  type Envelope,
  type LimitErrorCode,
  type ProtocolErrorCode,
  LIMIT_ERROR_CODES,
  PROTOCOL_ERROR_CODES,
} from '@mpcache/mpc-core';
import { MODEL_FILE_ERROR_CODES, ModelFileError, type ModelFileErrorCode } from '@mpcache/mpcache';

/** Longest error message sent or accepted. */
export const MAX_ERROR_MESSAGE = 400;
/** Code of errors outside the family (a bug in the server, not the caller's fault). */
export const INTERNAL_ERROR_CODE = 'MPC_ERR_INTERNAL';

export interface WireErrorFields {
  readonly code: string;
  readonly name: string;
  readonly message: string;
}

/** The stable code of any error: the family's `code`, else MPC_ERR_INTERNAL. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('MPC_ERR_') ? code : INTERNAL_ERROR_CODE;
}

/**
 * What goes on the wire for `err`. Errors outside the family (a bug, not the caller's fault) go out
 * as MPC_ERR_INTERNAL with their class name only: their details stay in the server's log.
 */
export function errorFields(err: unknown): WireErrorFields {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = errorCode(e);
  const name = e.name.slice(0, 64) || 'Error';
  if (code === INTERNAL_ERROR_CODE) return { code, name, message: `internal error (${name}); details are in the server log` };
  return { code, name, message: e.message.slice(0, MAX_ERROR_MESSAGE) || name };
}

/**
 * Read the fields back from an envelope map (validated: strings of bounded length; control
 * characters replaced by "?", so a hostile server cannot write terminal escapes or fake lines into
 * what a client prints).
 */
export function readErrorFields(env: Envelope, what: string): WireErrorFields {
  const read = (key: string, max: number) => envelopeString(env, key, what, max).replace(CONTROL_CHARS, '?');
  return { code: read('code', 64), name: read('name', 64), message: read('message', MAX_ERROR_MESSAGE) };
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * Rebuild an error of the family from its wire fields; `from` ("P0", "dealer") prefixes the message.
 * `sessionId` rebuilds SessionNotFoundError.
 */
export function errorFromWire(f: WireErrorFields, from: string, sessionId?: string): Error {
  const text = `${from}: ${f.message}`;
  if (f.code === 'MPC_ERR_SESSION_NOT_FOUND' && sessionId !== undefined) {
    const e = new SessionNotFoundError(sessionId);
    e.message = `${from}: ${e.message}`;
    return e;
  }
  if (f.code === 'MPC_ERR_SHAPE') return new ShapeError(text);
  if (f.code === 'MPC_ERR_TIMEOUT') return new TimeoutError(text);
  if (f.code === 'MPC_ERR_CHANNEL_CLOSED') return new ChannelClosedError(text);
  if (LIMIT_CODES.includes(f.code)) return new LimitError(text, f.code as LimitErrorCode);
  if (PROTOCOL_CODES.includes(f.code)) return new ProtocolError(text, f.code as ProtocolErrorCode);
  if (f.code === INTERNAL_ERROR_CODE) return Object.assign(new Error(text), { name: 'RemoteInternalError', code: f.code });
  if (MODEL_FILE_CODES.includes(f.code)) return new ModelFileError(text, f.code as ModelFileErrorCode);
  // a code outside the family: the sender's name for it is not trusted either
  return new ProtocolError(`${from} sent an error with the unknown code "${f.code}": ${f.message}`, 'MPC_ERR_BAD_MESSAGE');
}

const MODEL_FILE_CODES: readonly string[] = MODEL_FILE_ERROR_CODES;

const PROTOCOL_CODES: readonly string[] = PROTOCOL_ERROR_CODES;
const LIMIT_CODES: readonly string[] = LIMIT_ERROR_CODES;

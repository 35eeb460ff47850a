/**
 * Messages between a client and a party server, one per frame (message-frame.ts) on one WebSocket
 * per party (`ws://party/client`). A connection may carry several sessions; every message names its
 * session. Client → party frames carry tag CLIENT_TAG, party → client frames PARTY_TAG.
 *
 *   client → party
 *     open      { sessionId, model, policy, maxNewTokens, clientKey, temperature?, topK?, topP?, multiTurn?, stopToken? }  set up seeds, peer and dealer links
 *     generate  { sessionId, promptTokens, maxNewTokens? } + this party's share of the prompt (u64 words), sealed
 *               (multiTurn: one generate per turn, each continuing the same sequence; maxNewTokens ≤ open's)
 *     cancel    { sessionId }                                       drop the session (e.g. after EOS)
 *   party → client
 *     opened    { sessionId, party, input, vocabSize, maxContext, fracBits, publicKey }
 *     token     { sessionId, index, ms, bytesSent, bytesReceived, rounds, offlineBytes } + 8-byte share, sealed
 *     done      { sessionId, tokens, ms, bytesSent, bytesReceived, rounds, offlineBytes }
 *     error     { sessionId?, code, name, message }
 *
 * A party never sends a token id: only its additive share of it, as an attachment. The client adds
 * both parties' shares. Shares travel sealed (client-seal.ts) under keys agreed from `clientKey` (the
 * client's per-session X25519 key) and `publicKey` (the party's); everything in the envelopes is
 * public. Every field is validated on receipt (STYLE §6); limits from mpc-core.
 */
import {
  assertEnvelopeKeys,
  envelopeInt,
  envelopeString,
  LimitError,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  ProtocolError,
  type Envelope,
  type PartyId,
} from '@mpcache/mpc-core';

import { CLIENT_KEY_BYTES, SEAL_OVERHEAD } from './client-seal';
import { decodeMessage, encodeMessage, type WireMessage } from './message-frame';
import { envelopeSessionOptions, SESSION_OPTION_KEYS, sessionOptionFields, type SessionOptions } from './session-options';
import { readErrorFields, type WireErrorFields } from './wire-error';

export const CLIENT_TAG = 1;
export const PARTY_TAG = 2;
/** Longest model or policy name. */
export const MAX_NAME_LENGTH = 64;
/** Session ids go into URL paths and error messages: a short token of safe characters. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export type InputEncoding = 'ids' | 'onehot';

/** Opens a session; its sampling fields (SamplingParams) are absent for greedy decoding. */
export interface OpenRequest extends SessionOptions {
  type: 'open'; sessionId: string; model: string; policy: string; maxNewTokens: number;
  /** The client's X25519 public key for this session (32 bytes). */
  clientKey: Uint8Array;
  /** A chat: after each turn's `done` the session stays ready for the next `generate` (until `cancel`). */
  multiTurn?: boolean;
}
/**
 * `sealed`: this party's share of the prompt (u64 words), sealed by ClientSeal at sealPlace.generate;
 * `maxNewTokens`: this turn's count (default and maximum: the open's).
 */
export interface GenerateRequest { type: 'generate'; sessionId: string; promptTokens: number; sealed: Uint8Array; maxNewTokens?: number }
export interface CancelRequest { type: 'cancel'; sessionId: string }
export type ClientRequest = OpenRequest | GenerateRequest | CancelRequest;

/** What a session's job expects from the client; both parties announce the same. */
export interface SessionInfo {
  readonly party: PartyId;
  /** 'ids': one word per prompt token; 'onehot': a row of vocabSize words (0/1) per token. */
  readonly input: InputEncoding;
  /** Largest token id + 1 (0 when outputs are ring elements, not tokens). */
  readonly vocabSize: number;
  /** promptTokens + maxNewTokens − 1 must not exceed this. */
  readonly maxContext: number;
  readonly fracBits: number;
}

/** One party's cost of one token (or a whole run), from its own ledger. */
export interface PartyCost {
  readonly ms: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly rounds: number;
  readonly offlineBytes: number;
}

export type PartyMessage =
  /** publicKey: the party's long-term X25519 public key (the client's seal agrees with it). */
  | { type: 'opened'; sessionId: string; info: SessionInfo; publicKey: Uint8Array }
  /** sealed: the party's 8-byte share of the token id, sealed at sealPlace.token(index). */
  | { type: 'token'; sessionId: string; index: number; sealed: Uint8Array; cost: PartyCost }
  | { type: 'done'; sessionId: string; tokens: number; cost: PartyCost }
  | { type: 'error'; sessionId?: string; error: WireErrorFields };

// ------------------------------------------------------------------ client → party

export function encodeClientRequest(r: ClientRequest): Uint8Array {
  switch (r.type) {
    case 'open':
      return encodeMessage({
        type: r.type, sessionId: r.sessionId, model: r.model, policy: r.policy, maxNewTokens: r.maxNewTokens, clientKey: r.clientKey, ...sessionOptionFields(r),
      });
    case 'generate':
      return encodeMessage({
        type: r.type, sessionId: r.sessionId, promptTokens: r.promptTokens, ...(r.maxNewTokens !== undefined ? { maxNewTokens: r.maxNewTokens } : {}),
      }, r.sealed);
    case 'cancel':
      return encodeMessage({ type: r.type, sessionId: r.sessionId });
  }
}

/** The session id of a request if it carries a well-formed one (to route an error reply). */
export function readSessionId(env: Envelope): string | undefined {
  const v = env.sessionId;
  return typeof v === 'string' && SESSION_ID_PATTERN.test(v) ? v : undefined;
}

/** Validate a decoded client message; ProtocolError (MPC_ERR_BAD_MESSAGE) or LimitError on bad input. */
export function parseClientRequest(m: WireMessage): ClientRequest {
  const what = 'client request';
  const { env } = m;
  const type = env.type;
  if (type === 'open') {
    assertEnvelopeKeys(env, what, ['type', 'sessionId', 'model', 'policy', 'maxNewTokens', 'clientKey'], SESSION_OPTION_KEYS);
    noAttachment(m, 'open');
    const maxNewTokens = env.maxNewTokens;
    if (typeof maxNewTokens === 'number' && Number.isSafeInteger(maxNewTokens) && maxNewTokens > MAX_NEW_TOKENS) {
      throw new LimitError(`open: maxNewTokens ${maxNewTokens} exceeds MAX_NEW_TOKENS ${MAX_NEW_TOKENS}`, 'MPC_ERR_LIMIT');
    }
    return {
      type,
      sessionId: sessionIdField(env, what),
      model: envelopeString(env, 'model', what, MAX_NAME_LENGTH),
      policy: envelopeString(env, 'policy', what, MAX_NAME_LENGTH),
      maxNewTokens: envelopeInt(env, 'maxNewTokens', what, 1, MAX_NEW_TOKENS),
      clientKey: keyField(env, 'clientKey', what),
      ...envelopeSessionOptions(env, what),
    };
  }
  if (type === 'generate') {
    assertEnvelopeKeys(env, what, ['type', 'sessionId', 'promptTokens'], ['maxNewTokens']);
    const sessionId = sessionIdField(env, what);
    const n = env.promptTokens;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n > MAX_PROMPT_TOKENS) {
      throw new LimitError(`generate: prompt of ${n} tokens exceeds MAX_PROMPT_TOKENS ${MAX_PROMPT_TOKENS}`, 'MPC_ERR_PROMPT_TOO_LONG');
    }
    const promptTokens = envelopeInt(env, 'promptTokens', what, 1, MAX_PROMPT_TOKENS);
    if (m.attachment.byteLength < SEAL_OVERHEAD) {
      throw new ProtocolError(`generate: sealed share of ${m.attachment.byteLength} bytes, expected at least ${SEAL_OVERHEAD}`, 'MPC_ERR_BAD_LENGTH');
    }
    const turnTokens = env.maxNewTokens === undefined ? {} : { maxNewTokens: envelopeInt(env, 'maxNewTokens', what, 1, MAX_NEW_TOKENS) };
    return { type, sessionId, promptTokens, sealed: m.attachment, ...turnTokens };
  }
  if (type === 'cancel') {
    assertEnvelopeKeys(env, what, ['type', 'sessionId']);
    noAttachment(m, 'cancel');
    return { type, sessionId: sessionIdField(env, what) };
  }
  throw new ProtocolError(`${what}: unknown type ${typeof type === 'string' ? `"${type.slice(0, 32)}"` : typeof type}`, 'MPC_ERR_BAD_MESSAGE');
}

export function decodeClientRequest(payload: Uint8Array): ClientRequest {
  return parseClientRequest(decodeMessage(payload, 'client request'));
}

// ------------------------------------------------------------------ party → client

export function encodePartyMessage(m: PartyMessage): Uint8Array {
  switch (m.type) {
    case 'opened':
      return encodeMessage({ type: m.type, sessionId: m.sessionId, ...m.info, publicKey: m.publicKey });
    case 'token':
      return encodeMessage({ type: m.type, sessionId: m.sessionId, index: m.index, ...m.cost }, m.sealed);
    case 'done':
      return encodeMessage({ type: m.type, sessionId: m.sessionId, tokens: m.tokens, ...m.cost });
    case 'error': {
      const env: Envelope = { type: m.type, ...m.error };
      if (m.sessionId !== undefined) env.sessionId = m.sessionId;
      return encodeMessage(env);
    }
  }
}

const COST_KEYS = ['ms', 'bytesSent', 'bytesReceived', 'rounds', 'offlineBytes'] as const;

/** Validate a party's message (the client SDK's boundary). */
export function decodePartyMessage(payload: Uint8Array): PartyMessage {
  const what = 'party message';
  const m = decodeMessage(payload, what);
  const { env } = m;
  switch (env.type) {
    case 'opened': {
      assertEnvelopeKeys(env, what, ['type', 'sessionId', 'party', 'input', 'vocabSize', 'maxContext', 'fracBits', 'publicKey']);
      noAttachment(m, 'opened');
      const input = env.input;
      if (input !== 'ids' && input !== 'onehot') throw bad(`${what}: field "input" expected "ids" or "onehot"`);
      const info: SessionInfo = {
        party: envelopeInt(env, 'party', what, 0, 1) as PartyId,
        input,
        vocabSize: envelopeInt(env, 'vocabSize', what, 0, 2 ** 31),
        maxContext: envelopeInt(env, 'maxContext', what, 1, 2 ** 31),
        fracBits: envelopeInt(env, 'fracBits', what, 0, 62),
      };
      return { type: 'opened', sessionId: sessionIdField(env, what), info, publicKey: keyField(env, 'publicKey', what) };
    }
    case 'token': {
      assertEnvelopeKeys(env, what, ['type', 'sessionId', 'index', ...COST_KEYS]);
      if (m.attachment.byteLength !== TOKEN_SEAL_BYTES) {
        throw new ProtocolError(`token: expected a sealed share of ${TOKEN_SEAL_BYTES} bytes, got ${m.attachment.byteLength}`, 'MPC_ERR_BAD_LENGTH');
      }
      return {
        type: 'token', sessionId: sessionIdField(env, what), index: envelopeInt(env, 'index', what, 0, MAX_NEW_TOKENS), sealed: m.attachment, cost: readCost(env, what),
      };
    }
    case 'done': {
      assertEnvelopeKeys(env, what, ['type', 'sessionId', 'tokens', ...COST_KEYS]);
      noAttachment(m, 'done');
      return { type: 'done', sessionId: sessionIdField(env, what), tokens: envelopeInt(env, 'tokens', what, 0, MAX_NEW_TOKENS), cost: readCost(env, what) };
    }
    case 'error': {
      assertEnvelopeKeys(env, what, ['type', 'code', 'name', 'message'], ['sessionId']);
      noAttachment(m, 'error');
      const sessionId = env.sessionId === undefined ? undefined : sessionIdField(env, what);
      return { type: 'error', sessionId, error: readErrorFields(env, what) };
    }
    default:
      throw bad(`${what}: unknown type`);
  }
}

// ------------------------------------------------------------------ helpers

function sessionIdField(env: Envelope, what: string): string {
  const id = readSessionId(env);
  if (id === undefined) throw bad(`${what}: field "sessionId" expected 1–64 characters of [A-Za-z0-9_.-]`);
  return id;
}

/** A token's sealed share: 8 bytes and the seal. */
export const TOKEN_SEAL_BYTES = 8 + SEAL_OVERHEAD;

/** A 32-byte X25519 public key field (a copy). */
function keyField(env: Envelope, key: string, what: string): Uint8Array {
  const v = env[key];
  if (!(v instanceof Uint8Array) || v.byteLength !== CLIENT_KEY_BYTES) throw bad(`${what}: field "${key}" expected ${CLIENT_KEY_BYTES} bytes`);
  return Uint8Array.from(v);
}

function readCost(env: Envelope, what: string): PartyCost {
  const ms = env.ms;
  if (typeof ms !== 'number' || !(ms >= 0)) throw bad(`${what}: field "ms" expected a number ≥ 0`);
  const int = (k: string) => envelopeInt(env, k, what, 0, Number.MAX_SAFE_INTEGER);
  return { ms, bytesSent: int('bytesSent'), bytesReceived: int('bytesReceived'), rounds: int('rounds'), offlineBytes: int('offlineBytes') };
}

function noAttachment(m: WireMessage, type: string): void {
  if (m.attachment.byteLength !== 0) throw bad(`${type}: unexpected attachment of ${m.attachment.byteLength} bytes`);
}

function bad(message: string): ProtocolError {
  return new ProtocolError(message, 'MPC_ERR_BAD_MESSAGE');
}

/**
 * Messages between servers of one session, outside the protocol's own message sequence:
 *
 *   HELLO_TAG  first message each way on a new link. The dialling side (P1 → P0 on the peer link,
 *              P_b → dealer on a dealer link) sends { role, sessionId, publicKey, nonce[, model,
 *              policy, maxNewTokens] }; the accepting side answers with its own hello or with an
 *              error ({ code, name, message }, e.g. SessionNotFoundError) and closes. `nonce` is the
 *              sender's fresh link nonce (32 random bytes), salted into the link's seed; `auth`
 *              (optional) proves the sender holds its key's secret (hello-auth.ts).
 *   SYNC_TAG   P0 ↔ P1 before each generate: { promptTokens }, so both parties run the same shapes.
 *   FIN_TAG    P0 ↔ P1 after a job: each waits for the other's FIN before closing, so no message
 *              still in flight is dropped by the close.
 *   END_TAG    P0 ↔ P1, out of band (the receiver diverts it, mpc-core mailbox.ts: it arrives whatever
 *              the receiver is waiting for): { type: "end", outcome: "canceled" }, sent by the
 *              party whose client's `cancel` arrived first, once its own hello is out on the link
 *              (peer-end-notice.ts), just before it closes the link. The receiver ends the session as canceled too, instead of failing
 *              on the close: the client's own cancel may reach it later, or never. A close without
 *              it is a failure. Only the authenticated peer can send it (it travels on the session's
 *              own peer link, after the hellos), and it names nothing but the outcome.
 *
 * The tags sit at the top of the u32 range; protocol messages count up from 0 (PartyContext.seq)
 * and dealer requests use tag = index, so neither ever reaches them.
 */
import {
  assertEnvelopeKeys,
  ChannelClosedError,
  envelopeInt,
  envelopeString,
  LINK_NONCE_BYTES,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  ProtocolError,
  TimeoutError,
  type Channel,
} from '@mpcache/mpc-core';
import { HELLO_AUTH_BYTES } from '../hello-auth';
import { MAX_NAME_LENGTH, SESSION_ID_PATTERN } from './client-messages';
import { envelopeSessionOptions, SESSION_OPTION_KEYS, sessionOptionFields, type SessionOptions } from './session-options';
import { decodeMessage, encodeMessage } from './message-frame';
import { errorFields, errorFromWire, readErrorFields } from './wire-error';

export const HELLO_TAG = 0xffff_ffff;
export const SYNC_TAG = 0xffff_fffe;
export const FIN_TAG = 0xffff_fffd;
export const END_TAG = 0xffff_fffc;

export type ServerRole = 'p0' | 'p1' | 'dealer';

/** The public parameters both parties of a session must agree on (sampling: SamplingParams). */
export interface SessionParams extends SessionOptions {
  readonly model: string;
  readonly policy: string;
  readonly maxNewTokens: number;
  /** P1's job's sharing id (PartyJob.shareSet), when it has one. */
  readonly shareSet?: string;
}

export interface ServerHello {
  readonly role: ServerRole;
  readonly sessionId: string;
  /** X25519 public key (32 bytes) of the sender's long-term key pair. */
  readonly publicKey: Uint8Array;
  /** The sender's link nonce for this session (LINK_NONCE_BYTES fresh random bytes, mpc-core newLinkNonce). */
  readonly nonce: Uint8Array;
  /** Proof that the sender holds the named key's secret (hello-auth.ts); absent when it cannot make one. */
  readonly auth?: Uint8Array;
  /** P1 → P0 only. */
  readonly params?: SessionParams;
}

export function encodeHello(h: ServerHello): Uint8Array {
  const p = h.params;
  return encodeMessage({
    type: 'hello', role: h.role, sessionId: h.sessionId, publicKey: h.publicKey, nonce: h.nonce, ...(h.auth ? { auth: h.auth } : {}),
    ...(p ? { model: p.model, policy: p.policy, maxNewTokens: p.maxNewTokens, ...sessionOptionFields(p), ...(p.shareSet ? { shareSet: p.shareSet } : {}) } : {}),
  });
}

export function encodeHelloError(err: unknown): Uint8Array {
  return encodeMessage({ type: 'error', ...errorFields(err) });
}

/**
 * Validate a hello from `from` ("P1", "dealer"); a remote error reply is rethrown as an error of
 * the family (SessionNotFoundError needs `sessionId`). `withParams`: the hello must carry the
 * session parameters (P1 → P0).
 */
export function decodeHello(payload: Uint8Array, expectRole: ServerRole, from: string, sessionId?: string, withParams = false): ServerHello {
  const what = `hello from ${from}`;
  const { env } = decodeMessage(payload, what);
  if (env.type === 'error') {
    assertEnvelopeKeys(env, what, ['type', 'code', 'name', 'message']);
    throw errorFromWire(readErrorFields(env, what), from, sessionId);
  }
  if (env.type !== 'hello') throw bad(`${what}: expected type "hello"`);
  const params = ['model', 'policy', 'maxNewTokens'];
  assertEnvelopeKeys(env, what, ['type', 'role', 'sessionId', 'publicKey', 'nonce', ...(withParams ? params : [])], ['auth', ...(withParams ? [...SESSION_OPTION_KEYS, 'shareSet'] : [])]);
  if (env.role !== expectRole) throw bad(`${what}: expected role "${expectRole}"`);
  const sid = env.sessionId;
  if (typeof sid !== 'string' || !SESSION_ID_PATTERN.test(sid)) throw bad(`${what}: malformed "sessionId"`);
  if (sessionId !== undefined && sid !== sessionId) throw bad(`${what}: hello for session "${sid}", expected "${sessionId}"`);
  const pk = env.publicKey;
  if (!(pk instanceof Uint8Array) || pk.byteLength !== 32) throw bad(`${what}: field "publicKey" expected 32 bytes`);
  const nonce = env.nonce;
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== LINK_NONCE_BYTES) throw bad(`${what}: field "nonce" expected ${LINK_NONCE_BYTES} bytes`);
  const auth = env.auth;
  if (auth !== undefined && !(auth instanceof Uint8Array && auth.byteLength === HELLO_AUTH_BYTES)) throw bad(`${what}: field "auth" expected ${HELLO_AUTH_BYTES} bytes`);
  return {
    role: expectRole,
    sessionId: sid,
    publicKey: Uint8Array.from(pk),
    nonce: Uint8Array.from(nonce),
    ...(auth !== undefined ? { auth: Uint8Array.from(auth as Uint8Array) } : {}),
    params: withParams
      ? {
          model: envelopeString(env, 'model', what, MAX_NAME_LENGTH),
          policy: envelopeString(env, 'policy', what, MAX_NAME_LENGTH),
          maxNewTokens: envelopeInt(env, 'maxNewTokens', what, 1, MAX_NEW_TOKENS),
          ...envelopeSessionOptions(env, what),
          ...(env.shareSet !== undefined ? { shareSet: envelopeString(env, 'shareSet', what, MAX_NAME_LENGTH) } : {}),
        }
      : undefined,
  };
}

/** A turn's public shape, which both parties must agree on before it starts. */
export interface TurnShape {
  readonly promptTokens: number;
  readonly maxNewTokens: number;
}

export function encodeSync(t: TurnShape): Uint8Array {
  return encodeMessage({ type: 'sync', promptTokens: t.promptTokens, maxNewTokens: t.maxNewTokens });
}

export function decodeSync(payload: Uint8Array, from: string): TurnShape {
  const what = `sync from ${from}`;
  const { env } = decodeMessage(payload, what);
  assertEnvelopeKeys(env, what, ['type', 'promptTokens', 'maxNewTokens']);
  if (env.type !== 'sync') throw bad(`${what}: expected type "sync"`);
  return { promptTokens: envelopeInt(env, 'promptTokens', what, 1, MAX_PROMPT_TOKENS), maxNewTokens: envelopeInt(env, 'maxNewTokens', what, 1, MAX_NEW_TOKENS) };
}

/** Why a party ends a session early and tells its peer (END_TAG); only the client's cancel, for now. */
export type SessionEndOutcome = 'canceled';
const SESSION_END_OUTCOMES: readonly SessionEndOutcome[] = ['canceled'];

export function encodeSessionEnd(outcome: SessionEndOutcome): Uint8Array {
  return encodeMessage({ type: 'end', outcome });
}

export function decodeSessionEnd(payload: Uint8Array, from: string): SessionEndOutcome {
  const what = `session end from ${from}`;
  const { env, attachment } = decodeMessage(payload, what);
  assertEnvelopeKeys(env, what, ['type', 'outcome']);
  if (env.type !== 'end') throw bad(`${what}: expected type "end"`);
  const outcome = SESSION_END_OUTCOMES.find((o) => o === env.outcome);
  if (!outcome) throw bad(`${what}: field "outcome" expected one of ${SESSION_END_OUTCOMES.map((o) => `"${o}"`).join(', ')}`);
  if (attachment.byteLength !== 0) throw bad(`${what}: unexpected attachment of ${attachment.byteLength} bytes`);
  return outcome;
}

/**
 * `channel.recv(tag)` that fails with TimeoutError after `timeoutMs` (and then closes the channel,
 * whose message order is lost).
 */
export function recvWithin(channel: Channel, tag: number, timeoutMs: number, what: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new TimeoutError(`${what}: nothing received within ${timeoutMs} ms`));
      channel.close(`${what}: timeout`);
    }, timeoutMs);
    channel.recv(tag).then(
      (b) => {
        clearTimeout(timer);
        resolve(b);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new ChannelClosedError(String(e)));
      },
    );
  });
}

function bad(message: string): ProtocolError {
  return new ProtocolError(message, 'MPC_ERR_BAD_MESSAGE');
}

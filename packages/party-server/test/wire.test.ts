/**
 * The party server's wire formats at their trust boundary: round trips of every message, and a
 * bad-input table per decoder asserting class, code and message; limits on both sides.
 */
import {
  encodeEnvelope,
  generateKeyPair,
  LimitError,
  MAX_ENVELOPE_BYTES,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  newLinkNonce,
  ProtocolError,
  SessionNotFoundError,
  TimeoutError,
  ChannelClosedError,
} from '@mpcache/mpc-core';
import {
  decodeClientRequest,
  decodeHello,
  decodeMessage,
  decodePartyMessage,
  decodeSessionEnd,
  decodeSync,
  encodeClientRequest,
  checkHelloAuth,
  encodeHello,
  encodeHelloError,
  helloAuth,
  encodeMessage,
  encodePartyMessage,
  encodeSessionEnd,
  encodeSync,
  errorFields,
  errorFromWire,
  SEAL_OVERHEAD,
  TOKEN_SEAL_BYTES,
  type ClientRequest,
  type PartyMessage,
} from '../src';

const cost = { ms: 1.5, bytesSent: 16, bytesReceived: 16, rounds: 1, offlineBytes: 8 };
const pk = new Uint8Array(32).fill(7);

/** A frame payload with a raw length prefix (to build what the encoder never would). */
function framed(envBytes: Uint8Array, attachment = new Uint8Array(0), declared = envBytes.byteLength): Uint8Array {
  const out = new Uint8Array(4 + envBytes.byteLength + attachment.byteLength);
  new DataView(out.buffer).setUint32(0, declared, true);
  out.set(envBytes, 4);
  out.set(attachment, 4 + envBytes.byteLength);
  return out;
}

describe('client requests', () => {
  it('round-trip', () => {
    const reqs: ClientRequest[] = [
      { type: 'open', sessionId: 'a-1', model: 'stories15m', policy: 'full', maxNewTokens: 24, clientKey: pk },
      { type: 'open', sessionId: 'a-2', model: 'stories15m', policy: 'full', maxNewTokens: 24, clientKey: pk, temperature: 0.8, topK: 40 },
      { type: 'open', sessionId: 'a-3', model: 'stories15m', policy: 'full', maxNewTokens: 24, clientKey: pk, temperature: 0.8, topK: 40, topP: 0.9 },
      { type: 'open', sessionId: 'a-4', model: 'stories15m', policy: 'full', maxNewTokens: 24, clientKey: pk, multiTurn: true, stopToken: 2 },
      { type: 'generate', sessionId: 'a-1', promptTokens: 2, sealed: new Uint8Array(16 + SEAL_OVERHEAD).fill(3) },
      { type: 'generate', sessionId: 'a-4', promptTokens: 1, sealed: new Uint8Array(8 + SEAL_OVERHEAD).fill(5), maxNewTokens: 6 },
      { type: 'cancel', sessionId: 'a.b_C' },
    ];
    for (const r of reqs) expect(decodeClientRequest(encodeClientRequest(r))).toEqual(r);
  });

  const open = { type: 'open', sessionId: 's', model: 'm', policy: 'full', maxNewTokens: 4, clientKey: pk };
  const badInputs: [string, Uint8Array, new (...a: never[]) => Error, string, RegExp][] = [
    ['fewer than 4 bytes', new Uint8Array(3), ProtocolError, 'MPC_ERR_BAD_LENGTH', /need at least 4/],
    ['declared envelope longer than the frame', framed(encodeEnvelope(open), undefined, 500), ProtocolError, 'MPC_ERR_BAD_LENGTH', /declares 500 bytes/],
    ['declared envelope over the limit', framed(new Uint8Array(0), undefined, MAX_ENVELOPE_BYTES + 1), LimitError, 'MPC_ERR_LIMIT', /limit 65536/],
    ['truncated msgpack', framed(new Uint8Array([0x82, 0xa4, 0x74])), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /malformed msgpack/],
    ['not a map', framed(new Uint8Array([0x93, 1, 2, 3])), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /must be a map/],
    ['unknown type', encodeMessage({ ...open, type: 'exec' }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /unknown type "exec"/],
    ['missing field', encodeMessage({ type: 'open', sessionId: 's' }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /missing field "model"/],
    ['extra field', encodeMessage({ ...open, admin: true }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /unexpected field "admin"/],
    ['session id with a slash', encodeMessage({ ...open, sessionId: '../x' }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"sessionId"/],
    ['session id of 65 characters', encodeMessage({ ...open, sessionId: 'x'.repeat(65) }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"sessionId"/],
    ['maxNewTokens 0', encodeMessage({ ...open, maxNewTokens: 0 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"maxNewTokens"/],
    ['maxNewTokens 2.5', encodeMessage({ ...open, maxNewTokens: 2.5 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"maxNewTokens"/],
    ['maxNewTokens over MAX_NEW_TOKENS', encodeMessage({ ...open, maxNewTokens: MAX_NEW_TOKENS + 1 }), LimitError, 'MPC_ERR_LIMIT', /MAX_NEW_TOKENS/],
    ['model name too long', encodeMessage({ ...open, model: 'm'.repeat(65) }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"model"/],
    ['topK without a temperature', encodeMessage({ ...open, topK: 5 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topK" needs a temperature > 0/],
    ['topK 0', encodeMessage({ ...open, temperature: 1, topK: 0 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topK"/],
    ['topK 2.5', encodeMessage({ ...open, temperature: 1, topK: 2.5 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topK"/],
    ['topP without topK', encodeMessage({ ...open, temperature: 1, topP: 0.9 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topP" needs "topK"/],
    ['topP 0', encodeMessage({ ...open, temperature: 1, topK: 4, topP: 0 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topP" expected a number in \(0, 1\]/],
    ['topP as a string', encodeMessage({ ...open, temperature: 1, topK: 4, topP: '0.9' }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"topP"/],
    ['open with an attachment', encodeMessage(open, new Uint8Array(8)), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /unexpected attachment of 8 bytes/],
    ['open without a client key', encodeMessage({ type: 'open', sessionId: 's', model: 'm', policy: 'full', maxNewTokens: 4 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /missing field "clientKey"/],
    ['open with a 33-byte client key', encodeMessage({ ...open, clientKey: new Uint8Array(33) }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"clientKey" expected 32 bytes/],
    ['open with the client key as text', encodeMessage({ ...open, clientKey: 'ab'.repeat(16) }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"clientKey" expected 32 bytes/],
    ['multiTurn as a number', encodeMessage({ ...open, multiTurn: 1 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"multiTurn" expected a boolean/],
    ['a negative stopToken', encodeMessage({ ...open, stopToken: -1 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"stopToken" expected an integer in \[0, 2147483647\]/],
    ['a stopToken of 2.5', encodeMessage({ ...open, stopToken: 2.5 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"stopToken"/],
    ['a turn of 0 new tokens', encodeMessage({ type: 'generate', sessionId: 's', promptTokens: 1, maxNewTokens: 0 }, new Uint8Array(36)), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"maxNewTokens"/],
    ['generate with a share shorter than a seal', encodeMessage({ type: 'generate', sessionId: 's', promptTokens: 1 }, new Uint8Array(8)), ProtocolError, 'MPC_ERR_BAD_LENGTH', /expected at least 28/],
    ['prompt over MAX_PROMPT_TOKENS', encodeMessage({ type: 'generate', sessionId: 's', promptTokens: MAX_PROMPT_TOKENS + 1 }), LimitError, 'MPC_ERR_PROMPT_TOO_LONG', /exceeds MAX_PROMPT_TOKENS/],
    ['empty prompt', encodeMessage({ type: 'generate', sessionId: 's', promptTokens: 0 }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"promptTokens"/],
    ['prompt length as a string', encodeMessage({ type: 'generate', sessionId: 's', promptTokens: '3' }), ProtocolError, 'MPC_ERR_BAD_MESSAGE', /"promptTokens"/],
  ];
  it.each(badInputs)('rejects %s', (_label, payload, cls, code, message) => {
    let err: unknown;
    try {
      decodeClientRequest(payload);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(message);
  });

  it('limits hold on both sides of the boundary', () => {
    const gen = (n: number) => encodeMessage({ type: 'generate', sessionId: 's', promptTokens: n }, new Uint8Array(SEAL_OVERHEAD));
    expect(decodeClientRequest(gen(MAX_PROMPT_TOKENS))).toMatchObject({ promptTokens: MAX_PROMPT_TOKENS });
    expect(() => decodeClientRequest(gen(MAX_PROMPT_TOKENS + 1))).toThrow(LimitError);
    expect(decodeClientRequest(encodeMessage({ ...open, maxNewTokens: MAX_NEW_TOKENS }))).toMatchObject({ maxNewTokens: MAX_NEW_TOKENS });
    // an envelope of exactly MAX_ENVELOPE_BYTES is read (and then fails on its content, not its size)
    expect(() => decodeMessage(framed(new Uint8Array(MAX_ENVELOPE_BYTES)), 'x')).toThrow(ProtocolError);
  });
});

describe('party messages', () => {
  it('round-trip, a token carrying only a sealed 8-byte share', () => {
    const msgs: PartyMessage[] = [
      { type: 'opened', sessionId: 's', info: { party: 1, input: 'ids', vocabSize: 32000, maxContext: 256, fracBits: 16 }, publicKey: pk },
      { type: 'token', sessionId: 's', index: 3, sealed: new Uint8Array(TOKEN_SEAL_BYTES).fill(7), cost },
      { type: 'done', sessionId: 's', tokens: 4, cost },
      { type: 'error', sessionId: 's', error: { code: 'MPC_ERR_TIMEOUT', name: 'TimeoutError', message: 'late' } },
      { type: 'error', error: { code: 'MPC_ERR_BAD_TAG', name: 'ProtocolError', message: 'tag' } },
    ];
    for (const m of msgs) expect(decodePartyMessage(encodePartyMessage(m))).toEqual(m);
    const raw = decodeMessage(encodePartyMessage(msgs[1]), 'x');
    expect(raw.attachment.byteLength).toBe(8 + SEAL_OVERHEAD);
  });

  it.each([
    ['a token without its share', encodeMessage({ type: 'token', sessionId: 's', index: 0, ...cost }), /expected a sealed share of 36 bytes, got 0/],
    ['a token with an unsealed 8-byte share', encodeMessage({ type: 'token', sessionId: 's', index: 0, ...cost }, new Uint8Array(8)), /expected a sealed share of 36 bytes, got 8/],
    ['a token with a negative cost', encodeMessage({ type: 'token', sessionId: 's', index: 0, ...cost, ms: -1 }, new Uint8Array(TOKEN_SEAL_BYTES)), /"ms"/],
    ['opened with an unknown input', encodeMessage({ type: 'opened', sessionId: 's', party: 0, input: 'text', vocabSize: 1, maxContext: 1, fracBits: 0, publicKey: pk }), /"input"/],
    ['opened for party 2', encodeMessage({ type: 'opened', sessionId: 's', party: 2, input: 'ids', vocabSize: 1, maxContext: 1, fracBits: 0, publicKey: pk }), /"party"/],
    ['opened without the party key', encodeMessage({ type: 'opened', sessionId: 's', party: 0, input: 'ids', vocabSize: 1, maxContext: 1, fracBits: 0 }), /missing field "publicKey"/],
  ])('rejects %s', (_l, payload, message) => {
    expect(() => decodePartyMessage(payload)).toThrow(message);
  });
});

describe('server hellos and errors on the wire', () => {
  const nonce = newLinkNonce();
  it('hello round-trips; P1 → P0 carries the session parameters', () => {
    for (const params of [{ model: 'stories15m', policy: 'full', maxNewTokens: 8 }, { model: 'stories15m', policy: 'full', maxNewTokens: 8, temperature: 0.7, topK: 3, topP: 0.5, shareSet: '0123456789abcdef' }]) {
      expect(decodeHello(encodeHello({ role: 'p1', sessionId: 's', publicKey: pk, nonce, params }), 'p1', 'P1', 's', true)).toEqual({ role: 'p1', sessionId: 's', publicKey: pk, nonce, params });
    }
    expect(decodeHello(encodeHello({ role: 'dealer', sessionId: 's', publicKey: pk, nonce }), 'dealer', 'dealer', 's')).toMatchObject({ role: 'dealer', nonce });
    expect(decodeSync(encodeSync({ promptTokens: 5, maxNewTokens: 7 }), 'P0')).toEqual({ promptTokens: 5, maxNewTokens: 7 });
  });

  it.each([
    ['a role other than expected', encodeHello({ role: 'p0', sessionId: 's', publicKey: pk, nonce }), /expected role "dealer"/],
    ['another session', encodeHello({ role: 'dealer', sessionId: 't', publicKey: pk, nonce }), /hello for session "t", expected "s"/],
    ['a short key', encodeHello({ role: 'dealer', sessionId: 's', publicKey: pk.subarray(0, 31), nonce }), /"publicKey" expected 32 bytes/],
    ['a short nonce', encodeHello({ role: 'dealer', sessionId: 's', publicKey: pk, nonce: nonce.subarray(0, 16) }), /"nonce" expected 32 bytes/],
    ['no nonce', encodeMessage({ type: 'hello', role: 'dealer', sessionId: 's', publicKey: pk }), /missing field "nonce"/],
    ['a short proof', encodeHello({ role: 'dealer', sessionId: 's', publicKey: pk, nonce, auth: new Uint8Array(31) }), /"auth" expected 32 bytes/],
  ])('rejects a hello with %s', (_l, payload, message) => {
    expect(() => decodeHello(payload, 'dealer', 'dealer', 's')).toThrow(message);
  });

  it('the end notice round-trips and names nothing but the outcome', () => {
    const payload = encodeSessionEnd('canceled');
    expect(decodeSessionEnd(payload, 'P0')).toBe('canceled');
    expect(decodeMessage(payload, 'x').env).toEqual({ type: 'end', outcome: 'canceled' });
  });

  it.each([
    ['another outcome', encodeMessage({ type: 'end', outcome: 'failed' }), 'MPC_ERR_BAD_MESSAGE', /session end from P0: field "outcome" expected one of "canceled"/],
    ['no outcome', encodeMessage({ type: 'end' }), 'MPC_ERR_BAD_MESSAGE', /session end from P0: missing field "outcome"/],
    ['an extra field', encodeMessage({ type: 'end', outcome: 'canceled', sessionId: 's' }), 'MPC_ERR_BAD_MESSAGE', /unexpected field "sessionId"/],
    ['another type', encodeMessage({ type: 'fin', outcome: 'canceled' }), 'MPC_ERR_BAD_MESSAGE', /expected type "end"/],
    ['an attachment', encodeMessage({ type: 'end', outcome: 'canceled' }, new Uint8Array(8)), 'MPC_ERR_BAD_MESSAGE', /unexpected attachment of 8 bytes/],
    ['fewer than 4 bytes', new Uint8Array(2), 'MPC_ERR_BAD_LENGTH', /session end from P0: 2 bytes, need at least 4/],
  ])('rejects an end notice with %s', (_l, payload, code, message) => {
    let err: unknown;
    try {
      decodeSessionEnd(payload, 'P0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('an error reply comes back as the same class', () => {
    expect(() => decodeHello(encodeHelloError(new SessionNotFoundError('s')), 'p0', 'P0', 's')).toThrow(SessionNotFoundError);
    const cases: [Error, new (...a: never[]) => Error][] = [
      [new LimitError('too many', 'MPC_ERR_TOO_MANY_SESSIONS'), LimitError],
      [new ProtocolError('bad', 'MPC_ERR_BAD_TAG'), ProtocolError],
      [new TimeoutError('late'), TimeoutError],
      [new ChannelClosedError('gone'), ChannelClosedError],
    ];
    for (const [e, cls] of cases) {
      const back = errorFromWire(errorFields(e), 'P1');
      expect(back).toBeInstanceOf(cls);
      expect(back).toMatchObject({ code: (e as unknown as { code: string }).code, message: `P1: ${e.message}` });
    }
  });

  it('an error outside the family goes out as MPC_ERR_INTERNAL without its message', () => {
    const f = errorFields(new TypeError('Cannot read properties of undefined (reading "secretThing")'));
    expect(f).toEqual({ code: 'MPC_ERR_INTERNAL', name: 'TypeError', message: 'internal error (TypeError); details are in the server log' });
  });
});

describe('hello proof of key (hello-auth.ts)', () => {
  const p1 = generateKeyPair(), p0 = generateKeyPair();
  const fields = { role: 'p1', sessionId: 's', nonce: newLinkNonce() } as const;
  const hello = (auth?: Uint8Array) => ({ ...fields, publicKey: p1.publicKey, ...(auth ? { auth } : {}) });

  it("the receiver verifies the sender's proof; another key, role, session or nonce does not verify", () => {
    expect(() => checkHelloAuth(p0, hello(helloAuth(p1, p0.publicKey, fields)), 'P1', true)).not.toThrow();
    const bad = [
      helloAuth(generateKeyPair(), p0.publicKey, fields),
      helloAuth(p1, generateKeyPair().publicKey, fields),
      helloAuth(p1, p0.publicKey, { ...fields, role: 'p0' }),
      helloAuth(p1, p0.publicKey, { ...fields, sessionId: 't' }),
      helloAuth(p1, p0.publicKey, { ...fields, nonce: newLinkNonce() }),
    ];
    for (const auth of bad) expect(() => checkHelloAuth(p0, hello(auth), 'P1', false)).toThrow(/proof of its key does not verify/);
  });

  it('a missing proof is refused only where the sender is pinned', () => {
    expect(() => checkHelloAuth(p0, hello(), 'P1', true)).toThrow(/no proof of its key/);
    expect(() => checkHelloAuth(p0, hello(), 'P1', false)).not.toThrow();
  });
});

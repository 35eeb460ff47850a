/**
 * Party servers and the dealer on real loopback WebSockets (one process), running the tiny
 * ring-recurrence job: sessions, seeds, streaming, per-token costs, and — above all — bad clients
 * that get a clear error while another client's session runs to a correct end.
 */
import WebSocket from 'ws';
import {
  LimitError,
  MAX_NEW_TOKENS,
  MAX_PROMPT_TOKENS,
  ProtocolError,
  SessionNotFoundError,
  WsChannel,
  ChannelClosedError,
} from '@mpcache/mpc-core';
import { beaverMulCost, mulTriples, openWords } from '@mpcache/protocols';
import {
  ClientSeal,
  encodeHello,
  encodeMessage,
  decodeHello,
  HELLO_TAG,
  helloAuth,
  ringRecurrenceJob,
  ringRecurrenceReference,
  ringRecurrenceTurns,
  RING_RECURRENCE_MODEL,
  sealPlace,
  startLocalServers,
  TOKEN_SEAL_BYTES,
  wordBytes,
  type LocalServers,
  type PartyJob,
} from '@mpcache/party-server';
import { MpcacheClient, type ClientSession, type GeneratedToken } from '@mpcache/client';
import { generateKeyPair, newLinkNonce, share, tensor, type KeyPair } from '@mpcache/mpc-core';
import { eventually, RawClient } from './helpers/raw-client';

const MODEL = RING_RECURRENCE_MODEL;
const TIMEOUTS = { pairTimeoutMs: 400, syncTimeoutMs: 400, handshakeTimeoutMs: 2000 };

async function collect(s: ClientSession, prompt: bigint[]): Promise<GeneratedToken[]> {
  const out: GeneratedToken[] = [];
  for await (const t of s.generate(prompt)) out.push(t);
  return out;
}

/** A good client's whole run, checked against the plaintext reference. */
async function goodRun(servers: LocalServers, prompt: bigint[], maxNewTokens: number): Promise<GeneratedToken[]> {
  const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
  try {
    const s = await client.openSession({ model: MODEL, maxNewTokens });
    const tokens = await collect(s, prompt);
    expect(tokens.map((t) => t.value)).toEqual(ringRecurrenceReference(prompt, maxNewTokens));
    return tokens;
  } finally {
    client.close();
  }
}

/** Each party's prompt share for a raw client. */
function promptShares(prompt: bigint[]): [Uint8Array, Uint8Array] {
  const [a, b] = share(tensor([prompt.length], BigUint64Array.from(prompt)));
  return [wordBytes(a.data), wordBytes(b.data)];
}

describe('party servers over loopback WebSockets (ring-recurrence job)', () => {
  let servers: LocalServers;
  const logs: string[] = [];
  beforeAll(async () => {
    servers = await startLocalServers({
      job: () => ringRecurrenceJob(),
      party: { ...TIMEOUTS, log: (l) => logs.push(l) },
      dealer: { pairTimeoutMs: 2000, log: (l) => logs.push(l) },
    });
  });
  afterAll(() => servers.close());
  afterEach(async () => {
    // every test leaves no session behind on any server
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount + servers.dealer.sessionCount === 0, 5000, 'sessions freed');
  });

  it('generates the reference sequence with the exact cost of one beaverMul per token', async () => {
    const tokens = await goodRun(servers, [3n, 5n, 7n], 6);
    const c = beaverMulCost(1);
    for (const t of tokens) {
      expect(t.rounds).toBe(c.rounds);
      expect(t.parties[0]).toMatchObject({ rounds: 1, bytesSent: c.bytesSent, bytesReceived: c.bytesSent, offlineBytes: c.offlineBytes });
      expect(t.parties[1]).toMatchObject({ rounds: 1, bytesSent: c.bytesSent, bytesReceived: c.bytesSent, offlineBytes: 0 });
      expect(t.bytes).toBe(2 * c.bytesSent);
    }
  });

  it('runs two concurrent sessions of two clients, each correct', async () => {
    await Promise.all([goodRun(servers, [2n, 9n], 40), goodRun(servers, [11n, 1n, 4n, 6n], 40)]);
  });

  it('runs two concurrent sessions on one client connection', async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    const [a, b] = await Promise.all([client.openSession({ model: MODEL, maxNewTokens: 20 }), client.openSession({ model: MODEL, maxNewTokens: 30 })]);
    const [ta, tb] = await Promise.all([collect(a, [5n]), collect(b, [8n, 13n])]);
    expect(ta.map((t) => t.value)).toEqual(ringRecurrenceReference([5n], 20));
    expect(tb.map((t) => t.value)).toEqual(ringRecurrenceReference([8n, 13n], 30));
    client.close();
  });

  it('a party sends the client only its sealed share of each token; both links together reveal nothing', async () => {
    const prompt = [21n, 34n];
    const [s0, s1] = promptShares(prompt);
    const c = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    const sessionId = 'shares-only';
    for (const r of c) r.open({ sessionId, model: MODEL, policy: 'full', maxNewTokens: 8 });
    const opened = await Promise.all(c.map((r) => r.expect('opened')));
    expect(opened.map((m) => Buffer.from(m.publicKey).toString('hex'))).toEqual([servers.p0.publicKey, servers.p1.publicKey].map((k) => Buffer.from(k).toString('hex')));
    c[0].generate(sessionId, 2, s0);
    c[1].generate(sessionId, 2, s1);
    const expected = ringRecurrenceReference(prompt, 8);
    for (let i = 0; i < 8; i++) {
      const [m0, m1] = await Promise.all(c.map((r) => r.expect('token')));
      // what travels: public cost counters in the envelope, one sealed 8-byte share as the attachment
      const seen = c.map((r) => {
        const { env, attachment } = r.log[r.log.length - 1].raw;
        expect(Object.keys(env).sort()).toEqual(['bytesReceived', 'bytesSent', 'index', 'ms', 'offlineBytes', 'rounds', 'sessionId', 'type']);
        expect(attachment.byteLength).toBe(TOKEN_SEAL_BYTES);
        return attachment;
      });
      // an observer of both links: no 8-byte window of one attachment plus one of the other is the token
      for (let a = 0; a + 8 <= seen[0].byteLength; a++) {
        for (let b = 0; b + 8 <= seen[1].byteLength; b++) {
          const w = (x: Uint8Array, o: number) => Buffer.from(x.subarray(o, o + 8)).readBigUInt64LE();
          expect(BigInt.asUintN(64, w(seen[0], a) + w(seen[1], b))).not.toBe(expected[i]);
        }
      }
      const [v0, v1] = [c[0].tokenShare(m0), c[1].tokenShare(m1)];
      expect(v0).not.toBe(expected[i]);
      expect(v1).not.toBe(expected[i]);
      expect(BigInt.asUintN(64, v0 + v1)).toBe(expected[i]);
    }
    await Promise.all(c.map((r) => r.expect('done')));
    // a second generate on the finished session: it is gone
    c[0].generate(sessionId, 2, s0);
    expect((await c[0].expect('error')).error.code).toBe('MPC_ERR_SESSION_NOT_FOUND');
    for (const r of c) r.close();
  });

  it('a prompt share whose seal does not open gets MPC_ERR_BAD_SEAL, and the session stays ready', async () => {
    const c = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    for (const r of c) r.open({ sessionId: 'sealed', model: MODEL, policy: 'full', maxNewTokens: 2 });
    await Promise.all(c.map((r) => r.expect('opened')));
    const [s0, s1] = promptShares([4n, 9n]);
    const sealedFor = (place: string) => ClientSeal.agree('client', c[0].keys, servers.p0.publicKey, 'sealed', 0).seal(place, s0);
    const tampered = sealedFor(sealPlace.generate(0, 2));
    tampered[20] ^= 1;
    const cases: [string, Uint8Array][] = [
      ['one flipped bit', tampered],
      ['sealed for another prompt length', sealedFor(sealPlace.generate(0, 3))],
      ['sealed for another session', ClientSeal.agree('client', c[0].keys, servers.p0.publicKey, 'other', 0).seal(sealPlace.generate(0, 2), s0)],
      ["sealed for P1's key", ClientSeal.agree('client', c[0].keys, servers.p1.publicKey, 'sealed', 0).seal(sealPlace.generate(0, 2), s0)],
    ];
    for (const [, sealed] of cases) {
      c[0].send({ type: 'generate', sessionId: 'sealed', promptTokens: 2, sealed });
      expect((await c[0].expect('error')).error).toMatchObject({ code: 'MPC_ERR_BAD_SEAL', name: 'ProtocolError' });
    }
    // nothing was lost: the session still generates from a good seal
    c[0].generate('sealed', 2, s0);
    c[1].generate('sealed', 2, s1);
    const [a, b] = await Promise.all(c.map((r) => r.expect('token')));
    const [a2, b2] = await Promise.all(c.map((r) => r.expect('token')));
    const got = [c[0].tokenShare(a) + c[1].tokenShare(b), c[0].tokenShare(a2) + c[1].tokenShare(b2)].map((v) => BigInt.asUintN(64, v));
    expect(got).toEqual(ringRecurrenceReference([4n, 9n], 2));
    await Promise.all(c.map((r) => r.expect('done')));
    for (const r of c) r.close();
  });

  it('a client that pins the parties\' keys refuses an impostor before the prompt leaves, and works with the right keys', async () => {
    const wrong = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url, p1PublicKey: generateKeyPair().publicKey });
    await expect(wrong.openSession({ model: MODEL, maxNewTokens: 1 })).rejects.toThrow(/P1's public key is not the pinned one/);
    wrong.close();
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    const pinned = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url, p0PublicKey: hex(servers.p0.publicKey), p1PublicKey: servers.p1.publicKey });
    const s = await pinned.openSession({ model: MODEL, maxNewTokens: 3 });
    expect((await collect(s, [2n, 7n])).map((t) => t.value)).toEqual(ringRecurrenceReference([2n, 7n], 3));
    pinned.close();
    await expect(MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url, p0PublicKey: 'abc' })).rejects.toThrow(/expected 64 hex digits/);
  });

  it('a garbage frame closes only that connection (1002, MPC_ERR_BAD_FRAME); another session completes', async () => {
    const good = goodRun(servers, [7n, 3n], 300);
    const ws = new WebSocket(`${servers.p0.url}/client`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()])));
    ws.send(Buffer.from('definitely not a frame'));
    expect(await closed).toEqual([1002, 'MPC_ERR_BAD_FRAME']);
    await good;
  });

  it('a wrong tag closes that connection with a clear error; another session completes', async () => {
    const good = goodRun(servers, [4n], 200);
    const raw = await RawClient.connect(servers.p1.url);
    raw.sendRaw(encodeMessage({ type: 'cancel', sessionId: 'x' }), 77);
    const m = await raw.expect('error');
    expect(m.error.code).toBe('MPC_ERR_BAD_TAG');
    await expect(raw.next()).rejects.toThrow(/closed/);
    await good;
  });

  it('a malformed or unknown request gets an error naming it, and the same connection keeps working', async () => {
    const raw = await RawClient.connect(servers.p0.url);
    raw.sendRaw(encodeMessage({ type: 'open', sessionId: 'half-open' })); // fields missing
    let m = await raw.expect('error');
    expect(m).toMatchObject({ sessionId: 'half-open', error: { code: 'MPC_ERR_BAD_MESSAGE', name: 'ProtocolError' } });
    expect(m.error.message).toMatch(/missing field "model"/);
    raw.sendRaw(encodeMessage({ type: 'launch', sessionId: 'x' }));
    expect((await raw.expect('error')).error.message).toMatch(/unknown type "launch"/);
    raw.sendRaw(new Uint8Array([1, 0, 0, 0, 0xc1])); // a msgpack byte that is never valid
    expect((await raw.expect('error')).error.code).toBe('MPC_ERR_BAD_MESSAGE');
    raw.open({ sessionId: 'wrong-model', model: 'gpt-17', policy: 'full', maxNewTokens: 4 });
    expect((await raw.expect('error')).error.message).toMatch(/model "gpt-17" is not served/);
    raw.open({ sessionId: 'wrong-policy', model: MODEL, policy: 'h2o', maxNewTokens: 4 });
    expect((await raw.expect('error')).error.message).toMatch(/policy "h2o" is not supported/);
    raw.sendRaw(encodeMessage({ type: 'open', sessionId: 'hot', model: MODEL, policy: 'full', maxNewTokens: 4, clientKey: raw.keys.publicKey, temperature: -1 }));
    expect((await raw.expect('error')).error.message).toMatch(/field "temperature" expected a number in \[0, 100\]/);
    raw.send({ type: 'open', sessionId: 'keyless', model: MODEL, policy: 'full', maxNewTokens: 4, clientKey: new Uint8Array(31) });
    expect((await raw.expect('error')).error.message).toMatch(/field "clientKey" expected 32 bytes/);
    raw.send({ type: 'open', sessionId: 'zero-key', model: MODEL, policy: 'full', maxNewTokens: 4, clientKey: new Uint8Array(32) });
    expect(await raw.expect('error')).toMatchObject({ sessionId: 'zero-key', error: { code: 'MPC_ERR_BAD_MESSAGE', message: expect.stringMatching(/small-order/) } });
    // …and the connection still serves a full session (with P1 over another connection)
    const raw1 = await RawClient.connect(servers.p1.url);
    for (const r of [raw, raw1]) r.open({ sessionId: 'after-bad', model: MODEL, policy: 'full', maxNewTokens: 3 });
    await Promise.all([raw.expect('opened'), raw1.expect('opened')]);
    const [s0, s1] = promptShares([6n]);
    raw.generate('after-bad', 1, s0);
    raw1.generate('after-bad', 1, s1);
    const got: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([raw.expect('token'), raw1.expect('token')]);
      got.push(BigInt.asUintN(64, raw.tokenShare(a) + raw1.tokenShare(b)));
    }
    expect(got).toEqual(ringRecurrenceReference([6n], 3));
    await Promise.all([raw.expect('done'), raw1.expect('done')]);
    raw.close();
    raw1.close();
  });

  it('an unknown session id gets SessionNotFoundError (and so does a second generate on a finished session)', async () => {
    const raw = await RawClient.connect(servers.p0.url);
    raw.generate('ghost', 1, new Uint8Array(8));
    const m = await raw.expect('error');
    expect(m).toMatchObject({ sessionId: 'ghost', error: { code: 'MPC_ERR_SESSION_NOT_FOUND', name: 'SessionNotFoundError' } });
    raw.close();

    // through the SDK: the error comes back as the class, and the finished session refuses locally
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    const s = await client.openSession({ model: MODEL, maxNewTokens: 2, sessionId: 'finished-once' });
    await collect(s, [1n, 2n]);
    await expect(collect(s, [1n, 2n])).rejects.toThrow(ProtocolError);
    client.close();
  });

  it("another client cannot drive someone else's session (SessionNotFoundError)", async () => {
    const owner = await RawClient.connect(servers.p0.url);
    owner.open({ sessionId: 'mine', model: MODEL, policy: 'full', maxNewTokens: 2 });
    const intruder = await RawClient.connect(servers.p0.url);
    intruder.send({ type: 'cancel', sessionId: 'mine' });
    expect((await intruder.expect('error')).error.code).toBe('MPC_ERR_SESSION_NOT_FOUND');
    // P1 never hears of "mine": P0 gives up waiting for its link and tells the owner
    const m = await owner.expect('error');
    expect(m).toMatchObject({ sessionId: 'mine', error: { code: 'MPC_ERR_TIMEOUT' } });
    owner.close();
    intruder.close();
  });

  it('an over-long prompt gets LimitError MPC_ERR_PROMPT_TOO_LONG and the session stays usable', async () => {
    const raw = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    for (const r of raw) r.open({ sessionId: 'long', model: MODEL, policy: 'full', maxNewTokens: 2 });
    await Promise.all(raw.map((r) => r.expect('opened')));
    raw[0].generate('long', MAX_PROMPT_TOKENS + 1, new Uint8Array(0));
    const m = await raw[0].expect('error');
    expect(m).toMatchObject({ sessionId: 'long', error: { code: 'MPC_ERR_PROMPT_TOO_LONG', name: 'LimitError' } });
    // a share of the wrong length: clear error, nothing lost
    raw[0].generate('long', 2, new Uint8Array(8));
    expect((await raw[0].expect('error')).error).toMatchObject({ code: 'MPC_ERR_BAD_LENGTH' });
    // nothing was lost: the session still generates
    const [s0, s1] = promptShares([5n, 8n]);
    raw[0].generate('long', 2, s0);
    raw[1].generate('long', 2, s1);
    const [a, b] = await Promise.all(raw.map((r) => r.expect('token')));
    expect(BigInt.asUintN(64, raw[0].tokenShare(a) + raw[1].tokenShare(b))).toBe(ringRecurrenceReference([5n, 8n], 1)[0]);
    for (const r of raw) r.close();
  });

  it('the SDK refuses an over-long prompt before sending anything', async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    const s = await client.openSession({ model: MODEL, maxNewTokens: 1 });
    await expect(collect(s, new Array(MAX_PROMPT_TOKENS + 1).fill(1n))).rejects.toThrow(LimitError);
    expect(s.state).toBe('ready');
    expect((await collect(s, [2n, 3n])).map((t) => t.value)).toEqual(ringRecurrenceReference([2n, 3n], 1));
    await expect(client.openSession({ model: MODEL, maxNewTokens: MAX_NEW_TOKENS + 1 })).rejects.toThrow(/MAX_NEW_TOKENS/);
    client.close();
  });

  it('a client that disconnects mid-protocol frees its session on P0, P1 and the dealer; others go on', async () => {
    const good = goodRun(servers, [9n, 2n, 5n], 400);
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    const s = await client.openSession({ model: MODEL, maxNewTokens: MAX_NEW_TOKENS, sessionId: 'quitter' });
    for await (const t of s.generate([1n, 2n])) {
      if (t.index === 3) break; // mid-protocol: thousands of tokens still to go
    }
    client.close();
    await good;
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 0, 5000, 'quitter gone').catch((e) => {
      console.log(logs.join('\n'));
      throw e;
    });
    expect(logs.some((l) => /P[01]: session quitter (failed|canceled)/.test(l))).toBe(true);
  });

  it('a raw client that vanishes mid-protocol (no cancel) fails the session on both parties', async () => {
    const raw = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    const sessionId = 'vanisher';
    for (const r of raw) r.open({ sessionId, model: MODEL, policy: 'full', maxNewTokens: MAX_NEW_TOKENS });
    await Promise.all(raw.map((r) => r.expect('opened')));
    const [s0, s1] = promptShares([3n]);
    raw[0].generate(sessionId, 1, s0);
    raw[1].generate(sessionId, 1, s1);
    await Promise.all(raw.map((r) => r.expect('token')));
    raw[0].channel.terminate('gone');
    // P1 loses its peer mid-round and tells its client which session failed
    let m = await raw[1].next();
    while (m.type === 'token') m = await raw[1].next();
    expect(m).toMatchObject({ type: 'error', sessionId, error: { code: 'MPC_ERR_CHANNEL_CLOSED' } });
    raw[1].close();
  });

  it('generate sent to one party only: the other party never starts, the session times out cleanly', async () => {
    const raw = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    for (const r of raw) r.open({ sessionId: 'lopsided', model: MODEL, policy: 'full', maxNewTokens: 2 });
    await Promise.all(raw.map((r) => r.expect('opened')));
    raw[0].generate('lopsided', 1, new Uint8Array(8));
    expect(await raw[0].expect('error')).toMatchObject({ error: { code: 'MPC_ERR_TIMEOUT' } });
    expect(await raw[1].expect('error')).toMatchObject({ error: { code: 'MPC_ERR_CHANNEL_CLOSED' } });
    for (const r of raw) r.close();
  });

  it('SDK lifecycle: swapped URLs, use after close, double close, unreachable party', async () => {
    const swapped = await MpcacheClient.connect({ p0: servers.p1.url, p1: servers.p0.url });
    await expect(swapped.openSession({ model: MODEL, maxNewTokens: 1 })).rejects.toThrow(/the server given as P0 is P1/);
    swapped.close();
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    client.close();
    expect(() => client.close()).not.toThrow();
    await expect(client.openSession({ model: MODEL, maxNewTokens: 1 })).rejects.toThrow(ChannelClosedError);
    const dead = servers.dealer.url.replace(/:\d+$/, ':1');
    await expect(MpcacheClient.connect({ p0: dead, p1: servers.p1.url })).rejects.toThrow(/cannot reach P0 at ws:\/\/127.0.0.1:1/);
  });

  /** P1's hello for session `id`, with a proof of P1's key made by `prover` (P1's own key pair: a real proof). */
  function p1Hello(id: string, prover?: KeyPair) {
    const fields = { role: 'p1', sessionId: id, nonce: newLinkNonce() } as const;
    const auth = prover && helloAuth(prover, servers.p0.publicKey, fields);
    return encodeHello({ ...fields, publicKey: servers.p1.publicKey, params: { model: MODEL, policy: 'full', maxNewTokens: 1 }, ...(auth ? { auth } : {}) });
  }

  it('a P1 link for a session P0 does not have gets SessionNotFoundError', async () => {
    const ch = await WsChannel.connect(`${servers.p0.url}/session/nobody/peer`);
    ch.send(HELLO_TAG, p1Hello('nobody', servers.keys.p1));
    const reply = await ch.recv(HELLO_TAG);
    expect(() => decodeHello(reply, 'p0', 'P0', 'nobody')).toThrow(SessionNotFoundError);
    ch.close();
  });

  it("a stranger naming P1's pinned key cannot take a session's peer link; the real P1 still pairs", async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      for (const [label, prover] of [['no proof', undefined], ['a proof made with another key', generateKeyPair()]] as const) {
        const ch = await WsChannel.connect(`${servers.p0.url}/session/victim/peer`);
        ch.send(HELLO_TAG, p1Hello('victim', prover));
        const reply = await ch.recv(HELLO_TAG);
        expect(() => decodeHello(reply, 'p0', 'P0', 'victim')).toThrow(prover ? /proof of its key does not verify/ : /no proof of its key/);
        ch.close();
        void label;
      }
      const s = await client.openSession({ model: MODEL, maxNewTokens: 3, sessionId: 'victim' });
      expect((await collect(s, [2n])).map((t) => t.value)).toEqual(ringRecurrenceReference([2n], 3));
    } finally {
      client.close();
    }
  });

  it('a dealer link with a key other than the configured one is rejected', async () => {
    const ch = await WsChannel.connect(`${servers.dealer.url}/session/imposter/p0`);
    ch.send(HELLO_TAG, encodeHello({ role: 'p0', sessionId: 'imposter', publicKey: generateKeyPair().publicKey, nonce: newLinkNonce() }));
    const reply = await ch.recv(HELLO_TAG);
    expect(() => decodeHello(reply, 'dealer', 'dealer', 'imposter')).toThrow(/does not match the configured one/);
    ch.close();
  });

  it("a dealer link naming P0's pinned key without proving it is rejected and holds no session slot", async () => {
    const before = servers.dealer.status().sessions;
    const ch = await WsChannel.connect(`${servers.dealer.url}/session/squat/p0`);
    ch.send(HELLO_TAG, encodeHello({ role: 'p0', sessionId: 'squat', publicKey: servers.p0.publicKey, nonce: newLinkNonce() }));
    const reply = await ch.recv(HELLO_TAG);
    expect(() => decodeHello(reply, 'dealer', 'dealer', 'squat')).toThrow(/no proof of its key/);
    expect(servers.dealer.status().sessions).toBe(before);
    ch.close();
  });
});

describe('party server limits', () => {
  it('MAX_SESSIONS: the extra open gets MPC_ERR_TOO_MANY_SESSIONS, the open one completes', async () => {
    const servers = await startLocalServers({ job: () => ringRecurrenceJob(), party: { ...TIMEOUTS, maxSessions: 1 } });
    try {
      const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
      const first = await client.openSession({ model: MODEL, maxNewTokens: 5 });
      await expect(client.openSession({ model: MODEL, maxNewTokens: 5 })).rejects.toMatchObject({ code: 'MPC_ERR_TOO_MANY_SESSIONS' });
      expect((await collect(first, [3n])).map((t) => t.value)).toEqual(ringRecurrenceReference([3n], 5));
      client.close();
    } finally {
      await servers.close();
    }
  });

  it('one client connection holds at most maxSessionsPerClient sessions; another client still gets one', async () => {
    const servers = await startLocalServers({ job: () => ringRecurrenceJob(), party: { ...TIMEOUTS, maxSessions: 4 } }); // default per client: 2
    try {
      const greedy = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
      const mine = [await greedy.openSession({ model: MODEL, maxNewTokens: 2 }), await greedy.openSession({ model: MODEL, maxNewTokens: 2 })];
      await expect(greedy.openSession({ model: MODEL, maxNewTokens: 2 })).rejects.toMatchObject({ code: 'MPC_ERR_TOO_MANY_SESSIONS', message: expect.stringMatching(/at most 2 sessions per client connection/) });
      const other = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
      expect((await collect(await other.openSession({ model: MODEL, maxNewTokens: 3 }), [6n])).map((t) => t.value)).toEqual(ringRecurrenceReference([6n], 3));
      expect((await collect(mine[0], [1n])).map((t) => t.value)).toEqual(ringRecurrenceReference([1n], 2));
      other.close();
      greedy.close();
    } finally {
      await servers.close();
    }
  });

  it('jobs of different sharings (share sets) refuse every session, and equal ones serve', async () => {
    const job = (p: number, other: string): PartyJob => ({ ...ringRecurrenceJob(), shareSet: p === 0 ? '00000000000000aa' : other });
    for (const [other, ok] of [['00000000000000bb', false], ['00000000000000aa', true]] as const) {
      const servers = await startLocalServers({ job: (p) => job(p, other), party: TIMEOUTS });
      try {
        const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
        const open = client.openSession({ model: MODEL, maxNewTokens: 3 });
        if (ok) expect((await collect(await open, [2n])).map((t) => t.value)).toEqual(ringRecurrenceReference([2n], 3));
        else await expect(open).rejects.toThrow(/different sharings of the model \(P0 00000000000000aa, P1 00000000000000bb\)/);
        client.close();
      } finally {
        await servers.close();
      }
    }
  });

  it('a prompt over the job context: LimitError, and a shorter one then works in the same session', async () => {
    const small: PartyJob = { ...ringRecurrenceJob(), maxContext: 8 };
    const servers = await startLocalServers({ job: () => small, party: TIMEOUTS });
    try {
      const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
      const s = await client.openSession({ model: MODEL, maxNewTokens: 4 });
      await expect(collect(s, [1n, 2n, 3n, 4n, 5n, 6n])).rejects.toMatchObject({ code: 'MPC_ERR_PROMPT_TOO_LONG' });
      expect((await collect(s, [1n, 2n, 3n, 4n, 5n])).map((t) => t.value)).toEqual(ringRecurrenceReference([1n, 2n, 3n, 4n, 5n], 4));
      client.close();
    } finally {
      await servers.close();
    }
  });

  it('a multi-turn session (chat): each turn continues the sequence, with its own token count, until cancel', async () => {
    const small: PartyJob = { ...ringRecurrenceJob(), maxContext: 20 };
    const servers = await startLocalServers({ job: () => small, party: TIMEOUTS });
    try {
      const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
      const s = await client.openSession({ model: MODEL, maxNewTokens: 5, multiTurn: true });
      const turns = [{ prompt: [3n, 5n], maxNewTokens: 5 }, { prompt: [7n], maxNewTokens: 2 }, { prompt: [1n, 2n, 4n], maxNewTokens: 4 }];
      const want = ringRecurrenceTurns(turns);
      for (let i = 0; i < turns.length; i++) {
        const got: bigint[] = [];
        for await (const t of s.generate(turns[i].prompt, { maxNewTokens: turns[i].maxNewTokens })) got.push(t.value);
        expect(got).toEqual(want[i]);
        expect(s.state).toBe('ready');
      }
      // positions so far: 7 + 3 + 7 = 17 of 20; a turn of 2 prompt + 3 new would need 21
      await expect(collect(s, [1n, 1n])).rejects.toMatchObject({ code: 'MPC_ERR_PROMPT_TOO_LONG', message: expect.stringMatching(/after 17 positions of earlier turns/) });
      await expect(s.generate([1n], { maxNewTokens: 6 }).next()).rejects.toThrow(/"maxNewTokens" of a turn expected an integer in \[1, 5\]/);
      const last: bigint[] = [];
      for await (const t of s.generate([9n], { maxNewTokens: 3 })) last.push(t.value);
      expect(last).toEqual(ringRecurrenceTurns([...turns, { prompt: [9n], maxNewTokens: 3 }])[3]);
      expect(servers.p0.sessionCount + servers.p1.sessionCount).toBe(2);
      s.cancel();
      await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount + servers.dealer.sessionCount === 0, 5000, 'chat freed');
      client.close();
    } finally {
      await servers.close();
    }
  });

  it('multi-turn on the wire: a turn replayed from an earlier one does not open, a turn over the session\'s count, during a turn or of another shape on P1 is refused, and both parties must agree on multiTurn', async () => {
    const servers = await startLocalServers({ job: () => ringRecurrenceJob(), party: TIMEOUTS });
    const c = [await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url)];
    try {
      for (const r of c) r.open({ sessionId: 'chat', model: MODEL, policy: 'full', maxNewTokens: 3, multiTurn: true });
      await Promise.all(c.map((r) => r.expect('opened')));
      const [s0, s1] = promptShares([2n, 3n]);
      const turn0 = ClientSeal.agree('client', c[0].keys, servers.p0.publicKey, 'chat', 0).seal(sealPlace.generate(0, 2), s0);
      c[0].send({ type: 'generate', sessionId: 'chat', promptTokens: 2, sealed: turn0 });
      c[1].generate('chat', 2, s1);
      // while the turn runs, another generate is misuse
      c[0].generate('chat', 2, s0);
      const during = await c[0].next();
      expect(during).toMatchObject({ type: 'error', error: { code: 'MPC_ERR_BAD_MESSAGE', message: expect.stringMatching(/between turns/) } });
      for (let i = 0; i < 3; i++) await Promise.all(c.map((r) => r.expect('token')));
      await Promise.all(c.map((r) => r.expect('done')));
      // turn 1: turn 0's seal replayed does not open; more tokens than the session's is refused
      c[0].send({ type: 'generate', sessionId: 'chat', promptTokens: 2, sealed: turn0 });
      expect((await c[0].expect('error')).error.code).toBe('MPC_ERR_BAD_SEAL');
      c[0].generate('chat', 2, s0, 4);
      expect((await c[0].expect('error')).error.message).toMatch(/exceeds the session's maxNewTokens 3/);
      // the parties must agree on a turn's shape
      c[0].generate('chat', 2, s0, 1);
      c[1].generate('chat', 2, s1, 2);
      expect((await c[0].expect('error')).error.message).toMatch(/got a prompt of 2 tokens for 1 new ones, P1 2 for 2/);
      // P0 and P1 opened with different multiTurn: P0 refuses the session
      c[0].open({ sessionId: 'half-chat', model: MODEL, policy: 'full', maxNewTokens: 2, multiTurn: true });
      c[1].open({ sessionId: 'half-chat', model: MODEL, policy: 'full', maxNewTokens: 2 });
      expect((await c[0].expect('error')).error.message).toMatch(/P1 was opened with \(ring-recurrence, full, 2, T=0\), P0 with \(ring-recurrence, full, 2, T=0, multi-turn\)/);
    } finally {
      for (const r of c) r.close();
      await servers.close();
    }
  });
});

describe('session seeds', () => {
  it('a session id used again gets new seeds: masks and opened values do not repeat', async () => {
    // Each session opens d = x − a for one Beaver mask a (as beaverMul does) and records a's share
    // and d. Under repeated seeds a would repeat, and d′ − d would open x′ − x to both parties.
    const seen: { party: number; aShare: bigint; opened: bigint; common: bigint }[] = [];
    const job = (party: 0 | 1): PartyJob => ({
      ...ringRecurrenceJob(),
      start: async (ctx) => ({
        async *generate(prompt) {
          const t = await ctx.dealer.take(mulTriples, 1);
          const opened = await openWords(ctx, new BigUint64Array([BigInt.asUintN(64, prompt.data[0] - t.a[0])]));
          seen.push({ party, aShare: t.a[0], opened: opened[0], common: ctx.common.words(1)[0] });
          yield prompt.data[0];
        },
      }),
    });
    const servers = await startLocalServers({ job, party: TIMEOUTS });
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      for (const x of [5n, 1000n]) {
        // the servers free the first session just after its last token: retry while they still hold it
        let s: ClientSession | undefined;
        for (let tries = 0; !s; tries++) {
          s = await client.openSession({ model: MODEL, maxNewTokens: 1, sessionId: 'same-id' }).catch((e: Error) => {
            if (!/already/.test(e.message) || tries > 100) throw e;
            return new Promise<undefined>((r) => setTimeout(() => r(undefined), 50));
          });
        }
        expect((await collect(s, [x])).map((t) => t.value)).toEqual([x]);
        await eventually(() => seen.length === (x === 5n ? 2 : 4));
      }
    } finally {
      client.close();
      await servers.close();
    }
    const [first, second] = [seen.slice(0, 2), seen.slice(2)].map((s) => [0, 1].map((p) => s.find((e) => e.party === p)!));
    for (const session of [first, second]) {
      expect(session[0].opened).toBe(session[1].opened); // both parties opened the same d
      expect(session[0].common).toBe(session[1].common); // and share their common PRG
    }
    for (const p of [0, 1]) {
      expect(second[p].aShare).not.toBe(first[p].aShare);
      expect(second[p].common).not.toBe(first[p].common);
    }
    expect(BigInt.asUintN(64, second[0].opened - first[0].opened)).not.toBe(995n);
  });
});

describe('session setups', () => {
  it("P0's setup slots bound its concurrent setups, and P1's follow them; every session still opens and runs", async () => {
    const active = [0, 0], peak = [0, 0];
    const job = (party: 0 | 1): PartyJob => {
      const inner = ringRecurrenceJob();
      return {
        ...inner,
        start: async (ctx, o) => {
          active[party]++;
          peak[party] = Math.max(peak[party], active[party]);
          await new Promise((r) => setTimeout(r, 80)); // a setup that takes a while
          active[party]--;
          return inner.start(ctx, o);
        },
      };
    };
    const servers = await startLocalServers({ job, party: { ...TIMEOUTS, setupSlots: 1 } });
    const clients = await Promise.all([0, 1].map(() => MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url })));
    try {
      const runs = clients.flatMap((c, i) => [0, 1, 2].map(async (j) => {
        const prompt = [BigInt(2 + i), BigInt(3 + j)];
        const s = await c.openSession({ model: MODEL, maxNewTokens: 3 });
        expect((await collect(s, prompt)).map((t) => t.value)).toEqual(ringRecurrenceReference(prompt, 3));
      }));
      await Promise.all(runs);
      expect(peak[0]).toBe(1);
      expect(peak[1]).toBeLessThanOrEqual(2); // P1 may still finish one when P0 admits the next
      expect(peak[1]).toBeGreaterThanOrEqual(1);
    } finally {
      clients.forEach((c) => c.close());
      await servers.close();
    }
  });
});

/**
 * The client SDK against a broken or hostile party: a fake P0 (and an honest fake P1) over real
 * loopback WebSockets. Every case must end in a clear, typed error in bounded time: no hang, no
 * unbounded buffering, no wrong token passed off as valid, no server-chosen error class or terminal
 * escapes.
 */
import {
  generateKeyPair,
  listenWs,
  ProtocolError,
  TimeoutError,
  type WsChannel,
  type WsListener,
} from '@mpcache/mpc-core';
import {
  ClientSeal,
  CLIENT_TAG,
  decodeClientRequest,
  encodeMessage,
  encodePartyMessage,
  PARTY_TAG,
  sealPlace,
  type ClientRequest,
  type PartyMessage,
} from '@mpcache/party-server';
import { MpcacheClient } from '@mpcache/client';

const VOCAB = 32000;
const cost = { ms: 1, bytesSent: 10, bytesReceived: 10, rounds: 3, offlineBytes: 5 };
const word = (v: bigint) => new Uint8Array(BigUint64Array.of(BigInt.asUintN(64, v)).buffer);

/** How the fake P0 misbehaves (P1 is always honest). */
interface Misbehaviour {
  /** Answer `open` (default: the honest `opened`); return false to stay silent. */
  open?(send: (m: PartyMessage) => void, raw: (payload: Uint8Array) => void, r: Extract<ClientRequest, { type: 'open' }>, opened: PartyMessage): boolean;
  /** P0's share offset for token i (default 0: honest). */
  shift?(i: number): bigint;
}

/** Honest parties produce tokens 7, 8, 9, …: P0's share t + 1000 (+ its shift), P1's −1000. */
async function fakeParties(bad: Misbehaviour): Promise<{ urls: [string, string]; close(): Promise<void> }> {
  const keys = [generateKeyPair(), generateKeyPair()];
  const listeners: WsListener[] = [];
  for (const p of [0, 1] as const) {
    listeners.push(await listenWs({ host: '127.0.0.1', port: 0 }, (ch: WsChannel) => {
      const send = (m: PartyMessage) => ch.send(PARTY_TAG, encodePartyMessage(m));
      const raw = (payload: Uint8Array) => ch.send(PARTY_TAG, payload);
      const seals = new Map<string, ClientSeal>();
      void (async () => {
        for (;;) {
          const r = decodeClientRequest(await ch.recv(CLIENT_TAG));
          if (r.type === 'open') {
            seals.set(r.sessionId, ClientSeal.agree('party', keys[p], r.clientKey, r.sessionId, p));
            const opened: PartyMessage = { type: 'opened', sessionId: r.sessionId, info: { party: p, input: 'ids', vocabSize: VOCAB, maxContext: 256, fracBits: 12 }, publicKey: keys[p].publicKey };
            if (p === 1 || !bad.open || bad.open(send, raw, r, opened)) send(opened);
          } else if (r.type === 'generate') {
            const seal = seals.get(r.sessionId)!;
            seal.open(sealPlace.generate(0, r.promptTokens), r.sealed, 'prompt share');
            const n = r.maxNewTokens ?? 2;
            for (let i = 0; i < n; i++) {
              const t = BigInt(7 + i), v = p === 0 ? t + 1000n + (bad.shift?.(i) ?? 0n) : -1000n;
              send({ type: 'token', sessionId: r.sessionId, index: i, sealed: seal.seal(sealPlace.token(0, i), word(v)), cost });
            }
            send({ type: 'done', sessionId: r.sessionId, tokens: n, cost });
          }
        }
      })().catch(() => ch.close('fake party done'));
    }));
  }
  return { urls: [listeners[0].url, listeners[1].url], close: async () => { await Promise.all(listeners.map((l) => l.close())); } };
}

/** `responseTimeoutMs` short only where a test waits for it: a loaded CI machine may be slow to answer. */
async function withClient<T>(bad: Misbehaviour, body: (c: MpcacheClient) => Promise<T>, responseTimeoutMs = 10_000): Promise<T> {
  const parties = await fakeParties(bad);
  const client = await MpcacheClient.connect({ p0: parties.urls[0], p1: parties.urls[1], responseTimeoutMs });
  try {
    return await body(client);
  } finally {
    client.close();
    await parties.close();
  }
}

async function tokens(c: MpcacheClient): Promise<bigint[]> {
  const s = await c.openSession({ model: 'fake', maxNewTokens: 2 });
  const out: bigint[] = [];
  for await (const t of s.generate([1, 2])) out.push(t.value);
  return out;
}

describe('the client against a hostile party', () => {
  it('honest fakes: the tokens come through (the harness works)', async () => {
    await expect(withClient({}, tokens)).resolves.toEqual([7n, 8n]);
  });

  it('a party that never answers open: TimeoutError after responseTimeoutMs, not a hang', async () => {
    const t0 = Date.now();
    await expect(withClient({ open: () => false }, tokens, 400)).rejects.toThrow(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('a token that reconstructs outside the vocabulary is refused', async () => {
    await expect(withClient({ shift: (i) => (i === 1 ? BigInt(VOCAB) : 0n) }, tokens)).rejects.toThrow(/token #1 reconstructs to no id in \[0, 32000\)/);
  });

  it('a party that floods a session with messages fails it instead of filling memory', async () => {
    const flood = (send: (m: PartyMessage) => void, _raw: unknown, r: { sessionId: string }, opened: PartyMessage) => {
      send(opened);
      for (let i = 0; i < 50; i++) send({ type: 'done', sessionId: r.sessionId, tokens: 0, cost });
      return false;
    };
    await expect(withClient({ open: flood }, tokens)).rejects.toThrow(/P0 sent more than 5 messages ahead/);
  });

  it('a message larger than any party message is refused before it is buffered', async () => {
    const huge = (_s: unknown, raw: (p: Uint8Array) => void) => (raw(new Uint8Array(1 << 20)), false);
    await expect(withClient({ open: huge }, tokens)).rejects.toMatchObject({ code: expect.stringMatching(/MPC_ERR_(FRAME|MESSAGE)_TOO_LARGE|MPC_ERR_CHANNEL_CLOSED/) });
  });

  it("an error with an unknown code becomes a ProtocolError, with the server's control characters neutralized", async () => {
    const odd = (_s: unknown, raw: (p: Uint8Array) => void, r: { sessionId: string }) => {
      raw(encodeMessage({ type: 'error', sessionId: r.sessionId, code: 'WHATEVER', name: 'ChannelClosedError', message: 'disk full\n\u001b[31mRED\u001b]0;title\u0007' }));
      return false;
    };
    const err = await withClient({ open: odd }, tokens).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ name: 'ProtocolError', code: 'MPC_ERR_BAD_MESSAGE' });
    expect((err as Error).message).toMatch(/unknown code "WHATEVER": disk full\?\?\[31mRED\?\]0;title\?/);
    expect((err as Error).message).not.toMatch(/[\u0000-\u001f]/);
  });
});

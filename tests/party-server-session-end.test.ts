/**
 * How a session ends on both parties when the client cancels it (party-session.ts, END_TAG in
 * wire/server-hello.ts). Over a real network the client's `cancel` reaches P0 and P1 at different
 * times; these tests make that race deterministic by sending the cancel to ONE party only (its
 * peer must learn of it from the end notice), in each state a session can be canceled in, and
 * check both parties' `/metrics` and logs: canceled, never failed. A peer that closes without the
 * notice (a client lost mid-session, a dropped TCP link, a plain close) still fails the session,
 * and a malformed notice fails it with an error that names it. Before the peer link is up, a party
 * trusts a notice only from a peer whose hello it has checked (peer-end-notice.ts): P0 takes P1's
 * while it waits for a setup slot, P1 cannot take P0's before P0's hello.
 */
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { encodeMessage, END_TAG, encodeSessionEnd, ringRecurrenceJob, RING_RECURRENCE_MODEL, startLocalServers, type LocalServers, type PartyJob, type PartyMessage } from '@mpcache/party-server';
import { LocalDeployment } from '@mpcache/client';
import { eventually, RawClient } from './helpers/raw-client';
import { StandInP1 } from './helpers/stand-in-p1';

const MODEL = RING_RECURRENCE_MODEL;
type Outcomes = { done: number; failed: number; canceled: number };

/** A server's `mpcache_sessions_ended_total` by outcome, read from its `GET /metrics`. */
async function endedSessions(wsUrl: string): Promise<Outcomes> {
  const text = await (await fetch(`${wsUrl.replace(/^ws/, 'http')}/metrics`)).text();
  const read = (o: keyof Outcomes) => Number(new RegExp(`^mpcache_sessions_ended_total\\{role="[^"]+",outcome="${o}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  return { done: read('done'), failed: read('failed'), canceled: read('canceled') };
}

/** `endedSessions` once the server has ended a session (polled: the other party ends a little later). */
async function afterFirstEnd(wsUrl: string): Promise<Outcomes> {
  const t0 = Date.now();
  for (;;) {
    const o = await endedSessions(wsUrl);
    if (o.done + o.failed + o.canceled > 0 || Date.now() - t0 > 5000) return o;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The next message that is not a token (a turn may still be streaming). */
async function nextNonToken(c: RawClient): Promise<PartyMessage> {
  let m = await c.next();
  while (m.type === 'token') m = await c.next();
  return m;
}

type Stage = 'after open' | 'mid-turn' | 'between chat turns';

/** A session on both parties (a raw client on each, so each gets only what a test sends it), brought to `stage`. */
async function sessionAt(p0Url: string, p1Url: string, sessionId: string, stage: Stage): Promise<RawClient[]> {
  const raw = [await RawClient.connect(p0Url), await RawClient.connect(p1Url)];
  const multiTurn = stage === 'between chat turns';
  for (const r of raw) r.open({ sessionId, model: MODEL, policy: 'full', maxNewTokens: stage === 'mid-turn' ? MAX_NEW_TOKENS : 2, ...(multiTurn ? { multiTurn } : {}) });
  await Promise.all(raw.map((r) => r.expect('opened')));
  if (stage === 'after open') return raw;
  raw.forEach((r, p) => r.generate(sessionId, 1, new Uint8Array(new BigUint64Array([p === 0 ? 3n : 0n]).buffer)));
  if (stage === 'mid-turn') {
    await Promise.all(raw.map((r) => r.expect('token'))); // thousands still to come
    return raw;
  }
  await Promise.all(raw.map((r) => nextNonToken(r).then((m) => expect(m.type).toBe('done'))));
  return raw;
}

describe('a cancel that reaches one party first ends the session as canceled on both (ring-recurrence job)', () => {
  let servers: LocalServers;
  let logs: string[];
  beforeEach(async () => {
    logs = [];
    servers = await startLocalServers({ job: () => ringRecurrenceJob(), party: { log: (l) => logs.push(l) }, dealer: { log: (l) => logs.push(l) } });
  });
  afterEach(async () => {
    try {
      await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount + servers.dealer.sessionCount === 0, 5000, 'sessions freed');
    } finally {
      await servers.close();
    }
  });
  const urls = () => [servers.p0.url, servers.p1.url] as const;

  it.each([
    [0, 'after open'],
    [1, 'after open'],
    [0, 'mid-turn'],
    [1, 'mid-turn'],
    [0, 'between chat turns'],
    [1, 'between chat turns'],
  ] as const)("the client's cancel reaches P%i only (%s): both parties count it canceled, neither failed", async (first, stage) => {
    const sessionId = `cancel-p${first}-${stage.replace(/ /g, '-')}`;
    const other = 1 - first;
    const raw = await sessionAt(...urls(), sessionId, stage);
    raw[first].send({ type: 'cancel', sessionId });
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 0, 5000, 'both ends');
    const none = { done: 0, failed: 0 };
    expect(await endedSessions(servers.p0.url)).toEqual({ ...none, canceled: 1 });
    expect(await endedSessions(servers.p1.url)).toEqual({ ...none, canceled: 1 });
    // and the dealer, from the close codes of their dealer links (session-close-codes.ts)
    expect(await afterFirstEnd(servers.dealer.url)).toEqual({ ...none, canceled: 1 });
    // the other party learned it from the end notice on the peer link, and told its client
    expect(await nextNonToken(raw[other])).toMatchObject({
      type: 'error',
      sessionId,
      error: { code: 'MPC_ERR_CHANNEL_CLOSED', message: `session ${sessionId}: P${first} ended it: canceled by the client` },
    });
    expect(logs).toContain(`P${first}: session ${sessionId} canceled by the client`);
    expect(logs).toContain(`P${other}: session ${sessionId} canceled by the client (P${first} got the cancel first)`);
    expect(logs.filter((l) => / failed /.test(l))).toEqual([]);
    // the client's own cancel arriving late at the other party is harmless: the session is gone
    raw[other].send({ type: 'cancel', sessionId });
    expect(await nextNonToken(raw[other])).toMatchObject({ type: 'error', error: { code: 'MPC_ERR_SESSION_NOT_FOUND' } });
    for (const r of raw) r.close();
  });

  it('both parties get the cancel at once: both count it canceled (the notices cross and are ignored)', async () => {
    const raw = await sessionAt(...urls(), 'both', 'between chat turns');
    for (const r of raw) r.send({ type: 'cancel', sessionId: 'both' });
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 0, 5000, 'both ends');
    for (const url of urls()) expect(await endedSessions(url)).toEqual({ done: 0, failed: 0, canceled: 1 });
    expect(await afterFirstEnd(servers.dealer.url)).toEqual({ done: 0, failed: 0, canceled: 1 });
    for (const r of raw) r.close();
  });

  it.each(['mid-turn', 'between chat turns'] as const)('a peer that closes the link without the notice still fails the session (P0 loses its client %s)', async (stage) => {
    const sessionId = `lost-${stage.replace(/ /g, '-')}`;
    const raw = await sessionAt(...urls(), sessionId, stage);
    raw[0].channel.terminate('client gone');
    expect(await nextNonToken(raw[1])).toMatchObject({ type: 'error', sessionId, error: { code: 'MPC_ERR_CHANNEL_CLOSED', message: expect.stringMatching(/the link to P0 closed/) } });
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 0, 5000, 'both ends');
    for (const url of urls()) expect(await endedSessions(url)).toEqual({ done: 0, failed: 1, canceled: 0 });
    expect(await afterFirstEnd(servers.dealer.url)).toEqual({ done: 0, failed: 1, canceled: 0 });
    expect(logs.some((l) => l.startsWith(`dealer: session ${sessionId} failed (close codes P0 4001, P1 4001)`))).toBe(true);
    raw[1].close();
  });

  describe("on the wire: a stand-in P1 holding P1's key", () => {
    const params = { model: MODEL, policy: 'full', maxNewTokens: 2 };
    /** P0's session `id` opened by a raw client and paired with a stand-in P1. */
    async function paired(id: string): Promise<{ client: RawClient; p1: StandInP1 }> {
      const client = await RawClient.connect(servers.p0.url);
      client.open({ sessionId: id, ...params });
      const p1 = await StandInP1.pair(servers, id, params);
      await client.expect('opened');
      return { client, p1 };
    }

    it('an end notice, then a close: P0 counts the session canceled and tells its client', async () => {
      const { client, p1 } = await paired('noticed');
      p1.peer.send(END_TAG, encodeSessionEnd('canceled'));
      p1.close();
      await eventually(() => servers.p0.sessionCount === 0, 5000, 'P0 ends');
      expect(await endedSessions(servers.p0.url)).toEqual({ done: 0, failed: 0, canceled: 1 });
      expect(await client.expect('error')).toMatchObject({ sessionId: 'noticed', error: { message: 'session noticed: P1 ended it: canceled by the client' } });
      client.close();
    });

    it.each([
      ['a dropped TCP link', (p1: StandInP1) => p1.peer.terminate('dropped')],
      ['a plain close', (p1: StandInP1) => p1.peer.close('bye')],
    ])('a close without the notice (%s): P0 counts the session failed', async (_label, end) => {
      const { client, p1 } = await paired('unnoticed');
      end(p1);
      expect(await client.expect('error')).toMatchObject({ sessionId: 'unnoticed', error: { code: 'MPC_ERR_CHANNEL_CLOSED', message: expect.stringMatching(/the link to P1 closed/) } });
      await eventually(() => servers.p0.sessionCount === 0, 5000, 'P0 ends');
      expect(await endedSessions(servers.p0.url)).toEqual({ done: 0, failed: 1, canceled: 0 });
      p1.close();
      client.close();
    });

    it.each([
      ['another outcome', encodeMessage({ type: 'end', outcome: 'done' }), 'MPC_ERR_BAD_MESSAGE', /session end from P1: field "outcome" expected one of "canceled"/],
      ['an extra field', encodeMessage({ type: 'end', outcome: 'canceled', sessionId: 'other' }), 'MPC_ERR_BAD_MESSAGE', /session end from P1: unexpected field "sessionId"/],
      ['garbage', Uint8Array.of(1, 2), 'MPC_ERR_BAD_LENGTH', /session end from P1: 2 bytes, need at least 4/],
    ])('a malformed notice (%s) fails the session on P0 with an error that names it', async (_label, payload, code, message) => {
      const { client, p1 } = await paired('malformed');
      p1.peer.send(END_TAG, payload);
      expect(await client.expect('error')).toMatchObject({ sessionId: 'malformed', error: { code, message: expect.stringMatching(message) } });
      await eventually(() => servers.p0.sessionCount === 0, 5000, 'P0 ends');
      expect(await endedSessions(servers.p0.url)).toEqual({ done: 0, failed: 1, canceled: 0 });
      expect(logs.some((l) => l.startsWith(`P0: session malformed failed (${code}): session end from P1`))).toBe(true);
      p1.close();
      client.close();
    }, 20_000);
  });
});

describe("a cancel before the peer link is up: P0 waits for its one setup slot, P1's link in hand, its own hello not yet sent", () => {
  // P0's only setup slot is held by session `holder`, whose setup waits for `release`; session
  // `queued` then has P1's link at P0 (P1's hello checked) and waits in P0's setup queue.
  let servers: LocalServers;
  let logs: string[];
  let release: () => void;
  const started: string[][] = [[], []]; // session ids whose setup began, per party
  const clients: RawClient[] = [];
  const params = { model: MODEL, policy: 'full', maxNewTokens: 2 };
  beforeEach(async () => {
    logs = [];
    started.forEach((s) => (s.length = 0));
    const slotFree = new Promise<void>((r) => (release = r));
    const job = (party: 0 | 1): PartyJob => {
      const inner = ringRecurrenceJob();
      return {
        ...inner,
        start: async (ctx, o) => {
          started[party].push(o.sessionId);
          if (o.sessionId === 'holder') await slotFree;
          return inner.start(ctx, o);
        },
      };
    };
    servers = await startLocalServers({ job, party: { setupSlots: 1, log: (l) => logs.push(l) } });
    clients.splice(0, clients.length, await RawClient.connect(servers.p0.url), await RawClient.connect(servers.p1.url));
    for (const c of clients) c.open({ sessionId: 'holder', ...params });
    await eventually(() => started[0].includes('holder'), 5000, "P0's setup of holder");
    for (const c of clients) c.open({ sessionId: 'queued', ...params });
    await eventually(() => servers.p0.setupQueue.waiting === 1, 5000, 'queued waits for a setup slot on P0');
  });
  afterEach(async () => {
    try {
      release();
      await Promise.all(clients.map((c) => nextNonToken(c).then((m) => expect(m).toMatchObject({ type: 'opened', sessionId: 'holder' }))));
      for (const c of clients) c.send({ type: 'cancel', sessionId: 'holder' });
      await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount + servers.dealer.sessionCount === 0, 5000, 'sessions freed');
      expect(started[0]).toEqual(['holder']); // queued never set up, on either party
      expect(started[1]).toEqual(['holder']);
    } finally {
      clients.forEach((c) => c.close());
      await servers.close();
    }
  });

  it("the client's cancel reaches P1 only: P1 tells P0 on the link, and both count it canceled", async () => {
    clients[1].send({ type: 'cancel', sessionId: 'queued' });
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 2, 5000, 'queued ends on both');
    for (const url of [servers.p0.url, servers.p1.url]) expect(await endedSessions(url)).toEqual({ done: 0, failed: 0, canceled: 1 });
    expect(await clients[0].expect('error')).toMatchObject({
      sessionId: 'queued',
      error: { code: 'MPC_ERR_CHANNEL_CLOSED', message: 'session queued: P1 ended it: canceled by the client' },
    });
    expect(logs).toContain('P0: session queued canceled by the client (P1 got the cancel first)');
    expect(logs.filter((l) => / failed /.test(l))).toEqual([]);
  });

  it("the client's cancel reaches P0 only: P1, which has no hello from P0 to trust a notice by, fails the session", async () => {
    clients[0].send({ type: 'cancel', sessionId: 'queued' });
    expect(await clients[1].expect('error')).toMatchObject({ sessionId: 'queued', error: { code: 'MPC_ERR_CHANNEL_CLOSED' } });
    await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount === 2, 5000, 'queued ends on both');
    expect(await endedSessions(servers.p0.url)).toEqual({ done: 0, failed: 0, canceled: 1 });
    expect(await endedSessions(servers.p1.url)).toEqual({ done: 0, failed: 1, canceled: 0 });
  });
});

describe('mpcache serve processes with the peer link over emulated WAN (20 ms each way)', () => {
  it("a chat's cancel that reaches P1 only: both processes count it canceled in /metrics", async () => {
    const deployment = await LocalDeployment.start({ model: MODEL, net: 'wan' });
    try {
      const raw = await sessionAt(deployment.p0Url, deployment.p1Url, 'wan-chat', 'between chat turns');
      raw[1].send({ type: 'cancel', sessionId: 'wan-chat' });
      for (const url of [deployment.p0Url, deployment.p1Url]) expect(await afterFirstEnd(url)).toEqual({ done: 0, failed: 0, canceled: 1 });
      expect(await raw[0].expect('error')).toMatchObject({ sessionId: 'wan-chat', error: { message: 'session wan-chat: P1 ended it: canceled by the client' } });
      for (const r of raw) r.close();
    } finally {
      await deployment.close();
    }
  }, 60_000);
});

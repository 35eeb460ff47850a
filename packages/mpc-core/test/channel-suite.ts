/**
 * Conformance suite every Channel implementation runs [libp2p interface-compliance-tests]:
 * `describeChannel('memory', (a, b) => MemoryChannel.pair(a, b))`. Time assertions are lower
 * bounds only (a loaded CI machine may always be slower).
 */
import { randomBytes } from 'node:crypto';
import {
  ChannelClosedError,
  Ledger,
  ProtocolError,
  TimeoutError,
  type Channel,
  type ChannelOptions,
} from '@mpcache/mpc-core';

export type MakePair = (a?: ChannelOptions, b?: ChannelOptions) => Promise<[Channel, Channel]> | [Channel, Channel];

export interface ChannelSuiteOptions {
  /** Wait until a closed channel's transport has fully shut down (sockets), so jest exits cleanly. */
  settle?: (c: Channel) => Promise<void>;
}

/** Resolves when `cond()` holds, polling every few ms; rejects after `ms`. */
export async function eventually(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Inside a describe block: a pair maker whose channels are closed (and settled) after each test.
 */
export function closedAfterEach<C extends Channel>(
  makePair: (a?: ChannelOptions, b?: ChannelOptions) => Promise<[C, C]> | [C, C], settle?: (c: C) => Promise<void>,
): (a?: ChannelOptions, b?: ChannelOptions) => Promise<[C, C]> {
  const live: C[] = [];
  afterEach(async () => {
    const chans = live.splice(0);
    for (const c of chans) c.close('test done');
    if (settle) await Promise.all(chans.map((c) => settle(c)));
  });
  return async (a, b) => {
    const p = await makePair(a, b);
    live.push(...p);
    return p;
  };
}

export function describeChannel(name: string, makePair: MakePair, suiteOpts: ChannelSuiteOptions = {}): void {
  describe(`Channel conformance: ${name}`, () => {
    const pair = closedAfterEach(makePair, suiteOpts.settle);

    it('delivers messages in order with their tags', async () => {
      const [a, b] = await pair();
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 50; i++) {
        const p = randomBytes(1 + i * 7);
        sent.push(p);
        a.send(i, p);
      }
      for (let i = 0; i < 50; i++) expect(Buffer.compare(await b.recv(i), sent[i])).toBe(0);
    });

    it('sendTogether: the messages sent inside arrive in order with their tags, counted one by one; it returns what fn returns', async () => {
      const la = new Ledger(), lb = new Ledger();
      const [a, b] = await pair({ ledger: la }, { ledger: lb });
      const sent = Array.from({ length: 12 }, (_, i) => randomBytes(1 + i * 97));
      a.send(100, sent[0]);
      expect(a.sendTogether(() => {
        for (let i = 1; i < 11; i++) a.send(100 + i, sent[i]);
        return 'fn result';
      })).toBe('fn result');
      a.send(111, sent[11]);
      for (let i = 0; i < 12; i++) expect(Buffer.compare(await b.recv(100 + i), sent[i])).toBe(0);
      const bytes = sent.reduce((t, p) => t + p.byteLength, 0);
      expect([la.snapshot().bytesSent, la.snapshot().messages]).toEqual([bytes, 12]);
      expect(() => a.sendTogether(() => { throw new RangeError('inside'); })).toThrow('inside');
      a.send(112, sent[1]); // still usable after fn threw
      expect(Buffer.compare(await b.recv(112), sent[1])).toBe(0);
    });

    it('is bidirectional and carries the whole u32 tag range', async () => {
      const [a, b] = await pair();
      for (const tag of [0, 1, 0x7fff_ffff, 0xffff_ffff]) {
        a.send(tag, Uint8Array.of(tag & 0xff));
        expect([...(await b.recv(tag))]).toEqual([tag & 0xff]);
        b.send(tag, Uint8Array.of(1, 2));
        expect([...(await a.recv(tag))]).toEqual([1, 2]);
      }
    });

    it('carries an 8 MB payload and an empty payload', async () => {
      const [a, b] = await pair();
      const big = randomBytes(8 * 1024 * 1024);
      a.send(0, big);
      a.send(1, new Uint8Array(0));
      const got = await b.recv(0);
      expect(got.byteLength).toBe(big.byteLength);
      expect(Buffer.compare(got, big)).toBe(0);
      expect((await b.recv(1)).byteLength).toBe(0);
    });

    it('copies on send: the sender may reuse its buffer', async () => {
      const [a, b] = await pair();
      const buf = Uint8Array.of(1, 2, 3);
      a.send(0, buf);
      buf.fill(9);
      expect([...(await b.recv(0))]).toEqual([1, 2, 3]);
    });

    it('rejects a message with the wrong tag with ProtocolError MPC_ERR_BAD_TAG, and stays failed', async () => {
      const [a, b] = await pair();
      a.send(5, Uint8Array.of(1));
      a.send(6, Uint8Array.of(2));
      await expect(b.recv(4)).rejects.toMatchObject({ name: 'ProtocolError', code: 'MPC_ERR_BAD_TAG' });
      await expect(b.recv(6)).rejects.toBeInstanceOf(ProtocolError);
    });

    it('rejects pending receives on both sides with ChannelClosedError when one side closes', async () => {
      const [a, b] = await pair();
      const pendingB = b.recv(0);
      const pendingA = a.recv(0);
      a.close('bye');
      await expect(pendingA).rejects.toBeInstanceOf(ChannelClosedError);
      await expect(pendingB).rejects.toBeInstanceOf(ChannelClosedError);
      await expect(b.recv(1)).rejects.toBeInstanceOf(ChannelClosedError);
      expect(a.closed).toBe(true);
      await eventually(() => b.closed, 'peer to see the close');
    });

    it('throws ChannelClosedError on send after close (either side), and close is idempotent', async () => {
      const [a, b] = await pair();
      a.close();
      a.close();
      expect(() => a.send(0, Uint8Array.of(1))).toThrow(ChannelClosedError);
      await eventually(() => b.closed, 'peer to see the close');
      expect(() => b.send(0, Uint8Array.of(1))).toThrow(ChannelClosedError);
    });

    it('rejects a receive that waits longer than recvTimeoutMs with TimeoutError', async () => {
      const [a, b] = await pair({}, { recvTimeoutMs: 30 });
      await expect(b.recv(0)).rejects.toBeInstanceOf(TimeoutError);
      a.send(0, Uint8Array.of(7)); // a timed-out receive does not consume the next message
      expect([...(await b.recv(0))]).toEqual([7]);
    });

    it('counts payload bytes and messages in the ledgers of both ends', async () => {
      const la = new Ledger(), lb = new Ledger();
      const [a, b] = await pair({ ledger: la }, { ledger: lb });
      const sizes = [10, 0, 1000, 65536];
      sizes.forEach((n, i) => a.send(i, new Uint8Array(n)));
      for (let i = 0; i < sizes.length; i++) await b.recv(i);
      const total = sizes.reduce((s, n) => s + n, 0);
      expect(la.snapshot()).toMatchObject({ bytesSent: total, messages: sizes.length, bytesReceived: 0 });
      expect(lb.snapshot()).toMatchObject({ bytesSent: 0, messages: 0, bytesReceived: total });
      b.send(0, new Uint8Array(3));
      await a.recv(0);
      expect(la.snapshot().bytesReceived).toBe(3);
      expect(lb.snapshot()).toMatchObject({ bytesSent: 3, messages: 1 });
    });

    it("attributes received bytes to the receiver's ledger scope, whoever delivers them", async () => {
      const la = new Ledger(), lb = new Ledger();
      const [a, b] = await pair({ ledger: la }, { ledger: lb });
      // b waits first (delivery then happens in the sender's or the socket's context), then a message
      // already in the inbox (delivery in b's own context): both must count in b's scope.
      const waiting = lb.scope('rx', () => b.recv(0));
      await new Promise((r) => setTimeout(r, 5));
      a.send(0, new Uint8Array(40));
      await waiting;
      a.send(1, new Uint8Array(2));
      await new Promise((r) => setTimeout(r, 5));
      await lb.scope('rx', () => b.recv(1));
      expect(lb.get('rx')).toMatchObject({ bytesReceived: 42, bytesSent: 0 });
      expect(la.get('rx').bytesReceived).toBe(0);
    });

    // ---------------------------------------------------------------- messages longer than a frame

    it('carries messages several frames long whole, in order, both directions at once, tags interleaved', async () => {
      const opts = { maxFrameBytes: 1000 };
      const [a, b] = await pair(opts, opts);
      const sizes = [4500, 3, 1000, 1001, 0, 12_345, 2000, 999];
      const fromA = sizes.map((n) => randomBytes(n));
      const fromB = sizes.map((n) => randomBytes(n + 17));
      sizes.forEach((_, i) => {
        a.send(100 + (i % 3), fromA[i]);
        b.send(200 + (i % 2), fromB[i]);
      });
      for (let i = 0; i < sizes.length; i++) {
        const [gotB, gotA] = await Promise.all([b.recv(100 + (i % 3)), a.recv(200 + (i % 2))]);
        expect(Buffer.compare(gotB, fromA[i])).toBe(0);
        expect(Buffer.compare(gotA, fromB[i])).toBe(0);
        expect(gotB.byteOffset % 8).toBe(0);
      }
    });

    it('keeps fragmented messages whole and in order under link emulation', async () => {
      const opts = { maxFrameBytes: 512, link: { latencyMs: 1, bandwidthMbps: 1000 } };
      const [a, b] = await pair(opts, opts);
      const sent = [10_000, 1, 5000, 0, 513].map((n) => randomBytes(n));
      sent.forEach((p, i) => a.send(i, p));
      for (let i = 0; i < sent.length; i++) expect(Buffer.compare(await b.recv(i), sent[i])).toBe(0);
    });

    it('counts a fragmented message once: both ledgers equal those of an unfragmented run', async () => {
      const run = async (maxFrameBytes?: number) => {
        const la = new Ledger(), lb = new Ledger();
        const [a, b] = await pair({ ledger: la, maxFrameBytes }, { ledger: lb, maxFrameBytes });
        for (const n of [5000, 64, 3001, 0]) {
          la.scope('open', () => a.send(1, new Uint8Array(n)));
          b.send(2, new Uint8Array(2 * n + 1));
          await lb.scope('open', () => b.recv(1));
          await a.recv(2);
        }
        return { a: la.snapshot(), b: lb.snapshot(), scopeA: la.get('open'), scopeB: lb.get('open') };
      };
      const fragmented = await run(100);
      expect(fragmented).toEqual(await run());
      expect(fragmented.a).toMatchObject({ bytesSent: 8065, messages: 4, bytesReceived: 16_134 });
      expect(fragmented.scopeB).toMatchObject({ bytesReceived: 8065, bytesSent: 0 });
    });

    it('throws LimitError MPC_ERR_MESSAGE_TOO_LARGE on sending over maxMessageBytes, and stays open', async () => {
      const [a, b] = await pair({ maxFrameBytes: 64, maxMessageBytes: 200 });
      expect(() => a.send(0, new Uint8Array(201))).toThrow(expect.objectContaining({ name: 'LimitError', code: 'MPC_ERR_MESSAGE_TOO_LARGE' }));
      expect(a.closed).toBe(false);
      a.send(0, new Uint8Array(200));
      expect((await b.recv(0)).byteLength).toBe(200);
    });

    it("fails the receiver with LimitError when the sender's frames or messages break its limits; the sender sees the close", async () => {
      const [a, b] = await pair({ maxFrameBytes: 2000 }, { maxFrameBytes: 1000 });
      a.send(0, new Uint8Array(1500));
      await expect(b.recv(0)).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_FRAME_TOO_LARGE' });
      await eventually(() => a.closed, 'sender to see the close');
      const [c, d] = await pair({ maxFrameBytes: 100 }, { maxFrameBytes: 100, maxMessageBytes: 1000 });
      c.send(0, new Uint8Array(1000));
      expect((await d.recv(0)).byteLength).toBe(1000);
      c.send(1, new Uint8Array(1001));
      await expect(d.recv(1)).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_MESSAGE_TOO_LARGE' });
      await eventually(() => c.closed, 'sender to see the close');
    });

    it('adds the emulated one-way latency to every message (lower bound only)', async () => {
      const latencyMs = 25;
      const link = { latencyMs, bandwidthMbps: 1000 };
      const [a, b] = await pair({ link }, { link });
      const t0 = performance.now();
      a.send(0, new Uint8Array(8));
      await b.recv(0);
      b.send(0, new Uint8Array(8));
      await a.recv(0);
      // Two one-way trips; 1 ms slack for timer rounding.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * latencyMs - 1);
    });
  });
}

import {
  ChannelClosedError,
  encodeEnvelope,
  encodeFrame,
  parseFrame,
  ProtocolError,
  reconstruct,
  share,
  tensor,
  type Channel,
} from '@mpcache/mpc-core';
import {
  beaverMul,
  beaverMulCost,
  beaverSquare,
  ChannelDealerLink,
  correlationRegistry,
  CorrelationSource,
  decodeDealerReply,
  DealerSession,
  defineCorrelation,
  encodeDealerReply,
  localParties,
  mulTriples,
  NO_DEALER_BYTES,
  randomWork,
  runBoth,
  squarePairs,
  validateCount,
  type LocalParties,
} from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';
import { newSeeds, remoteParties as remoteParties2, type Seeds } from './remote-parties';

const registry = correlationRegistry([mulTriples, squarePairs]);
const remoteParties = (seeds: Seeds) => remoteParties2(seeds, registry);

describe(`remote dealer over channels (SEED=${TEST_SEED})`, () => {
  it('beaverMul through a remote dealer: right product, same shares and exact costs as in-process', async () => {
    const n = 257;
    const prg = testPrg('remote-mul');
    const x = tensor([n], prg.words(n)), y = tensor([n], prg.words(n));
    const xs = share(x, prg), ys = share(y, prg);
    const seeds = newSeeds();
    const body = (ctx: LocalParties['ctx'][0]) => beaverMul(ctx, xs[ctx.party], ys[ctx.party]);

    const remote = remoteParties(seeds);
    const [z0, z1] = await runBoth(remote.parties, body);
    remote.links.forEach((l) => l.close());
    await remote.served;

    const local = localParties({ seeds });
    const [w0, w1] = await runBoth(local, body);

    const z = reconstruct(z0, z1);
    for (let i = 0; i < n; i++) expect(z.data[i]).toBe(BigInt.asUintN(64, x.data[i] * y.data[i]));
    expect(z0.data).toEqual(w0.data);
    expect(z1.data).toEqual(w1.data);
    for (const p of [0, 1] as const) {
      expect(remote.parties.ctx[p].ledger.get('beaverMul')).toEqual(local.ctx[p].ledger.get('beaverMul'));
      expect(remote.parties.ctx[p].ledger.snapshot()).toEqual(local.ctx[p].ledger.snapshot());
    }
    expect(remote.parties.ctx[0].ledger.get('beaverMul').offlineBytes).toBe(beaverMulCost(n).offlineBytes);
    expect(remote.parties.dealer.bytesSent).toEqual(local.dealer.bytesSent);
  });

  it('serves a sequence of correlations, with pipelined requests, in order', async () => {
    const remote = remoteParties(newSeeds());
    const prg = testPrg('remote-seq');
    const a = share(tensor([5], prg.words(5)), prg), b = share(tensor([5], prg.words(5)), prg);
    const [r0, r1] = await runBoth(remote.parties, async (ctx) => {
      // Two takes in flight at once: CorrelationSource numbers them 0 and 1 synchronously.
      const [t1, t2] = await Promise.all([ctx.dealer.take(mulTriples, 3), ctx.dealer.take(squarePairs, 2)]);
      const sq = await beaverSquare(ctx, a[ctx.party]);
      const m = await beaverMul(ctx, sq, b[ctx.party]);
      return { t1, t2, m };
    });
    const m = reconstruct(r0.m, r1.m);
    const av = reconstruct(a[0], a[1]).data, bv = reconstruct(b[0], b[1]).data;
    for (let i = 0; i < 5; i++) expect(m.data[i]).toBe(BigInt.asUintN(64, av[i] * av[i] * bv[i]));
    // The pipelined triples are valid too: (a0+a1)(b0+b1) = c0+c1.
    for (let i = 0; i < 3; i++) {
      const A = r0.t1.a[i] + r1.t1.a[i], B = r0.t1.b[i] + r1.t1.b[i];
      expect(BigInt.asUintN(64, A * B)).toBe(BigInt.asUintN(64, r0.t1.c[i] + r1.t1.c[i]));
    }
    remote.links.forEach((l) => l.close());
    await remote.served;
  });

  const forged = (name: string) => defineCorrelation(name, (p: unknown) => p as number, () => NO_DEALER_BYTES, (n) => randomWork(n), (g, n: number) => g.random(n).share);
  /** Each bad request returns what the party sees: a rejection, never a hang. */
  const raw = (ch: Channel, bytes: Uint8Array) => {
    ch.send(0, bytes);
    return ch.recv(0).then((b) => decodeDealerReply(b, 0, 'raw'));
  };
  const badRequests: Array<[string, (ch: Channel) => Promise<unknown>, string]> = [
    ['an unknown correlation name', (ch) => new ChannelDealerLink(ch).fetch(0, forged('noSuchThing'), 4), 'MPC_ERR_BAD_MESSAGE'],
    ['params the spec rejects', (ch) => new ChannelDealerLink(ch).fetch(0, forged('mulTriples'), -1), 'MPC_ERR_BAD_MESSAGE'],
    ['a request that is not msgpack', (ch) => raw(ch, Uint8Array.of(0xc1)), 'MPC_ERR_BAD_MESSAGE'],
    ['an extra envelope field', (ch) => raw(ch, encodeEnvelope({ index: 0, name: 'mulTriples', params: 2, extra: 1 })), 'MPC_ERR_BAD_MESSAGE'],
    ['a non-integer index', (ch) => raw(ch, encodeEnvelope({ index: 0.5, name: 'mulTriples', params: 2 })), 'MPC_ERR_BAD_MESSAGE'],
    ['an index out of order', (ch) => new ChannelDealerLink(ch).fetch(3, mulTriples, 1), 'MPC_ERR_BAD_TAG'],
  ];
  for (const [label, send, code] of badRequests) {
    it(`rejects ${label} with ProtocolError ${code}, closes the session, keeps serving other sessions`, async () => {
      const bad = remoteParties(newSeeds());
      const good = remoteParties(newSeeds());
      await bad.parties.ctx[1].dealer.take(mulTriples, 2); // P1 never waits for P0 at the dealer
      const seen = send(bad.partyEnds[0]).then(() => 'ok', (e: Error) => e);
      await expect(bad.served).rejects.toMatchObject({ name: 'ProtocolError', code });
      expect(await seen).toBeInstanceOf(ProtocolError); // the requester learns why
      expect(bad.dealerEnds[0].closed && bad.dealerEnds[1].closed).toBe(true);
      // The other party's next request fails at once instead of hanging.
      await expect(bad.parties.ctx[1].dealer.take(mulTriples, 2)).rejects.toBeInstanceOf(ChannelClosedError);
      // The other session is untouched.
      const t = await runBoth(good.parties, (ctx) => ctx.dealer.take(mulTriples, 2));
      expect(t[0].a.length).toBe(2);
      good.links.forEach((l) => l.close());
      await good.served;
    });
  }

  it('surfaces the dealer error at the party as ProtocolError with the code and name', async () => {
    const bad = remoteParties(newSeeds());
    const link = new ChannelDealerLink(bad.partyEnds[0]);
    const err = await link.fetch(0, forged('noSuchThing'), 4).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toMatchObject({ code: 'MPC_ERR_BAD_MESSAGE', message: expect.stringMatching(/unknown correlation "noSuchThing"/) });
    await expect(bad.served).rejects.toBeInstanceOf(ProtocolError);
  });

  it('reports parties that disagree on a correlation as MPC_ERR_DEALER_MISMATCH', async () => {
    const remote = remoteParties(newSeeds());
    const t0 = remote.parties.ctx[0].dealer.take(mulTriples, 4);
    await t0;
    const err = await remote.parties.ctx[1].dealer.take(mulTriples, 5).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ProtocolError', code: 'MPC_ERR_DEALER_MISMATCH' });
    await expect(remote.served).rejects.toMatchObject({ code: 'MPC_ERR_DEALER_MISMATCH' });
  });

  it('ends normally when both parties close their channels', async () => {
    const remote = remoteParties(newSeeds());
    remote.links.forEach((l) => l.close());
    await expect(remote.served).resolves.toBeUndefined();
  });

  it('correlationRegistry rejects two different specs under one name', () => {
    expect(() => correlationRegistry([mulTriples, defineCorrelation('mulTriples', validateCount, () => NO_DEALER_BYTES, () => 0, () => 0)])).toThrow(TypeError);
    expect(correlationRegistry([mulTriples, mulTriples]).size).toBe(1);
  });

  it('sends dealer messages without copying them: reply and frame headers go into their headroom', () => {
    const session = new DealerSession(testPrg('hr-0').bytes(16), testPrg('hr-1').bytes(16));
    const m0 = session.fetch(0, 0, mulTriples, 64), m1 = session.fetch(1, 0, mulTriples, 64);
    for (const m of [m0, m1]) {
      const bytes = [...m];
      const frame = encodeFrame(0, encodeDealerReply(m));
      expect(frame.buffer).toBe(m.buffer); // built in place
      const body = parseFrame(frame).body;
      expect([...decodeDealerReply(body, 0, 'mulTriples')]).toEqual(bytes);
      // sent again (the headroom is used): a copy with the same bytes
      const copy = encodeFrame(0, encodeDealerReply(m));
      expect(copy.buffer).not.toBe(m.buffer);
      expect([...copy]).toEqual([...frame]);
    }
  });
});

import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import {
  beaverMul,
  beaverSquare,
  correlationRegistry,
  localParties,
  maskedMatmul,
  maskOperand,
  mulTriples,
  runBoth,
  squarePairs,
  SPECULATION_WINDOW,
  REQUEST_BATCH,
  MAX_STRIKES,
  UNUSED_SPECULATION_SCOPE,
  type PartyContext,
} from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';
import { newSeeds, remoteParties } from './remote-parties';

const { asUintN } = BigInt;

const remote = () => remoteParties(newSeeds(), correlationRegistry([mulTriples, squarePairs]));

const prg = testPrg('planned');
const n = 33;
const xs = share(tensor([n], prg.words(n)), prg), ys = share(tensor([n], prg.words(n)), prg);
const xv = reconstruct(xs[0], xs[1]).data, yv = reconstruct(ys[0], ys[1]).data;

/** A block of `muls` products x·y then one square (muls + 1 correlations). */
async function block(ctx: PartyContext, muls: number) {
  let z = xs[ctx.party];
  for (let i = 0; i < muls; i++) z = await beaverMul(ctx, z, ys[ctx.party]);
  return beaverSquare(ctx, z);
}
function expected(muls: number): bigint[] {
  return Array.from(xv, (x, i) => {
    let z = x;
    for (let k = 0; k < muls; k++) z = asUintN(64, z * yv[i]);
    return asUintN(64, z * z);
  });
}

describe(`planned blocks: speculative dealer prefetch (SEED=${TEST_SEED})`, () => {
  for (const [label, make] of [['in-process dealer', () => ({ parties: localParties(), close: async () => undefined })], ['remote dealer', remote]] as const) {
    it(`${label}: a repeated block is served from its plan; a different one skips or goes on demand; results and online costs unchanged`, async () => {
      const { parties, close } = make();
      const run = (key: string, muls: number) => runBoth(parties, (ctx) => ctx.dealer.planned(key, () => block(ctx, muls)));
      const check = (r: [{ data: BigUint64Array }, { data: BigUint64Array }], muls: number) =>
        expect([...reconstruct(r[0] as never, r[1] as never).data]).toEqual(expected(muls));

      const costOf = async (key: string, muls: number) => {
        const before = parties.ctx[0].ledger.snapshot();
        const r = await run(key, muls);
        check(r, muls);
        const after = parties.ctx[0].ledger.snapshot();
        return { rounds: after.rounds - before.rounds, bytesSent: after.bytesSent - before.bytesSent, offline: after.offlineBytes - before.offlineBytes };
      };
      const first = await costOf('block', 3); // records the plan
      for (const c of parties.ctx) expect(c.dealer.speculationStats).toEqual({ issued: 0, hits: 0, misses: 0, skipped: 0, onDemand: 4 });
      const second = await costOf('block', 3); // all 4 from the plan
      expect(second).toEqual(first);
      for (const c of parties.ctx) expect(c.dealer.speculationStats).toEqual({ issued: 4, hits: 4, misses: 0, skipped: 0, onDemand: 4 });
      // same key, a shorter run: the first product is planned, the square is planned after two
      // products this run leaves out — skip them, then hit
      const short = await runBoth(parties, (ctx) => ctx.ledger.scope('short run', () => ctx.dealer.planned('block', () => block(ctx, 1))));
      check(short, 1);
      for (const c of parties.ctx) expect(c.dealer.speculationStats).toEqual({ issued: 8, hits: 6, misses: 0, skipped: 2, onDemand: 4 });
      // the two skipped products' material is counted on arrival in a top-level scope of its own,
      // not in the scope that was running (the run's own takes are: 1 product and the square)
      await new Promise((r) => setTimeout(r, 50));
      for (const c of parties.ctx) {
        const unused = c.ledger.get(UNUSED_SPECULATION_SCOPE).offlineBytes;
        expect(unused).toBe(2 * mulTriples.messageBytes(n)[c.party]);
        expect(c.ledger.get('short run').offlineBytes).toBe(mulTriples.messageBytes(n)[c.party] + squarePairs.messageBytes(n)[c.party]);
        expect([...c.ledger.paths().keys()].filter((k) => k.includes(UNUSED_SPECULATION_SCOPE))).toEqual([UNUSED_SPECULATION_SCOPE]);
      }
      // the plan is now the short run's [mul, square]; a longer run: mul hits, two unplanned
      // products go on demand (the plan is kept), then the square hits
      await costOf('block', 3);
      for (const c of parties.ctx) expect(c.dealer.speculationStats).toEqual({ issued: 10, hits: 8, misses: 2, skipped: 2, onDemand: 6 });
      // a longer plan than the window: at most SPECULATION_WINDOW requests in flight, all hits
      const long = SPECULATION_WINDOW + 5;
      await costOf('long', long);
      await costOf('long', long);
      for (const c of parties.ctx) expect(c.dealer.speculationStats.hits).toBe(8 + long + 1);
      await close();
    });
  }

  it(`a replayed plan's requests leave in batches: the window at once, then ${REQUEST_BATCH} at a time, the plan's last ones together`, async () => {
    const { parties, close, partyEnds } = remote();
    const muls = SPECULATION_WINDOW + REQUEST_BATCH + 3; // plan: muls + 1 correlations
    // per party: how many requests each write carried (a send outside sendTogether is a write of its own)
    const writes: number[][] = [[], []];
    partyEnds.forEach((ch, p) => {
      const send = ch.send.bind(ch), together = ch.sendTogether.bind(ch);
      let batch: number | undefined;
      ch.send = (tag, payload) => {
        if (batch === undefined) writes[p].push(1);
        else batch++;
        send(tag, payload);
      };
      ch.sendTogether = <T>(fn: () => T): T => {
        batch = 0;
        try {
          return together(fn);
        } finally {
          writes[p].push(batch);
          batch = undefined;
        }
      };
    });
    const run = () => runBoth(parties, (ctx) => ctx.dealer.planned('long', () => block(ctx, muls)));
    await run(); // records the plan: every take on demand, one request per write
    expect(writes).toEqual([Array(muls + 1).fill(1), Array(muls + 1).fill(1)]);
    writes.forEach((w) => w.splice(0));
    const r = await run();
    expect([...reconstruct(r[0], r[1]).data]).toEqual(expected(muls));
    // the window fills at once; REQUEST_BATCH takes later it has room for a batch; the last 4 go
    // when it has room for them
    for (const w of writes) expect(w).toEqual([SPECULATION_WINDOW, REQUEST_BATCH, 4]);
    for (const c of parties.ctx) expect(c.dealer.speculationStats).toEqual({ issued: muls + 1, hits: muls + 1, misses: 0, skipped: 0, onDemand: muls + 1 });
    await close();
  });

  it('blocks that differ only in their masked operands share a plan (operand keys renamed)', async () => {
    const parties = localParties();
    const d = 6, m = 4;
    const ws = [0, 1, 2].map((i) => share(tensor([d, m], testPrg(`w${i}`).words(d * m)), prg));
    const x = share(tensor([2, d], prg.words(2 * d)), prg);
    const [r0, r1] = await runBoth(parties, async (ctx) => {
      const ops = [];
      for (const w of ws) ops.push(await maskOperand(ctx, w[ctx.party]));
      const out = [];
      for (const op of ops) out.push(await ctx.dealer.planned('layer', () => maskedMatmul(ctx, x[ctx.party], op), [op.key]));
      return out;
    });
    for (let i = 0; i < 3; i++) {
      const z = reconstruct(r0[i], r1[i]).data, xv2 = reconstruct(x[0], x[1]).data, wv = reconstruct(ws[i][0], ws[i][1]).data;
      for (let r = 0; r < 2; r++) for (let c = 0; c < m; c++) {
        let acc = 0n;
        for (let k = 0; k < d; k++) acc += xv2[r * d + k] * wv[k * m + c];
        expect(z[r * m + c]).toBe(asUintN(64, acc));
      }
    }
    // blocks 2 and 3 were served from block 1's plan, renamed to their own operand
    const stats = parties.ctx[0].dealer.speculationStats;
    expect(stats.misses).toBe(0);
    expect(stats.hits).toBe(stats.issued);
    expect(stats.hits).toBeGreaterThanOrEqual(2);
  });

  it('operands created inside a block are renamed by the replay\'s index offset', async () => {
    const parties = localParties();
    const d = 5, m = 3;
    const w = share(tensor([d, m], testPrg('w-inner').words(d * m)), prg);
    const x = share(tensor([1, d], prg.words(d)), prg);
    const body = (ctx: PartyContext) => ctx.dealer.planned('inner', async () => {
      const op = await maskOperand(ctx, w[ctx.party]); // key = sessionKey(index at creation)
      return maskedMatmul(ctx, x[ctx.party], op);
    });
    const first = await runBoth(parties, body);
    const second = await runBoth(parties, body);
    expect(reconstruct(second[0], second[1]).data).toEqual(reconstruct(first[0], first[1]).data);
    const stats = parties.ctx[0].dealer.speculationStats;
    expect(stats).toEqual({ issued: 2, hits: 2, misses: 0, skipped: 0, onDemand: 2 });
  });

  it(`a plan that stops matching is dropped after MAX_STRIKES (${MAX_STRIKES}) unplanned takes in a row`, async () => {
    const parties = localParties();
    const run = (muls: number) => runBoth(parties, (ctx) => ctx.dealer.planned('k', () => block(ctx, muls)));
    await run(1); // plan: [mul, square]
    const r = await run(MAX_STRIKES + 8);
    expect([...reconstruct(r[0], r[1]).data]).toEqual(expected(MAX_STRIKES + 8));
    // mul hits; the next MAX_STRIKES products are unplanned; then the plan (its square) is dropped
    expect(parties.ctx[0].dealer.speculationStats).toEqual({ issued: 2, hits: 1, misses: MAX_STRIKES, skipped: 1, onDemand: 2 + MAX_STRIKES + 8 });
  });

  it('nested planned blocks run as part of the outer block', async () => {
    const parties = localParties();
    const body = (ctx: PartyContext) => ctx.dealer.planned('outer', () => ctx.dealer.planned('inner', () => block(ctx, 2)));
    await runBoth(parties, body);
    const r = await runBoth(parties, body);
    expect([...reconstruct(r[0], r[1]).data]).toEqual(expected(2));
    expect(parties.ctx[0].dealer.speculationStats).toEqual({ issued: 3, hits: 3, misses: 0, skipped: 0, onDemand: 3 });
  });
  it('a block that announces the next one sends the next plan ahead once its own is in flight; a wrong guess is dropped', async () => {
    const parties = localParties();
    const d = 5, m = 3;
    const w = share(tensor([d, m], testPrg('w-next').words(d * m)), prg);
    const x = share(tensor([1, d], prg.words(d)), prg);
    const issuedAtStart: number[] = [];
    // 'a': 3 products and a square, announcing 'b'; 'b' masks an operand inside itself (renamed from
    // the predicted start) and multiplies by it; 'c' is 'b' under another key
    const inner = (ctx: PartyContext) => async () => {
      if (ctx.party === 0) issuedAtStart.push(ctx.dealer.speculationStats.issued);
      const op = await maskOperand(ctx, w[ctx.party]);
      return maskedMatmul(ctx, x[ctx.party], op);
    };
    const seq = (second: 'b' | 'c') => runBoth(parties, async (ctx) => {
      await ctx.dealer.planned('a', () => block(ctx, 3), [], () => ({ key: 'b', operandKeys: [] }));
      return ctx.dealer.planned(second, inner(ctx));
    });
    const first = await seq('b'); // records both plans
    const again = await seq('b');
    expect(reconstruct(again[0], again[1]).data).toEqual(reconstruct(first[0], first[1]).data);
    const s = parties.ctx[0].dealer.speculationStats;
    // 4 of 'a' + 2 of 'b', all hits; 'b' had both of its requests in flight before it began
    expect(s).toEqual({ issued: 6, hits: 6, misses: 0, skipped: 0, onDemand: 6 });
    expect(issuedAtStart).toEqual([0, 6]);
    // 'a' announces 'b' but 'c' runs (no plan of its own yet): b's 2 requests are skipped, c on demand
    await seq('c');
    expect(parties.ctx[0].dealer.speculationStats).toEqual({ issued: 12, hits: 10, misses: 0, skipped: 2, onDemand: 8 });
  });

  it('a block whose plan was recorded after its guess went ahead keeps what the recording also has and sends the rest at once', async () => {
    const parties = localParties();
    const stats = () => ({ ...parties.ctx[0].dealer.speculationStats });
    const run = (muls: number, next: boolean) => runBoth(parties, (ctx) =>
      ctx.dealer.planned('k', () => block(ctx, muls), [], next ? () => ({ key: 'k', operandKeys: [] }) : undefined));
    await run(1, false); // plan of 'k': [mul, square]
    // a longer run of 'k' announcing 'k' again: its guess of the next block is the old plan, sent
    // ahead while this run records [mul ×3, square]
    await run(3, true);
    const before = stats();
    const r = await run(3, false);
    expect([...reconstruct(r[0], r[1]).data]).toEqual(expected(3));
    const d = stats();
    // in flight [mul, square] against the recording [mul, mul, mul, square]: both kept, the two
    // products between them sent at the block's start; every take hits, nothing is skipped
    expect({ hits: d.hits - before.hits, misses: d.misses - before.misses, skipped: d.skipped - before.skipped, onDemand: d.onDemand - before.onDemand })
      .toEqual({ hits: 4, misses: 0, skipped: 0, onDemand: 0 });
    // the guess with other sizes: a block of 'k' over another length records requests the guess
    // does not have — the guess is forgotten, the recording sent
    const other = (len: number, next: boolean) => runBoth(parties, (ctx) => ctx.dealer.planned('k', async () => {
      const x = share(tensor([len], prg.words(len)), prg);
      return beaverSquare(ctx, x[ctx.party]);
    }, [], next ? () => ({ key: 'k', operandKeys: [] }) : undefined));
    await other(5, true); // guess sent ahead for the next 'k': [mul ×3, square] of n = 33
    const b2 = stats();
    await other(5, false);
    const d2 = stats();
    expect({ hits: d2.hits - b2.hits, misses: d2.misses - b2.misses, skipped: d2.skipped - b2.skipped })
      .toEqual({ hits: 1, misses: 0, skipped: 4 });
  });
});

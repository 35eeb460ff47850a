import { encode, reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import { localParties, runBoth, type LocalParties } from '../src';
import { argmaxTree, argmaxTreeCost, maxTree, maxTreeCost, minMaxTree, minMaxTreeCost } from '../src/select/max-tree';
import { randomReals, testPrg, TEST_SEED } from './helpers';

const sgn = (v: bigint) => BigInt.asIntN(64, v);
const open = (a: RingTensor, b: RingTensor) => [...reconstruct(a, b).data].map(sgn);

/** Float64/BigInt reference: per row, the max and its lowest index. */
function reference(rows: bigint[][]): { max: bigint[]; index: bigint[] } {
  const max: bigint[] = [], index: bigint[] = [];
  for (const r of rows) {
    let best = 0;
    for (let i = 1; i < r.length; i++) if (r[i] > r[best]) best = i;
    max.push(r[best]);
    index.push(BigInt(best));
  }
  return { max, index };
}

function sharedRows(rows: bigint[][]): [RingTensor, RingTensor] {
  const L = rows[0].length;
  return share(tensor([rows.length, L], BigUint64Array.from(rows.flat(), (v) => BigInt.asUintN(64, v))));
}

function expectCost(parties: LocalParties, scope: string, cost: { rounds: number; bytesSent: number; offlineBytes: number }) {
  const c0 = parties.ctx[0].ledger.get(scope), c1 = parties.ctx[1].ledger.get(scope);
  expect([c0.rounds, c1.rounds]).toEqual([cost.rounds, cost.rounds]);
  expect([c0.bytesSent, c1.bytesSent]).toEqual([cost.bytesSent, cost.bytesSent]);
  expect(c0.offlineBytes + c1.offlineBytes).toBe(cost.offlineBytes);
}

describe(`maxTree / argmaxTree (SEED=${TEST_SEED})`, () => {
  for (const k of [16, 40, 64]) {
    for (const L of [1, 2, 3, 5, 8, 13]) {
      it(`k = ${k}, 4 rows × ${L}: max, argmax (lowest index on ties), one-hot; exact costs`, async () => {
        const prg = testPrg(`mt/${k}/${L}`);
        const lim = 1n << BigInt(k - 2);
        const rows: bigint[][] = [];
        for (let r = 0; r < 4; r++) {
          const w = [...prg.words(L)].map((v) => BigInt.asIntN(k - 2, v));
          if (r === 1) w.fill(-7n); // all tied
          if (r === 2 && L > 2) { w[L - 1] = lim - 1n; w[1] = lim - 1n; w[0] = -lim; } // tie at the edge value
          if (r === 3) w.forEach((_, i) => (w[i] = BigInt(i % 3) - lim)); // negatives, repeated maxima
          rows.push(w);
        }
        const ref = reference(rows);
        const [x0, x1] = sharedRows(rows);
        const parties = localParties();
        const [a, b] = await runBoth(parties, async (ctx) => {
          const t0 = ctx.dealer.taken, max = await maxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: k }), t1 = ctx.dealer.taken;
          return { max, maxTakes: t1 - t0, arg: await argmaxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: k, oneHot: true }) };
        });
        // every level's comparisons in one dealer request (its size linear in L)
        expect(a.maxTakes).toBe(L > 1 ? 1 : 0);
        expect(open(a.max, b.max)).toEqual(ref.max);
        expect(open(a.arg.max, b.arg.max)).toEqual(ref.max);
        expect(open(a.arg.index, b.arg.index)).toEqual(ref.index);
        const oh = open(a.arg.oneHot!, b.arg.oneHot!);
        rows.forEach((_, r) => {
          for (let i = 0; i < L; i++) expect(oh[r * L + i]).toBe(BigInt(i) === ref.index[r] ? 1n : 0n);
        });
        expectCost(parties, 'maxTree', maxTreeCost(4, L, k));
        expectCost(parties, 'argmaxTree', argmaxTreeCost(4, L, k, true));
      });
    }
  }

  it('argmax without one-hot: ⌈log2 L⌉ rounds, 16 B per comparison', async () => {
    const xs = randomReals(testPrg('noh'), 2 * 100, -8, 8);
    const rows = [[...xs.slice(0, 100)], [...xs.slice(100)]].map((r) => [...encode(r, 12)].map(sgn));
    const [x0, x1] = sharedRows(rows);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => argmaxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: 24 }));
    expect(open(a.index, b.index)).toEqual(reference(rows).index);
    expect(a.oneHot).toBeUndefined();
    expectCost(parties, 'argmaxTree', argmaxTreeCost(2, 100, 24));
    expect(argmaxTreeCost(2, 100, 24).rounds).toBe(7);
  });

  it('a 1 × 32000 vocabulary row (fixed-point logits), 15 rounds', async () => {
    const L = 32000;
    const logits = randomReals(testPrg('vocab'), L, -20, 20);
    logits[31999] = 25; // the winner sits in the odd carried tail of several levels
    logits[17] = 25; // … tied with a lower index, which must win
    const row = [...encode(logits, 12)].map(sgn);
    const [x0, x1] = sharedRows([row]);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => argmaxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: 24 }));
    expect(open(a.index, b.index)).toEqual([17n]);
    expect(open(a.max, b.max)).toEqual([row[17]]);
    expectCost(parties, 'argmaxTree', argmaxTreeCost(1, L, 24));
    expect(argmaxTreeCost(1, L, 24).rounds).toBe(15);
  });

  it('rejects a 3-d input', async () => {
    await expect(maxTree(localParties().ctx[0], tensor([2, 2, 2]))).rejects.toThrow(/expected shape \(rows, L\)/);
  });
});

describe(`minMaxTree (SEED=${TEST_SEED})`, () => {
  for (const L of [1, 2, 3, 5, 8, 16, 13]) {
    it(`4 rows × ${L}: the exact min and max (ties, extremes of the range), ⌈log2 L⌉ rounds, ⌈3L/2⌉ − 2 comparisons per row; exact cost`, async () => {
      const k = 32, lim = 1n << BigInt(k - 2), prg = testPrg(`mm/${L}`);
      const rows: bigint[][] = [];
      for (let r = 0; r < 4; r++) {
        const w = [...prg.words(L)].map((v) => BigInt.asIntN(k - 2, v));
        if (r === 1) w.fill(5n);
        if (r === 2) { w[0] = lim - 1n; w[L - 1] = -lim; }
        if (r === 3) w.forEach((_, i) => (w[i] = BigInt(i % 2) - 3n));
        rows.push(w);
      }
      const [x0, x1] = sharedRows(rows);
      const parties = localParties();
      const [a, b] = await runBoth(parties, (ctx) => minMaxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: k }));
      const max = rows.map((r) => r.reduce((m, v) => (v > m ? v : m))), min = rows.map((r) => r.reduce((m, v) => (v < m ? v : m)));
      expect(open(a.max, b.max)).toEqual(max);
      expect(open(a.min, b.min)).toEqual(min);
      const cost = minMaxTreeCost(4, L, k);
      expectCost(parties, 'minMaxTree', cost);
      expect(cost.rounds).toBe(Math.ceil(Math.log2(L)));
      // against a max tree over [x; −x] (two trees): the shared first level saves ⌊L/2⌋ comparisons per row
      const perComparison = maxTreeCost(1, 2, k).bytesSent, two = maxTreeCost(8, L, k);
      expect(cost.bytesSent / perComparison).toBe(4 * (L > 1 ? Math.ceil((3 * L) / 2) - 2 : 0));
      expect((two.bytesSent - cost.bytesSent) / perComparison).toBe(4 * Math.floor(L / 2));
      expect(two.rounds).toBe(cost.rounds);
    });
  }
});

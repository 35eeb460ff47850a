import { reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import { argmaxPacked, argmaxPackedCost, localParties, maxTree, maxTreeCost, runBoth, type LocalParties } from '../src';
import { testPrg, TEST_SEED } from './helpers';

const sgn = (v: bigint) => BigInt.asIntN(64, v);

function sharedRows(rows: bigint[][]): [RingTensor, RingTensor] {
  return share(tensor([rows.length, rows[0].length], BigUint64Array.from(rows.flat(), (v) => BigInt.asUintN(64, v))));
}

function expectCost(parties: LocalParties, scope: string, cost: { rounds: number; bytesSent: number; offlineBytes: number }) {
  const c0 = parties.ctx[0].ledger.get(scope), c1 = parties.ctx[1].ledger.get(scope);
  expect([c0.rounds, c1.rounds]).toEqual([cost.rounds, cost.rounds]);
  expect([c0.bytesSent, c1.bytesSent]).toEqual([cost.bytesSent, cost.bytesSent]);
  expect(c0.offlineBytes + c1.offlineBytes).toBe(cost.offlineBytes);
}

const depth = (L: number) => Math.ceil(Math.log2(L));
const maxOf = (r: bigint[]) => r.reduce((a, b) => (b > a ? b : a));

describe(`argmaxPacked (SEED=${TEST_SEED})`, () => {
  for (const [bits, res] of [[20, 6], [46, 24], [32, 1]] as const) {
    for (const L of [1, 2, 3, 7, 16, 100]) {
      it(`bits ${bits}, resolution 2^${res}, 5 rows × ${L}: argmax within the bound, exact when the max leads; exact costs`, async () => {
        const prg = testPrg(`ap/${bits}/${res}/${L}`), lim = 1n << BigInt(bits - 2), eps = 1n << BigInt(res);
        const rows: bigint[][] = [];
        for (let r = 0; r < 5; r++) {
          const w = [...prg.words(L)].map((v) => BigInt.asIntN(bits - 2, v));
          if (r === 1) w.fill(-7n); // all tied: any index
          if (r === 2) w.forEach((_, i) => (w[i] = lim - 1n - BigInt(i % 2) * (lim - 1n))); // extreme range, repeated maxima
          if (r === 3 && L > 1) w[L - 1] = maxOf(w) + eps; // the last one leads by exactly the resolution
          if (r === 4) w.forEach((_, i) => (w[i] = -lim + BigInt(i) * (eps / 4n))); // a chain of near ties
          rows.push(w);
        }
        const [x0, x1] = sharedRows(rows);
        const parties = localParties();
        const [a, b] = await runBoth(parties, (ctx) => argmaxPacked(ctx, ctx.party === 0 ? x0 : x1, { bits, resolutionBits: res }));
        const P = a.indexBits;
        expect(P).toBe(Math.max(1, Math.ceil(Math.log2(L))));
        const idx = [...reconstruct(a.index, b.index).data].map((v) => Number(BigInt.asUintN(P, v)));
        rows.forEach((row, r) => {
          const m = maxOf(row), i = idx[r];
          expect(i).toBeLessThan(L);
          expect(row[i]).toBeGreaterThan(m - BigInt(Math.max(1, depth(L))) * eps);
          const runnerUp = row.filter((_, j) => j !== row.indexOf(m)).reduce((x, y) => (y > x ? y : x), -(1n << 62n));
          if (m - runnerUp >= eps) expect(i).toBe(row.indexOf(m)); // a clear leader always wins
        });
        expectCost(parties, 'argmaxPacked', argmaxPackedCost(5, L, { bits, resolutionBits: res }));
      });
    }
  }

  it('is much cheaper offline than argmaxTree for greedy decoding over 32,000 logits', () => {
    const c = argmaxPackedCost(1, 32000, { bits: 46, resolutionBits: 24 });
    expect(c.rounds).toBe(15);
    expect(c.bytesSent).toBe(8 * 31999);
    expect(c.offlineBytes).toBe(31999 * (2 * (23 * 32 + 16) + 16));
  });

  it('with secret indices (distinct, in [0, indexRange)): the winner\'s own index, exact mod 2^⌈log2 indexRange⌉; exact costs', async () => {
    const L = 40, range = 50257, bits = 30, res = 4, prg = testPrg('ap/indices');
    const rows = [0, 1, 2].map(() => [...prg.words(L)].map((v) => BigInt.asIntN(bits - 2, v)));
    const ids = rows.map((_, r) => Array.from({ length: L }, (_, i) => BigInt((i * 1237 + r * 31 + 5) % range))); // distinct per row
    const [x0, x1] = sharedRows(rows), [i0, i1] = sharedRows(ids);
    const parties = localParties();
    const opts = { bits, resolutionBits: res, indexRange: range };
    const [a, b] = await runBoth(parties, (ctx) => argmaxPacked(ctx, ctx.party === 0 ? x0 : x1, { ...opts, indices: ctx.party === 0 ? i0 : i1 }));
    expect(a.indexBits).toBe(16);
    const got = [...reconstruct(a.index, b.index).data].map((v) => BigInt.asUintN(16, v));
    rows.forEach((row, r) => expect(got[r]).toBe(ids[r][row.indexOf(maxOf(row))])); // random 28-bit values: leaders are clear
    expectCost(parties, 'argmaxPacked', argmaxPackedCost(3, L, opts));
    // the coarse comparisons ignore the P index bits: the same cost as positional indices
    expect(argmaxPackedCost(3, L, opts)).toEqual(argmaxPackedCost(3, L, { bits, resolutionBits: res }));
    const ctx = parties.ctx[0];
    await expect(argmaxPacked(ctx, x0, { bits, resolutionBits: res, indices: i0 })).rejects.toThrow(/indexRange expected an integer ≥ 40 with indices/);
    await expect(argmaxPacked(ctx, x0, { ...opts, indices: tensor([3, 39], new BigUint64Array(117)) })).rejects.toThrow(/indices expected shape \(3, 40\)/);
  });

  it('rejects parameters outside the packing range', async () => {
    const ctx = localParties().ctx[0], x = tensor([4], new BigUint64Array(4));
    await expect(argmaxPacked(ctx, x, { bits: 62, resolutionBits: 8 })).rejects.toThrow(RangeError); // 62 + 2 + 1 > 64
    await expect(argmaxPacked(ctx, x, { bits: 20, resolutionBits: 0 })).rejects.toThrow(RangeError);
    await expect(argmaxPacked(ctx, x, { bits: 20, resolutionBits: 20 })).rejects.toThrow(RangeError);
    await expect(argmaxPacked(ctx, tensor([2, 2, 1], new BigUint64Array(4)), { bits: 20, resolutionBits: 4 })).rejects.toThrow(/expected shape/);
  });
});

describe('maxTree with coarse comparisons (lowBits)', () => {
  it('returns one of the row values, within depth·2^lowBits of the max; exact costs', async () => {
    const L = 37, k = 30, low = 10, prg = testPrg('coarse-max');
    const rows: bigint[][] = [0, 1, 2].map(() => [...prg.words(L)].map((v) => BigInt.asIntN(k - 2, v)));
    rows[1] = rows[1].map((_, i) => 1000n + BigInt(i) * 300n); // steps below 2^low
    const [x0, x1] = sharedRows(rows);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => maxTree(ctx, ctx.party === 0 ? x0 : x1, { bits: k, lowBits: low }));
    const got = [...reconstruct(a, b).data].map(sgn);
    rows.forEach((row, r) => {
      expect(row).toContain(got[r]);
      expect(got[r]).toBeGreaterThan(maxOf(row) - BigInt(depth(L)) * (1n << BigInt(low)));
    });
    expectCost(parties, 'maxTree', maxTreeCost(3, L, k, low));
    expect(maxTreeCost(3, L, k, low).offlineBytes).toBeLessThan(maxTreeCost(3, L, k).offlineBytes);
  });
});

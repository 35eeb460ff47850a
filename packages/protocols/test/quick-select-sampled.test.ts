/**
 * Quick-select with sampled pivots (quick-select.ts option `sample`), the planner driven by plaintext
 * comparison bits of random permutations (what the protocol reveals): the selected set is exact for
 * targets near either end, it takes far fewer comparisons than positional pivots for k ≪ n, and a
 * bucket with targets on both halves starts with positional pivots.
 * The secure top-k with the option: exact result and exact cost (topKCost over the reported steps).
 */
import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { binomialQuantile, localParties, QuickSelect, runBoth, topK, topKCost } from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

/** Run the planner on `keys` (distinct) to resolve boundary k; returns the selected positions and counts. */
function plan(keys: number[], k: number, sample: number): { top: number[]; steps: number; comparisons: number } {
  const q = new QuickSelect(1, keys.length, [k], { sample });
  for (let b = q.next(); b.a.length > 0; b = q.next()) q.apply(Array.from(b.a, (a, i) => (keys[a] < keys[b.b[i]] ? 1 : 0)));
  return { top: q.top(0, k), steps: q.steps, comparisons: q.comparisons };
}

function permutation(n: number, label: string): number[] {
  const w = testPrg(label).words(n), p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Number(w[i] % BigInt(i + 1)); [p[i], p[j]] = [p[j], p[i]]; }
  return p;
}

describe(`quick-select with sampled pivots (SEED=${TEST_SEED})`, () => {
  it.each([[32000, 40], [32000, 1], [5000, 4960], [4096, 1229]])('n = %i, k = %i: the exact top k', (n, k) => {
    const keys = permutation(n, `qs/${n}/${k}`), want = keys.map((_, i) => i).filter((i) => keys[i] >= n - k).sort((x, y) => x - y);
    expect(plan(keys, k, 64).top.sort((x, y) => x - y)).toEqual(want);
  });

  it('top 40 of 32,000: under a third of the positional comparisons, within 12 steps (5 permutations)', () => {
    for (let t = 0; t < 5; t++) {
      const keys = permutation(32000, `qs-cost/${t}`);
      const sampled = plan(keys, 40, 64), positional = plan(keys, 40, 0);
      expect(sampled.comparisons).toBeLessThan(positional.comparisons / 3);
      expect(sampled.steps).toBeLessThanOrEqual(12);
    }
  });

  it('the pivot rank is the exact Binomial tail quantile (reference: tails summed in float64 by Python)', () => {
    // P(Bin(64, 1/800) > 1) = 2.99e-3, > 2 = 7.7e-5; P(Bin(64, .05) > 10) = 3.1e-4, > 11 = 7.0e-5;
    // P(Bin(64, .5) > 46) = 1.13e-4, > 47 = 3.9e-5
    expect([binomialQuantile(64, 40 / 32000, 1e-4), binomialQuantile(64, 0.05, 1e-4), binomialQuantile(64, 0.5, 1e-4)]).toEqual([2, 11, 47]);
    expect(binomialQuantile(64, 40 / 32000, 1e-2)).toBe(1);
  });

  it('a target near the middle starts with positional pivots (sampled ones only for skewed buckets later)', () => {
    const first = (sample: number) => new QuickSelect(1, 4096, [2048], { sample }).next().a.length;
    expect(first(64)).toBe(first(0));
    expect(first(0)).toBe(6 + 4 * 4092); // 4 pivots: their pairs, then every other member against each
  });

  it('secure topK with sample 64: the exact top 10 of 600 and its exact cost', async () => {
    const n = 600, k = 10, prg = testPrg('qs-secure');
    const vals = Array.from(prg.words(n), (w) => BigInt.asIntN(26, w)); // |v| < 2^(bits − 2 − ⌈log2 n⌉)
    const [v0, v1] = share(tensor([n], BigUint64Array.from(vals, (v) => BigInt.asUintN(64, v))), prg);
    const parties = localParties(), opts = { bits: 40, sample: 64 };
    const [a, b] = await runBoth(parties, (ctx) => topK(ctx, ctx.party === 0 ? v0 : v1, k, opts));
    const got = [...reconstruct(a.indices, b.indices).data].map(Number).sort((x, y) => x - y);
    const want = vals.map((v, i) => [v, i] as const).sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] > y[0] ? -1 : 1)).slice(0, k).map((x) => x[1]).sort((x, y) => x - y);
    expect(got).toEqual(want);
    expect(a.stepComparisons[0]).toBe((64 * 63) / 2); // the first step ranks the sample
    const cost = topKCost(1, n, k, a.stepComparisons, opts);
    expectScopeCost(parties, 'topK', { ...cost, bytesSent: cost.bytesSentPerParty });
  });
});

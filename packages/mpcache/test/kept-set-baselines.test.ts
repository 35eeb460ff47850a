/**
 * Hand-computed kept sets of the baselines' pure selection functions (the oracles the secure
 * versions are tested against), and the shared tie-break: higher score wins, then newer position.
 */
import {
  adjustBudgets, cakeDecodeEvict, cakeIndicator, clusterMinMax, d2oEvict, d2oLayerCapacities, evictToTopK,
  gateKeptPositions, h2oEvict, h2oSplit, maskOf, pageBoundScores, pool1d, questSelectPages, ranksAbove,
  snapkvSelect, streamingKeptMask, tokenTopKSelect, topKPositions, tovaEvict,
} from '@mpcache/mpcache';

const ones = (n: number) => new Uint8Array(n).fill(1);
const kept = (m: Uint8Array) => Array.from(m).flatMap((v, i) => (v ? [i] : []));

describe('shared top-k and eviction primitives', () => {
  test('ties: the older position loses', () => {
    expect(ranksAbove(1, 3, 1, 2)).toBe(true);
    expect(ranksAbove(1, 2, 1, 3)).toBe(false);
    expect(ranksAbove(2, 0, 1, 9)).toBe(true);
    expect(Array.from(topKPositions([1, 1, 1, 1], [0, 1, 2, 3], 2))).toEqual([2, 3]);
    expect(Array.from(topKPositions([5, 0, 5, 1], [0, 1, 2, 3], 3))).toEqual([0, 2, 3]);
    expect(Array.from(topKPositions([5, 0, 5, 1], [1, 3], 5))).toEqual([1, 3]);
    expect(topKPositions([5, 0], [0, 1], 0).length).toBe(0);
  });

  test('evictToTopK evicts the lowest candidates in range and reports them', () => {
    const alive = ones(6);
    const ev = evictToTopK([3, 1, 2, 0, 9, 9], alive, 0, 4, 2);
    expect(Array.from(ev)).toEqual([1, 3]);
    expect(kept(alive)).toEqual([0, 2, 4, 5]);
    expect(evictToTopK([3, 1, 2, 0, 9, 9], alive, 0, 4, 2).length).toBe(0); // idempotent
  });

  test('repeated one-at-a-time argmin eviction equals one top-k (scores fixed)', () => {
    const scores = [0.3, 0.1, 0.3, 0.7, 0.1, 0.2, 0.5, 0.3];
    const a = ones(8), b = ones(8);
    evictToTopK(scores, a, 0, 8, 3);
    for (let keep = 7; keep >= 3; keep--) evictToTopK(scores, b, 0, 8, keep);
    expect(kept(a)).toEqual(kept(b));
    expect(kept(a)).toEqual([3, 6, 7]); // 0.7, 0.5, then the newest of the 0.3 ties
  });
});

describe('StreamingLLM, H2O, TOVA', () => {
  test('StreamingLLM keeps the sinks and the recent window', () => {
    expect(kept(streamingKeptMask(10, 2, 3))).toEqual([0, 1, 7, 8, 9]);
    expect(kept(streamingKeptMask(4, 2, 3))).toEqual([0, 1, 2, 3]);
  });

  test('H2O keeps the heavy hitters older than the recent window', () => {
    expect(h2oSplit(8, 0.5)).toEqual({ heavy: 4, recent: 4 });
    expect(h2oSplit(2, 0.5)).toEqual({ heavy: 1, recent: 1 });
    const alive = ones(7);
    // recent window of query 6 with recent = 2: {5, 6}; heavy candidates 0..4 by score
    const ev = h2oEvict([5, 1, 3, 0.5, 2, 0, 0], alive, 6, 2, 2);
    expect(kept(alive)).toEqual([0, 2, 5, 6]);
    expect(Array.from(ev)).toEqual([1, 3, 4]);
  });

  test('TOVA evicts the lowest current-row score, the new token a candidate', () => {
    const alive = ones(5);
    tovaEvict([0.4, 0.1, 0.2, 0.05, 0.25], alive, 5, 3);
    expect(kept(alive)).toEqual([0, 2, 4]);
    const b = ones(5);
    tovaEvict([0.4, 0.3, 0.2, 0.01, 0.0], b, 5, 3); // the newest token can go
    expect(kept(b)).toEqual([0, 1, 2]);
  });
});

describe('SnapKV, Quest, token top-k', () => {
  test('pooling: same padding, max and sum', () => {
    expect(Array.from(pool1d([0, 5, 0, 0, 0, 1], 6, 3, 'max'))).toEqual([5, 5, 5, 0, 1, 1]);
    expect(Array.from(pool1d([1, 2, 3], 3, 3, 'avg'))).toEqual([3, 6, 5]);
  });

  test('SnapKV keeps the top pooled votes of the prefix plus the window', () => {
    // n = 10, w = 3 → prefix 0..6; capacity 5 → 2 prefix tokens; kernel 1: votes decide directly
    expect(Array.from(snapkvSelect([0.1, 0.9, 0, 0.3, 0.2, 0.8, 0], 10, 3, 5, 1, 'max'))).toEqual([1, 5, 7, 8, 9]);
    // kernel 3 max-pool spreads the peak at 1 to 0..2: the newest of those ties wins
    expect(Array.from(snapkvSelect([0, 0.9, 0, 0, 0, 0, 0.1], 10, 3, 5, 3, 'max'))).toEqual([1, 2, 7, 8, 9]);
    expect(Array.from(snapkvSelect([], 4, 3, 5, 7, 'max'))).toEqual([0, 1, 2, 3]); // n ≤ capacity
  });

  test('Quest bound q·m + ReLU(q)(M − m) equals Σ max(q·M, q·m) and bounds every key', () => {
    const d = 4, keys = Float64Array.from([1, -2, 0.5, 3, -1, 0, 2, -3, 0.25, 1, -1, 1, 2, 2, 2, 2]);
    const { max, min } = clusterMinMax(keys, d, 0, d, (i) => i, 2, 2);
    expect(Array.from(max.subarray(0, d))).toEqual([1, 0, 2, 3]);
    expect(Array.from(min.subarray(4, 8))).toEqual([0.25, 1, -1, 1]);
    const q = [0.5, -1, 2, -0.25];
    const s = pageBoundScores(q, max, min, 2, d, null);
    for (let c = 0; c < 2; c++) {
      const ref = q.reduce((a, qi, i) => a + Math.max(qi * max[c * d + i], qi * min[c * d + i]), 0);
      expect(s[c]).toBeCloseTo(ref, 12);
      for (let r = 0; r < 2; r++) {
        const dot = q.reduce((a, qi, i) => a + qi * keys[(c * 2 + r) * d + i], 0);
        expect(dot).toBeLessThanOrEqual(s[c] + 1e-12);
      }
    }
    expect(pageBoundScores(q, max, min, 2, d, 4).every((v) => Number.isInteger(v * 16))).toBe(true);
  });

  test('Quest selects the best other pages plus the page holding the query', () => {
    // len 18, pages of 4: pages 0..3 complete, page 4 (16..17) holds the query; budget 12 → 2 others
    expect(Array.from(questSelectPages([0.1, 0.7, 0.2, 0.9], 18, 4, 12))).toEqual([1, 3, 4]);
  });

  test('token top-k keeps the best exact logits plus the query', () => {
    expect(Array.from(tokenTopKSelect([0.5, 2, -1, 2, 0.1], 5, 2))).toEqual([1, 3, 5]);
  });

  test('Attention-Gate: top-k by logit, or the logits above the threshold', () => {
    const g = [0.3, -1, 2, 0.3, -0.2, 5];
    expect(Array.from(gateKeptPositions(g, 5, 'topk', 2, 0))).toEqual([2, 3]);
    expect(Array.from(gateKeptPositions(g, 5, 'threshold', 0, 0))).toEqual([0, 2, 3]);
    // recent window of 2 (pos 5 and 4 forced), one more by logit among 0..3
    expect(Array.from(gateKeptPositions(g, 5, 'topk', 2, 0, 2))).toEqual([2, 4]);
  });
});

describe('D2O and CAKE', () => {
  test('D2O eviction forces the sinks whatever their scores', () => {
    const alive = ones(8);
    d2oEvict([0, 0, 3, 2, 1, 4, 0, 0], alive, 7, 3, 2, 2); // heavy 3 incl. 2 sinks, recent {6, 7}
    expect(kept(alive)).toEqual([0, 1, 5, 6, 7]);
  });

  test('D2O layer capacities: skipped layers null, the rest average the budget before clamping', () => {
    const flat = [new Float64Array(10).fill(1), new Float64Array(10).fill(2)];
    const peaked = [Float64Array.from({ length: 10 }, (_, j) => (j === 0 ? 9 : 0.1)), new Float64Array(10).fill(1)];
    const caps = d2oLayerCapacities([flat, peaked, flat], 9, 4, new Set([2]));
    expect(caps[2]).toBeNull();
    // flat: both head variances 0 → σ = 0; peaked: normalised {1, 0} → σ = 0.5.
    // softmax(−σ) = [0.6225, 0.3775]; ·2 layers·ρ (4/10) → ratios 0.498, 0.302; ·(n+1) = 10 → ⌊4.98⌋, ⌊3.02⌋
    expect(caps).toEqual([4, 3, null]);
  });

  test('CAKE budgets: proportional, capped, redistributed, exact total', () => {
    expect(adjustBudgets([10, 10, 10], 30, 100)).toEqual([10, 10, 10]);
    expect(adjustBudgets([50, 5, 5], 60, 30)).toEqual([30, 15, 15]);
    expect(adjustBudgets([3.7, 3.7, 2.6], 10, 100)).toEqual([4, 4, 2]);
    const b = adjustBudgets([100, 1, 1, 1], 40, 12);
    expect(b.reduce((a, x) => a + x, 0)).toBe(40);
    expect(Math.max(...b)).toBeLessThanOrEqual(12);
  });

  test('CAKE indicator = mean + γ·var over window queries (kernel 1), and decode eviction by the row', () => {
    // w = 2 queries, 3 prefix keys; stride 3
    const A = Float64Array.from([0.2, 0.4, 0.4, 0.4, 0.4, 0.2]);
    const ind = cakeIndicator(A, 2, 3, 3, 10, 1);
    expect(ind[0]).toBeCloseTo(0.3 + 10 * 0.02, 12);
    expect(ind[1]).toBeCloseTo(0.4, 12);
    const alive = ones(6);
    cakeDecodeEvict([0.1, 0.5, 0.05, 0.3, 0.9, 0.9], alive, 4, 2, 1); // window {4, 5}
    expect(kept(alive)).toEqual([1, 3, 4, 5]);
  });

  test('maskOf', () => {
    expect(Array.from(maskOf([0, 3], 5))).toEqual([1, 0, 0, 1, 0]);
  });
});

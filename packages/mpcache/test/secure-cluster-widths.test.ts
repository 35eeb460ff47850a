/**
 * MPCache's cluster selection at the edges of its comparison widths (secure-cluster-selector.ts and
 * cluster-bounds.ts, Accuracy): the secure kept set must still equal the plaintext selectClusters
 * one when
 *   - the cluster scores q·r come close to ±2^K, K = scoreRangeLog2(f) (the assumed score range,
 *     2^20 at f = 12), so that the top-k keys S·2^B_i + c span almost their whole documented range
 *     (clusterTopKBits), and
 *   - the keys of one cluster span almost ±2^18 in every channel (KEY_INT_BITS; at f = 12 the qkv
 *     range 2^(62−3f) is looser), so that the max/min trees compare differences near 2^(K+f+1)
 *     (boundsCompareBits).
 * Checked by hand: with topK two bits narrower (one bit of clusterTopKBits is the slack of topK's
 * contract |v| ≤ maxRankedValue), or the trees one bit narrower, these cases fail.
 * Values are chosen so that float64 computes the plaintext scores exactly (q_i = ±2^-1 or 2^-2,
 * keys on the 2^−12 grid), hence the comparison is exact, not within a tolerance.
 */
import { runBoth } from '@mpcache/protocols';
import { SecureMpcachePolicy, type ClusterSelectorParams } from '@mpcache/mpcache';
import { selectClusters } from '../src/cache/cluster-selector';
import { scoreRangeLog2 } from '../src/secure-cache/secure-cluster-selector';
import { fxRound } from '../src/cache/policy-config';
import { F, openInts, parties, shareGrid, sharedCache, view } from './secure-cache-helpers';
import { testPrg, TEST_SEED } from './secure-helpers';

const LANES = 2, D = 8, N = 70, BUDGET = 24, SIZES = [8, 4];
const KMAX = 2 ** 18 - 1; // largest key magnitude used (|k| < 2^18)
const model = { nLayers: 1, nHeads: LANES, nKvHeads: LANES, headDim: D, seqLen: 256 };

/** Uniform doubles in [0, 1) from the test PRG. */
function uniforms(label: string, n: number): Float64Array {
  const w = testPrg(label).words(n), out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Number(w[i] >> 11n) / 2 ** 53;
  return out;
}

const grid = (x: number) => Math.round(x * 2 ** F) / 2 ** F;
const clampKey = (x: number) => Math.max(-KMAX, Math.min(KMAX, x));

/**
 * Keys (N, LANES·D) and q (LANES·D). 'scores': every finest cluster c sits at a level ℓ_c ∈ [−1, 1]
 * (some at ±0.9999), keys = sign(q_i)·ℓ_c·KMAX + small jitter, q_i = ±2^-1: scores ≈ ℓ_c·2^20.
 * 'spread': one coarse cluster alternates ±KMAX token by token (its max − min ≈ 2^19 per channel, its
 * representative the largest score), the others sit at levels in [−0.5, 0.1]; q_i = 2^-2.
 */
function inputs(kind: 'scores' | 'spread', label: string): { keys: Float64Array; q: Float64Array } {
  const u = uniforms(`${label}/u`, N + LANES * D + N * LANES * D), sizeF = SIZES[SIZES.length - 1];
  const q = new Float64Array(LANES * D), keys = new Float64Array(N * LANES * D);
  const qMag = kind === 'scores' ? 2 ** -1 : 2 ** -2;
  // 'spread': q > 0 (the α-mix representative of a symmetric spread is +0.2·KMAX in every channel)
  for (let i = 0; i < LANES * D; i++) q[i] = (kind === 'scores' && u[N + i] < 0.5 ? -1 : 1) * qMag;
  const wide = 3; // the spread coarse cluster (scored: clusters 1..7 at N = 70)
  for (let j = 0; j < N; j++) {
    const c = Math.floor(j / sizeF);
    let level: number;
    if (kind === 'scores') level = c % 3 === 0 ? (c % 2 ? 0.9999 : -0.9999) : 2 * u[c] - 1;
    else level = Math.floor(j / SIZES[0]) === wide ? (j % 2 ? 1 : -1) : -0.5 + 0.6 * u[c];
    for (let h = 0; h < LANES; h++) {
      for (let i = 0; i < D; i++) {
        const jitter = kind === 'scores' ? (Math.floor(u[N + LANES * D + (j * LANES + h) * D + i] * 7) - 3) / 256 : 0;
        keys[j * LANES * D + h * D + i] = grid(clampKey(Math.sign(q[h * D + i]) * level * KMAX + jitter));
      }
    }
  }
  return { keys, q };
}

/** Plaintext α-mix or exact-bound scores of the finest clusters of head h (to check the edge is reached). */
function fineScores(keys: Float64Array, q: Float64Array, h: number, alpha: number | 'exact'): number[] {
  const sizeF = SIZES[SIZES.length - 1], out: number[] = [];
  for (let c = 0; c + 1 <= N / sizeF; c++) {
    let s = 0;
    for (let i = 0; i < D; i++) {
      let M = -Infinity, m = Infinity;
      for (let t = 0; t < sizeF; t++) {
        const k = keys[(c * sizeF + t) * LANES * D + h * D + i];
        M = Math.max(M, k); m = Math.min(m, k);
      }
      const qi = q[h * D + i], a = alpha === 'exact' ? 0 : fxRound(alpha, F);
      s += alpha === 'exact' ? qi * m + Math.max(qi, 0) * (M - m) : qi * fxRound(a * M + (1 - a) * m, F);
    }
    out.push(fxRound(s, F));
  }
  return out;
}

describe(`secure MPCache cluster selection at its comparison widths (SEED=${TEST_SEED})`, () => {
  it.each([
    ['scores near ±2^K', 'scores', 0.6],
    ['scores near ±2^K', 'scores', 'exact'],
    ['keys spanning ±2^18 in one cluster', 'spread', 0.6],
    ['keys spanning ±2^18 in one cluster', 'spread', 'exact'],
  ] as const)('%s (%s), alpha %s: secure kept set = plaintext kept set', async (_what, kind, alpha) => {
    const label = `mpc-widths/${kind}/${alpha}`, p = parties(label);
    const { keys, q } = inputs(kind, label);
    const caches = await sharedCache(p, keys, keys, LANES, D, label);
    const qs = shareGrid(q, [LANES, 1, D], `${label}/qs`);
    const cfg = { clusterSizes: SIZES, forcedRecent: 8, alpha, layerSharing: 'none' as const };
    const pol = [0, 1].map(() => new SecureMpcachePolicy(model, BUDGET, cfg));
    await runBoth(p, (ctx) => pol[ctx.party].select(ctx, view(0, N - 1, 1, qs[ctx.party], caches[ctx.party], D)));
    const step = [pol[0].lastStep[0]!, pol[1].lastStep[0]!], k = step[0].plan.counts[1];
    const chosen = openInts(step[0].fineIndex!, step[1].fineIndex!);
    const params: ClusterSelectorParams = { ...pol[0].params, fracBits: F };
    for (let h = 0; h < LANES; h++) {
      const scores = fineScores(keys, q, h, alpha);
      const top = Math.max(...scores), bottom = Math.min(...scores);
      if (kind === 'scores') {
        // the edge is reached: both signs, within 0.1 % of the assumed score range 2^K
        const K = scoreRangeLog2(F);
        expect(top).toBeGreaterThan(0.999 * 2 ** K);
        expect(bottom).toBeLessThan(-0.999 * 2 ** K);
        expect(Math.max(top, -bottom)).toBeLessThan(2 ** K);
      }
      const want = selectClusters(q.subarray(h * D, (h + 1) * D), keys, LANES * D, h * D, D, (i) => i, N, params);
      expect(want.full).toBe(false);
      expect(chosen.slice(h * k, (h + 1) * k).sort((a, b) => a - b)).toEqual(Array.from(want.levels[1]));
      // the spread cluster's children are the plaintext choice (a wrapped max/min would sink them)
      if (kind === 'spread') expect(Array.from(want.levels[1])).toEqual([6, 7]);
    }
  });
});

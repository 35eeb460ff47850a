/**
 * selectClustersOnShares — MPCache's query-aware hierarchical cluster selection on shares for every
 * query head of one layer at one decoding step; the twin of cache/cluster-selector.ts
 * `selectClusters`, cluster for cluster (same public counts, same order, same ties).
 *
 * Rounds:    [1 ReLU(q), alpha 'exact'] + 1 (scores: q·Rᵀ over every representative, appending new
 *            ones) + 1 (truncRound) + per level topK (2 shuffle + 2 per quick-select step; skipped when
 *            every candidate is kept) + 1 (DPF one-hot of the chosen finest clusters)
 * Online:    8·U·w (q) + 8·(appended rep words) + 8·U·R (scores) + topK (shuffle 8·U·n_i·(3 + W_i),
 *            ⌈b_i/8⌉ B + 1 bit per comparison) + ⌈log2 C/8⌉ B per chosen cluster   (U = query heads,
 *            R = representatives, b_i = clusterTopKBits of level i)
 * Offline:   masked-product triple 8·U·R, truncRound keys, topK material (one DCF key pair on b_i bits
 *            per comparison), DPF keys: mpcacheStepCost(…)
 * Accuracy:  exact: scores are fxRound(q·r) (truncRound), keys score·2^B_i + cluster index are
 *            distinct, so the kept set equals the plaintext one whatever the ties, for scores
 *            |q·r| < 2^K real, K = scoreRangeLog2(f) = min(SCORE_INT_BITS, 62 − 2f) = 20 at f ≤ 21:
 *            K = 20 is this file's assumption (64× the attention logits' bound 2^14 that the
 *            softmax already assumes, secure-nonlinear.ts; the per-channel key bounds of
 *            cluster-bounds.ts alone would allow |q·r| < d·2^(124−6f)), 62 − 2f the range in which
 *            the score's own truncation is exact (q·r·2^2f in [−2^62, 2^62 − 2^(f−1))). Then
 *            |S| ≤ 2^(K+f) ring units, B_i = ⌈log2((c0First + c0)·s_0/s_i)⌉ bounds level i's global
 *            indices, |key| < 2^(K+f+B_i+1), and topK compares the keys as they are (`distinct`: no
 *            second index packing) at b_i = K + f + B_i + 3 bits (clusterTopKBits; 45 and 46 bits
 *            at gpt2-small, context 4096, f = 16 — 61 before session 24, from 62 − 2f and the packed
 *            index). Capped at 64 bits. Out of range a comparison wraps: the kept set may differ
 *            from the plaintext one and the revealed bits need not be one order.
 * Opens:     masked q, masked scores, topK's comparison bits of shuffled distinct keys, masked indices
 * Steps:     1. plan (public): forced first/tail clusters, scored coarse clusters, counts k_i
 *            2. scores S = round(q·Rᵀ) for every level at once (one product, one truncation)
 *            3. level 0: keys S·2^B + c over the scored coarse clusters; topK with payload = the
 *               candidate's index and its descendants' scores at every finer level
 *            4. level i: candidates are the r_i children of each chosen node, keys and payload
 *               derived locally from the parent's payload (child index = index·r_i + t, secret)
 *            5. one-hot rows of the chosen finest clusters over the region (DPF from the index)
 * The one-hot rows feed BlockGatherSelection (selections.ts); no n² equality tests anywhere.
 */
import { indexBits, oneHot, oneHotCost, relu, topK, type PartyContext } from '@mpcache/protocols';
import type { RingTensor } from '@mpcache/mpc-core';
import { clusterCounts, type ClusterSelectorParams } from '../cache/cluster-selector';
import type { SecureClusterBounds } from './cluster-bounds';
import { boundsCompareBits } from './cluster-bounds';
import { truncRound } from '@mpcache/protocols';
import { maskedMatmul } from '@mpcache/protocols';
import type { BlockLayout } from './selections';

const { asUintN } = BigInt;

/** truncRound (the scores' truncation) is exact for inputs in [−2^62, 2^62 − 2^(f−1)). */
const SCORE_TRUNC_RANGE_BITS = 62;

/** Assumed range of the cluster scores: |q·r| < 2^SCORE_INT_BITS real (header, Accuracy). */
export const SCORE_INT_BITS = 20;

/** log2 of the scores' real range at f fractional bits: min(SCORE_INT_BITS, 62 − 2f). */
export const scoreRangeLog2 = (fracBits: number): number => Math.min(SCORE_INT_BITS, SCORE_TRUNC_RANGE_BITS - 2 * fracBits);

/** The public part of a step's selection (mirrors selectClusters). */
export interface ClusterPlan {
  readonly full: boolean;
  readonly nTok: number;
  /** Forced rows: [0, firstEnd) ∪ [tailStart, nTok). */
  readonly firstEnd: number;
  readonly tailStart: number;
  /** Scored coarse clusters [c0First, c0First + c0). */
  readonly c0First: number;
  readonly c0: number;
  /** Chosen clusters per level. */
  readonly counts: readonly number[];
}

export function clusterPlan(nTok: number, p: ClusterSelectorParams): ClusterPlan {
  const s = p.sizes, nCoarse = Math.ceil(nTok / s[0]), complete = Math.floor(nTok / s[0]);
  const tailStartCluster = Math.max(0, Math.min(complete, nCoarse - p.forcedTail));
  const firstEnd = Math.min(nTok, p.forcedFirst * s[0]), tailStart = Math.max(firstEnd, tailStartCluster * s[0]);
  if (nCoarse < p.minCoarse || (p.budget !== null && nTok <= p.budget) || tailStart <= firstEnd) {
    return { full: true, nTok, firstEnd: nTok, tailStart: nTok, c0First: 0, c0: 0, counts: s.map(() => 0) };
  }
  const c0First = p.forcedFirst, c0 = tailStartCluster - c0First;
  return { full: false, nTok, firstEnd, tailStart, c0First, c0, counts: clusterCounts(c0, firstEnd + nTok - tailStart, p) };
}

/** The gather layout of a plan (finest clusters of the scored region as blocks). */
export function planLayout(plan: ClusterPlan, sizes: readonly number[]): BlockLayout {
  const L = sizes.length, sF = sizes[L - 1], per = sizes[0] / sF, forced = new Int32Array(plan.firstEnd + plan.nTok - plan.tailStart);
  for (let j = 0; j < plan.firstEnd; j++) forced[j] = j;
  for (let j = plan.tailStart; j < plan.nTok; j++) forced[plan.firstEnd + j - plan.tailStart] = j;
  return { forced, regionStart: plan.c0First * sizes[0], blockSize: sF, blocks: plan.c0 * per, k: plan.counts[L - 1] };
}

export interface ClusterSelectionShares {
  /** One-hot rows of the chosen finest clusters over the region's blocks, (U, k, C). */
  readonly onehot: RingTensor;
  /** Chosen finest clusters per unit (global index), (U, k) shares. */
  readonly fineIndex: RingTensor;
  /** Quick-select comparisons per step, per level (empty when a level keeps every candidate). */
  readonly steps: number[][];
}

/**
 * Steps 2–5 for a non-full plan with k_last > 0. `q` is (lanes, rows, d) at scale f (rows = query
 * heads per lane); `bounds` holds every complete cluster's representative.
 */
export async function selectClustersOnShares(
  ctx: PartyContext, bounds: SecureClusterBounds, q: RingTensor, plan: ClusterPlan,
): Promise<ClusterSelectionShares> {
  const sizes = bounds.sizes, L = sizes.length, [lanes, rows, d] = q.shape, U = lanes * rows, p0 = ctx.party === 0;
  // 2. scores of every representative: (lanes, rows, R)
  let qx = q;
  if (bounds.alpha === 'exact') {
    const rq = await relu(ctx, q, boundsCompareBits(ctx.fracBits));
    const data = new BigUint64Array(U * 2 * d);
    for (let u = 0; u < U; u++) { data.set(q.data.subarray(u * d, (u + 1) * d), u * 2 * d); data.set(rq.data.subarray(u * d, (u + 1) * d), u * 2 * d + d); }
    qx = { shape: [lanes, rows, 2 * d], data };
  }
  const { op, append, rows: R } = await bounds.takeOperand(ctx);
  const raw = await maskedMatmul(ctx, qx, op, append ? { transpose: true, append } : { transpose: true });
  const S = (await truncRound(ctx, raw)).data;
  const score = (u: number, level: number, c: number) => S[u * R + bounds.repIndex(level, c)];
  // 3. level 0 candidates: payload [index, descendant scores per finer level]
  const descW = (i: number) => { let w = 0; for (let j = i + 1; j < L; j++) w += sizes[i] / sizes[j]; return w; };
  let n = plan.c0, W = 1 + descW(0);
  let pay: BigUint64Array = new BigUint64Array(U * n * W);
  for (let u = 0; u < U; u++) {
    for (let c = 0; c < n; c++) {
      const g = plan.c0First + c, o = (u * n + c) * W;
      pay[o] = p0 ? BigInt(g) : 0n;
      let col = 1;
      for (let j = 1; j < L; j++) { const r = sizes[0] / sizes[j]; for (let t = 0; t < r; t++) pay[o + col++] = score(u, j, g * r + t); }
    }
  }
  let keyScore: BigUint64Array = new BigUint64Array(U * n);
  for (let u = 0; u < U; u++) for (let c = 0; c < n; c++) keyScore[u * n + c] = score(u, 0, plan.c0First + c);
  const steps: number[][] = [];
  for (let i = 0; ; i++) {
    const k = plan.counts[i];
    // keys: score·2^B_i + index (distinct; ties: the newer cluster wins, as ranksAbove)
    if (k < n) {
      const keys = new BigUint64Array(U * n), B = BigInt(levelIndexBits(plan, sizes, i));
      for (let e = 0; e < U * n; e++) keys[e] = asUintN(64, (keyScore[e] << B) + pay[e * W]);
      const bits = clusterTopKBits(ctx.fracBits, plan, sizes, i);
      const res = await topK(ctx, { shape: [U, n], data: keys }, k, { bits, distinct: true, payload: { shape: [U, n, W], data: pay } });
      pay = (res.payload as RingTensor).data;
      steps.push(res.stepComparisons);
      n = k;
    } else {
      steps.push([]);
    }
    if (i === L - 1) break;
    // 4. children of the chosen nodes
    const r = sizes[i] / sizes[i + 1], W2 = 1 + descW(i + 1), n2 = n * r;
    const pay2 = new BigUint64Array(U * n2 * W2), ks2 = new BigUint64Array(U * n2), R2 = BigInt(r);
    for (let e = 0; e < U * n; e++) {
      const o = e * W;
      for (let t = 0; t < r; t++) {
        const e2 = e * r + t, o2 = e2 * W2;
        pay2[o2] = asUintN(64, pay[o] * R2 + (p0 ? BigInt(t) : 0n));
        ks2[e2] = pay[o + 1 + t];
        // descendants of child t at levels j ≥ i + 2: sub-block t of each block
        let src = 1 + r, dst = 1;
        for (let j = i + 2; j < L; j++) {
          const wj = sizes[i] / sizes[j], wc = sizes[i + 1] / sizes[j];
          for (let x = 0; x < wc; x++) pay2[o2 + dst++] = pay[o + src + t * wc + x];
          src += wj;
        }
      }
    }
    pay = pay2; keyScore = ks2; n = n2; W = W2;
  }
  // 5. one-hot rows over the region's finest clusters
  const k = n, C = plan.c0 * (sizes[0] / sizes[L - 1]), first = BigInt(plan.c0First * (sizes[0] / sizes[L - 1]));
  const idx = new BigUint64Array(U * k), local = new BigUint64Array(U * k);
  for (let e = 0; e < U * k; e++) { idx[e] = pay[e * W]; local[e] = asUintN(64, idx[e] - (p0 ? first : 0n)); }
  const oh = await oneHot(ctx, { shape: [U * k], data: local }, C);
  return { onehot: { shape: [U, k, C], data: oh.data }, fineIndex: { shape: [U, k], data: idx }, steps };
}

/** Index bits B_i of level i's keys: its global cluster indices are below (c0First + c0)·s_0/s_i. */
export const levelIndexBits = (plan: ClusterPlan, sizes: readonly number[], level: number): number =>
  indexBits((plan.c0First + plan.c0) * (sizes[0] / sizes[level]));

/**
 * topK's signed width at level i (header, Accuracy): distinct keys S·2^B_i + c with |S| ≤ 2^(K+f)
 * stay below 2^(bits−2) (topK's `distinct` contract).
 */
export const clusterTopKBits = (fracBits: number, plan: ClusterPlan, sizes: readonly number[], level: number): number =>
  Math.min(64, scoreRangeLog2(fracBits) + fracBits + levelIndexBits(plan, sizes, level) + 3);

/** Online/offline cost of the one-hot step (the rest is composed in mpcache-step-cost.ts). */
export const selectionOneHotCost = (U: number, k: number, C: number) => oneHotCost(U * k, C);

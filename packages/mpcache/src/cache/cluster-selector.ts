/**
 * ClusterSelector — MPCache's query-aware hierarchical cluster selection for one head at one
 * decoding step (mpcache-algorithm.md §2), a pure function of (q, keys of the post-static sequence,
 * public counts), so the secure version can be tested against it cluster for cluster.
 *
 * Post-static sequence: the layer's static kept prompt tokens in prompt order, then every generated
 * token, nTok rows (the query's own included). Clusters are contiguous runs of it:
 *   level 0 (coarse) of s_0 tokens, each split into s_0/s_1 children of s_1 tokens, and so on.
 * Forced (attended, never scored): the first `forcedFirst` coarse clusters and the last
 * `forcedTail` coarse clusters, the tail always including the one still filling.
 * Representative of a complete cluster, per channel: r = α·max + (1 − α)·min; score q·r.
 * With alpha 'exact' the score is Quest's bound q·m + ReLU(q)·(M − m) (ablation, §9.2).
 * Level 0 selects the top k_0 of the scored coarse clusters; level i selects among the children of
 * level i−1's choice; ties: the older cluster loses. Counts:
 *   C_0 = scored coarse clusters, C_i = C_0 · s_0/s_i;
 *   budget mode: k_last = ⌊(budget − forced tokens)/s_last⌋, k_i = max(⌊ratio_i·C_i⌋, ⌈k_{i+1}·s_{i+1}/s_i⌉);
 *   ratios mode: k_i = ⌊ratio_i·C_i⌋, capped by the children of level i−1's choice;
 *   fewer than minCoarse coarse clusters, or nTok ≤ budget: attend all nTok (full).
 * Fixed point: α is the public constant fxRound(α); r = fxRound(α·M + (1−α)·m) (one truncation of a
 * 2f-scale sum) and score = fxRound(q·r) (one truncation). Exact bound: fxRound(q·m + ReLU(q)(M−m)).
 */
import { fxRound } from './policy-config';
import { clusterMinMax, pageBoundScores } from './quest';
import { topKPositions } from './top-k-kept';

export interface ClusterSelectorParams {
  sizes: readonly number[];
  ratios: readonly number[];
  alpha: number | 'exact';
  forcedFirst: number;
  forcedTail: number;
  minCoarse: number;
  /** Token budget (budget mode) or null (ratios mode). */
  budget: number | null;
  fracBits: number | null;
}

export interface ClusterSelection {
  /** True when every token is attended (too few coarse clusters, or nTok ≤ budget). */
  full: boolean;
  /** Selected cluster indices per level (level 0 = coarse), ascending; forced clusters excluded. */
  levels: Int32Array[];
  /** 0/1 over the nTok post-static indices: forced ∪ selected finest clusters. */
  keep: Uint8Array;
  /** Forced tokens: [0, firstEnd) ∪ [tailStart, nTok). */
  firstEnd: number;
  tailStart: number;
}

/** Representative scores of `nClusters` clusters from their bounds (α-mix or exact bound). */
export function representativeScores(q: ArrayLike<number>, max: Float64Array, min: Float64Array, nClusters: number,
  headDim: number, alpha: number | 'exact', fracBits: number | null): Float64Array {
  if (alpha === 'exact') return pageBoundScores(q, max, min, nClusters, headDim, fracBits);
  const a = fxRound(alpha, fracBits), out = new Float64Array(nClusters);
  for (let c = 0; c < nClusters; c++) {
    let s = 0;
    for (let i = 0; i < headDim; i++) s += q[i] * fxRound(a * max[c * headDim + i] + (1 - a) * min[c * headDim + i], fracBits);
    out[c] = fxRound(s, fracBits);
  }
  return out;
}

/** Bounds of the parents from their children's bounds: (nParents, d) from (nParents·ratio, d). */
function mergeBounds(max: Float64Array, min: Float64Array, ratio: number, d: number): { max: Float64Array; min: Float64Array } {
  const nP = max.length / d / ratio, M = new Float64Array(nP * d).fill(-Infinity), m = new Float64Array(nP * d).fill(Infinity);
  for (let p = 0; p < nP; p++) {
    for (let c = 0; c < ratio; c++) {
      for (let i = 0; i < d; i++) {
        M[p * d + i] = Math.max(M[p * d + i], max[(p * ratio + c) * d + i]);
        m[p * d + i] = Math.min(m[p * d + i], min[(p * ratio + c) * d + i]);
      }
    }
  }
  return { max: M, min: m };
}

/** Selection counts per level (see header). */
export function clusterCounts(c0: number, forcedTokens: number, p: ClusterSelectorParams): number[] {
  const s = p.sizes, L = s.length, C = s.map((size) => c0 * (s[0] / size)), k = new Array<number>(L).fill(0);
  if (p.budget !== null) {
    k[L - 1] = Math.min(C[L - 1], Math.max(0, Math.floor((p.budget - forcedTokens) / s[L - 1])));
    for (let i = L - 2; i >= 0; i--) k[i] = Math.min(C[i], Math.max(Math.floor(p.ratios[i] * C[i]), Math.ceil(k[i + 1] * s[i + 1] / s[i])));
    if (k[L - 1] === 0) k.fill(0);
  } else {
    for (let i = 0; i < L; i++) k[i] = Math.floor(p.ratios[i] * C[i]);
    for (let i = 1; i < L; i++) k[i] = Math.min(k[i], k[i - 1] * (s[i - 1] / s[i]));
  }
  return k;
}

/**
 * Select clusters for one head. Row i of the post-static sequence is keys[rowOf(i)·stride + off ..+d).
 */
export function selectClusters(q: ArrayLike<number>, keys: Float64Array, stride: number, off: number, d: number,
  rowOf: (i: number) => number, nTok: number, p: ClusterSelectorParams): ClusterSelection {
  const s = p.sizes, L = s.length, keep = new Uint8Array(nTok);
  const nCoarse = Math.ceil(nTok / s[0]), complete = Math.floor(nTok / s[0]);
  const tailStartCluster = Math.max(0, Math.min(complete, nCoarse - p.forcedTail));
  const firstEnd = Math.min(nTok, p.forcedFirst * s[0]), tailStart = Math.max(firstEnd, tailStartCluster * s[0]);
  if (nCoarse < p.minCoarse || (p.budget !== null && nTok <= p.budget) || tailStart <= firstEnd) {
    keep.fill(1);
    return { full: true, levels: [], keep, firstEnd: nTok, tailStart: nTok };
  }
  keep.fill(1, 0, firstEnd);
  keep.fill(1, tailStart, nTok);
  // scored coarse clusters: [p.forcedFirst, tailStartCluster)
  const c0First = p.forcedFirst, c0 = tailStartCluster - c0First;
  const k = clusterCounts(c0, firstEnd + nTok - tailStart, p);
  const levels: Int32Array[] = [];
  if (k[L - 1] === 0) return { full: false, levels: s.map(() => new Int32Array(0)), keep, firstEnd, tailStart };
  // bounds of every finest cluster inside the scored region, then parents by merging
  const fine = s[L - 1], nFine = c0 * (s[0] / fine), fineFirst = c0First * (s[0] / fine);
  const bounds: { max: Float64Array; min: Float64Array }[] = new Array(L);
  bounds[L - 1] = clusterMinMax(keys, stride, off, d, (i) => rowOf(fineFirst * fine + i), fine, nFine);
  for (let i = L - 2; i >= 0; i--) bounds[i] = mergeBounds(bounds[i + 1].max, bounds[i + 1].min, s[i] / s[i + 1], d);
  // level by level: top-k among the children of the previous level's choice (local indices)
  let cand = Int32Array.from({ length: c0 }, (_, c) => c);
  for (let i = 0; i < L; i++) {
    const scores = representativeScores(q, bounds[i].max, bounds[i].min, bounds[i].max.length / d, d, p.alpha, p.fracBits);
    const chosen = topKPositions(scores, cand, k[i]);
    levels.push(chosen.map((c) => c + c0First * (s[0] / s[i])));
    if (i < L - 1) {
      const r = s[i] / s[i + 1];
      cand = new Int32Array(chosen.length * r);
      chosen.forEach((c, j) => { for (let t = 0; t < r; t++) cand[j * r + t] = c * r + t; });
    }
  }
  for (const c of levels[L - 1]) keep.fill(1, c * fine, (c + 1) * fine);
  return { full: false, levels, keep, firstEnd, tailStart };
}

/**
 * StaticEviction — MPCache's look-once static eviction at prefill (mpcache-algorithm.md §1), as
 * pure functions over public counts and the scores the prefill already produced.
 *
 * Score of prompt token j in layer l: s_j = Σ_{q ∈ W} Σ_h P_h[q, j], the attention it receives from
 * the last w = ⌈0.2·n⌉ prompt queries summed over heads (local additions of the secure softmax's
 * outputs). Token 0 (sink) and the last `forcedRecent` prompt tokens get the public bonus
 * STATIC_FORCE_BONUS added, then the top n_keep survive, one kept set per layer shared by all heads,
 * returned in prompt order (the clusters of the dynamic stage rely on adjacency).
 * Fixed point: scores are sums of grid probabilities and the bonus is an integer, so nothing is
 * rounded; the secure version's comparisons see exactly these values.
 */
import { topKPositions } from './top-k-kept';

/** Public constant added to forced tokens' scores; larger than any sum of w·H probabilities here. */
export const STATIC_FORCE_BONUS = 2 ** 20;

/** Add one window query's probabilities (0..pos) into the layer's static scores. */
export function accumulateStaticScores(scores: Float64Array, probs: ArrayLike<number>, pos: number): void {
  for (let j = 0; j <= pos; j++) scores[j] += probs[j];
}

/** The boosted scores: s_j + BONUS for j < forcedSinks or j ≥ n − forcedRecent. */
export function forcedStaticScores(scores: ArrayLike<number>, n: number, forcedSinks: number, forcedRecent: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = scores[j] + (j < forcedSinks || j >= n - forcedRecent ? STATIC_FORCE_BONUS : 0);
  return out;
}

/** Kept prompt positions (ascending) of one layer: top-nKeep of the boosted scores (ties: older loses). */
export function staticEvictionKeep(scores: ArrayLike<number>, n: number, nKeep: number, forcedSinks: number, forcedRecent: number): Int32Array {
  const boosted = forcedStaticScores(scores, n, forcedSinks, forcedRecent);
  return topKPositions(boosted, Int32Array.from({ length: n }, (_, j) => j), nKeep);
}

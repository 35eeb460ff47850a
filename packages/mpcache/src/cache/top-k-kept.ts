/**
 * Kept-set selection primitives shared by every policy: pure functions over (scores, candidate
 * positions, counts), so that a secure implementation can mirror them and be tested against them
 * ("the secure kept set equals the plaintext kept set on the same fixed-point inputs").
 *
 * One deterministic order everywhere (eviction-baselines.md B2/B9/§12.3): a candidate ranks above
 * another if its score is higher, or the scores are equal and its position is higher. Hence the
 * OLDEST position loses ties, repeated argmin-eviction keeps exactly the top-k, and the secure
 * version makes scores distinct by the same rule (`score·2^b + position` in the ring).
 */

/** True if (scoreA, posA) ranks strictly above (scoreB, posB): higher score, then newer position. */
export function ranksAbove(scoreA: number, posA: number, scoreB: number, posB: number): boolean {
  return scoreA > scoreB || (scoreA === scoreB && posA > posB);
}

/**
 * The positions among `candidates` (ascending, distinct, indices into `scores`) with the k highest
 * ranks, returned in ascending position order. k ≥ candidates.length returns a copy of them all.
 */
export function topKPositions(scores: ArrayLike<number>, candidates: ArrayLike<number>, k: number): Int32Array {
  const n = candidates.length;
  if (k >= n) return Int32Array.from(candidates);
  if (k <= 0) return new Int32Array(0);
  const order = Int32Array.from(candidates);
  order.sort((a, b) => (ranksAbove(scores[a], a, scores[b], b) ? -1 : ranksAbove(scores[b], b, scores[a], a) ? 1 : 0));
  return order.subarray(0, k).sort();
}

/** The top k of positions [0, n) by topKPositions' order, then n itself: ascending. */
export function topKThenLast(scores: ArrayLike<number>, n: number, k: number): Int32Array {
  const chosen = topKPositions(scores, Int32Array.from({ length: n }, (_, j) => j), k);
  const out = new Int32Array(chosen.length + 1);
  out.set(chosen);
  out[chosen.length] = n;
  return out;
}

/** Positions p in [from, to) with mask[p] = 1, ascending. */
export function maskedPositions(mask: Uint8Array, from: number, to: number): Int32Array {
  let count = 0;
  for (let p = from; p < to; p++) count += mask[p];
  const out = new Int32Array(count);
  for (let p = from, j = 0; p < to; p++) if (mask[p] === 1) out[j++] = p;
  return out;
}

/**
 * Evict from `alive` (in place) the lowest-ranked candidates in [from, to) until at most `keep` of
 * them remain: the top-`keep` survive (ties: oldest evicted first). Returns the evicted positions in
 * ascending order. This is H2O/TOVA/CAKE's per-step argmin eviction (one position per step in steady
 * state) and their prefill top-k (many at once) in one function.
 */
export function evictToTopK(scores: ArrayLike<number>, alive: Uint8Array, from: number, to: number, keep: number): Int32Array {
  const cands = maskedPositions(alive, from, to);
  if (cands.length <= keep) return new Int32Array(0);
  const kept = topKPositions(scores, cands, keep);
  const evicted = new Int32Array(cands.length - kept.length);
  for (let i = 0, j = 0, e = 0; i < cands.length; i++) {
    if (j < kept.length && kept[j] === cands[i]) { j++; continue; }
    alive[cands[i]] = 0;
    evicted[e++] = cands[i];
  }
  return evicted;
}

/** 0/1 mask of length `len` with ones at `positions`. */
export function maskOf(positions: ArrayLike<number>, len: number): Uint8Array {
  const m = new Uint8Array(len);
  for (let i = 0; i < positions.length; i++) m[positions[i]] = 1;
  return m;
}

/**
 * turnTopKMasks — Attention-Gate's running top-k ('topk') for a chat turn's rows in one pass: every
 * row gets the kept set its decoding step would have, and the running state ends where the steps
 * would leave it (secure-attention-gate.ts).
 *
 * Why it is cheap: a gate logit never changes, so row t's top-k of its candidates [0, N0 + t + 1) is
 * the top-k of A ∪ {c_0 … c_t}, A the slots alive before the turn's first evicting row (candidates
 * [0, N0)) and c_i the turn's new candidates (slot N0 + i). Only the top `keep` of A can survive, and
 * they are few: compact them (one topK with one-hot rows), rank the keep + R keys against each other,
 * and map the kept bits back to slots with one product. Right after the prompt's compaction A is
 * every slot of [0, N0), fewer than keep and all alive (public): no topK and no product then.
 *
 * Rounds:    topK's (shuffle + quick-select + one-hot) + 3: all pairwise comparisons of the compact
 *            keys (64 bits), then [rank < keep] per (row, candidate) (32 bits; pairwise-ranks.ts), then one Beaver
 *            product (R × keep)·(keep × N0) per lane back to slot order (A public: 2)
 * Comparisons per lane: topK's over N0, M(M − 1)/2 at 64 bits (M = A + R, A = keep or the public
 *            N0), R·A + R(R + 1)/2 at 32 bits — against R·N0 for R single-victim evictions, and R
 *            forward passes
 * Online/offline: topKCost(lanes, N0, keep, steps, { oneHot }) + dcfLessThanZeroCost of both
 *            comparison batches + beaverMatmulCost([lanes, R, keep], [lanes, keep, N0]) — exact
 * Accuracy:  exact (integer ranks; keys distinct: logit·2^B + slot, ties: the newer wins)
 * Opens:     topK's (comparison bits of shuffled items), masked DCF inputs, Beaver differences
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { beaverMatmul, indexBits, topK, type PartyContext, type TopKResult } from '@mpcache/protocols';
import { DEAD_RANK_BITS, type DeadSlotState, type EvictionRecord } from './dead-slot-state';
import { keptBits, pairwiseRanks } from './pairwise-ranks';

const { asUintN } = BigInt;

export interface GateTurn {
  /** Candidates [0, N0) before the first evicting row; row t's are [0, N0 + t + 1). */
  readonly N0: number;
  /** Evicting rows of the pass (P + 1 > budget), consecutive; the rows before them attend everything. */
  readonly R: number;
  /** Kept candidates per row (budget − recent window). */
  readonly keep: number;
  /** Gate logit share of (lane, slot) at scale f. */
  readonly logit: (h: number, j: number) => bigint;
}

/**
 * Kept bits (lanes, R, N0 + R) of the turn's evicting rows (row t: its candidates [0, N0 + t + 1),
 * zero past them); the state's alive bits become the last row's.
 */
export async function turnTopKMasks(ctx: PartyContext, st: DeadSlotState, turn: GateTurn): Promise<{ kept: BigUint64Array; record: EvictionRecord }> {
  const { N0, R, keep } = turn, U = st.units, N = N0 + R, p0 = ctx.party === 0, kept = new BigUint64Array(U * R * N);
  if (keep === 0) {
    // the recent window is the whole budget: every candidate goes, no ranking
    st.replaceAlive(new BigUint64Array(U * N), N, 0);
    return { kept, record: { kind: 'all', end: N } };
  }
  // 1. A: the top `keep` of the alive candidates compacted (dead slots pushed below every live key),
  // or, with fewer than keep alive (right after the prompt's compaction: none dead), [0, N0) itself
  const B = BigInt(indexBits(N)), big = 1n << BigInt(ctx.fracBits + DEAD_RANK_BITS), alive = st.table('alive', N0);
  const key = (h: number, j: number) => asUintN(64, (turn.logit(h, j) << B) + (p0 ? BigInt(j) : 0n));
  const direct = N0 - st.dead < keep;
  if (direct && st.dead !== 0) throw new Error(`turnTopKMasks: ${N0 - st.dead} alive of ${N0} with ${st.dead} dead, fewer than keep ${keep}`);
  const A = direct ? N0 : keep;
  let top: TopKResult | null = null;
  if (!direct) {
    const oldKeys = new BigUint64Array(U * N0);
    for (let h = 0; h < U; h++) {
      for (let j = 0; j < N0; j++) oldKeys[h * N0 + j] = asUintN(64, key(h, j) - (((p0 ? big : 0n) - big * alive[h * N0 + j]) << B));
    }
    top = await topK(ctx, { shape: [U, N0], data: oldKeys }, keep, { oneHot: true });
  }
  // 2. the compact keys K = (A, the new candidates), every pair compared once; 3. row t ranks K_0 … K_{A+t}
  const M = A + R, K = new BigUint64Array(U * M);
  for (let h = 0; h < U; h++) {
    for (let x = 0; x < A; x++) K[h * M + x] = top ? top.values.data[h * keep + x] : key(h, x);
    for (let i = 0; i < R; i++) K[h * M + A + i] = key(h, N0 + i);
  }
  const rank = await pairwiseRanks(ctx, U, M, (h, x) => K[h * M + x]), ranks: bigint[] = [];
  for (let h = 0; h < U; h++) for (let t = 0; t < R; t++) for (let x = 0; x <= A + t; x++) ranks.push(rank(h, x, A + t + 1));
  const bits = await keptBits(ctx, ranks, keep);
  // 4. A's kept bits back to slot order — (R × keep) · one-hot (keep × N0) per lane, or in place — and the new ones in place
  const keptA = new BigUint64Array(U * R * A);
  let o = 0;
  for (let h = 0; h < U; h++) {
    for (let t = 0; t < R; t++) {
      keptA.set(bits.subarray(o, o + A), (h * R + t) * A);
      kept.set(bits.subarray(o + A, o + A + t + 1), (h * R + t) * N + N0);
      o += A + t + 1;
    }
  }
  const slots = top ? (await beaverMatmul(ctx, { shape: [U, R, keep], data: keptA }, { shape: [U, keep, N0], data: (top.oneHot as RingTensor).data })).data : keptA;
  for (let r = 0; r < U * R; r++) kept.set(slots.subarray(r * N0, (r + 1) * N0), r * N);
  // the running state: the last row's kept bits
  const last = new BigUint64Array(U * N);
  for (let h = 0; h < U; h++) last.set(kept.subarray((h * R + R - 1) * N, (h * R + R) * N), h * N);
  st.replaceAlive(last, N, keep);
  return { kept, record: { kind: 'topk', end: N, steps: top ? top.stepComparisons : [] } };
}

/**
 * DeadSlotState + evictDown — per-step eviction on shares without rewriting cached rows
 * (eviction-baselines.md B6): the cache is an append-only log, each slot has a secret alive bit
 * and a secret score; evicting sets alive ← alive − e (local) for the one-hot e of the victim.
 * Attention adds −GAP·(1 − alive) to the logits (selections.ts DeadSlotSelection), so every cached
 * row keeps its mask and outputs equal immediate eviction. Counts are public: the number of dead
 * slots, the candidate range, how many are evicted per step.
 *
 * evictDown(keep): among candidate slots [0, end), evict the lowest-ranked alive slots until `keep`
 * remain (keep = 0: all of them, locally); rank key = score·2^B + slot (slots are in position order: the caches are compacted in
 * original order), so ties evict the OLDEST, as the plaintext `evictToTopK`.
 *   one victim (steady state): argmaxTree over −(key + BIG·dead), ⌈log2 end⌉ rounds,
 *                              then a DPF one-hot of its index (1 round)
 *   several (first step without a compacting prefill): topK(key − BIG·dead, keep, mask) — the
 *                              kept indicator becomes the alive bits of [0, end)
 * Ranges: |score| < 2^(f+17) real units·2^f, so keys stay below 2^48 (end ≤ 8192; topK's bound).
 * Memory: 2 words per slot and unit, typed arrays grown by doubling.
 */
import { argmaxTree, argmaxTreeCost, indexBits, oneHot, oneHotCost, topK, type PartyContext } from '@mpcache/protocols';

const { asUintN } = BigInt;

/** Score headroom bits above the fixed-point scale; dead slots are pushed 2^(f + DEAD_RANK_BITS) away. */
export const DEAD_RANK_BITS = 18;

export class DeadSlotState {
  private cap = 0;
  alive = new BigUint64Array(0); // (units, cap)
  score = new BigUint64Array(0); // (units, cap)
  rows = 0;
  /** Dead slots (public; all inside the candidate range). */
  dead = 0;
  /** The largest eviction range [0, span) since the last install (public): every dead slot is in it. */
  span = 0;

  constructor(readonly units: number, private readonly party: 0 | 1) {}

  /** Add slots up to `kvLen` rows: alive, score 0. */
  grow(kvLen: number): void {
    if (kvLen > this.cap) {
      const cap = Math.max(kvLen, 2 * this.cap, 16), a = new BigUint64Array(this.units * cap), s = new BigUint64Array(this.units * cap);
      for (let u = 0; u < this.units; u++) {
        a.set(this.alive.subarray(u * this.cap, u * this.cap + this.rows), u * cap);
        s.set(this.score.subarray(u * this.cap, u * this.cap + this.rows), u * cap);
      }
      this.alive = a; this.score = s; this.cap = cap;
    }
    for (let u = 0; u < this.units; u++) {
      for (let j = this.rows; j < kvLen; j++) {
        this.alive[u * this.cap + j] = this.party === 0 ? 1n : 0n;
        this.score[u * this.cap + j] = 0n;
      }
    }
    this.rows = Math.max(this.rows, kvLen);
  }

  /** After a compaction: `rows` alive slots with these scores (units, rows). */
  install(rows: number, scores: BigUint64Array): void {
    this.rows = 0; this.dead = 0; this.span = 0;
    this.grow(rows);
    for (let u = 0; u < this.units; u++) this.score.set(scores.subarray(u * rows, (u + 1) * rows), u * this.cap);
  }

  /** Contiguous (units, end) copy of a per-slot table. */
  table(which: 'alive' | 'score', end: number): BigUint64Array {
    const src = which === 'alive' ? this.alive : this.score, out = new BigUint64Array(this.units * end);
    for (let u = 0; u < this.units; u++) out.set(src.subarray(u * this.cap, u * this.cap + end), u * end);
    return out;
  }

  /** score[u][j] = value(u, j) for j in [from, to). */
  setScores(from: number, to: number, value: (u: number, j: number) => bigint): void {
    for (let u = 0; u < this.units; u++) for (let j = from; j < to; j++) this.score[u * this.cap + j] = value(u, j);
  }

  /** score[u][j] += add[u][j] for j < end. */
  addScores(add: BigUint64Array, end: number): void {
    for (let u = 0; u < this.units; u++) for (let j = 0; j < end; j++) this.score[u * this.cap + j] = asUintN(64, this.score[u * this.cap + j] + add[u * end + j]);
  }

  /** alive[u][j] −= e[u][j] (j < end), or alive ← bits on [0, end). */
  setAlive(bits: BigUint64Array, end: number, mode: 'subtract' | 'replace'): void {
    for (let u = 0; u < this.units; u++) {
      for (let j = 0; j < end; j++) {
        const o = u * this.cap + j;
        this.alive[o] = mode === 'replace' ? bits[u * end + j] : asUintN(64, this.alive[o] - bits[u * end + j]);
      }
    }
  }

  /** alive ← bits on [0, end), of which `alive` are 1 (public): the rest of [0, end) is dead. */
  replaceAlive(bits: BigUint64Array, end: number, alive: number): void {
    this.setAlive(bits, end, 'replace');
    this.dead = end - alive;
    this.span = Math.max(this.span, end);
  }

  reset(): void {
    this.rows = 0; this.dead = 0; this.span = 0;
  }
}

/** What an eviction did (public). */
export interface EvictionRecord {
  /** 'all': keep = 0, every candidate dies (public, no protocol). */
  readonly kind: 'none' | 'argmin' | 'topk' | 'all';
  readonly end: number;
  readonly steps?: number[];
  /** A compaction's ordering pass (compactRows with originalOrder): its step sizes. */
  readonly orderSteps?: number[];
  /** One victim ('argmin', or 'all' with one alive candidate): its one-hot rows (units, end), shares (D2O's merge reads them). */
  readonly victim?: BigUint64Array;
}

/**
 * Evict the lowest-ranked alive slots of [0, end) by `rank` (units, end) until `keep` alive remain.
 */
export async function evictDown(ctx: PartyContext, st: DeadSlotState, rank: BigUint64Array, end: number, keep: number): Promise<EvictionRecord> {
  const excess = end - st.dead - keep;
  if (excess <= 0) return { kind: 'none', end };
  const U = st.units, B = BigInt(indexBits(end)), big = 1n << BigInt(ctx.fracBits + DEAD_RANK_BITS), p0 = ctx.party === 0;
  if (keep === 0) {
    // every candidate goes: no ranking needed (the plaintext keeps none of them either); one victim
    // (steady state) is the only alive candidate, so the alive bits are its one-hot
    const victim = excess === 1 ? st.table('alive', end) : undefined;
    st.replaceAlive(new BigUint64Array(U * end), end, 0);
    return { kind: 'all', end, victim };
  }
  const alive = st.table('alive', end), keys = new BigUint64Array(U * end);
  const sign = excess === 1 ? 1n : -1n; // argmin: dead ranks highest; top-k: dead ranks lowest
  for (let u = 0; u < U; u++) {
    for (let j = 0; j < end; j++) {
      const e = u * end + j, dead = asUintN(64, (p0 ? big : 0n) - big * alive[e]);
      keys[e] = asUintN(64, ((rank[e] + sign * dead) << B) + (p0 ? BigInt(j) : 0n));
    }
  }
  if (excess === 1) {
    for (let e = 0; e < keys.length; e++) keys[e] = asUintN(64, -keys[e]);
    const { index } = await argmaxTree(ctx, { shape: [U, end], data: keys });
    const e = await oneHot(ctx, index, end);
    st.setAlive(e.data, end, 'subtract');
    st.dead += 1;
    st.span = Math.max(st.span, end);
    return { kind: 'argmin', end, victim: e.data };
  }
  const res = await topK(ctx, { shape: [U, end], data: keys }, keep, { mask: true });
  st.replaceAlive((res.mask as { data: BigUint64Array }).data, end, keep);
  return { kind: 'topk', end, steps: res.stepComparisons };
}

/** Exact cost of a one-victim eviction over `end` candidates for `units` units. */
export function argminEvictionCost(units: number, end: number) {
  const a = argmaxTreeCost(units, end), o = oneHotCost(units, end);
  return { rounds: a.rounds + o.rounds, bytesSent: a.bytesSent + o.bytesSent, offlineBytes: a.offlineBytes + o.offlineBytes };
}

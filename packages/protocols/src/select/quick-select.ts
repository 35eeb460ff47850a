/**
 * The public side of shuffle-based selection (fss.md §5): a multi-pivot quick-select that decides which
 * comparisons to make from the comparison bits revealed so far, and nothing else. It never sees a
 * share; the protocol (top-k.ts) runs the comparisons securely on the shuffled keys and feeds back the
 * revealed bits.
 *
 * State per row: the shuffled positions 0..n−1 grouped into buckets, in descending rank order; a bucket
 * covers the ranks [start, start + size) (rank 0 = largest key). A bucket is refined while a target
 * boundary b (the split between ranks b−1 and b) lies strictly inside it. Top-k needs the boundary k;
 * a sorted top-k needs 1..k.
 * Each step refines every such bucket of every row at once (one batch of comparisons):
 *   - size ≤ allPairsMax: compare all pairs, which ranks the bucket completely;
 *   - otherwise: the first s = min(pivots, size − 1) members (in shuffled order) are pivots; compare the
 *     pivots pairwise and every other member with every pivot, then split into s + 1 sub-buckets
 *     separated by the s pivots.
 *   - sampled pivots (option `sample` = q, off by default), for a bucket whose targets all lie in its
 *     top or bottom tenth (top-k of a vocabulary: k ≪ n): one step ranks the first q members by all
 *     pairs, the next compares every other member with ONE of them, the sample member whose rank
 *     keeps every target on the small side unless a Binomial(q, p) exceeds its 1 − 10⁻⁴ quantile
 *     (then the search just goes on in the larger part). Taken when its comparisons per e-fold shrink beat positional pivots':
 *     top 40 of 32,000 (q = 64) ≈ 38K comparisons in 6–7 steps instead of ≈ 160K in ≈ 6.
 * Why this is safe to run on revealed bits: keys are distinct and the array is uniformly shuffled, so
 * every bit is a function of the rank order of a uniformly random permutation (simulatable), and the
 * pivots are chosen by position, or by their revealed rank within a sample chosen by position.
 * Measured (this planner in plaintext, n = 1024, k = 8, 100 trials, allPairsMax 32): pivots 2 → 4.1 steps
 * mean (max 7), 3.2K comparisons; pivots 4 → 3.2 steps (max 5), 5.1K; pivots 8 → 2.8 steps (max 4), 9.3K.
 * n = 1024, k = 307: pivots 4 → 4.2 steps (max 6), 6.2K comparisons.
 */
import { retainShape } from '@mpcache/mpc-core';

/**
 * How often a sampled pivot may land on the wrong side of its targets (the search then goes on in the
 * larger part, one step and ≈ m comparisons lost). The normal 3σ bound used before promised 0.13 %;
 * for a Binomial with a mean under 1 (top 40 of 32,000) it missed 0.3 % of the time (P(Bin(64,
 * 1/800) > 1)), and quick-select-sampled.test.ts failed about once in 60 runs. The exact tail does not.
 */
const PIVOT_MISS = 1e-4;

/** The least r with P(Binomial(q, p) > r) ≤ eps (exact tail, summed from the pmf; for q ≲ 5,000 at p ≤ 0.1, where (1 − p)^q > 0). */
export function binomialQuantile(q: number, p: number, eps: number): number {
  let pmf = (1 - p) ** q, cdf = pmf;
  for (let r = 0; r < q; r++) {
    if (1 - cdf <= eps) return r;
    pmf *= ((q - r) / (r + 1)) * (p / (1 - p));
    cdf += pmf;
  }
  return q;
}

/** One comparison: its bit is [key(row, a) < key(row, b)] for shuffled positions a, b of a row. */
export interface ComparisonBatch {
  readonly row: Uint32Array;
  readonly a: Uint32Array;
  readonly b: Uint32Array;
}

interface Refinement {
  readonly row: number;
  readonly bucket: number[];
  readonly start: number;
  readonly pivots: number; // 0 = all pairs
  /** 'sample': rank the first `pivots` members only; 'split': split at the ranked sample's member. */
  readonly kind: 'positional' | 'sample' | 'split';
  /** The rank (0 = largest) of the sample member to split at (kinds 'sample' and 'split'). */
  readonly pivotRank?: number;
  readonly ranked?: number[];
}

interface Bucket {
  start: number;
  items: number[];
  /** Sampled pivots: the first members, ranked (descending key), and the rank to split at next. */
  ranked?: number[];
  pivotRank?: number;
}

export interface QuickSelectOptions {
  /** Pivots per bucket and step (default 4). */
  pivots?: number;
  /** Buckets up to this size are ranked by all pairs in one step (default 32). */
  allPairsMax?: number;
  /** Sampled pivots from a sample of this many members (header; default 0: off). */
  sample?: number;
}

export class QuickSelect {
  private readonly buckets: Bucket[][];
  private pending: Refinement[] = [];
  steps = 0;
  comparisons = 0;
  private readonly pivots: number;
  private readonly allPairsMax: number;
  private readonly sample: number;

  /** @param targets boundaries to resolve (each in [1, n − 1]; others are ignored) */
  constructor(
    readonly rows: number,
    readonly n: number,
    private readonly targets: readonly number[],
    opts: QuickSelectOptions = {},
  ) {
    this.pivots = Math.max(1, opts.pivots ?? 4);
    this.allPairsMax = Math.max(2, opts.allPairsMax ?? 32);
    this.sample = Math.max(0, opts.sample ?? 0);
    const all = Array.from({ length: n }, (_, i) => i);
    this.buckets = Array.from({ length: rows }, () => [{ start: 0, items: all.slice() }]);
  }

  private needsSplit(b: Bucket): boolean {
    return this.targets.some((t) => t > b.start && t < b.start + b.items.length);
  }

  /** The comparisons of the next step; empty when every target boundary is resolved. */
  next(): ComparisonBatch {
    const row: number[] = [], a: number[] = [], b: number[] = [];
    this.pending = [];
    for (let r = 0; r < this.rows; r++) {
      for (const bk of this.buckets[r]) {
        if (!this.needsSplit(bk)) continue;
        const m = bk.items.length, it = bk.items;
        if (bk.ranked) { // sampled pivots, second step: every other member against the chosen one
          const q = bk.ranked.length, p = bk.ranked[bk.pivotRank!];
          for (let c = q; c < m; c++) (row.push(r), a.push(p), b.push(it[c]));
          this.pending.push({ row: r, bucket: it, start: bk.start, pivots: q, kind: 'split', pivotRank: bk.pivotRank, ranked: bk.ranked });
          continue;
        }
        const sampled = this.sampledPivotRank(bk);
        const s = sampled !== null ? this.sample : m <= this.allPairsMax ? 0 : Math.min(this.pivots, m - 1);
        const lead = s === 0 ? m : s;
        for (let i = 0; i < lead; i++) for (let j = i + 1; j < lead; j++) (row.push(r), a.push(it[i]), b.push(it[j]));
        if (sampled !== null) {
          this.pending.push({ row: r, bucket: it, start: bk.start, pivots: s, kind: 'sample', pivotRank: sampled });
          continue;
        }
        for (let p = 0; p < s; p++) for (let c = s; c < m; c++) (row.push(r), a.push(it[p]), b.push(it[c]));
        this.pending.push({ row: r, bucket: it, start: bk.start, pivots: s, kind: 'positional' });
      }
    }
    if (row.length) this.steps++;
    this.comparisons += row.length;
    return { row: Uint32Array.from(row), a: Uint32Array.from(a), b: Uint32Array.from(b) };
  }

  /** Feed the revealed bits of the batch returned by the last next() (same order). */
  apply(bits: ArrayLike<number | bigint>): void {
    let k = 0;
    const bit = () => Number(bits[k++]) & 1;
    const replaced = new Map<number[], Bucket[]>();
    for (const ref of this.pending) {
      const it = ref.bucket, m = it.length, s = ref.pivots;
      if (ref.kind === 'split') {
        replaced.set(it, this.splitAtSample(ref, bit));
        continue;
      }
      const lead = s === 0 ? m : s;
      // above[i] = members of the lead group with a larger key than lead member i
      const above = new Uint32Array(lead);
      for (let i = 0; i < lead; i++) for (let j = i + 1; j < lead; j++) above[bit() ? i : j]++;
      const order = Array.from({ length: lead }, (_, i) => i).sort((x, y) => above[x] - above[y]);
      let parts: Bucket[];
      if (ref.kind === 'sample') {
        parts = [{ start: ref.start, items: it, ranked: order.map((i) => it[i]), pivotRank: ref.pivotRank }];
      } else if (s === 0) {
        parts = order.map((i, r) => ({ start: ref.start + r, items: [it[i]] }));
      } else {
        // g(c) = pivots with a larger key than c (bit [key_p < key_c] = 0)
        const subs: number[][] = Array.from({ length: s + 1 }, () => []);
        const g = new Uint32Array(m);
        for (let p = 0; p < s; p++) for (let c = s; c < m; c++) if (!bit()) g[c]++;
        for (let c = s; c < m; c++) subs[g[c]].push(it[c]);
        parts = [];
        let start = ref.start;
        for (let j = 0; j <= s; j++) {
          if (subs[j].length) parts.push({ start, items: subs[j] });
          start += subs[j].length;
          if (j < s) parts.push({ start: start++, items: [it[order[j]]] });
        }
      }
      replaced.set(it, parts);
    }
    this.pending = [];
    for (let r = 0; r < this.rows; r++) this.buckets[r] = this.buckets[r].flatMap((b) => replaced.get(b.items) ?? [b]);
  }

  /**
   * Sampled pivots for `bk`: the sample rank to split at, or null when positional pivots are as good
   * (a target outside the top or bottom tenth, a bucket under 4 samples, or more comparisons per
   * e-fold shrink).
   */
  private sampledPivotRank(bk: Bucket): number | null {
    const q = this.sample, m = bk.items.length;
    if (q < 2 || m < 4 * q) return null;
    const ts = this.targets.filter((t) => t > bk.start && t < bk.start + m).map((t) => (t - bk.start) / m);
    const hi = Math.max(...ts), lo = Math.min(...ts);
    let rank: number, keep: number;
    if (hi < 0.1) { // the targets lie in the top part: ≥ hi·m members above the pivot unless Bin(q, hi) > rank
      rank = Math.min(q - 1, binomialQuantile(q, hi, PIVOT_MISS));
      keep = (rank + 1) / (q + 1);
    } else if (lo > 0.9) { // the bottom part: < lo·m members above it unless Bin(q, lo) ≤ rank, i.e. Bin(q, 1 − lo) ≥ q − rank
      rank = Math.max(0, q - 1 - binomialQuantile(q, 1 - lo, PIVOT_MISS));
      keep = (q - rank) / (q + 1);
    } else return null; // nearer the middle positional pivots do better (measured: 30 % of 4096)
    const s = Math.min(this.pivots, m - 1);
    const sampledCost = ((q * (q - 1)) / 2 + m - q) / Math.log(1 / keep), positionalCost = (s * m) / Math.log(s + 1);
    return sampledCost < positionalCost ? rank : null;
  }

  /** The buckets after comparing every non-sample member c with the sample's pivot (bit 1: c above). */
  private splitAtSample(ref: Refinement, bit: () => number): Bucket[] {
    const it = ref.bucket, ranked = ref.ranked!, r = ref.pivotRank!, q = ranked.length;
    const above = ranked.slice(0, r), below = ranked.slice(r + 1);
    for (let c = q; c < it.length; c++) (bit() ? above : below).push(it[c]);
    const parts: Bucket[] = [];
    if (above.length) parts.push({ start: ref.start, items: above });
    parts.push({ start: ref.start + above.length, items: [ranked[r]] });
    if (below.length) parts.push({ start: ref.start + above.length + 1, items: below });
    return parts;
  }

  get done(): boolean {
    return this.buckets.every((bs) => bs.every((b) => !this.needsSplit(b)));
  }

  /**
   * Shuffled positions of ranks [0, k) of a row once boundary k is resolved: by rank where ranks are
   * known (a sorted top-k), otherwise grouped by bucket and in shuffled order inside a bucket.
   */
  top(row: number, k: number): number[] {
    const out: number[] = [];
    for (const b of this.buckets[row]) {
      if (b.start >= k) break;
      if (b.start + b.items.length > k) throw new RangeError(`quick-select: boundary ${k} is not resolved`);
      out.push(...b.items.slice().sort((x, y) => x - y));
    }
    return out;
  }
}

// one per top-k run: its map must outlive them (retain-shape.ts)
retainShape(new QuickSelect(1, 2, [1]));

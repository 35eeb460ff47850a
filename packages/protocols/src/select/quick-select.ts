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
 * Why this is safe to run on revealed bits: keys are distinct and the array is uniformly shuffled, so
 * every bit is a function of the rank order of a uniformly random permutation (simulatable), and the
 * pivots are chosen by position only.
 * Measured (this planner in plaintext, n = 1024, k = 8, 100 trials, allPairsMax 32): pivots 2 → 4.1 steps
 * mean (max 7), 3.2K comparisons; pivots 4 → 3.2 steps (max 5), 5.1K; pivots 8 → 2.8 steps (max 4), 9.3K.
 * n = 1024, k = 307: pivots 4 → 4.2 steps (max 6), 6.2K comparisons.
 */

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
}

interface Bucket {
  start: number;
  items: number[];
}

export interface QuickSelectOptions {
  /** Pivots per bucket and step (default 4). */
  pivots?: number;
  /** Buckets up to this size are ranked by all pairs in one step (default 32). */
  allPairsMax?: number;
}

export class QuickSelect {
  private readonly buckets: Bucket[][];
  private pending: Refinement[] = [];
  steps = 0;
  comparisons = 0;
  private readonly pivots: number;
  private readonly allPairsMax: number;

  /** @param targets boundaries to resolve (each in [1, n − 1]; others are ignored) */
  constructor(
    readonly rows: number,
    readonly n: number,
    private readonly targets: readonly number[],
    opts: QuickSelectOptions = {},
  ) {
    this.pivots = Math.max(1, opts.pivots ?? 4);
    this.allPairsMax = Math.max(2, opts.allPairsMax ?? 32);
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
        const s = m <= this.allPairsMax ? 0 : Math.min(this.pivots, m - 1);
        const lead = s === 0 ? m : s;
        for (let i = 0; i < lead; i++) for (let j = i + 1; j < lead; j++) (row.push(r), a.push(it[i]), b.push(it[j]));
        for (let p = 0; p < s; p++) for (let c = s; c < m; c++) (row.push(r), a.push(it[p]), b.push(it[c]));
        this.pending.push({ row: r, bucket: it, start: bk.start, pivots: s });
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
      const lead = s === 0 ? m : s;
      // above[i] = members of the lead group with a larger key than lead member i
      const above = new Uint32Array(lead);
      for (let i = 0; i < lead; i++) for (let j = i + 1; j < lead; j++) above[bit() ? i : j]++;
      const order = Array.from({ length: lead }, (_, i) => i).sort((x, y) => above[x] - above[y]);
      let parts: Bucket[];
      if (s === 0) {
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

/**
 * SecureClusterBounds — one selecting layer's cluster state for MPCache's dynamic stage on shares
 * (mpcache-algorithm.md §2): per KV head (lane) and cluster level, the per-channel max M and min m
 * of every COMPLETE cluster of the cached sequence, and the representatives as ONE masked operand
 * (so a step's cluster scores for every level are one product that opens only q).
 *
 *   representative (α mix)   r = round(A·M + (2^f − A)·m) / 2^f, A = round(α·2^f)   (fxRound(α) and
 *                            fxRound of the mix in the plaintext twin: truncRound, exact)
 *   representative (exact)   the row [m, M − m] (width 2d); the query side is [q, ReLU(q)] (Quest)
 *
 * When: `update` computes the bounds of clusters completed since the last call, once each (finest
 * level from the keys, each coarser level from its children). It runs before a step's scores, except
 * when every fresh cluster lies in the step's forced tail (`boundsDeferrable`: the usual case, a
 * cluster completing at the newest row): nothing scores it before the next step, so the policy
 * hands the update to attention to run beside the softmax (secure-mpcache-policy.ts, `takeBackground`):
 *   finest: minMaxTree over s_last keys per channel (one shared first level: 3s/2 − 2 comparisons
 *           instead of 2(s − 1), 22 instead of 30 at s = 16), ⌈log2 s⌉ rounds
 *   level i: maxTree over r_i = s_i/s_{i+1} children's [M; −m], ⌈log2 r_i⌉ rounds
 *   α mix: one truncRound (1 round); rows are appended to the operand in the next product's round.
 * Memory per party: 2 words per channel per cluster per level (bounds) + 2 per representative word
 * (masked operand: D and my share), i.e. ≈ d·(4/s_last + 4/s_0)·8 B per token and lane at α mix —
 * ≈ 3 % of the K/V cache's 32·d B at [32, 16]. Typed arrays only, grown by doubling.
 * Accuracy: exact (max, min, and the representatives' truncRound) for keys |k| < 2^K real,
 *            K = min(KEY_INT_BITS − 2, qkvRangeLog2(f)) = min(18, 62 − 3f): 18 is this file's own
 *            assumption, 62 − 3f the decoder's (every cached key left the qkv product through ONE
 *            truncation at 3f, rope-shares.ts, which needs |k| < 2^(62−3f); beyond it the key in the
 *            cache is already wrong). The trees compare k and −k rows: differences < 2^(K+f+1), so
 *            the signed width boundsCompareBits(f) = K + f + 2 suffices — 32 bits at f = 12 (K = 18)
 *            and at f = 16 (K = 14; was f + 20 = 36). A key outside the range wraps a comparison:
 *            that cluster's max/min (and its representative) is wrong, nothing else.
 */
import { encodeScalar } from '@mpcache/mpc-core';
import { appendMaskedRows, maskOperand, maxTree, minMaxTree, truncRound, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { qkvRangeLog2 } from '../secure/rope-shares';

/** Extra signed integer bits of keys above the fixed-point scale for the bound comparisons (|k| < 2^18). */
export const KEY_INT_BITS = 20;

/**
 * Signed width of the bounds' max/min comparisons (and of ReLU(q) for alpha 'exact': q passes the
 * same truncation) at f fractional bits: f + min(KEY_INT_BITS, qkvRangeLog2(f) + 2) (header).
 */
export const boundsCompareBits = (fracBits: number): number => fracBits + Math.min(KEY_INT_BITS, qkvRangeLog2(fracBits) + 2);

const { asUintN } = BigInt;

/**
 * Whether an update at cache length nTok may wait until after this step's selection: some cluster
 * completes, and every fresh cluster (at every level) starts at or after the forced tail's first row,
 * so no score of the step reads its representative. `done[i]`: level i's clusters with bounds.
 */
export function boundsDeferrable(sizes: readonly number[], done: readonly number[], nTok: number, tailStart: number): boolean {
  let fresh = false;
  for (let i = 0; i < sizes.length; i++) {
    if (Math.floor(nTok / sizes[i]) <= done[i]) continue;
    if (done[i] * sizes[i] < tailStart) return false;
    fresh = true;
  }
  return fresh;
}

/** A growable (clusters × width) word table. */
class WordRows {
  data = new BigUint64Array(0);
  rows = 0;
  constructor(readonly width: number) {}
  push(src: BigUint64Array): void {
    const need = (this.rows + 1) * this.width;
    if (need > this.data.length) {
      const next = new BigUint64Array(Math.max(need, 2 * this.data.length));
      next.set(this.data);
      this.data = next;
    }
    this.data.set(src, this.rows * this.width);
    this.rows++;
  }
  row(c: number): BigUint64Array {
    return this.data.subarray(c * this.width, (c + 1) * this.width);
  }
}

export class SecureClusterBounds {
  /** Per level: max and min tables, one row per complete cluster, (lanes·d) words. */
  private readonly maxT: WordRows[];
  private readonly minT: WordRows[];
  /** Per level: operand row of cluster c's representative. */
  private readonly repRow: Int32Array[];
  private op: MaskedOperand | null = null;
  private pendingRows: BigUint64Array[] = []; // (lanes, 1, width) each, not yet masked
  private opRows = 0;
  readonly width: number;

  constructor(
    readonly sizes: readonly number[],
    readonly lanes: number,
    readonly headDim: number,
    readonly alpha: number | 'exact',
    maxTokens: number,
  ) {
    const ld = lanes * headDim;
    this.maxT = sizes.map(() => new WordRows(ld));
    this.minT = sizes.map(() => new WordRows(ld));
    this.repRow = sizes.map((s) => new Int32Array(Math.ceil(maxTokens / s) + 1).fill(-1));
    this.width = alpha === 'exact' ? 2 * headDim : headDim;
  }

  /** Bytes of typed arrays this state holds (bounds with their spare capacity, operand D and share). */
  stateBytes(): number {
    let b = 0;
    for (const t of [...this.maxT, ...this.minT]) b += t.data.byteLength;
    for (const r of this.repRow) b += r.byteLength;
    if (this.op) b += 2 * 8 * this.op.lanes * this.op.rows * this.op.cols;
    for (const r of this.pendingRows) b += r.byteLength;
    return b;
  }

  /** Complete clusters with bounds at level i. */
  complete(level: number): number {
    return this.maxT[level].rows;
  }

  /** Per level, the clusters an `update` at cache length nTok would complete (public). */
  completing(nTok: number): number[] {
    return this.sizes.map((size, lv) => Math.max(0, Math.floor(nTok / size) - this.complete(lv)));
  }

  /** Operand row of level-i cluster c's representative (−1 if none yet). */
  repIndex(level: number, c: number): number {
    return this.repRow[level][c];
  }

  /** Representatives computed but not yet appended to the operand (the next product appends them). */
  get pendingRepRows(): number {
    return this.pendingRows.length;
  }

  /** boundsDeferrable for this state at cache length nTok and the step's forced tail. */
  deferrable(nTok: number, tailStart: number): boolean {
    return boundsDeferrable(this.sizes, this.sizes.map((_, i) => this.complete(i)), nTok, tailStart);
  }

  /** Key of the representatives' masked operand (null before the first takeOperand). */
  get operandKey(): string | null {
    return this.op?.key ?? null;
  }

  /**
   * The masked operand (lanes, rows − r, width), the r pending rows (lanes, r, width), and `rows`,
   * the operand's rows once they are appended (an update running beside the product adds later rows).
   */
  async takeOperand(ctx: PartyContext): Promise<{ op: MaskedOperand; append: { shape: number[]; data: BigUint64Array } | null; rows: number }> {
    if (!this.op) this.op = await maskOperand(ctx, { shape: [this.lanes, 0, this.width], data: new BigUint64Array(0) });
    const r = this.pendingRows.length, rows = this.opRows;
    if (r === 0) return { op: this.op, append: null, rows };
    const w = this.width, data = new BigUint64Array(this.lanes * r * w);
    this.pendingRows.forEach((row, i) => { for (let h = 0; h < this.lanes; h++) data.set(row.subarray(h * w, (h + 1) * w), (h * r + i) * w); });
    this.pendingRows = [];
    return { op: this.op, append: { shape: [this.lanes, r, w], data }, rows };
  }

  /** Bounds and representatives of every cluster completed in the first nTok rows of `cache` since the last call. */
  async update(ctx: PartyContext, cache: SecureLayerCache, nTok = cache.length): Promise<void> {
    const L = this.sizes.length, last = L - 1, sF = this.sizes[last];
    const fresh = Math.floor(nTok / sF) - this.complete(last);
    if (fresh <= 0) return;
    await ctx.ledger.scope('cluster bounds', async () => {
      const bits = boundsCompareBits(ctx.fracBits), d = this.headDim, lanes = this.lanes, ld = lanes * d;
      // finest level from the keys: rows (cluster, lane, channel) × s, min and max in one tree
      const first = this.complete(last), R = fresh * ld, x = new BigUint64Array(R * sF);
      for (let h = 0; h < lanes; h++) {
        const K = cache.keys.laneShare(h);
        for (let c = 0; c < fresh; c++) {
          for (let t = 0; t < sF; t++) {
            const row = ((first + c) * sF + t) * d;
            for (let i = 0; i < d; i++) x[((c * lanes + h) * d + i) * sF + t] = K[row + i];
          }
        }
      }
      const finest = await minMaxTree(ctx, { shape: [R, sF], data: x }, { bits });
      this.store(last, fresh, finest.max.data, finest.min.data);
      // coarser levels from their children
      for (let lv = last - 1; lv >= 0; lv--) {
        const r = this.sizes[lv] / this.sizes[lv + 1], firstP = this.complete(lv), nP = Math.floor(nTok / this.sizes[lv]) - firstP;
        if (nP <= 0) break;
        const RP = nP * ld, y = new BigUint64Array(2 * RP * r);
        for (let p = 0; p < nP; p++) {
          for (let t = 0; t < r; t++) {
            const child = (firstP + p) * r + t, M = this.maxT[lv + 1].row(child), m = this.minT[lv + 1].row(child);
            for (let j = 0; j < ld; j++) {
              y[(p * ld + j) * r + t] = M[j];
              y[(RP + p * ld + j) * r + t] = asUintN(64, -m[j]);
            }
          }
        }
        const mx = (await maxTree(ctx, { shape: [2 * RP, r], data: y }, { bits })).data, min = mx.subarray(RP);
        for (let j = 0; j < RP; j++) min[j] = asUintN(64, -min[j]);
        this.store(lv, nP, mx.subarray(0, RP), min);
      }
      await this.addRepresentatives(ctx);
    });
  }

  /**
   * Benchmarks only (after SecureDecoder.warmCache's rows of zeros): take every complete cluster's
   * bounds as shares of zero without comparisons, and mask their representatives now (1 round).
   */
  async warm(ctx: PartyContext, nTok: number): Promise<void> {
    const zero = new BigUint64Array(this.lanes * this.headDim);
    for (let lv = this.sizes.length - 1; lv >= 0; lv--) {
      const target = Math.floor(nTok / this.sizes[lv]);
      while (this.complete(lv) < target) {
        this.repRow[lv][this.complete(lv)] = this.opRows++;
        this.maxT[lv].push(zero);
        this.minT[lv].push(zero);
        this.pendingRows.push(new BigUint64Array(this.lanes * this.width));
      }
    }
    const { op, append } = await this.takeOperand(ctx);
    if (append) await appendMaskedRows(ctx, op, append);
  }

  private newClusters: { level: number; c: number }[] = [];

  /** Append `count` clusters' bounds: rows (cluster, lane, channel) of max and of min. */
  private store(level: number, count: number, max: BigUint64Array, min: BigUint64Array): void {
    const ld = this.lanes * this.headDim;
    for (let c = 0; c < count; c++) {
      this.newClusters.push({ level, c: this.complete(level) });
      this.maxT[level].push(max.subarray(c * ld, (c + 1) * ld));
      this.minT[level].push(min.subarray(c * ld, (c + 1) * ld));
    }
  }

  /** Representatives of the clusters stored since the last call (one truncRound for the α mix). */
  private async addRepresentatives(ctx: PartyContext): Promise<void> {
    const news = this.newClusters, d = this.headDim, lanes = this.lanes, ld = lanes * d, w = this.width;
    this.newClusters = [];
    let rows: BigUint64Array;
    if (this.alpha === 'exact') {
      rows = new BigUint64Array(news.length * lanes * w);
      news.forEach(({ level, c }, n) => {
        const M = this.maxT[level].row(c), m = this.minT[level].row(c);
        for (let h = 0; h < lanes; h++) for (let i = 0; i < d; i++) {
          rows[(n * lanes + h) * w + i] = m[h * d + i];
          rows[(n * lanes + h) * w + d + i] = asUintN(64, M[h * d + i] - m[h * d + i]);
        }
      });
    } else {
      const A = encodeScalar(this.alpha, ctx.fracBits), B = (1n << BigInt(ctx.fracBits)) - A, mix = new BigUint64Array(news.length * ld);
      news.forEach(({ level, c }, n) => {
        const M = this.maxT[level].row(c), m = this.minT[level].row(c);
        for (let j = 0; j < ld; j++) mix[n * ld + j] = asUintN(64, A * M[j] + B * m[j]);
      });
      rows = (await truncRound(ctx, { shape: [mix.length], data: mix })).data;
    }
    news.forEach(({ level, c }, n) => {
      this.repRow[level][c] = this.opRows++;
      this.pendingRows.push(rows.subarray(n * lanes * w, (n + 1) * lanes * w));
    });
  }
}

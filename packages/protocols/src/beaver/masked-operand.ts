/**
 * maskOperand / appendMaskedRows — mask a fixed right operand W once (weights when loaded; a K/V
 * cache row by row as it grows), so that every later product X·W opens only the fresh X
 * (masked-matmul.ts).
 *
 * Rounds:    1   (open D = W − B for the new rows; fuses into maskedMatmul's round with `append`)
 * Online:    8 B per new element of W, per party, once in W's lifetime
 * Offline:   0 B — B comes from keyed dealer streams (keyed-streams.ts), nothing is sent
 * Accuracy:  exact in the ring
 * Opens:     D = W − B, uniform: B is uniform, and each row of B masks exactly one row of W, once
 * Steps:     1. take my share of the new rows of B (keyed stream `key`, lane h, words from rows·cols)
 *            2. open D_new = W_new − B_new
 *            3. store D (public) and W̃ = B + [P0]·D, my fresh share of W — local
 *
 * Design: how the dealer gets A·B for a B that grows. Each MaskedOperand has a session-unique key
 * (`mo<i>`, i = the dealer correlation index at creation, identical on both parties). Row j of lane h
 * of B is words [j·cols, (j+1)·cols) of lane h of the keyed streams named by the key: party b
 * derives its share B_b from its own dealer seed, and the dealer, which holds both seeds, recomputes
 * B = B_0 + B_1 from the key for each product triple (A, A·B) — no dealer state, no offline bytes
 * for masking, and appends cost only the new rows. The product spec names (key, lanes, rows, cols),
 * so both parties and the dealer always agree on which prefix of B a product uses.
 *
 * Layout: lane-major; lane h occupies words [h·cap·cols, h·cap·cols + rows·cols) of D and W̃, with
 * capacity `cap` doubling on growth, so appending a row costs O(lanes·cols) amortized and each lane is
 * one contiguous row-major (rows × cols) matrix for the matmul kernel.
 *
 * Storage: a `fixed` operand (masked once and never grown: the weights) keeps D and W̃ in the ring
 * kernel's memory (ringArena(), kernel-arena.ts), at its size (rows rounded up to 8), so every product reads them in
 * place instead of copying them into the kernel (decoding: vector × matrix, where the copy cost as
 * much as the product), and in 8-row panels (mpc-core panels.ts: a decoding product then reads each
 * lane in one sequential pass, ≈ 1.5× faster than row-major); `laneD`/`laneShare` return row-major
 * copies of such lanes, `lane(h, which)` the stored words. They are the only copy: nothing of them stays on the JS heap. If the arena
 * is full the operand stays on the JS heap (products then copy, as for any operand), and if a fixed
 * operand grows after all it moves to the JS heap. Arena blocks are freed when the operand is
 * garbage-collected (or by `release()`); views from laneD/laneShare are valid while it is reachable.
 * Operands that grow (K/V caches) live on the JS heap.
 */
import { fromPanels, panelWordCount, ringArena, shapeStr, ShapeError, sizeOf, toPanels, type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { NO_DEALER_BYTES } from '../dealer/dealer-bytes';
import { sessionKey } from '../dealer/correlation-plans';
import { MAX_CORRELATION_ELEMENTS } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { addWords, asUintN, subWords } from '../engine/words';

/** Frees the arena blocks of operands that were garbage-collected without release(). */
const arenaBlocks = new FinalizationRegistry<BigUint64Array[]>((blocks) => {
  for (const b of blocks) ringArena().free(b);
});

export class MaskedOperand {
  private capRows = 0;
  private nRows = 0;
  private d: BigUint64Array = new BigUint64Array(0);
  private w: BigUint64Array = new BigUint64Array(0);
  private inArena = false;
  /** D and W̃ are stored in 8-row panels (a fixed operand in the arena), lane h at h·panelWordCount(rows, cols). */
  private panels = false;
  /** Set by release(): the masks of rows 0… were spent, so no row may be masked under them again. */
  private released = false;

  /**
   * @param lanes batch entries (1 and `batched` false for a rank-2 operand).
   * @param fixed masked once and never grown: D and W̃ go to the kernel arena (see the header).
   */
  constructor(
    readonly key: string,
    readonly lanes: number,
    readonly cols: number,
    readonly batched: boolean,
    readonly fixed = false,
  ) {}

  /** True while D and W̃ live in the ring kernel's memory (products read them in place). */
  get inKernelMemory(): boolean {
    return this.inArena;
  }

  get rows(): number {
    return this.nRows;
  }

  /** (rows, cols), or (lanes, rows, cols) when batched. */
  get shape(): number[] {
    return this.batched ? [this.lanes, this.nRows, this.cols] : [this.nRows, this.cols];
  }

  /** Lane h of the public D = W − B, row-major (rows × cols): a view, or a copy of a lane in panels. */
  laneD(h: number): BigUint64Array {
    return this.rowMajor(this.d, h);
  }

  /** Lane h of my share W̃ = B + [P0]·D of W (as laneD). */
  laneShare(h: number): BigUint64Array {
    return this.rowMajor(this.w, h);
  }

  /** Lane h of D ('public') or W̃ ('mine') as stored: a view, row-major or in 8-row panels (`panels`). */
  lane(h: number, which: 'public' | 'mine'): { readonly words: BigUint64Array; readonly panels: boolean } {
    return { words: this.view(which === 'public' ? this.d : this.w, h), panels: this.panels };
  }

  /** Store r opened rows per lane: dNew = D rows, bNew = my B rows, both (lanes, r, cols). */
  appendOpened(party: PartyId, dNew: BigUint64Array, bNew: BigUint64Array, r: number): void {
    this.assertAppendable();
    if (this.fixed && this.capRows === 0 && r > 0 && this.storeInPanels(party, dNew, bNew, r)) return;
    const c = this.cols, rows = this.nRows;
    if (rows + r > this.capRows) this.grow(Math.max(rows + r, 2 * this.capRows));
    for (let h = 0; h < this.lanes; h++) {
      const src = h * r * c, dst = (h * this.capRows + rows) * c;
      for (let i = 0; i < r * c; i++) {
        const dv = dNew[src + i];
        this.d[dst + i] = dv;
        this.w[dst + i] = party === 0 ? asUintN(64, bNew[src + i] + dv) : bNew[src + i];
      }
    }
    this.nRows = rows + r;
  }

  /** Throws after release(): rows appended then would be masked by the released rows' masks again. */
  assertAppendable(): void {
    if (this.released) throw new Error('MaskedOperand: append after release (the masks of its rows were already used)');
  }

  /**
   * Give the kernel arena back D and W̃ now instead of at garbage collection; the operand is empty
   * afterwards (rows = 0, as if nothing had been masked) and must not be used in products again;
   * appending to it throws (new rows would be masked by the released rows' masks again).
   */
  release(): void {
    this.moveTo(new BigUint64Array(0), new BigUint64Array(0), 0);
    this.nRows = 0;
    this.released = true;
  }

  /** A fixed operand's first rows: D and W̃ in panels in the arena; false (nothing stored) if it has no room. */
  private storeInPanels(party: PartyId, dNew: BigUint64Array, bNew: BigUint64Array, r: number): boolean {
    const c = this.cols, per = panelWordCount(r, c), ar = ringArena();
    const d = ar.tryAllocWords(this.lanes * per), w = d && ar.tryAllocWords(this.lanes * per);
    if (d && !w) ar.free(d);
    if (!d || !w) return false;
    for (let h = 0; h < this.lanes; h++) {
      const lane = (x: BigUint64Array) => x.subarray(h * r * c, (h + 1) * r * c);
      toPanels(lane(dNew), r, c, d.subarray(h * per, (h + 1) * per));
      toPanels(party === 0 ? addWords(lane(bNew), lane(dNew)) : lane(bNew), r, c, w.subarray(h * per, (h + 1) * per)); // W̃ = B + [P0]·D
    }
    arenaBlocks.register(this, [d, w], this);
    this.d = d;
    this.w = w;
    this.capRows = this.nRows = r;
    this.inArena = this.panels = true;
    return true;
  }

  private laneWords(): number {
    return this.panels ? panelWordCount(this.capRows, this.cols) : this.capRows * this.cols;
  }

  private view(buf: BigUint64Array, h: number): BigUint64Array {
    const off = h * this.laneWords();
    return buf.subarray(off, off + (this.panels ? this.laneWords() : this.nRows * this.cols));
  }

  private rowMajor(buf: BigUint64Array, h: number): BigUint64Array {
    const v = this.view(buf, h);
    return this.panels ? fromPanels(v, this.nRows, this.cols) : v;
  }

  /** Row-major storage on the JS heap (a fixed operand's arena storage is storeInPanels'). */
  private grow(capRows: number): void {
    const n = this.lanes * capRows * this.cols;
    this.moveTo(new BigUint64Array(n), new BigUint64Array(n), capRows);
  }

  /** Copy the rows into new row-major JS-heap storage (capacity capRows); free the old storage if in the arena. */
  private moveTo(d: BigUint64Array, w: BigUint64Array, capRows: number): void {
    const c = this.cols;
    for (let h = 0; h < this.lanes && capRows > 0; h++) {
      d.set(this.laneD(h), h * capRows * c);
      w.set(this.laneShare(h), h * capRows * c);
    }
    if (this.inArena) {
      arenaBlocks.unregister(this);
      ringArena().free(this.d);
      ringArena().free(this.w);
    }
    this.d = d;
    this.w = w;
    this.capRows = capRows;
    this.inArena = this.panels = false;
  }
}

export interface RowMaskParams {
  readonly key: string;
  readonly lanes: number;
  readonly cols: number;
  /** First new row. */
  readonly from: number;
  readonly count: number;
}

/** My share of rows [from, from + count) of every lane of B: (lanes, count, cols). */
// work: none, the dealer generates nothing now (products recompute B by key)
export const operandRowMasks = defineCorrelation('operandRowMasks', validateRowMaskParams, () => NO_DEALER_BYTES, () => 0, (g, p) => {
  if (g.mode === 'dealer') return new BigUint64Array(0); // the dealer needs nothing now; products recompute B by key
  const n = p.count * p.cols, out = new BigUint64Array(p.lanes * n);
  for (let h = 0; h < p.lanes; h++) out.set(g.keyed(p.key, h, p.from * p.cols, n).share, h * n);
  return out;
});

export interface MaskOperandOptions {
  /**
   * W is fixed (never appended to) and long-lived, like the weights: keep D and W̃ in the ring
   * kernel's memory so products read them in place (see MaskedOperand's storage). Default false.
   */
  readonly fixed?: boolean;
}

/** Mask a shared W, (rows, cols) or (lanes, rows, cols), once. */
export async function maskOperand(ctx: PartyContext, w: RingTensor, opts: MaskOperandOptions = {}): Promise<MaskedOperand> {
  const r = w.shape.length;
  if (r !== 2 && r !== 3) throw new ShapeError(`maskOperand: "w" expected rank 2 or 3, got ${shapeStr(w.shape)}`);
  return ctx.ledger.scope('maskOperand', async () => {
    const lanes = r === 3 ? w.shape[0] : 1;
    const operand = new MaskedOperand(sessionKey(ctx.dealer.taken), lanes, w.shape[r - 1], r === 3, opts.fixed ?? false);
    await appendRowsNow(ctx, operand, w);
    return operand;
  });
}

/** Mask and append new rows, (r, cols) or (lanes, r, cols), to a masked operand (K/V cache growth). */
export async function appendMaskedRows(ctx: PartyContext, operand: MaskedOperand, rows: RingTensor): Promise<void> {
  if (newRowCount(operand, rows) === 0) return;
  return ctx.ledger.scope('appendMaskedRows', () => appendRowsNow(ctx, operand, rows));
}

/** Step 1 for `rows` new rows per lane: take my B rows and compute my share of D_new (not opened). */
export async function prepareAppend(
  ctx: PartyContext,
  operand: MaskedOperand,
  rows: RingTensor,
): Promise<{ r: number; bNew: BigUint64Array; dShare: BigUint64Array }> {
  const r = newRowCount(operand, rows);
  const { key, lanes, cols } = operand;
  const bNew = await ctx.dealer.take(operandRowMasks, { key, lanes, cols, from: operand.rows, count: r });
  return { r, bNew, dShare: subWords(rows.data, bNew) };
}

/** Rows appended per lane by `rows`; throws ShapeError unless it is (r, cols) / (lanes, r, cols). */
export function newRowCount(operand: MaskedOperand, rows: RingTensor): number {
  operand.assertAppendable();
  const want = operand.batched ? [operand.lanes, -1, operand.cols] : [-1, operand.cols];
  const s = rows.shape;
  if (s.length !== want.length || s.some((d, i) => want[i] !== -1 && d !== want[i])) {
    const expect = operand.batched ? `(${operand.lanes}, r, ${operand.cols})` : `(r, ${operand.cols})`;
    throw new ShapeError(`masked rows: expected shape ${expect}, got ${shapeStr(s)}`);
  }
  return s[s.length - 2];
}

async function appendRowsNow(ctx: PartyContext, operand: MaskedOperand, rows: RingTensor): Promise<void> {
  // 1. take my share of the new rows of B
  const { r, bNew, dShare } = await prepareAppend(ctx, operand, rows);
  // 2. open D_new = W_new − B_new (an empty operand still took step 1, which reserved its key)
  const dNew = dShare.length === 0 ? dShare : await openWords(ctx, dShare);
  // 3. store D and W̃ = B + [P0]·D
  operand.appendOpened(ctx.party, dNew, bNew, r);
}

function validateRowMaskParams(p: unknown): RowMaskParams {
  const q = (p ?? {}) as Record<string, unknown>;
  const key = q.key;
  if (typeof key !== 'string' || !/^[\w./-]{1,64}$/.test(key)) throw new TypeError('operandRowMasks: invalid key');
  const [lanes, cols, from, count] = ['lanes', 'cols', 'from', 'count'].map((f) => validateDim(q[f], f));
  if (lanes < 1 || lanes * (from + count) * cols > MAX_CORRELATION_ELEMENTS) throw new RangeError('operandRowMasks: too large');
  return { key, lanes, cols, from, count };
}

export function validateDim(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_CORRELATION_ELEMENTS) {
    throw new RangeError(`masked operand: "${what}" expected an integer in [0, ${MAX_CORRELATION_ELEMENTS}]`);
  }
  return v;
}

/** Cost of maskOperand(W) or appendMaskedRows(rows), per party (an empty W costs nothing). */
export const maskOperandCost = (shape: readonly number[]) => ({
  rounds: sizeOf(shape) > 0 ? 1 : 0,
  bytesSent: 8 * sizeOf(shape),
  offlineBytes: 0,
});

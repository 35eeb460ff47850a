/**
 * maskedMatmul — Z = X·W or X·Wᵀ for a fresh shared X and a masked operand W (masked-operand.ts),
 * opening only E = X − A. Attention uses q·Kᵀ and p·V with K, V masked row by row as they grow.
 *
 * Rounds:    1   (open E; new rows of W given as `append` are masked in the same round)
 * Online:    8·|X| B sent per party (+ 8 B per appended element)
 * Offline:   one product triple (A, C = A·B) with B the operand's mask, recomputed by the dealer from
 *            the operand's key; A and P1's C from seeds, 8·|Z| B to P0, 0 B to P1
 * Accuracy:  exact in the ring
 * Opens:     E = X − A (A fresh and uniform); D of appended rows (see masked-operand.ts)
 * Steps:     1. take my B rows for `append` (if any) and a product triple for the grown W
 *            2. open E (and D_new) in one round; append D_new
 *            3. Z = C + E·W̃ + A·D — local, the Beaver core with F = D public and ỹ = W̃ (beaver-core.ts)
 * Shapes:    W (rows, cols): X (…, m, k) with k = rows (k = cols with transpose), Z (…, m, n).
 *            W (lanes, rows, cols): X (lanes, m, k), Z (lanes, m, n) — one lane per head.
 */
import { fromPanels, matmulWords, matmulWordsPanels, matvecWordsPanels, shapeStr, ShapeError, sizeOf, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0 } from '../dealer/dealer-bytes';
import { derivedWork, keyedValueWork, productWork, randomWork } from '../dealer/dealer-work';
import { MAX_CORRELATION_ELEMENTS } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { subWords } from '../engine/words';
import { beaverCombine, type Bilinear } from './beaver-core';
import { MaskedOperand, newRowCount, prepareAppend, validateDim } from './masked-operand';

export interface MaskedMatmulOptions {
  /** Multiply by Wᵀ (q·Kᵀ with K cached row by row). */
  readonly transpose?: boolean;
  /** New rows for W, masked in this call's round before the product uses them. */
  readonly append?: RingTensor;
}

export interface MaskedProductParams {
  readonly key: string;
  readonly lanes: number;
  readonly rows: number;
  readonly cols: number;
  readonly transpose: boolean;
  /** Rows of X per lane. */
  readonly m: number;
}

/** One party's shares of a product triple for a masked operand: a ~ X, c = a·B (or a·Bᵀ). */
export interface MaskedProductTriple {
  readonly a: BigUint64Array;
  readonly c: BigUint64Array;
}

/** C's correction word to P0: 8 B per element of Z (lanes, m, n). */
const productTripleBytes = (p: MaskedProductParams) => bytesToP0(8 * p.lanes * p.m * (p.transpose ? p.rows : p.cols));

/**
 * Work: A drawn, the derived C, and per lane the operand's mask B recomputed from the keyed streams
 * (rows·cols, fewer when the session's memo holds it), C = A·B's m·k·n multiply-adds and, for Bᵀ, the
 * words laneProduct transposes (min(m·(rows + cols), rows·cols)).
 */
const productTripleWork = (p: MaskedProductParams) => {
  const [k, n] = p.transpose ? [p.cols, p.rows] : [p.rows, p.cols];
  const transposed = p.transpose ? Math.min(p.m * (p.rows + p.cols), p.rows * p.cols) : 0;
  return randomWork(p.lanes * p.m * k) + derivedWork(p.lanes * p.m * n) + p.lanes * (keyedValueWork(p.rows * p.cols) + productWork(p.m, k, n) + transposed);
};

export const maskedProductTriples = defineCorrelation('maskedProductTriples', validateProductParams, productTripleBytes, productTripleWork, (g, p) => {
  const [k, n] = p.transpose ? [p.cols, p.rows] : [p.rows, p.cols];
  const a = g.random(p.lanes * p.m * k);
  const c = g.derived(p.lanes * p.m * n, () => {
    const av = a.value(), out = new BigUint64Array(p.lanes * p.m * n);
    for (let h = 0; h < p.lanes; h++) {
      // the operand's mask, lane h: in panels once the dealer's memo holds it so (the weights)
      const panels = g.keyedPanels?.(p.key, h, p.rows, p.cols);
      const b = panels ? { words: panels, panels: true } : { words: g.keyed(p.key, h, 0, p.rows * p.cols).value(), panels: false };
      out.set(storedLaneProduct(av.subarray(h * p.m * k, (h + 1) * p.m * k), b, p.m, p.rows, p.cols, p.transpose), h * p.m * n);
    }
    return out;
  });
  return { a: a.share, c: c.share };
});

/**
 * Z = X·W (or X·Wᵀ) for a masked W, one round. With `append`, W first grows by those rows, masked in
 * the same round. The call mutates W when appending: do not overlap it with other calls on the same W.
 */
export async function maskedMatmul(
  ctx: PartyContext,
  x: RingTensor,
  w: MaskedOperand,
  opts: MaskedMatmulOptions = {},
): Promise<RingTensor> {
  const transpose = opts.transpose ?? false;
  const rows = w.rows + (opts.append ? newRowCount(w, opts.append) : 0);
  const { m, outShape } = maskedMatmulShape(x.shape, w, rows, transpose);
  return ctx.ledger.scope('maskedMatmul', async () => {
    // 1. take my B rows for `append` and a product triple for the grown W
    const app = opts.append ? await prepareAppend(ctx, w, opts.append) : undefined;
    const { key, lanes, cols } = w;
    const t = await ctx.dealer.take(maskedProductTriples, { key, lanes, rows, cols, transpose, m });
    // 2. open E = X − A (and D_new) in one round
    const parts = [{ x: subWords(x.data, t.a) }];
    if (app) parts.push({ x: app.dShare });
    const [E, dNew] = await openMany(ctx, parts);
    if (app) w.appendOpened(ctx.party, dNew, app.bNew, app.r);
    // 3. Z = C + E·W̃ + A·D
    const op: Bilinear<'public' | 'mine'> = (left, which) => ({
      shape: outShape,
      data: operandProduct(left.data, w, which, m, transpose),
    });
    return beaverCombine(op, { shape: x.shape, data: E }, 'public', { shape: x.shape, data: t.a }, 'mine', {
      shape: outShape,
      data: t.c,
    });
  });
}

/** m (rows of X per lane) and Z's shape; throws ShapeError. */
function maskedMatmulShape(xShape: readonly number[], w: MaskedOperand, rows: number, transpose: boolean) {
  const [k, n] = transpose ? [w.cols, rows] : [rows, w.cols];
  const r = xShape.length;
  const bad = () =>
    new ShapeError(`maskedMatmul: "x" ${shapeStr(xShape)} does not fit W${transpose ? 'ᵀ' : ''} of ${shapeStr(w.batched ? [w.lanes, rows, w.cols] : [rows, w.cols])}`);
  if (r < 2 || xShape[r - 1] !== k) throw bad();
  if (w.batched && (r !== 3 || xShape[0] !== w.lanes)) throw bad();
  // unbatched W: every leading dim of X is folded into the rows of one (M × k) product
  const m = w.batched ? xShape[1] : sizeOf(xShape.slice(0, -1));
  return { m, outShape: [...xShape.slice(0, -1), n] };
}

/** Lane by lane: left (lanes·m × k) times D or W̃ (or their transposes). */
function operandProduct(left: BigUint64Array, w: MaskedOperand, which: 'public' | 'mine', m: number, transpose: boolean): BigUint64Array {
  const [k, n] = transpose ? [w.cols, w.rows] : [w.rows, w.cols];
  const out = new BigUint64Array(w.lanes * m * n);
  for (let h = 0; h < w.lanes; h++) {
    out.set(storedLaneProduct(left.subarray(h * m * k, (h + 1) * m * k), w.lane(h, which), m, w.rows, w.cols, transpose), h * m * n);
  }
  return out;
}

/** Rows of a above which a ·Bᵀ with B in panels converts B to row-major instead of one pass per row. */
const PANEL_ROW_PASSES = 16;

/** laneProduct for b (rows × cols) as stored: row-major, or in 8-row panels (the masked weights: masked-operand.ts). */
function storedLaneProduct(
  a: BigUint64Array, stored: { readonly words: BigUint64Array; readonly panels: boolean }, m: number, rows: number, cols: number, transpose: boolean,
): BigUint64Array {
  const b = stored.words;
  if (!stored.panels) return laneProduct(a, b, m, rows, cols, transpose);
  if (!transpose) return matmulWordsPanels(a, b, m, rows, cols);
  if (m > PANEL_ROW_PASSES) return laneProduct(a, fromPanels(b, rows, cols), m, rows, cols, true);
  // a·bᵀ row by row: row i of the result is b·(row i of a)ᵀ, one sequential pass over b each
  const out = new BigUint64Array(m * rows);
  for (let i = 0; i < m; i++) out.set(matvecWordsPanels(b, a.subarray(i * cols, (i + 1) * cols), rows, cols), i * rows);
  return out;
}

/**
 * a (m × k) times b (rows × cols) or bᵀ. For bᵀ, compute (b·aᵀ)ᵀ when that moves fewer words than
 * transposing b (decoding: m = 1, so both transposes are free and b is never copied).
 */
export function laneProduct(a: BigUint64Array, b: BigUint64Array, m: number, rows: number, cols: number, transpose: boolean): BigUint64Array {
  if (!transpose) return matmulWords(a, b, m, rows, cols);
  if (m * (cols + rows) <= rows * cols) return transposeWords(matmulWords(b, transposeWords(a, m, cols), rows, cols, m), rows, m);
  return matmulWords(a, transposeWords(b, rows, cols), m, cols, rows);
}

/** (r × c) row-major → (c × r). */
function transposeWords(x: BigUint64Array, r: number, c: number): BigUint64Array {
  if (r === 1 || c === 1) return x.slice();
  const out = new BigUint64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = x[i * c + j];
  return out;
}

function validateProductParams(p: unknown): MaskedProductParams {
  const q = (p ?? {}) as Record<string, unknown>;
  const key = q.key;
  if (typeof key !== 'string' || !/^[\w./-]{1,64}$/.test(key)) throw new TypeError('maskedProductTriples: invalid key');
  if (typeof q.transpose !== 'boolean') throw new TypeError('maskedProductTriples: "transpose" expected a boolean');
  const [lanes, rows, cols, m] = ['lanes', 'rows', 'cols', 'm'].map((f) => validateDim(q[f], f));
  const biggest = lanes * Math.max(rows * cols, m * rows, m * cols);
  if (lanes < 1 || biggest > MAX_CORRELATION_ELEMENTS) throw new RangeError('maskedProductTriples: too large');
  return { key, lanes, rows, cols, transpose: q.transpose, m };
}

/**
 * Cost of maskedMatmul per party. `outShape` = Z's shape; `appended` = elements appended in the call.
 */
export const maskedMatmulCost = (xShape: readonly number[], outShape: readonly number[], appended = 0) => ({
  rounds: 1,
  bytesSent: 8 * (sizeOf(xShape) + appended),
  offlineBytes: 8 * sizeOf(outShape),
});

/**
 * foldedTruncSquares — y = u + s·truncPr(w, shift) (s = ±1; w one value per row broadcast over the
 * row's d columns, or one per element) and V = Σ_j y_j² per row, in ONE round: the truncation's
 * opening and the Beaver opening of u travel together, and the dealer's square terms already hold the
 * truncation's mask (the fold of fss.md §4f with a sum of squares as the product). Two uses:
 *   centeredSquares (LayerNorm):             u = x, w = Σ_j x_j·c per row, s = −1: D = x − μ
 *   residualSquares (RMSNorm after a block): u = x_old, w = z per element, s = +1: x = x_old + trunc(z)
 *
 * Rounds:    1   (truncPr then beaverSquare: 2)
 * Online:    8 B per element + 8 B per w sent per party (the same bytes as the two rounds)
 * Offline:   to P0: per element [(a − sR)²] (8 B) and [W·(a − sR)] (⌈shift/8⌉ B, low bits zero), per w
 *            a truncation mask (truncMaskBytes); a comes from the parties' streams;
 *            foldedTruncSquaresCost exact
 * Accuracy:  trunc(w) as truncPr (⌊w/2^shift⌋ + {0, 1}, needs |w| < 2^62); y and V exact for it (ring
 *            identities, no truncation)
 * Opens:     ẑ = w + 2^62 + r per w and E = u − a per element: uniform (r, a fresh)
 * Steps:     1. take r (R = r >> shift, W = 2^(64−shift)·msb(r)), a, [(a − sR)²], [W·(a − sR)]
 *            2. open ẑ and E in one round
 *            3. trunc(w) = D − R + μ̄W with public D = (ẑ >> shift) − 2^(62−shift), μ̄ = 1 − msb(ẑ), so
 *               y = P + M, P = E + s·D public, M = (a − sR) + s·μ̄W, and
 *               y² = P² + 2P·M + (a − sR)² + 2s·μ̄·W(a − sR)   (W² ≡ 0 mod 2^64 for shift ≤ 32)   local
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0 } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateGrid } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { asUintN, mulWords, once, repeatPerRow, shiftRightWords, subWords } from '../engine/words';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes, truncMaskWork } from '../trunc/trunc-pr';

export interface FoldedTruncSquaresParams {
  readonly rows: number;
  readonly d: number;
  readonly shift: number;
  /** +1: y = u + trunc(w); −1: y = u − trunc(w). */
  readonly sign: 1 | -1;
  /** w holds one value per row (broadcast) instead of one per element. */
  readonly perRow: boolean;
}

function validateParams(p: unknown): FoldedTruncSquaresParams {
  const q = (p ?? {}) as FoldedTruncSquaresParams;
  validateGrid(q.rows, q.d);
  assertShift(q.shift, 32);
  if (q.sign !== 1 && q.sign !== -1) throw new RangeError('foldedTruncSquares: sign must be 1 or −1');
  return { rows: q.rows, d: q.d, shift: q.shift, sign: q.sign, perRow: q.perRow === true };
}

/** All to P0: a truncation mask per w, [(a − sR)²] (8 B) and packed [W·(a − sR)] per element. */
const truncSquaresBytes = (wCount: number, n: number, shift: number) => truncMaskBytes(wCount, shift) + 8 * n + derivedTopBitsBytes(n, shift);

const materialBytes = ({ rows, d, shift, perRow }: FoldedTruncSquaresParams) => bytesToP0(truncSquaresBytes(perRow ? rows : rows * d, rows * d, shift));

/** Work: a truncation mask per w, a drawn, the derived [(a − sR)²] and the packed [W·(a − sR)] per element. */
const materialWork = ({ rows, d, shift, perRow }: FoldedTruncSquaresParams) =>
  truncMaskWork(perRow ? rows : rows * d, shift) + randomWork(rows * d) + derivedWork(rows * d) + derivedTopBitsWork(rows * d, shift);

export const foldedTruncSquareMaterial = defineCorrelation('foldedTruncSquares', validateParams, materialBytes, materialWork, (g, p: FoldedTruncSquaresParams) => {
  const { rows, d, shift, sign, perRow } = p, n = rows * d;
  const m = dealTruncMask(g, perRow ? rows : n, shift);
  const a = g.random(n);
  const spread = (v: BigUint64Array) => (perRow ? repeatPerRow(v, d) : v);
  const aS = once(() => {
    const av = a.value(), R = spread(shiftRightWords(m.rValue(), shift)), s = BigInt(sign), out = new BigUint64Array(n);
    for (let q = 0; q < n; q++) out[q] = asUintN(64, av[q] - s * R[q]);
    return out;
  });
  const sq = g.derived(n, () => { const v = aS(); return mulWords(v, v); });
  const wa = derivedTopBits(g, n, shift, () => mulWords(aS(), spread(shiftRightWords(m.rValue(), 63))));
  return { r: m.r, rTrunc: m.rTrunc, rWrap: m.rWrap, a: a.share, sq: sq.share, wa };
});

/**
 * u (rows, d) and w (rows when perRow, else rows·d): shares of y = u + sign·trunc(w, shift) (u's shape)
 * and V = Σ_j y_j² (rows).
 */
export async function foldedTruncSquares(
  ctx: PartyContext, u: RingTensor, w: BigUint64Array, shift: number, how: { sign: 1 | -1; perRow: boolean; rows: number },
): Promise<{ y: RingTensor; V: RingTensor }> {
  const { sign, perRow, rows } = how, n = u.data.length, d = rows ? n / rows : 0;
  if (!Number.isInteger(d) || d < 1) throw new ShapeError(`foldedTruncSquares: ${n} elements do not split into ${rows} rows`);
  if (w.length !== (perRow ? rows : n)) throw new ShapeError(`foldedTruncSquares: w has ${w.length} elements, expected ${perRow ? rows : n}`);
  assertShift(shift, 32);
  return ctx.ledger.scope('foldedTruncSquares', async () => {
    // 1. the material; 2. one round
    const t = await ctx.dealer.take(foldedTruncSquareMaterial, { rows, d, shift, sign, perRow });
    const [zHat, E] = await openMany(ctx, [{ x: maskForTrunc(ctx.party, w, t.r) }, { x: subWords(u.data, t.a) }]);
    // 3. y = P + M, y² = P² + 2P·M + (a − sR)² + 2s·μ̄·W(a − sR)
    const { y, V } = combine(ctx.party === 0 ? 1n : 0n, rows, d, shift, sign, perRow, zHat, E, t);
    return { y: { shape: [...u.shape], data: y }, V: { shape: [rows], data: V } };
  });
}

type FoldedTruncSquare = ReturnType<typeof foldedTruncSquareMaterial.deal>;

/** Step 3 (a top-level function: V8 optimizes the loop sooner than inside the protocol's closure). */
function combine(
  p0: bigint, rows: number, d: number, shift: number, sign: 1 | -1, perRow: boolean, zHat: BigUint64Array, E: BigUint64Array, t: FoldedTruncSquare,
): { y: BigUint64Array; V: BigUint64Array } {
  const off = 1n << BigInt(62 - shift), sh = BigInt(shift), s = BigInt(sign), s2 = 2n * s, n = rows * d;
  const y = new BigUint64Array(n), V = new BigUint64Array(rows), { a, sq, wa, rTrunc, rWrap } = t;
  let sD = 0n, keep = 0n, sW = 0n; // per w: public s·D, μ̄ (as a mask), and this party's share of s·(μ̄W − R)
  for (let i = 0, q = 0; i < rows; i++) {
    let acc = 0n;
    for (let j = 0; j < d; j++, q++) {
      if (!perRow || j === 0) {
        const k = perRow ? i : q, z = zHat[k];
        sD = asUintN(64, s * asUintN(64, (z >> sh) - off));
        keep = asUintN(64, (z >> 63n) - 1n);
        sW = asUintN(64, s * asUintN(64, (rWrap[k] & keep) - rTrunc[k])); // M = a + sW
      }
      // one wrapped product per statement: V8 keeps these in 64-bit registers
      const P = asUintN(64, E[q] + sD), M = asUintN(64, a[q] + sW);
      const pp = asUintN(64, P * P), pm = asUintN(64, P * M), w2 = asUintN(64, s2 * (wa[q] & keep));
      y[q] = asUintN(64, asUintN(64, p0 * P) + M);
      acc = asUintN(64, acc + asUintN(64, asUintN(64, p0 * pp) + asUintN(64, pm + pm) + asUintN(64, sq[q] + w2)));
    }
    V[i] = acc;
  }
  return { y, V };
}

/** Exact cost (offline: both parties; all of it is P0's); `wCount` = rows (per row) or rows·d. */
export const foldedTruncSquaresCost = (rows: number, d: number, shift: number, wCount: number) => ({
  rounds: 1,
  bytesSent: 8 * (rows * d + wCount),
  offlineBytes: truncSquaresBytes(wCount, rows * d, shift),
});

/**
 * LayerNorm's first round: x (rows, d) and sc (rows) = Σ_j x_j·c on shares (c public, e.g. ⌊2^shift/d⌉):
 * shares of D = x − μ (x's shape) and V = Σ_j D_j² (rows), μ = trunc(sc, shift).
 */
export async function centeredSquares(ctx: PartyContext, x: RingTensor, sc: BigUint64Array, shift: number): Promise<{ D: RingTensor; V: RingTensor }> {
  const { y, V } = await foldedTruncSquares(ctx, x, sc, shift, { sign: -1, perRow: true, rows: sc.length });
  return { D: y, V };
}

export const centeredSquaresCost = (rows: number, d: number, shift: number) => foldedTruncSquaresCost(rows, d, shift, rows);

/** RMSNorm's first round after a block: x = xOld + trunc(z, shift) (elementwise) and V = Σ_j x_j². */
export async function residualSquares(ctx: PartyContext, xOld: RingTensor, z: RingTensor, shift: number, rows: number): Promise<{ x: RingTensor; V: RingTensor }> {
  if (z.data.length !== xOld.data.length) throw new ShapeError(`residualSquares: x has ${xOld.data.length} elements, z has ${z.data.length}`);
  const { y, V } = await foldedTruncSquares(ctx, xOld, z.data, shift, { sign: 1, perRow: false, rows });
  return { x: y, V };
}

export const residualSquaresCost = (rows: number, d: number, shift: number) => foldedTruncSquaresCost(rows, d, shift, rows * d);

/**
 * foldedMul — t = truncPr(z, shift) AND the products t·q_1, …, t·q_P in ONE round (fss.md §4f,
 * "Folding the truncation into the next product", with several multiplicands sharing one mask of z).
 * truncPrMul is the case P = 1 without t; Newton steps need t as well (y and y·m).
 *
 * Rounds:    1   (open ẑ = z + 2^62 + r and e_k = q_k + b_k in one message)
 * Online:    8·(1 + P) B/elem sent per party
 * Offline:   to P0: the truncation mask (8 + ⌈shift/8⌉ B) plus 8 + ⌈shift/8⌉ B per multiplicand
 *            ([R·b_k] and the packed [W·b_k]); r, b_k from the parties' streams. foldedMulCost exact.
 * Accuracy:  t = ⌊z/2^shift⌋ + c, c ∈ {0, 1} (as truncPr; |z| < 2^62); the products are exact ring
 *            products of that t, untruncated (scale = t's scale + q_k's).
 * Opens:     ẑ and e_k, uniform and independent (r, b_k fresh).
 * Steps:     1. take the mask (r, [R = r >> shift], [W = 2^(64−shift)·msb(r)]) and per k: b_k, [R·b_k], [W·b_k]
 *            2. open ẑ and every e_k in one round
 *            3. D = (ẑ >> shift) − 2^(62−shift), μ̄ = 1 − msb(ẑ): t = D − A, A = R − μ̄W;
 *               [t] = [P0]·D − [A];  [t·q_k] = [P0]·D·e_k − D·[b_k] − e_k·[A] + [R·b_k] − μ̄[W·b_k]
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { addWords, asUintN, mulWords, shiftRightWords } from '../engine/words';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes, truncMaskWork } from '../trunc/trunc-pr';

export interface FoldedMulParams {
  readonly n: number;
  readonly shift: number;
  readonly mults: number;
}

interface FoldedMulMaterial {
  readonly r: BigUint64Array;
  readonly rTrunc: BigUint64Array;
  readonly rWrap: BigUint64Array;
  readonly b: BigUint64Array[];
  readonly rb: BigUint64Array[];
  readonly wb: BigUint64Array[];
}

function validateFoldedMul(p: unknown): FoldedMulParams {
  const q = (p ?? {}) as FoldedMulParams;
  validateCount(q.n);
  assertShift(q.shift);
  if (!Number.isInteger(q.mults) || q.mults < 0 || q.mults > 8) throw new RangeError('foldedMul: mults must be in [0, 8]');
  return { n: q.n, shift: q.shift, mults: q.mults };
}

/** All to P0: the mask, and per multiplicand [R·b_k] (8 B) and packed [W·b_k]. */
const foldedMulBytes = ({ n, shift, mults }: FoldedMulParams) => bytesToP0(truncMaskBytes(n, shift) + mults * (8 * n + derivedTopBitsBytes(n, shift)));

/** Work: the mask, and per multiplicand b_k, the derived [R·b_k] and the packed [W·b_k]. */
const foldedMulWork = ({ n, shift, mults }: FoldedMulParams) => truncMaskWork(n, shift) + mults * (randomWork(n) + derivedWork(n) + derivedTopBitsWork(n, shift));

export const foldedMulCorrelation = defineCorrelation('foldedMul', validateFoldedMul, foldedMulBytes, foldedMulWork, (g, { n, shift, mults }: FoldedMulParams): FoldedMulMaterial => {
  const mask = dealTruncMask(g, n, shift);
  const b: BigUint64Array[] = [], rb: BigUint64Array[] = [], wb: BigUint64Array[] = [];
  for (let k = 0; k < mults; k++) {
    const bk = g.random(n);
    b.push(bk.share);
    rb.push(g.derived(n, () => mulWords(shiftRightWords(mask.rValue(), shift), bk.value())).share);
    wb.push(derivedTopBits(g, n, shift, () => mulWords(shiftRightWords(mask.rValue(), 63), bk.value())));
  }
  return { r: mask.r, rTrunc: mask.rTrunc, rWrap: mask.rWrap, b, rb, wb };
});

/** [t] and [t·q_k] for t = truncPr(z, shift); every q_k shaped like z. */
export async function foldedMul(ctx: PartyContext, z: RingTensor, shift: number, qs: readonly RingTensor[]): Promise<{ t: RingTensor; products: RingTensor[] }> {
  const n = z.data.length;
  qs.forEach((q, k) => {
    if (q.data.length !== n) throw new ShapeError(`foldedMul: z has ${n} elements, multiplicand ${k} has ${q.data.length}`);
  });
  return ctx.ledger.scope('foldedMul', async () => {
    // 1. take the mask and the product terms
    const m = await ctx.dealer.take(foldedMulCorrelation, { n, shift, mults: qs.length });
    // 2. open ẑ and every e_k
    const opened = await openMany(ctx, [{ x: maskForTrunc(ctx.party, z.data, m.r) }, ...qs.map((q, k) => ({ x: addWords(q.data, m.b[k]) }))]);
    const zHat = opened[0], p0 = ctx.party === 0 ? 1n : 0n, off = 1n << BigInt(62 - shift);
    // 3. t = D − A; t·q_k from the Beaver terms
    const t = new BigUint64Array(n), D = shiftRightWords(zHat, shift), A = new BigUint64Array(n), keep = new BigUint64Array(n);
    const rTrunc = m.rTrunc, rWrap = m.rWrap;
    for (let i = 0; i < n; i++) {
      keep[i] = asUintN(64, (zHat[i] >> 63n) - 1n);
      D[i] = asUintN(64, D[i] - off);
      A[i] = asUintN(64, rTrunc[i] - (rWrap[i] & keep[i]));
      t[i] = asUintN(64, p0 * D[i] - A[i]);
    }
    const products = qs.map((q, k) => {
      const e = opened[k + 1], b = m.b[k], rb = m.rb[k], wb = m.wb[k], out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const AB = asUintN(64, rb[i] - (wb[i] & keep[i]));
        out[i] = asUintN(64, AB - D[i] * b[i] - e[i] * A[i] + p0 * D[i] * e[i]);
      }
      return { shape: [...z.shape], data: out };
    });
    return { t: { shape: [...z.shape], data: t }, products };
  });
}

/** Cost of foldedMul on n elements with `mults` multiplicands (offline bytes: P0's; P1 gets none). */
export const foldedMulCost = (n: number, shift: number, mults: number) => ({
  rounds: 1,
  bytesSent: 8 * n * (1 + mults),
  offlineBytes: totalDealerBytes(foldedMulBytes({ n, shift, mults })),
});

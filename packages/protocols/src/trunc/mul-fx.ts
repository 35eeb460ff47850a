/**
 * mulFx / matmulFx / maskedMatmulFx — fixed-point products: the exact ring product (scale 2f)
 * followed by truncPr by ctx.fracBits. Nothing is truncated silently inside the ring products.
 *
 * Rounds:    2   (the product's opening, then ẑ of the truncation; the truncation needs the product's
 *                 shares, so the two cannot share a round)
 * Online:    mulFx 24 B/elem; matmulFx 8·(|X| + |Y| + |Z|) B; maskedMatmulFx 8·(|X| + |Z|) B per party
 * Offline:   the product's triple + a truncation mask per output element (8 + ⌈f/8⌉ B), all to P0
 * Accuracy:  ⌊x·y/2^f⌋ + c, c ∈ {0, 1}, i.e. within 1 ulp of the exact product of the encoded inputs,
 *            unbiased; precondition |x·y| < 2^62 at scale 2f (|x·y| < 2^(62−2f) in real terms, 2^38
 *            at f = 12) for each output element (partial sums of a matmul may wrap: the ring is exact).
 * Opens:     those of the product and of truncPr.
 * Steps:     1. z = ring product (beaverMul / beaverMatmul / maskedMatmul)
 *            2. y = truncPr(z, fracBits)
 * Fewer rounds: in a chain of elementwise products keep the product untruncated and fold its
 * truncation into the next product with truncPrMul / truncPrSquare (trunc-pr-fold.ts): one round per
 * product plus one final truncPr. Matrix products cannot fold their contracted operand (fss.md §4f).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import { beaverMatmul, beaverMatmulCost, matmulShape } from '../beaver/beaver-matmul';
import { beaverMul, beaverMulCost } from '../beaver/beaver-mul';
import { maskedMatmul, maskedMatmulCost, type MaskedMatmulOptions } from '../beaver/masked-matmul';
import type { MaskedOperand } from '../beaver/masked-operand';
import type { PartyContext } from '../engine/context';
import { sumCosts } from '../engine/formula-cost';
import { truncPr, truncPrCost } from './trunc-pr';

/** Fixed-point elementwise product: truncPr(x·y). */
export async function mulFx(ctx: PartyContext, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  return ctx.ledger.scope('mulFx', async () => truncPr(ctx, await beaverMul(ctx, x, y)));
}

/** Fixed-point matrix product: truncPr(X·Y), shapes as beaverMatmul. */
export async function matmulFx(ctx: PartyContext, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  matmulShape(x.shape, y.shape); // ShapeError before any scope or message
  return ctx.ledger.scope('matmulFx', async () => truncPr(ctx, await beaverMatmul(ctx, x, y)));
}

/** Fixed-point product with a masked operand: truncPr(X·W) or truncPr(X·Wᵀ). */
export async function maskedMatmulFx(
  ctx: PartyContext,
  x: RingTensor,
  w: MaskedOperand,
  opts: MaskedMatmulOptions = {},
): Promise<RingTensor> {
  return ctx.ledger.scope('maskedMatmulFx', async () => truncPr(ctx, await maskedMatmul(ctx, x, w, opts)));
}

/** Cost of mulFx on n elements at f fractional bits, per party (offline bytes are P0's). */
export const mulFxCost = (n: number, f = 12) => sumCosts([truncPrCost(n, f), beaverMulCost(n)]);

/** Cost of matmulFx(X, Y), per party. */
export const matmulFxCost = (xShape: readonly number[], yShape: readonly number[], f = 12) => {
  const out = matmulShape(xShape, yShape);
  return sumCosts([truncPrCost(out.reduce((a, b) => a * b, 1), f), beaverMatmulCost(xShape, yShape)]);
};

/** Cost of maskedMatmulFx per party; `outShape` = Z's shape, `appended` = elements appended. */
export const maskedMatmulFxCost = (xShape: readonly number[], outShape: readonly number[], f = 12, appended = 0) =>
  sumCosts([truncPrCost(outShape.reduce((a, b) => a * b, 1), f), maskedMatmulCost(xShape, outShape, appended)]);

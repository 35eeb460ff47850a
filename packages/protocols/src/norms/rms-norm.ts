/**
 * rmsNorm — RMSNorm over the last axis of a (rows, d) tensor with a shared weight (d):
 * out = w·x / sqrt(mean(x²) + eps) (llama2.c's rmsnorm).
 *
 * Rounds:    6   (Σx² by Beaver squares; rsqrt 3, its last truncation folded into the broadcast
 *                 product (layer-norm.ts scaleRows); one truncation)
 * Online:    24 B/elem sent per party plus 40 B per row (rsqrt 32, the row factor's opening 8) and 8 B
 *            per column; rmsNormCost exact
 * Offline:   to P0 per element: the square pair (8 B), the folded broadcast product's terms (47 B at
 *            f = 12, layer-norm.ts) and the truncation mask (12 B at f = 12); per row one rsqrt key
 *            (≈ 2.8 KB at f = 12, d = 768)
 * Accuracy:  ≤ 6e-3 + 4e-4·|y| abs per output on GPT-2/llama-like activations (|x| ≤ 100, mean
 *            square ≤ 1e4, |w| ≤ 8), asserted in tests; rsqrt relative to 2e-4, products to 1 ulp.
 * Opens:     masked values only
 * Steps:     1. V_i = Σ_j x_ij² (beaverSquare, scale 2^2f)                               (1 round)
 *            2. y_i = (V_i/d + eps)^(−1/2) at scale 2^(f+4), untruncated                  (3 rounds)
 *            3. out = truncPr(x ⊙ y (per row) ⊙ w (per column), 2f + 4)                   (2 rounds)
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { beaverSquare, beaverSquareCost } from '../beaver/beaver-mul';
import type { PartyContext } from '../engine/context';
import { residualSquares, residualSquaresCost } from './folded-trunc-squares';
import { sumCosts } from '../engine/formula-cost';
import { normDims, rowSums, scaleRows, scaleRowsCost, type NormOptions } from './layer-norm';


export async function rmsNorm(ctx: PartyContext, x: RingTensor, weight: RingTensor, opts: NormOptions = {}): Promise<RingTensor> {
  const { rows, d } = normDims(x, [weight], 'rmsNorm');
  const f = ctx.fracBits;
  return ctx.ledger.scope('rmsNorm', async () => {
    // 1. V = Σ x²
    const sq = await beaverSquare(ctx, { shape: [x.data.length], data: x.data });
    const V = rowSums(sq.data, rows, d);
    // 2.–3. y = (V/d + eps)^(−1/2);  out = trunc(x·y·w)
    const out = await scaleRows(ctx, { shape: [rows, d], data: x.data }, { shape: [rows], data: V }, weight, d, opts);
    return { shape: [...x.shape], data: out.data };
  });
}

/** Exact cost (offline: both parties) of rmsNorm on (rows, d). */
export function rmsNormCost(rows: number, d: number, fracBits = 12, opts: NormOptions = {}) {
  return sumCosts([
    beaverSquareCost(rows * d),
    scaleRowsCost(rows, d, fracBits, opts),
  ]);
}

/**
 * rmsNorm of x = xOld + truncPr(z, shift) (a block's output joining the residual stream), the
 * residual's truncation riding in the squares' round (residualSquares): one round less than truncPr,
 * then rmsNorm. Returns the new residual x and the normed output.
 */
export async function rmsNormOfResidual(
  ctx: PartyContext, xOld: RingTensor, z: RingTensor, shift: number, weight: RingTensor, opts: NormOptions = {},
): Promise<{ x: RingTensor; out: RingTensor }> {
  const { rows, d } = normDims(xOld, [weight], 'rmsNorm');
  return ctx.ledger.scope('rmsNorm', async () => {
    const { x, V } = await residualSquares(ctx, { shape: [rows, d], data: xOld.data }, z, shift, rows);
    const out = await scaleRows(ctx, x, V, weight, d, opts);
    return { x: { shape: [...xOld.shape], data: x.data }, out: { shape: [...xOld.shape], data: out.data } };
  });
}

/** Exact cost (offline: both parties) of rmsNormOfResidual on (rows, d). */
export function rmsNormOfResidualCost(rows: number, d: number, shift: number, fracBits = 12, opts: NormOptions = {}) {
  return sumCosts([residualSquaresCost(rows, d, shift), scaleRowsCost(rows, d, fracBits, opts)]);
}

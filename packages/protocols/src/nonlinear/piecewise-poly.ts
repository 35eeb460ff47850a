/**
 * piecewisePoly — f(x) ≈ [x ≥ 0]·x + R(x) for an activation designed by piecewise-poly-design.ts
 * (GeLU, SiLU): one opening, every knot compared at once, each knot's cubic difference multiplied by
 * its comparison bit through the DCF payloads, then one truncation.
 *
 * Rounds:    2   (open x̂; truncate R)
 * Online:    16 B/elem sent per party, whatever the number of knots
 * Offline:   one DCF key per element (n = k − 1, m = 4 payload words: b, b·r, b·r², b·r³) to each
 *            party, 8 B each for [r²], [r³], [ρ·r^i] (i < 4) and the truncation mask by 60 − f bits,
 *            8 + ⌈(60 − f)/8⌉ = 14 B at f = 12–20, all to P0 (62 B); piecewisePolyCost(n, d, maxAbs) is exact
 * Accuracy:  ≤ tol + 1 ulp abs for every x with |x| ≤ maxAbs (design error ≤ tol by a float64 check
 *            of the integer coefficients; the final truncation adds < 1 ulp); far out exactly 0 / x
 * Opens:     x̂ = x + 2^62 + r (openPolyInput) and the truncation's masked value
 * Steps:     1. openPolyInput(x): [b_c·r^i] for every knot C_c (comparisons of trunc(x, f − 4))  1 round
 *            2. R = Σ_c b_c·ΔP_c(x) at 2^60 (local: b·P(x) = Σ_i λ_i(x̂)·[b·r^i], poly-input.ts);
 *               lin = b_0·x = x̂'·[b_0] − [b_0·r] for the knot at 0 (x̂' = x + r public)
 *            3. y = truncPr(R, 60 − f) + lin                                                  1 round
 * Local work: one (k − 1)-level DCF evaluation per knot and element (k ≈ 16: comparisons at 1/16
 * resolution), the old piecewise-linear version needed 3–4× as many knots at 24 levels; an element's
 * knots walk one trie (dcf-eval.ts dcfEvalShared): the levels above their points' split once.
 * piecewisePolyMul: f(x)·q with step 3 folded into the product, (truncPr(R) + lin)·q in 1 round
 * (truncPrMulAdd, 24 B/elem): 2 rounds and 32 B/elem for what piecewisePoly + beaverMul do in 3 and
 * 32; same accuracy (the product of the value piecewisePoly would return, untruncated).
 */
import { assertSameShape, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { sumCosts, type FormulaCost } from '../engine/formula-cost';
import { asUintN } from '../engine/words';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';
import { truncPrMulAdd, truncPrMulAddCost } from '../trunc/trunc-pr-fold';
import { PIECE_DEGREE, piecewisePolyCompareBits, type PiecewisePolyDesign } from './piecewise-poly-design';
import { compareInput, openPolyInput, polyInputCost, type PolyInputParams } from './poly-input';
import { addPolyTerms } from './poly-kernels';

function inputParams(d: PiecewisePolyDesign, maxAbs: number): Omit<PolyInputParams, 'count'> {
  return { shift: 0, degree: PIECE_DEGREE, k: piecewisePolyCompareBits(d, maxAbs), cmpShift: d.cmpShift, payload: PIECE_DEGREE + 1 };
}

/** f(x) for the design d on shares; |x| ≤ maxAbs. Output at ctx.fracBits (= d.fracBits). */
export async function piecewisePoly(ctx: PartyContext, x: RingTensor, d: PiecewisePolyDesign, maxAbs: number): Promise<RingTensor> {
  const n = x.data.length;
  if (n === 0) return { shape: [...x.shape], data: new BigUint64Array(0) };
  return ctx.ledger.scope('piecewisePoly', async () => {
    const { R, lin } = await residualAndLinear(ctx, x, d, maxAbs);
    // 3. truncate R to fracBits, add the linear part
    const y = await truncPr(ctx, { shape: [n], data: R }, d.scale - d.fracBits);
    for (let i = 0; i < n; i++) y.data[i] = asUintN(64, y.data[i] + lin[i]);
    return { shape: [...x.shape], data: y.data };
  });
}

/**
 * f(x)·q for the design d (a gated activation: SwiGLU's silu(h1) ⊙ h3) in the rounds of f(x) alone:
 * step 3's truncation is folded into the product (truncPrMulAdd: (truncPr(R) + lin)·q), so 2 rounds
 * instead of 3 (piecewisePoly, then a Beaver product), with the same 24 B/elem on top of the opening.
 * q at ctx.fracBits; output at 2·fracBits (untruncated).
 */
export async function piecewisePolyMul(ctx: PartyContext, x: RingTensor, q: RingTensor, d: PiecewisePolyDesign, maxAbs: number): Promise<RingTensor> {
  assertSameShape(x, q, 'piecewisePolyMul');
  const n = x.data.length;
  if (n === 0) return { shape: [...x.shape], data: new BigUint64Array(0) };
  return ctx.ledger.scope('piecewisePolyMul', async () => {
    const { R, lin } = await residualAndLinear(ctx, x, d, maxAbs);
    // 3. (truncPr(R) + lin)·q in one round
    const y = await truncPrMulAdd(ctx, { shape: [n], data: R }, { shape: [n], data: lin }, { shape: [n], data: q.data }, d.scale - d.fracBits);
    return { shape: [...x.shape], data: y.data };
  });
}

/** Steps 1–2: open x once, compare with every knot; R = Σ_c b_c·ΔP_c(x) at 2^scale, lin = b_0·x at fracBits. */
async function residualAndLinear(ctx: PartyContext, x: RingTensor, d: PiecewisePolyDesign, maxAbs: number): Promise<{ R: BigUint64Array; lin: BigUint64Array }> {
  const n = x.data.length;
  // 1. one opening, every knot
  const inp = await openPolyInput(ctx, x, inputParams(d, maxAbs));
  const bits = compareInput(inp, d.thresholds);
  // 2. R = Σ_c b_c·ΔP_c(x);  lin = b_0·x
  const R = new BigUint64Array(n);
  addPolyTerms(R, inp.base, d.deltas.map((p, c) => ({ A: bits[c], K: p.K, center: p.center })));
  const [b0, b0r] = bits[d.zeroIndex], lin = new BigUint64Array(n);
  for (let i = 0; i < n; i++) lin[i] = asUintN(64, inp.base[i] * b0[i] - b0r[i]);
  return { R, lin };
}

/** Exact cost (offline: both parties) of piecewisePoly on n elements. */
export const piecewisePolyCost = (n: number, d: PiecewisePolyDesign, maxAbs: number): FormulaCost =>
  sumCosts([polyInputCost(n, inputParams(d, maxAbs)), truncPrCost(n, d.scale - d.fracBits)]);

/** Exact cost (offline: both parties; the fold's terms go to P0) of piecewisePolyMul on n elements. */
export const piecewisePolyMulCost = (n: number, d: PiecewisePolyDesign, maxAbs: number): FormulaCost =>
  sumCosts([polyInputCost(n, inputParams(d, maxAbs)), truncPrMulAddCost(n, d.scale - d.fracBits)]);

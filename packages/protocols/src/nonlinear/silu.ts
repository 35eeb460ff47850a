/**
 * silu — SiLU(x) = x·σ(x) (the SwiGLU gate of Llama-style models) as [x ≥ 0]·x plus a piecewise-cubic
 * residual on [−a, a] (a ≈ 10 at tol 3e-3, ≈ 12.7 at 3e-4), 0 outside (piecewise-poly.ts).
 *
 * Rounds:    2   (one opening compared against every knot; one truncation)
 * Online:    16 B/elem sent per party; siluCost(n) is exact
 * Offline:   one DCF key per element (n = k − 1 = 15 levels at maxAbs 1024, m = 4) to each party + 62 B
 *            to P0 (piecewise-poly.ts): ≈ 1.57 KB/elem
 * Local:     one 15-level DCF evaluation per knot and element: 7 knots at tol 3e-3, 11 at 3e-4 (the
 *            piecewise-linear version: 18 and 56 knots at 24 levels)
 * Accuracy:  ≤ tol + 1 ulp abs for |x| ≤ maxAbs (default tol 3e-3; asserted ≤ 5e-3 on [−8, 8] and
 *            ≤ 3e-4 + 1 ulp at tol 3e-4 in tests); outside the knots exactly 0 and x, where
 *            |SiLU − relu| ≤ tol/4
 * Opens:     x̂ = x + 2^62 + r, the truncation's masked value
 * Steps:     1. piecewisePoly(siluDesign): open x̂, compare with every knot, payload products   1 round
 *            2. R = Σ b_c·ΔP_c(x) (local), truncate, add [x ≥ 0]·x                           1 round
 * siluMul(x, q) = SiLU(x)·q (SwiGLU's gate times the up projection) in the same 2 rounds: the
 * truncation of step 2 is folded into the product (piecewisePolyMul); 32 B/elem; output at 2f.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { piecewisePoly, piecewisePolyCost, piecewisePolyMul, piecewisePolyMulCost } from './piecewise-poly';
import { designPiecewisePoly, type PiecewisePolyDesign } from './piecewise-poly-design';

export interface SiluOptions {
  /** Largest |x| the caller guarantees (sets the comparison width). */
  readonly maxAbs?: number;
  /** Design tolerance (abs); default 3e-3. Tighter means more knots (local work), same rounds and bytes. */
  readonly tol?: number;
}

export const siluFloat = (x: number): number => x / (1 + Math.exp(-x));

export function siluDesign(fracBits: number, opts: SiluOptions = {}): PiecewisePolyDesign {
  return designPiecewisePoly({ key: 'silu', f: siluFloat, tol: opts.tol ?? 3e-3 }, fracBits);
}

export async function silu(ctx: PartyContext, x: RingTensor, opts: SiluOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('silu', () => piecewisePoly(ctx, x, siluDesign(ctx.fracBits, opts), opts.maxAbs ?? 1024));
}

export const siluCost = (n: number, fracBits = 12, opts: SiluOptions = {}) => piecewisePolyCost(n, siluDesign(fracBits, opts), opts.maxAbs ?? 1024);

/** SiLU(x)·q at scale 2f (untruncated) in 2 rounds; x, q at ctx.fracBits, same shape. */
export async function siluMul(ctx: PartyContext, x: RingTensor, q: RingTensor, opts: SiluOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('siluMul', () => piecewisePolyMul(ctx, x, q, siluDesign(ctx.fracBits, opts), opts.maxAbs ?? 1024));
}

export const siluMulCost = (n: number, fracBits = 12, opts: SiluOptions = {}) => piecewisePolyMulCost(n, siluDesign(fracBits, opts), opts.maxAbs ?? 1024);

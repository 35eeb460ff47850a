/**
 * gelu — GeLU(x) = x·Φ(x) ("erf", exact) or GPT-2's tanh form 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
 * ("tanh", default), as [x ≥ 0]·x plus a piecewise-cubic residual on [−a, a] (a ≈ 3.9 at the default
 * tolerance: 5 knots), 0 outside (piecewise-poly.ts).
 *
 * Rounds:    2   (one opening compared against every knot; one truncation)
 * Online:    16 B/elem sent per party; geluCost(n) is exact
 * Offline:   one DCF key per element (n = k − 1 = 15 levels at maxAbs 1024, m = 4) to each party + 62 B
 *            to P0 (piecewise-poly.ts): ≈ 1.57 KB/elem — geluCost(n).offlineBytes
 * Local:     one 15-level DCF evaluation per knot and element (5 knots; the piecewise-linear version
 *            had 14 knots at 24 levels): gelu[16384] ≈ 0.1 s per party in one process, Node 20.20, 2026-11;
 *            the 5 points of an element share their leading bits, evaluated as a trie (dcf-eval.ts,
 *            session 24): ≈ 35 of 75 levels, −38 % of the evaluation time
 * Accuracy:  ≤ tol + 1 ulp abs for |x| ≤ maxAbs (default tol 3e-3, asserted ≤ 5e-3 on [−8, 8] in
 *            tests against float64); outside the knots exactly 0 (x < −a) and x (x ≥ a), where
 *            |GeLU − relu| ≤ tol/4
 * Opens:     x̂ = x + 2^62 + r, the truncation's masked value
 * Steps:     1. piecewisePoly(geluDesign): open x̂, compare trunc(x, f − 4) with every knot, payload
 *               products b·r^i                                                              1 round
 *            2. R = Σ b_c·ΔP_c(x) (local), truncate, add [x ≥ 0]·x                          1 round
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { piecewisePoly, piecewisePolyCost } from './piecewise-poly';
import { designPiecewisePoly, type PiecewisePolyDesign } from './piecewise-poly-design';

export type GeluVariant = 'tanh' | 'erf';

export interface GeluOptions {
  readonly variant?: GeluVariant;
  /** Largest |x| the caller guarantees (sets the comparison width; default 1024). */
  readonly maxAbs?: number;
  /** Design tolerance (abs); default 3e-3. Tighter means more knots (local work), same rounds and bytes. */
  readonly tol?: number;
}

/** erf by its Maclaurin series (|x| < 3) or the continued fraction of erfc; |error| < 1e-14. */
export function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 3) {
    let sum = 0, p = t;
    for (let n = 0; n < 200; n++) {
      const v = p / (2 * n + 1);
      sum += v;
      p *= (-t * t) / (n + 1);
      if (Math.abs(v) < 1e-17) break;
    }
    return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

export function geluFloat(x: number, variant: GeluVariant = 'tanh'): number {
  if (variant === 'erf') return 0.5 * x * (1 + erf(x / Math.SQRT2));
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

export function geluDesign(fracBits: number, opts: GeluOptions = {}): PiecewisePolyDesign {
  const variant = opts.variant ?? 'tanh';
  return designPiecewisePoly({ key: `gelu-${variant}`, f: (x) => geluFloat(x, variant), tol: opts.tol ?? 3e-3 }, fracBits);
}

export async function gelu(ctx: PartyContext, x: RingTensor, opts: GeluOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('gelu', () => piecewisePoly(ctx, x, geluDesign(ctx.fracBits, opts), opts.maxAbs ?? 1024));
}

export const geluCost = (n: number, fracBits = 12, opts: GeluOptions = {}) => piecewisePolyCost(n, geluDesign(fracBits, opts), opts.maxAbs ?? 1024);

/**
 * gelu — GeLU(x) = x·Φ(x) ("erf", exact) or GPT-2's tanh form 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
 * ("tanh", default), as a piecewise-linear function of x: 14 knots in [−6, 6], 0 below, x above.
 *
 * Rounds:    2   (one comparison round against all knots, one truncation round)
 * Online:    16 B/elem sent per party (8 compare + 8 truncation); geluCost(n) is exact
 * Offline:   one DCF key per element (n = k − 1 = 24 bits, m = 2): 2·784 B + 16 B, plus a
 *            truncation pair (24 B) — geluCost(n).offlineBytes
 * Accuracy:  ≤ 5e-3 abs on [−8, 8] (design bound 3e-3 + 1 ulp), asserted against float64 in
 *            tests; exact 0 below −6 (|GeLU| < 6e-9 there) and exactly x above 6; inputs must
 *            satisfy |x| ≤ maxAbs (default 1024)
 * Opens:     x̂ = x + r, the truncation's masked value
 * Steps:     1. piecewiseLinear(geluDesign): compare against every knot in one round
 *            2. truncate to fracBits
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { designPiecewise, type PiecewiseDesign } from './piecewise-design';
import { piecewiseLinear, piecewiseLinearCost } from './piecewise-linear';

export type GeluVariant = 'tanh' | 'erf';

export interface GeluOptions {
  readonly variant?: GeluVariant;
  /** Largest |x| the caller guarantees (sets the comparison width). */
  readonly maxAbs?: number;
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

export function geluDesign(fracBits: number, opts: GeluOptions = {}): PiecewiseDesign {
  const variant = opts.variant ?? 'tanh', maxAbs = opts.maxAbs ?? 1024;
  return designPiecewise(
    {
      key: `gelu-${variant}-${maxAbs}`,
      f: (x) => geluFloat(x, variant),
      tol: () => 3e-3,
      lo: -6,
      hi: 6,
      maxAbs,
      below: { x0: 0, y0: 0, slope: 0 },
      above: { x0: 0, y0: 0, slope: 1 },
    },
    fracBits,
    fracBits,
  );
}

export async function gelu(ctx: PartyContext, x: RingTensor, opts: GeluOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('gelu', () => piecewiseLinear(ctx, x, geluDesign(ctx.fracBits, opts)));
}

export const geluCost = (n: number, fracBits = 12, opts: GeluOptions = {}) => piecewiseLinearCost(n, geluDesign(fracBits, opts));

/**
 * silu — SiLU(x) = x·σ(x) (the SwiGLU gate of Llama-style models) as a piecewise-linear function of
 * x: 18 knots in [−13, 13], 0 below, x above.
 *
 * Rounds:    2   (one comparison round against all knots, one truncation round)
 * Online:    16 B/elem sent per party; siluCost(n) is exact
 * Offline:   one DCF key per element (n = k − 1 = 24 bits, m = 2) + 16 B, plus a truncation pair
 * Accuracy:  ≤ 5e-3 abs on [−8, 8] (design bound 3e-3 + 1 ulp), asserted in tests; outside the
 *            knots |SiLU(x) − approx| ≤ 13·e^-13 < 3e-5·|x|/13; |x| ≤ maxAbs (default 1024)
 * Opens:     x̂ = x + r, the truncation's masked value
 * Steps:     1. piecewiseLinear(siluDesign): compare against every knot in one round
 *            2. truncate to fracBits
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { designPiecewise, type PiecewiseDesign } from './piecewise-design';
import { piecewiseLinear, piecewiseLinearCost } from './piecewise-linear';

export interface SiluOptions {
  /** Largest |x| the caller guarantees (sets the comparison width). */
  readonly maxAbs?: number;
  /** Design tolerance (abs) on [−13, 13]; default 3e-3. Tighter means more knots (local work, DCF payload), same rounds. */
  readonly tol?: number;
}

export const siluFloat = (x: number): number => x / (1 + Math.exp(-x));

export function siluDesign(fracBits: number, opts: SiluOptions = {}): PiecewiseDesign {
  const maxAbs = opts.maxAbs ?? 1024, tol = opts.tol ?? 3e-3;
  return designPiecewise(
    {
      key: `silu-${maxAbs}-${tol}`,
      f: siluFloat,
      tol: () => tol,
      lo: -13,
      hi: 13,
      maxAbs,
      below: { x0: 0, y0: 0, slope: 0 },
      above: { x0: 0, y0: 0, slope: 1 },
    },
    fracBits,
    fracBits,
  );
}

export async function silu(ctx: PartyContext, x: RingTensor, opts: SiluOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('silu', () => piecewiseLinear(ctx, x, siluDesign(ctx.fracBits, opts)));
}

export const siluCost = (n: number, fracBits = 12, opts: SiluOptions = {}) => piecewiseLinearCost(n, siluDesign(fracBits, opts));

/**
 * rsqrt — (scale·x + eps)^(−1/2) for shared x ≥ 0 (variances, or sums of squares with the 1/n and
 * the eps folded in), as a piecewise-linear function on geometrically spaced knots; the output
 * groups are truncated by their own shifts (see piecewise-design.ts).
 *
 * Rounds:    2   (one comparison round against all knots; one fused round of G truncations)
 * Online:    8 + 8·G B/elem sent per party; rsqrtCost(n, …) is exact
 * Offline:   one DCF key per element (n = k − 1, m = 2) + 16 B, plus G truncation pairs
 * Accuracy:  ≤ 2e-3 relative for scale·x in [lo, hi] (default [1e-3, 1e4]; design bound 8e-4
 *            relative + rounding + 1 ulp of the output), against the exact function of the
 *            fixed-point input. Pass a high inFracBits (e.g. 2·fracBits for an untruncated sum of
 *            squares) so that small variances are represented to better than 1e-3.
 * Opens:     x̂ = x + r; each group's masked truncation value
 * Steps:     1. piecewiseLinear(rsqrtDesign): compare x with every knot in one round (local sums)
 *            2. truncate the groups to outFracBits in one fused round, add
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { designPiecewise, type PiecewiseDesign } from './piecewise-design';
import { piecewiseLinear, piecewiseLinearCost } from './piecewise-linear';

export interface RsqrtOptions {
  /** Range of scale·x where the accuracy holds (defaults 1e-3, 1e4). */
  readonly lo?: number;
  readonly hi?: number;
  /** Computes (scale·x + eps)^(−1/2) (defaults 1 and 0). */
  readonly scale?: number;
  readonly eps?: number;
  /** Input and output scales (defaults 2·fracBits and fracBits + 8). */
  readonly inFracBits?: number;
  readonly outFracBits?: number;
  /** Relative design tolerance (default 8e-4; the norms use 1.5e-4: ≈ 2× the knots). */
  readonly tol?: number;
}

interface Resolved {
  lo: number;
  hi: number;
  scale: number;
  eps: number;
  inF: number;
  outF: number;
  tol: number;
}

function resolve(fracBits: number, o: RsqrtOptions): Resolved {
  return {
    lo: o.lo ?? 1e-3,
    hi: o.hi ?? 1e4,
    scale: o.scale ?? 1,
    eps: o.eps ?? 0,
    inF: o.inFracBits ?? 2 * fracBits,
    outF: o.outFracBits ?? fracBits + 8,
    tol: o.tol ?? 8e-4,
  };
}

export function rsqrtDesign(fracBits: number, opts: RsqrtOptions = {}): PiecewiseDesign {
  const { lo, hi, scale, eps, inF, outF, tol } = resolve(fracBits, opts);
  const f = (x: number) => 1 / Math.sqrt(Math.max(scale * x + eps, 1e-300));
  // knots in x units; with eps > 0 the function is smooth down to x = 0
  const kLo = eps > 0 ? 0 : lo / scale / 2, kHi = (1.5 * hi) / scale;
  return designPiecewise(
    { key: `rsqrt-${lo}-${hi}-${scale}-${eps}-${tol}`, f, tol: (x) => tol * f(x), lo: kLo, hi: kHi, maxAbs: 2 * kHi },
    inF,
    outF,
  );
}

export async function rsqrt(ctx: PartyContext, x: RingTensor, opts: RsqrtOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('rsqrt', () => piecewiseLinear(ctx, x, rsqrtDesign(ctx.fracBits, opts)));
}

export const rsqrtCost = (n: number, fracBits = 12, opts: RsqrtOptions = {}) => piecewiseLinearCost(n, rsqrtDesign(fracBits, opts));

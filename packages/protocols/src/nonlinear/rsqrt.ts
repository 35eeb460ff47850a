/**
 * rsqrt — (scale·x + eps)^(−1/2) for shared x ≥ 0 (variances, or sums of squares with the 1/n and the
 * eps folded in): normalise w = scale·x + eps by its octave 2^e in one comparison round, a degree-4
 * polynomial of the mantissa m ∈ [1, 2), times c = 2^(−e/2) folded into one product (normalized-power.ts).
 *
 * Rounds:    4   (normalise; powers of m; c·trunc(p(m)); final truncation)
 * Online:    40 B/elem sent per party; rsqrtCost(n, …) is exact
 * Offline:   one DCF key per element (n = k − 1, m = 2) to each party + ≈ 0.1 KB of dealer terms to P0;
 *            one comparison per octave of [max(lo, eps), hi] (24 at the defaults, 30 for the norms),
 *            evaluated locally — the norms call it once per row
 * Accuracy:  ≤ 2e-3 relative for scale·x + eps in [lo, hi] (default [1e-3, 1e4]; fit 7.4e-5 on the
 *            fuzz-widened octave + mantissa truncation 2^-13 + output ulp), asserted in tests against
 *            the exact function of the fixed-point input. Pass a high inFracBits (e.g. 2·fracBits for
 *            an untruncated sum of squares) so that small variances are represented to better than 1e-3.
 * Opens:     masked values only
 * Steps:     normalizedPower with p = −1/2
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import {
  designNormalizedPower, normalizedPower, normalizedPowerCost, normalizedPowerScale, normalizedPowerUntruncated, normalizedPowerUntruncatedCost,
  type NormPowerDesign,
} from './normalized-power';

export interface RsqrtOptions {
  /** Range of scale·x + eps where the accuracy holds (defaults 1e-3, 1e4). */
  readonly lo?: number;
  readonly hi?: number;
  /** Computes (scale·x + eps)^(−1/2) (defaults 1 and 0). */
  readonly scale?: number;
  readonly eps?: number;
  /** Input and output scales (defaults 2·fracBits and fracBits + 8). */
  readonly inFracBits?: number;
  readonly outFracBits?: number;
  /**
   * Accepted for compatibility with the former piecewise-linear design (its knot tolerance); the
   * octave design does not depend on it (fit 7.4e-5 relative).
   */
  readonly tol?: number;
}

export function rsqrtDesign(fracBits: number, opts: RsqrtOptions = {}): NormPowerDesign {
  return designNormalizedPower({
    power: -0.5,
    inF: opts.inFracBits ?? 2 * fracBits,
    outF: opts.outFracBits ?? fracBits + 8,
    scale: opts.scale ?? 1,
    eps: opts.eps ?? 0,
    lo: opts.lo ?? 1e-3,
    hi: opts.hi ?? 1e4,
    stepBits: 1,
    newton: 0,
    sharp: 2 ** -10,
  });
}

export async function rsqrt(ctx: PartyContext, x: RingTensor, opts: RsqrtOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('rsqrt', () => normalizedPower(ctx, x, rsqrtDesign(ctx.fracBits, opts)));
}

export const rsqrtCost = (n: number, fracBits = 12, opts: RsqrtOptions = {}) => normalizedPowerCost(n, rsqrtDesign(fracBits, opts));

/**
 * rsqrt without its final truncation (3 rounds): the value at 2^scale, scale ≥ outFracBits, for a
 * caller that folds the truncation into its next product (the norms: mulBroadcastFolded).
 */
export async function rsqrtUntruncated(ctx: PartyContext, x: RingTensor, opts: RsqrtOptions = {}): Promise<{ value: RingTensor; scale: number }> {
  return ctx.ledger.scope('rsqrt', () => normalizedPowerUntruncated(ctx, x, rsqrtDesign(ctx.fracBits, opts)));
}

export const rsqrtUntruncatedCost = (n: number, fracBits = 12, opts: RsqrtOptions = {}) => normalizedPowerUntruncatedCost(n, rsqrtDesign(fracBits, opts));
export const rsqrtUntruncatedScale = (fracBits: number, opts: RsqrtOptions = {}) => normalizedPowerScale(rsqrtDesign(fracBits, opts));

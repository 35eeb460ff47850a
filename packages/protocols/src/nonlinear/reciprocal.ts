/**
 * reciprocal — 1/x for shared x in [1, maxValue] (softmax denominators), as a piecewise-linear
 * function on geometrically spaced knots (≈ 13.6 knots per octave), each output group truncated by
 * its own shift so that tiny slopes keep their precision.
 *
 * Rounds:    2   (one comparison round against all knots; one fused round of G truncations)
 * Online:    8 + 8·G B/elem sent per party (G = 2–3); reciprocalCost(n, …) is exact
 * Offline:   one DCF key per element (n = k − 1, m = 2; k ≈ 28 at the defaults) + 16 B, plus G
 *            truncation pairs — reciprocalCost(n, …).offlineBytes
 * Accuracy:  ≤ 1e-3 relative on [1, maxValue] (design bound 4e-4 relative + rounding + 1 ulp of
 *            the output scale), asserted in tests against 1/x of the fixed-point input. The output
 *            is at outFracBits (default 2·fracBits) because 1/4096 has only one ulp at 2^-12.
 *            Inputs must lie in (0, 2·maxValue]; below 0.75 the first line is extrapolated.
 * Opens:     x̂ = x + r; each group's masked truncation value
 * Steps:     1. piecewiseLinear(reciprocalDesign): compare x with every knot in one round,
 *               accumulate each group's active line  (local)
 *            2. truncate the groups to outFracBits in one fused round, add
 * Why not Newton/Goldschmidt: every iteration is a dependent product (2 rounds with its
 * truncation); the knots cost only local DCF evaluations (≈ 14 per octave per element).
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { designPiecewise, type PiecewiseDesign } from './piecewise-design';
import { piecewiseLinear, piecewiseLinearCost } from './piecewise-linear';

export interface ReciprocalOptions {
  /** Largest x (default 4096). */
  readonly maxValue?: number;
  /** Scale of the input (default ctx.fracBits); softmax passes its exp sums at a higher scale. */
  readonly inFracBits?: number;
  /** Scale of the output (default 2·ctx.fracBits). */
  readonly outFracBits?: number;
}

/** The approximation for input scale inF and output scale outF. */
export function reciprocalDesign(inF: number, outF: number, maxValue = 4096): PiecewiseDesign {
  return designPiecewise(
    { key: `reciprocal-${maxValue}`, f: (x) => 1 / x, tol: (x) => 4e-4 / x, lo: 0.75, hi: 1.25 * maxValue, maxAbs: 2 * maxValue },
    inF,
    outF,
  );
}

function scales(fracBits: number, opts: ReciprocalOptions): [number, number, number] {
  return [opts.inFracBits ?? fracBits, opts.outFracBits ?? 2 * fracBits, opts.maxValue ?? 4096];
}

export async function reciprocal(ctx: PartyContext, x: RingTensor, opts: ReciprocalOptions = {}): Promise<RingTensor> {
  const [inF, outF, maxValue] = scales(ctx.fracBits, opts);
  return ctx.ledger.scope('reciprocal', () => piecewiseLinear(ctx, x, reciprocalDesign(inF, outF, maxValue)));
}

export const reciprocalCost = (n: number, fracBits = 12, opts: ReciprocalOptions = {}) =>
  piecewiseLinearCost(n, reciprocalDesign(...scales(fracBits, opts)));

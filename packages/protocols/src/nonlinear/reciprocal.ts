/**
 * reciprocal — 1/x for shared x in [1, maxValue] (softmax denominators): normalise x by its segment
 * 2^(stepBits·e) in one comparison round, a degree-4 polynomial of the mantissa, Newton steps when the
 * segments are wider than an octave, and the exact factor 2^(−stepBits·e) folded into the last product
 * (normalized-power.ts).
 *
 * Rounds:    7 at the default stepBits = 3 (segments 8^e: 4 comparisons per element for [1, 4096],
 *            2 Newton steps); 5 with stepBits 2 (1 Newton step); 4 with stepBits 1 (12 comparisons,
 *            no Newton: softmax uses it, its denominators are one per row); 3 with stepBits 1 and
 *            `exactOut` (outFracBits ≥ 16 + log2(2·maxValue): no final truncation)
 * Online:    96 B/elem sent per party at the defaults (40 B at stepBits 1); reciprocalCost exact
 * Offline:   one DCF key per element (n = 17 levels at the defaults, m = 2) to each party plus ≈ 0.2 KB
 *            of dealer terms to P0: ≈ 1.35 KB/elem (≈ 1.76 KB at stepBits 1: n = 25; the piecewise-linear
 *            version: one n = 27 key evaluated at 160 knots per element, keygen ≈ a minute for 16384)
 * Local:     4 DCF evaluations of 16 levels per element and party at the defaults
 * Accuracy:  ≤ 1e-3 relative on [1, maxValue] (asserted in tests against 1/x of the fixed-point
 *            input; fit 7e-2 → 5e-3 → 2.5e-5 after two Newton steps at stepBits 3, 3e-4 without
 *            Newton at stepBits 1, plus 2^-24-level truncations and 1 ulp of the output). The output
 *            is at outFracBits (default 2·fracBits: 1/4096 has one ulp at 2^-12). Inputs in
 *            [1, 2·maxValue); outside, the polynomial extrapolates.
 * Opens:     masked values only (normalized-power.ts)
 * Steps:     normalizedPower with p = −1, w = x (scale 1, eps 0)
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { designNormalizedPower, normalizedPower, normalizedPowerCost, type NormPowerDesign } from './normalized-power';

export interface ReciprocalOptions {
  /** Largest x (default 4096). */
  readonly maxValue?: number;
  /** Scale of the input (default ctx.fracBits); softmax passes its exp sums at a higher scale. */
  readonly inFracBits?: number;
  /** Scale of the output (default 2·ctx.fracBits). */
  readonly outFracBits?: number;
  /** Segment width 2^stepBits (1–3, default 3): fewer comparisons (local work), more rounds. */
  readonly stepBits?: 1 | 2 | 3;
  /** stepBits 1 only: the product with the segment factor lands at outFracBits, 3 rounds (normalized-power.ts). */
  readonly exactOut?: boolean;
}

const SHARP = [0, 2 ** -10, 1 / 32, 1 / 16];

/** The normalisation design for input scale inF and output scale outF. */
export function reciprocalDesign(inF: number, outF: number, maxValue = 4096, stepBits: 1 | 2 | 3 = 3, exactOut = false): NormPowerDesign {
  if (!(maxValue >= 1)) throw new RangeError(`reciprocal: maxValue must be ≥ 1, got ${maxValue}`);
  return designNormalizedPower({ power: -1, inF, outF, scale: 1, eps: 0, lo: 1, hi: 2 * maxValue, stepBits, newton: stepBits - 1, sharp: SHARP[stepBits], ...(exactOut ? { exactOut } : {}) });
}

function designOf(fracBits: number, opts: ReciprocalOptions): NormPowerDesign {
  return reciprocalDesign(opts.inFracBits ?? fracBits, opts.outFracBits ?? 2 * fracBits, opts.maxValue ?? 4096, opts.stepBits ?? 3, opts.exactOut === true);
}

export async function reciprocal(ctx: PartyContext, x: RingTensor, opts: ReciprocalOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('reciprocal', () => normalizedPower(ctx, x, designOf(ctx.fracBits, opts)));
}

export const reciprocalCost = (n: number, fracBits = 12, opts: ReciprocalOptions = {}) => normalizedPowerCost(n, designOf(fracBits, opts));

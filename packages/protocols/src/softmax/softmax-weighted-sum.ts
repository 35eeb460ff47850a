/**
 * softmaxWeightedSum — softmax(x)·V without forming the probabilities: weigh V by the numerators
 * e = exp(x − m) and divide each OUTPUT row by s = Σe once, the weighing running beside the
 * reciprocal (attention's P·V when no cache policy reads P).
 *
 * Rounds:    ⌈log2 L⌉ + 7 (softmaxNumerators) + max(weigh + 1, 3) + 2
 *            = ⌈log2 L⌉ + 12 for a weighing of ≤ 2 rounds (softmaxRows + P·V: ⌈log2 L⌉ + 14)
 * Online:    the numerators' 8 (max) + 64 (exp) B per unmasked element, the weighing's own bytes
 *            (P·V's: 8 B per element), ≈ 40 B per row and 24 B per output element (softmaxRows + P·V:
 *            16 B more per attended element, the product e·(1/s) and its truncation);
 *            softmaxWeightedSumCost exact
 * Offline:   the numerators' and the reciprocal's as softmaxRows, plus a broadcast triple and two
 *            truncation masks per OUTPUT element instead of per attended element
 * Accuracy:  as softmaxRows followed by an exact P·V: e at fracBits carries ±1 ulp per term (the
 *            probabilities of softmaxRows carry the same), the row sums are those of the same e, so the
 *            weights sum to one up to 1/s's relative 3e-4 (fit); the weighted sum is truncated to
 *            fracBits before the division (±1 ulp/s). Needs |out| < 2^(26 − fracBits) (2^10 at f = 16)
 *            and |weigh(e)| < 2^62 at its scale
 * Opens:     those of softmaxNumerators, weigh, reciprocal, mulBroadcast and two truncPr (all masked)
 * Steps:     1. e = exp(x − m) at fracBits, s = Σe (softmaxNumerators)             ⌈log2 L⌉ + 7 rounds
 *            2. in parallel (fuseRounds): w = truncPr(weigh(e), weighFracBits − f)  weigh + 1 rounds
 *                                         y = 1/s at 2^36 (exactOut: no truncation)          3 rounds
 *            3. out = truncPr(w·y per row, f + 36 − outFracBits)                             2 rounds
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { fuseRounds } from '../engine/fuse-rounds';
import { mulBroadcast, mulBroadcastCost } from '../nonlinear/mul-broadcast';
import { fusedCosts, sumCosts, type FormulaCost } from '../engine/formula-cost';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';
import {
  reciprocalOfSums, reciprocalOfSumsCost, softmaxNumerators, softmaxNumeratorsCost, type SoftmaxOptions,
} from './softmax-rows';

/**
 * Scale of 1/s: wide enough that the reciprocal's segment product lands on it (3 rounds, ≥ 20 bits
 * of mantissa for L ≤ 2^14), narrow enough for the product w·(1/s) at f + 36 (|out| < 2^(26 − f)).
 */
const Y_SCALE = 36;

export interface WeightedSumOptions extends SoftmaxOptions {
  /** Scale of weigh's result (default 2·fracBits: e at fracBits times values at fracBits). */
  readonly weighFracBits?: number;
  /** Scale of the output (default fracBits; attention asks for 2·fracBits). */
  readonly outFracBits?: number;
}

/** The numerators e (x's shape, at fracBits) → Σ_j e_ij·V_j, (rows, d) in some shape; may open. */
export type Weigh = (ctx: PartyContext, e: RingTensor) => Promise<RingTensor>;

function scales(fracBits: number, opts: WeightedSumOptions) {
  const weighF = opts.weighFracBits ?? 2 * fracBits, outF = opts.outFracBits ?? fracBits;
  if (!(weighF >= fracBits && outF <= fracBits + Y_SCALE)) {
    throw new RangeError(`softmaxWeightedSum: weighFracBits ${weighF} must be ≥ fracBits ${fracBits}, outFracBits ${outF} ≤ ${fracBits + Y_SCALE}`);
  }
  return { weighShift: weighF - fracBits, outShift: fracBits + Y_SCALE - outF };
}

/** softmax(x) over the last axis, weighed by `weigh` and divided per row; returns weigh's shape. */
export async function softmaxWeightedSum(ctx: PartyContext, x: RingTensor, weigh: Weigh, opts: WeightedSumOptions = {}): Promise<RingTensor> {
  const f = ctx.fracBits, { weighShift, outShift } = scales(f, opts);
  return ctx.ledger.scope('softmaxWeightedSum', async () => {
    const num = await softmaxNumerators(ctx, x, opts, f);
    const [w, y] = await fuseRounds(ctx, [
      async (c: PartyContext) => truncPr(c, await weigh(c, num.e), weighShift),
      (c: PartyContext) => reciprocalOfSums(c, num, opts, Y_SCALE),
    ]);
    const d = w.data.length / num.rows;
    if (!Number.isInteger(d)) throw new ShapeError(`softmaxWeightedSum: weigh returned ${w.data.length} elements for ${num.rows} rows`);
    const p = await mulBroadcast(ctx, { shape: [num.rows, d], data: w.data }, y, null);
    const out = await truncPr(ctx, p, outShift);
    return { shape: [...w.shape], data: out.data };
  });
}

/** Exact cost (offline: both parties) for (rows, L) → (rows, d), given weigh's own exact cost. */
export function softmaxWeightedSumCost(rows: number, L: number, d: number, weighCost: FormulaCost, fracBits = 12, opts: WeightedSumOptions = {}): FormulaCost {
  const { weighShift, outShift } = scales(fracBits, opts);
  const branchA = sumCosts([weighCost, truncPrCost(rows * d, weighShift)]);
  const branchB = reciprocalOfSumsCost(rows, L, fracBits, opts, fracBits, Y_SCALE);
  return sumCosts([
    softmaxNumeratorsCost(rows, L, fracBits, opts, fracBits), fusedCosts([branchA, branchB]),
    mulBroadcastCost(rows, d, true, false), truncPrCost(rows * d, outShift),
  ]);
}

/**
 * piecewiseLinear — y ≈ f(x) by a designed piecewise-linear function (piecewise-design.ts) on shares:
 * one comparison round against every knot at once, then one (fused) truncation round.
 *
 * Rounds:    2   (compareThresholds; then the G group truncations fused into one round)
 * Online:    8 + 8·G B/elem sent per party (G = groups whose scale exceeds the output scale)
 * Offline:   compareThresholds' DCF key (n = k − 1, m = 2) + G truncation pairs per element
 * Accuracy:  |y − f(x)| ≤ tol(x) (the design's bound, checked in float64 over 20 000 points) plus
 *            per-group rounding ≤ tol/20 plus 1 ulp of the output (probabilistic truncation);
 *            x must satisfy |x| ≤ design maxAbs
 * Opens:     x̂ = x + r (compareThresholds), the truncations' masked values
 * Steps:     1. compareThresholds: [b_c] = [x ≥ C_c] and [b_c·x] for every knot C_c
 *            2. per group g (local): Y_g = c0 + c1·X + Σ_c p_c·b_c + q_c·(b_c·X)  (scale 2^{S_g})
 *               — exactly P_j + Q_j·X for the active segment j of group g, and 0 in other groups
 *            3. truncate every Y_g to outFracBits in ONE fused round, and add
 * Why groups: a single scale cannot hold both the largest outputs (|Y| < 2^61) and the tiny slopes
 * of the flat parts (1/x near 4096 has slope 2^-24); a group is truncated by its own shift.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { fuseRounds } from '../engine/fuse-rounds';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';
import type { PiecewiseDesign } from './piecewise-design';
import { compareThresholds, compareThresholdsCost } from './threshold-compare';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export async function piecewiseLinear(ctx: PartyContext, x: RingTensor, d: PiecewiseDesign): Promise<RingTensor> {
  if (x.data.length === 0) return { shape: [...x.shape], data: new BigUint64Array(0) };
  return ctx.ledger.scope('piecewiseLinear', async () => {
    const n = x.data.length, G = d.groups.length, p0 = ctx.party === 0;
    const Y = d.groups.map((g) => {
      const y = new BigUint64Array(n);
      for (let i = 0; i < n; i++) y[i] = asUintN(64, g.c1 * x.data[i] + (p0 ? g.c0 : 0n));
      return y;
    });
    // 1–2. one comparison round, accumulate every group's line
    await compareThresholds(ctx, x, d.thresholds, d.compareBits, (c, i, b, bx) => {
      for (let g = 0; g < G; g++) {
        const grp = d.groups[g];
        Y[g][i] = asUintN(64, Y[g][i] + grp.p[c] * b + grp.q[c] * bx);
      }
    });
    // 3. truncate each group to the output scale (one fused round), add
    const out = new BigUint64Array(n);
    const branches = [] as ((c: PartyContext) => Promise<RingTensor>)[];
    d.groups.forEach((g, j) => {
      const shift = g.scale - d.outFracBits;
      const yg: RingTensor = { shape: [n], data: Y[j] };
      if (shift > 0) branches.push((c) => truncPr(c, yg, shift));
      else addInto(out, Y[j], BigInt(-shift));
    });
    const parts = await fuseRounds(ctx, branches);
    for (const p of parts) addInto(out, p.data, 0n);
    return { shape: [...x.shape], data: out };
  });
}

function addInto(out: BigUint64Array, y: BigUint64Array, leftShift: bigint): void {
  for (let i = 0; i < out.length; i++) out[i] = asUintN(64, out[i] + (y[i] << leftShift));
}

/** Truncation shifts of the groups whose scale exceeds the output scale. */
export const groupShifts = (d: PiecewiseDesign): number[] =>
  d.groups.map((g) => g.scale - d.outFracBits).filter((s) => s > 0);

/** Exact cost of piecewiseLinear on `count` elements with design d (offline: both parties). */
export function piecewiseLinearCost(count: number, d: PiecewiseDesign) {
  const cmp = compareThresholdsCost(count, d.compareBits), shifts = groupShifts(d);
  return {
    rounds: cmp.rounds + (shifts.length > 0 ? 1 : 0),
    bytesSent: cmp.bytesSent + 8 * count * shifts.length,
    offlineBytes: shifts.reduce((a, s) => a + truncPrCost(count, s).offlineBytes, cmp.offlineBytes),
  };
}

/**
 * gumbelNoise — shares of T·g for i.i.d. standard Gumbel g, drawn by the dealer, for sampling by the
 * Gumbel-max trick: argmax_i (l_i + T·g_i) is distributed as softmax(l / T). Added to shared logits
 * (local), it turns the secure greedy argmax into temperature sampling with no extra round.
 *
 * Rounds:    0
 * Online:    0 B (the noise is material; adding it is local)
 * Offline:   8 B per element to P0 (a derived value; P1's share comes from its seed)
 * Accuracy:  g = −ln(−ln u) with u uniform on (0, 1) at 2^−53 resolution, clipped to [−4, 20]
 *            (P(g < −4) = e^(−e^4) ≈ 2e−24, P(g > 20) ≈ 2e−9 per element), then T·g rounded to the
 *            logits' scale 2^−fracBits. |T·g| ≤ 20·T must fit the argmax's key range (the caller's).
 * Opens:     nothing. The dealer knows the noise but never sees the logits or the token.
 * Steps:     dealer: u from its private stream, v = round(T·g·2^fracBits) mod 2^64, shared as
 *            derived(v); parties: their shares.
 */
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0 } from '../dealer/dealer-bytes';
import { derivedWork, drawWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';

const { asUintN } = BigInt;

export interface GumbelNoiseParams {
  readonly count: number;
  /** Sampling temperature T (0 < T ≤ 100). */
  readonly temperature: number;
  /** Scale of the logits the noise is added to (0 ≤ fracBits ≤ 40). */
  readonly fracBits: number;
}

/** Clipping range of g (header). */
export const GUMBEL_MIN = -4;
export const GUMBEL_MAX = 20;
export const MAX_TEMPERATURE = 100;

function validateGumbelParams(p: unknown): GumbelNoiseParams {
  if (typeof p !== 'object' || p === null) throw new TypeError('gumbelNoise params: expected { count, temperature, fracBits }');
  const { count, temperature, fracBits } = p as Record<string, unknown>;
  validateCount(count);
  if (typeof temperature !== 'number' || !(temperature > 0 && temperature <= MAX_TEMPERATURE)) {
    throw new RangeError(`gumbelNoise: temperature expected a number in (0, ${MAX_TEMPERATURE}]`);
  }
  if (typeof fracBits !== 'number' || !Number.isInteger(fracBits) || fracBits < 0 || fracBits > 40) {
    throw new RangeError('gumbelNoise: fracBits expected an integer in [0, 40]');
  }
  return { count: count as number, temperature, fracBits };
}

/** One standard Gumbel sample from a uniform 64-bit word, clipped to [GUMBEL_MIN, GUMBEL_MAX]. */
export function gumbelFromWord(w: bigint): number {
  const u = (Number(w >> 11n) + 0.5) / 2 ** 53; // in (0, 1)
  return Math.min(GUMBEL_MAX, Math.max(GUMBEL_MIN, -Math.log(-Math.log(u))));
}

// work: the dealer's private words and the derived noise (its logarithms are covered by the noise's words)
export const gumbelNoise = defineCorrelation('gumbelNoise', validateGumbelParams, (p) => bytesToP0(8 * p.count), (p) => drawWork(p.count) + derivedWork(p.count), (g, p: GumbelNoiseParams) =>
  g.derived(p.count, () => {
    const w = g.dealerPrivate(p.count)!, out = new BigUint64Array(p.count), scale = p.temperature * 2 ** p.fracBits;
    for (let i = 0; i < p.count; i++) out[i] = asUintN(64, BigInt(Math.round(gumbelFromWord(w[i]) * scale)));
    return out;
  }).share,
);

/**
 * Truncated sampling on shares: top-k and top-p (nucleus within the top k), both by the Gumbel-max
 * trick on the kept set — the token is the argmax of logits + T·g over the kept tokens, with g the
 * dealer's shared Gumbel noise (Generator adds it: `noisy`). K, p and T are public.
 *
 * topKToken: topK (oblivious shuffle + quick-select with sampled pivots; its revealed comparisons are
 *   of shuffled items) carries each item's noisy logit along; argmaxPacked then ranks the k noisy
 *   logits with their secret vocabulary ids packed into the keys.
 *   Rounds:   topK's (2 + 2 per quick-select step, data-dependent in number) + ⌈log2 k⌉ + 1
 *   Online:   topK's at bits = logitFracBits + LOGIT_MAX_BITS + 2 + ⌈log2 V⌉ (≈ 38K comparisons for
 *             the top 40 of 32,000), then 8 B per comparison of the k-way argmax, 2 B for the one-hot
 *   Accuracy: the kept set is the exact top k of the fixed-point logits (ties: the lower id); the
 *             argmax's resolution is greedyToken's
 * topPToken: the same top k, sorted (descending); then within it the smallest prefix whose
 *   probability mass softmax(l/T) reaches p (the token that crosses p is kept, as in common
 *   implementations):
 *     d_j = l_j − l_0 ≤ 0 (local: l_0 is the sorted maximum), d'_j = max(d_j, −14T)       relu, 1 round
 *     e_j = exp(d'_j / T) (d'·round(2^G/T) at scale s + G, so |x| ≤ 14 at any T)           expClipped, 7
 *     keep_j = [2^16·Σ_{i<j} e_i < round(p·2^16)·Σ_i e_i]                                  1 round (DCF)
 *     token = argmax_j (d'_j + T·g_j − 40T·(1 − keep_j)) with the ids packed               ⌈log2 k⌉ rounds
 *   Rounds:   sorted topK's + 1 + 7 + 1 + ⌈log2 k⌉ + 1 (one-hot)
 *   Accuracy: exp within 2.5e-4 relative: a prefix whose mass is within that of p may go either
 *             way. Tokens more than 14·T below the top count as e^−14 (≈ 8e-7) of the top's
 *             probability, in the mass and in the argmax (d' clamps them).
 * Opens:     topK's comparison bits of shuffled items (simulatable); otherwise masked values only.
 * Costs:     topKTokenCost / topPTokenCost, exact given the quick-select steps the run reports
 *            (`stepComparisons`, public: they follow the revealed bits).
 */
import type { RingTensor } from '@mpcache/mpc-core';
import {
  argmaxPacked, argmaxPackedCost, dcfLessThanZero, dcfLessThanZeroCost, expClipped, expClippedCost, indexBits, MAX_TEMPERATURE, oneHotCost,
  relu, reluCost, topK, topKCost, type PartyContext, type TopKOptions,
} from '@mpcache/protocols';
import { argmaxRange, LOGIT_MAX_BITS, ARGMAX_RESOLUTION_BITS, tokenFromIndex } from './secure-nonlinear';

const { asUintN } = BigInt;

/**
 * A session's sampling parameters (public): temperature T (0 or absent: greedy decoding), topK (the
 * k largest logits only, with T > 0), topP (the nucleus within the top k, with topK).
 */
export interface SamplingParams {
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
}

/**
 * What is wrong with `p`, or undefined: T a number in [0, MAX_TEMPERATURE]; topK an integer in
 * [1, maxTopK] and only with T > 0; topP a number in (0, 1] and only with topK. The one rule of every
 * boundary (Generator, the wire, the SDK, the CLI); each throws its own error class with this message.
 */
export function samplingProblem(p: SamplingParams, maxTopK: number): string | undefined {
  const shown = (x: unknown) => (typeof x === 'number' ? x : typeof x); // never echo a long string
  const T = p.temperature ?? 0, k = p.topK, q = p.topP;
  if (typeof T !== 'number' || !(T >= 0 && T <= MAX_TEMPERATURE)) return `"temperature" expected a number in [0, ${MAX_TEMPERATURE}], got ${shown(T)}`;
  if (k !== undefined && !(Number.isInteger(k) && k >= 1 && k <= maxTopK)) return `"topK" expected an integer in [1, ${maxTopK}], got ${shown(k)}`;
  if (k !== undefined && T === 0) return '"topK" needs a temperature > 0 (greedy decoding ignores it)';
  if (q !== undefined && !(typeof q === 'number' && q > 0 && q <= 1)) return `"topP" expected a number in (0, 1], got ${shown(q)}`;
  if (q !== undefined && k === undefined) return '"topP" needs "topK": the nucleus is taken within the top k';
  return undefined;
}

/** Quick-select's sample for truncated sampling (quick-select.ts sampled pivots: k ≪ vocabulary). */
export const TOP_K_SAMPLE = 64;
/** topPToken: d is clamped at −CLAMP·T (e^−14 ≈ 8e-7, expClipped's default clip). */
const CLAMP = 14;
/** topPToken's exp input scale s + G is at most this (|x| ≤ 14·2^52 fits the comparison width). */
const EXP_SCALE = 52;

export interface SampledToken {
  readonly id: RingTensor;
  readonly oneHot: RingTensor;
  /** The top-k's quick-select steps (public; they fix the exact cost). */
  readonly stepComparisons: readonly number[];
}

/** Exact cost: rounds, bytes sent by P0 and by P1, dealer bytes to both. */
export interface SamplingCost { rounds: number; bytesSentPerParty: [number, number]; offlineBytes: number }

/** topK's comparison width: |logit| < 2^LOGIT_MAX_BITS at scale 2^logitFracBits over V items. */
export function topKSampleBits(logitFracBits: number, V: number): number {
  return logitFracBits + LOGIT_MAX_BITS + 2 + Math.max(1, indexBits(V));
}

/** Top-k sampling (header): `noisy` = logits + T·g, both (1, V) at scale 2^logitFracBits. */
export async function topKToken(
  ctx: PartyContext, logits: RingTensor, noisy: RingTensor, k: number, logitFracBits = ctx.fracBits,
): Promise<SampledToken> {
  const V = logits.shape[logits.shape.length - 1];
  const sel = await topKWithNoise(ctx, logits, noisy, k, logitFracBits, false);
  const { index } = await argmaxPacked(ctx, { shape: [1, k], data: sel.payload!.data }, {
    ...argmaxRange(logitFracBits), indices: { shape: [1, k], data: sel.indices.data }, indexRange: V,
  });
  return { ...(await tokenFromIndex(ctx, index, V)), stepComparisons: sel.stepComparisons };
}

/** Exact cost of topKToken over V logits at scale 2^logitFracBits. */
export function topKTokenCost(V: number, k: number, stepComparisons: readonly number[], logitFracBits: number): SamplingCost {
  return sumCosts(
    topKCost(1, V, k, stepComparisons, topKOptions(logitFracBits, V, false)),
    argmaxPackedCost(1, k, { ...argmaxRange(logitFracBits), indexRange: V }),
    oneHotCost(1, V),
  );
}

/** Top-p (nucleus) sampling within the top k (header); T the temperature that made `noisy`, p in (0, 1]. */
export async function topPToken(
  ctx: PartyContext, logits: RingTensor, noisy: RingTensor, k: number, p: number, T: number, logitFracBits = ctx.fracBits,
): Promise<SampledToken> {
  if (!(p > 0 && p <= 1)) throw new RangeError(`topPToken: p expected a number in (0, 1], got ${p}`);
  const V = logits.shape[logits.shape.length - 1], s = logitFracBits, p0 = ctx.party === 0;
  const sel = await topKWithNoise(ctx, logits, noisy, k, s, true);
  const l = sel.values.data, nz = sel.payload!.data;
  // 1. d'_j = max(l_j − l_0, −14T) = relu(l_j − l_0 + F) − F
  const F = BigInt(Math.round(CLAMP * T * 2 ** s));
  const shifted = new BigUint64Array(k);
  for (let j = 0; j < k; j++) shifted[j] = asUintN(64, l[j] - l[0] + (p0 ? F : 0n));
  const r = await relu(ctx, { shape: [k], data: shifted }, reluBits(s));
  const d = r.data.map((v) => asUintN(64, v - (p0 ? F : 0n)));
  // 2. e_j = exp(d'_j / T): d'·round(2^G / T) at scale s + G
  const G = EXP_SCALE - s, c = BigInt(Math.round(2 ** G / T));
  const e = await expClipped(ctx, { shape: [k], data: d.map((v) => asUintN(64, v * c)) }, EXP_OPTIONS);
  // 3. keep_j = [2^16·(e_0 + … + e_{j−1}) − round(p·2^16)·Σe < 0]
  const P16 = BigInt(Math.round(p * 2 ** 16)), total = e.data.reduce((a, v) => asUintN(64, a + v), 0n);
  const diff = new BigUint64Array(k);
  for (let j = 0, cum = 0n; j < k; cum = asUintN(64, cum + e.data[j]), j++) diff[j] = asUintN(64, (cum << 16n) - P16 * total);
  const keep = await dcfLessThanZero(ctx, { shape: [k], data: diff }, keepBits(ctx.fracBits, k));
  // 4. the argmax of d'_j + T·g_j − 40T·(1 − keep_j), ids packed; range [−58T, 20T] at scale s
  const C = BigInt(Math.round(40 * T * 2 ** s)), v = new BigUint64Array(k);
  for (let j = 0; j < k; j++) v[j] = asUintN(64, nz[j] - l[j] + d[j] - (p0 ? C : 0n) + C * keep.data[j]);
  const { index } = await argmaxPacked(ctx, { shape: [1, k], data: v }, {
    ...topPArgmaxRange(s, T), indices: { shape: [1, k], data: sel.indices.data }, indexRange: V,
  });
  return { ...(await tokenFromIndex(ctx, index, V)), stepComparisons: sel.stepComparisons };
}

/** Exact cost of topPToken (fracBits: the context's, the scale of e). */
export function topPTokenCost(V: number, k: number, T: number, stepComparisons: readonly number[], logitFracBits: number, fracBits: number): SamplingCost {
  return sumCosts(
    topKCost(1, V, k, stepComparisons, topKOptions(logitFracBits, V, true)),
    reluCost(k, reluBits(logitFracBits)),
    expClippedCost(k, fracBits, EXP_OPTIONS),
    dcfLessThanZeroCost(k, keepBits(fracBits, k)),
    argmaxPackedCost(1, k, { ...topPArgmaxRange(logitFracBits, T), indexRange: V }),
    oneHotCost(1, V),
  );
}

const EXP_OPTIONS = { inFracBits: EXP_SCALE, bits: EXP_SCALE + 6, T: CLAMP } as const;
/** relu's width for l_j − l_0 + 14T·2^s: |·| < 2^(s + LOGIT_MAX_BITS + 2). */
const reluBits = (s: number) => s + LOGIT_MAX_BITS + 3;
/** The prefix comparison's width: |2^16·cum − P16·Σe| < 2^(16 + f + ⌈log2 k⌉ + 1). */
const keepBits = (f: number, k: number) => f + 16 + indexBits(k) + 3;

/** topPToken's argmax: differences below 78T, resolution 2^−8·T (the values live on T's scale). */
export function topPArgmaxRange(logitFracBits: number, T: number): { bits: number; resolutionBits: number } {
  const bits = logitFracBits + Math.max(1, Math.ceil(Math.log2(78 * T))) + 1;
  return { bits, resolutionBits: Math.min(bits - 1, Math.max(1, logitFracBits - ARGMAX_RESOLUTION_BITS + Math.floor(Math.log2(T)))) };
}

/** The top k of `logits` (sorted descending with `sorted`), each carrying its noisy logit. */
function topKWithNoise(ctx: PartyContext, logits: RingTensor, noisy: RingTensor, k: number, s: number, sorted: boolean) {
  const V = logits.shape[logits.shape.length - 1];
  return topK(ctx, { shape: [V], data: logits.data }, k, { ...topKOptions(s, V, sorted), payload: { shape: [V, 1], data: noisy.data } });
}

/** topK's options here (the payload's shape only, as topKCost reads it). */
function topKOptions(s: number, V: number, sorted: boolean): TopKOptions {
  return { bits: topKSampleBits(s, V), payload: { shape: [V, 1], data: new BigUint64Array(0) }, sample: TOP_K_SAMPLE, sorted };
}

type PartCost = { rounds: number; offlineBytes: number } & ({ bytesSent: number } | { bytesSentPerParty: [number, number] });

function sumCosts(...parts: PartCost[]): SamplingCost {
  const out: SamplingCost = { rounds: 0, bytesSentPerParty: [0, 0], offlineBytes: 0 };
  for (const p of parts) {
    const [b0, b1] = 'bytesSentPerParty' in p ? p.bytesSentPerParty : [p.bytesSent, p.bytesSent];
    out.rounds += p.rounds;
    out.bytesSentPerParty = [out.bytesSentPerParty[0] + b0, out.bytesSentPerParty[1] + b1];
    out.offlineBytes += p.offlineBytes;
  }
  return out;
}

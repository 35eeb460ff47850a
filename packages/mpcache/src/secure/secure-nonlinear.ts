/**
 * The nonlinear steps of the decoder, bound to the protocols package: norms, softmax, SiLU, GeLU and
 * the greedy argmax. Each function only fixes shapes, scales and ranges for the decoder; the
 * protocols themselves (and their cost formulas and accuracy bounds) live in packages/protocols.
 *
 * Ranges and tolerances chosen here (public, model-independent):
 *   - greedy argmax (argmaxPacked: a max tree over keys logit·2^P + index) assumes |logit| < 2^12
 *     (LOGIT_MAX_BITS), ample for trained models (stories15M's logits stay below 30) and for random
 *     weights, and resolves logits 2^-8 apart (ARGMAX_RESOLUTION_BITS): the token is the exact
 *     argmax of the secure logits whenever the top logit leads by ≥ 2^-8 (≈ 0.004; the logits'
 *     own error against float64 is ≈ 0.02), otherwise one within 2^-8·⌈log2 vocab⌉ of the top.
 *     Coarse keys: n = 23 DCF input bits and m = 2 words instead of n = 31, m = 3 (argmaxTree at
 *     32 bits): 24.6 instead of 41.2 MB to P0 per token for stories15M, 8 instead of 16 B per
 *     comparison online, about half the key evaluation and generation work;
 *   - the logits may come untruncated (scale 2f, the classifier's product): the comparisons do not
 *     need them truncated, which saves the classifier's truncation round (Generator does this);
 *   - the token's one-hot comes from the argmax index through a DPF one-hot (1 round, 2 B per token)
 *     instead of the tree's backward pass (15 more rounds and 16 B per vocabulary entry), and the
 *     exact id shares for the client are Σ_k k·e_k over that one-hot (local).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import {
  argmaxPacked, argmaxPackedCost, gelu, indexBits, layerNorm, layerNormCost, oneHot, oneHotCost, rmsNorm, rmsNormCost, rmsNormOfResidual, rmsNormOfResidualCost,
  siluMul, softmaxRows, softmaxWeightedSum, softmaxWeightedSumCost, sumCosts, type FormulaCost, type PartyContext, type Weigh,
} from '@mpcache/protocols';
import type { ModelConfig } from '../model/config';
import type { PendingResidual } from './secure-blocks';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (protocols engine/words.ts).
const { asUintN } = BigInt;

/** Greedy decoding assumes |logit| < 2^LOGIT_MAX_BITS (differences < 2^13). */
export const LOGIT_MAX_BITS = 12;
/** Greedy decoding ranks logits at a resolution of 2^-ARGMAX_RESOLUTION_BITS. */
export const ARGMAX_RESOLUTION_BITS = 8;

/** True if greedyToken can rank logits at `logitFracBits` over `vocabSize` (packed keys fit 64 bits). */
export function argmaxFits(logitFracBits: number, vocabSize: number): boolean {
  return logitFracBits > ARGMAX_RESOLUTION_BITS && logitFracBits + LOGIT_MAX_BITS + 2 + Math.max(1, indexBits(vocabSize)) + 1 <= 64;
}

/**
 * RMSNorm (llama) or LayerNorm (gpt2) of each row of x (n, dModel) with the shared gain (and bias).
 * `pending` (llama only): a block's output still to join x as x += truncPr(z, shift); the norm folds
 * that truncation into its first round and updates x in place.
 */
export async function normOnShares(
  ctx: PartyContext, c: ModelConfig, x: RingTensor, gain: RingTensor, bias: RingTensor | null,
  pending: PendingResidual | null = null,
): Promise<RingTensor> {
  if (c.family === 'gpt2') return layerNorm(ctx, x, gain, bias!, { eps: c.normEps });
  if (!pending) return rmsNorm(ctx, x, gain, { eps: c.normEps });
  // x += truncPr(z) in the squares' round; x is updated in place (the residual stream)
  const r = await rmsNormOfResidual(ctx, x, pending.z, pending.shift, gain, { eps: c.normEps });
  x.data.set(r.x.data);
  return r.out;
}

/** Exact cost of normOnShares on n rows; `pendingShift`: the pending residual's truncation (llama), if any. */
export function normOnSharesCost(n: number, c: ModelConfig, fracBits: number, pendingShift: number | null = null): FormulaCost {
  const opts = { eps: c.normEps };
  if (c.family === 'gpt2') return layerNormCost(n, c.dModel, fracBits, opts);
  return pendingShift === null ? rmsNormCost(n, c.dModel, fracBits, opts) : rmsNormOfResidualCost(n, c.dModel, pendingShift, fracBits, opts);
}

/**
 * softmaxRows' comparison width for logits at `logitFracBits`: |logit| < 2^15 real either way
 * (32 bits at f = 16; 48 for untruncated scores at 2f = 32).
 */
function softmaxScale(fracBits: number, logitFracBits: number): { bits: number; inFracBits: number } {
  return { bits: 32 + logitFracBits - fracBits, inFracBits: logitFracBits };
}

/**
 * Row-wise softmax over the last axis of (…, L), all rows in one call (one set of rounds). Causal
 * masking is done by the caller with a public filler (secure-attention.ts), not with softmaxRows'
 * `causal` option: its filler −2^16 overflows the 32-bit comparison range at fracBits > 13
 * (measured: every probability wrong at f = 16). The cost is exp work on masked prefill entries.
 * Logits may come untruncated at scale 2f (`logitFracBits`); the probabilities are at f.
 */
export async function softmaxOnShares(ctx: PartyContext, x: RingTensor, logitFracBits = ctx.fracBits): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1], rows = x.data.length / L;
  const p = await softmaxRows(ctx, { shape: [rows, L], data: x.data }, softmaxScale(ctx.fracBits, logitFracBits));
  return { shape: [...x.shape], data: p.data };
}

/**
 * softmax(x)·V over the last axis of (…, L) without the probabilities (softmaxWeightedSum): `weigh`
 * gets the numerators in x's shape at fracBits and returns Σ_j e_j·V_j at 2·fracBits; the result has
 * weigh's shape at 2·fracBits, as attention's P·V.
 */
export function softmaxWeightedSumOnShares(ctx: PartyContext, x: RingTensor, logitFracBits: number, weigh: Weigh): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1], rows = x.data.length / L;
  const opts = { ...softmaxScale(ctx.fracBits, logitFracBits), outFracBits: 2 * ctx.fracBits };
  return softmaxWeightedSum(ctx, { shape: [rows, L], data: x.data }, (c, e) => weigh(c, { shape: [...x.shape], data: e.data }), opts);
}

/** Exact cost of softmaxWeightedSumOnShares on (rows, L) → (rows, d), given weigh's cost. */
export function softmaxWeightedSumOnSharesCost(rows: number, L: number, d: number, weighCost: FormulaCost, fracBits: number, logitFracBits: number): FormulaCost {
  return softmaxWeightedSumCost(rows, L, d, weighCost, fracBits, { ...softmaxScale(fracBits, logitFracBits), outFracBits: 2 * fracBits });
}

/**
 * SiLU design tolerance: the protocol's default 3e-3 alone moves stories15M's logits by 0.16
 * (measured with the plaintext decoder and the same piecewise design, 20 tokens); 3e-4 (11 knots
 * instead of 5 at f = 12–16: more local DCF work, the same rounds and bytes) moves them by 0.021.
 * Floored at 4 ulps so coarse fixed point still has a feasible design.
 */
export const siluTolerance = (fracBits: number): number => Math.max(3e-4, 4 * 2 ** -fracBits);

/** SiLU(x)·q at 2f in SiLU's 2 rounds (SwiGLU: the truncation folded into the gate product). */
export const siluMulOnShares = (ctx: PartyContext, x: RingTensor, q: RingTensor): Promise<RingTensor> => siluMul(ctx, x, q, { tol: siluTolerance(ctx.fracBits) });
export const geluOnShares = (ctx: PartyContext, x: RingTensor): Promise<RingTensor> => gelu(ctx, x);

/**
 * Greedy next token from logits (1, vocabSize) at scale 2^logitFracBits (default fracBits; the
 * Generator passes the untruncated classifier output at 2·fracBits): my share of its id (1) and of
 * its one-hot row (1, vocabSize). Rounds ⌈log2 vocab⌉ + 1.
 */
export async function greedyToken(
  ctx: PartyContext, logits: RingTensor, logitFracBits = ctx.fracBits,
): Promise<{ id: RingTensor; oneHot: RingTensor }> {
  const V = logits.shape[logits.shape.length - 1];
  const { index } = await argmaxPacked(ctx, { shape: [1, V], data: logits.data }, argmaxRange(logitFracBits));
  return tokenFromIndex(ctx, index, V);
}

/** The argmax's signed range and resolution for logits at `logitFracBits` (module header). */
export function argmaxRange(logitFracBits: number): { bits: number; resolutionBits: number } {
  return { bits: logitFracBits + LOGIT_MAX_BITS + 2, resolutionBits: logitFracBits - ARGMAX_RESOLUTION_BITS };
}

/** Exact cost of greedyToken over V logits at `logitFracBits`: the packed argmax, then tokenFromIndex. */
export const greedyTokenCost = (V: number, logitFracBits: number): FormulaCost =>
  sumCosts([argmaxPackedCost(1, V, argmaxRange(logitFracBits)), tokenFromIndexCost(V)]);

/** Exact cost of tokenFromIndex: one DPF one-hot over V slots. */
export const tokenFromIndexCost = (V: number): FormulaCost => oneHotCost(1, V);

/** The token's one-hot row and exact id shares from an index correct mod 2^⌈log2 V⌉ (all the one-hot opens). */
export async function tokenFromIndex(ctx: PartyContext, index: RingTensor, V: number): Promise<{ id: RingTensor; oneHot: RingTensor }> {
  const row = await oneHot(ctx, index, V);
  // exact id shares: Σ_k k·e_k
  let id = 0n;
  for (let k = 1; k < V; k++) id = asUintN(64, id + BigInt(k) * row.data[k]);
  return { id: { shape: [1], data: BigUint64Array.of(asUintN(64, id)) }, oneHot: row };
}

/**
 * The secure transformer's blocks, one function per run.c step, on (rows, width) shares at scale f.
 * Each is the masked-weight product of secure-weights.ts plus the truncations it needs; the
 * nonlinear protocols come in through secure-nonlinear.ts. secure-decoder.ts strings them together.
 *
 * Scales and truncation folding (f = ctx.fracBits; ⟦x⟧ has scale f unless noted):
 *   embedding     oneHot (integers) · tokEmb            → f, exact, no truncation
 *   qkv           xb · wqkv → 2f; RoPE, 1/√headDim, v·2^f → 3f; ONE truncPr by 2f (rope-shares.ts)
 *   attention out P·V (2f, secure-attention.ts) · wo → 3f; truncPr by 2f; residual add (llama: the
 *                 truncation and the add ride in the next RMSNorm's first round, PendingResidual)
 *   ffn (llama)   xb · w13 → 2f; truncPr by f; silu(h1) ⊙ h3 → 2f (siluMul: SiLU's own truncation
 *                 folded into the gate product, untruncated) · w2 → 3f; truncPr by 2f; residual add
 *   ffn (gpt2)    xb · w1 → 2f; truncPr; gelu → f; · w2 → 2f; truncPr by f; residual add
 *   classifier    x · tokEmbᵀ → 2f; truncPr by f (or left at 2f for the greedy argmax, which ranks
 *                 untruncated logits and so saves this round)
 * Folding a truncation into the next product saves its round; the cost is the headroom: a product at
 * 3f must stay below 2^62, i.e. |value| < 2^(62 − 3f) (2^26 at f = 12, 2^14 at f = 16).
 * Costs: each block's exact cost for n rows is its `…Cost(n, c, f)` below, composed from the protocols'
 * formulas (masked products: 8 B per opened activation element, 8 B per output element to P0;
 * truncations: 8 B per element, 8 + ⌈shift/8⌉ B to P0).
 */
import { assertShape, type RingTensor } from '@mpcache/mpc-core';
import { geluCost, maskedMatmul, maskedMatmulCost, siluMulCost, sumCosts, truncPr, truncPrCost, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import { kvDim, type ModelConfig } from '../model/config';
import { rotateQkv, sliceCols } from './rope-shares';
import { geluOnShares, siluMulOnShares, siluTolerance } from './secure-nonlinear';
import { ffnInWidth, qkvWidth, type SecureLayerWeights, type SecureWeights } from './secure-weights';

const { asUintN } = BigInt;

/** Token embeddings (n, dModel) from one-hot rows (n, vocabSize) of 0/1 integers. */
export async function embedTokens(ctx: PartyContext, w: SecureWeights, oneHot: RingTensor): Promise<RingTensor> {
  assertShape(oneHot, [oneHot.shape[0], w.config.vocabSize], 'oneHot');
  return maskedMatmul(ctx, oneHot, w.tokEmb);
}

/** gpt2: x += posEmb[startPos + t] for each row t (public positions: local). */
export function addPositionEmbeddings(w: SecureWeights, x: RingTensor, startPos: number): void {
  if (!w.posEmb) return;
  const D = w.config.dModel, p = w.posEmb.data, d = x.data;
  for (let t = 0; t < x.shape[0]; t++) {
    const src = (startPos + t) * D, dst = t * D;
    for (let i = 0; i < D; i++) d[dst + i] = asUintN(64, d[dst + i] + p[src + i]);
  }
}

/** Queries (pre-scaled by 1/√headDim), keys and values of n rows at positions startPos.., scale f. */
export async function qkvProjection(
  ctx: PartyContext, c: ModelConfig, lw: SecureLayerWeights, xb: RingTensor, startPos: number,
): Promise<{ q: RingTensor; k: RingTensor; v: RingTensor }> {
  const f = ctx.fracBits, D = c.dModel, kvD = kvDim(c);
  const raw = await maskedMatmul(ctx, xb, lw.wqkv); // (n, D + 2·kvD) at 2f
  // RoPE relative positional encoding (llama) and the score scale: local, to 3f
  const qkv = await truncPr(ctx, rotateQkv(raw, c, f, startPos), 2 * f);
  return { q: sliceCols(qkv, 0, D), k: sliceCols(qkv, D, D + kvD), v: sliceCols(qkv, D + kvD, D + 2 * kvD) };
}

/**
 * A block's output z on its way into the residual stream, x += truncPr(z, shift), left to the next
 * norm, which folds the truncation into its own first round (llama: rmsNormOfResidual).
 */
export interface PendingResidual {
  readonly z: RingTensor;
  readonly shift: number;
}

/** x += truncPr(z, shift) in place, or the pending term itself when `defer`. */
async function joinResidual(ctx: PartyContext, x: RingTensor, z: RingTensor, shift: number, defer: boolean): Promise<PendingResidual | null> {
  if (defer) return { z, shift };
  addInPlace(x, await truncPr(ctx, z, shift));
  return null;
}

/** x += truncPr(attn · wo) with attn at scale 2f (in place on x), or pending when `defer`. */
export async function attentionOutput(ctx: PartyContext, lw: SecureLayerWeights, attn: RingTensor, x: RingTensor, defer = false): Promise<PendingResidual | null> {
  return joinResidual(ctx, x, await maskedMatmul(ctx, attn, lw.wo), 2 * ctx.fracBits, defer);
}

/** The hidden activation hb (n, dFf): llama silu(w1·xb) ⊙ (w3·xb) at scale 2f, gpt2 gelu(w1·xb) at f. */
export async function ffnHidden(ctx: PartyContext, c: ModelConfig, lw: SecureLayerWeights, xb: RingTensor): Promise<RingTensor> {
  const h = await truncPr(ctx, await maskedMatmul(ctx, xb, lw.w13));
  if (c.family === 'gpt2') return geluOnShares(ctx, h);
  const h1 = sliceCols(h, 0, c.dFf), h3 = sliceCols(h, c.dFf, 2 * c.dFf);
  return siluMulOnShares(ctx, h1, h3);
}

/** x += truncPr(hb · w2), hb at the scale ffnHidden returns (in place on x), or pending when `defer`. */
export async function ffnOutput(ctx: PartyContext, c: ModelConfig, lw: SecureLayerWeights, hb: RingTensor, x: RingTensor, defer = false): Promise<PendingResidual | null> {
  const shift = (c.family === 'llama' ? 2 : 1) * ctx.fracBits;
  return joinResidual(ctx, x, await maskedMatmul(ctx, hb, lw.w2), shift, defer);
}

/** Logits (n, vocabSize) = truncPr(x · tokEmbᵀ), the tied classifier; `truncate: false` leaves them at 2f. */
export async function classifierLogits(
  ctx: PartyContext, w: SecureWeights, x: RingTensor, opts: { truncate?: boolean } = {},
): Promise<RingTensor> {
  const z = await maskedMatmul(ctx, x, w.tokEmb, { transpose: true });
  return opts.truncate === false ? z : truncPr(ctx, z);
}

/** x += y (shares, same shape). */
export function addInPlace(x: RingTensor, y: RingTensor): void {
  const a = x.data, b = y.data;
  for (let i = 0; i < a.length; i++) a[i] = asUintN(64, a[i] + b[i]);
}

/** The last `count` rows of a (n, width) tensor (copy). */
export function lastRows(x: RingTensor, count: number): RingTensor {
  const [n, width] = x.shape;
  return { shape: [count, width], data: x.data.slice((n - count) * width) };
}

// ------------------------------------------------------------------ exact costs (offline: both parties)

/** embedTokens on n one-hot rows: one masked product, opening the (n, vocabSize) one-hot. */
export const embedTokensCost = (n: number, c: ModelConfig): FormulaCost => maskedMatmulCost([n, c.vocabSize], [n, c.dModel]);

/** qkvProjection on n rows: xb·wqkv, then one truncation by 2f of q, k and v. */
export function qkvProjectionCost(n: number, c: ModelConfig, fracBits: number): FormulaCost {
  const w = qkvWidth(c);
  return sumCosts([maskedMatmulCost([n, c.dModel], [n, w]), truncPrCost(n * w, 2 * fracBits)]);
}

/** attentionOutput on n rows: attn·wo, and the residual's truncation by 2f unless deferred to the next norm. */
export function attentionOutputCost(n: number, c: ModelConfig, fracBits: number, defer: boolean): FormulaCost {
  const D = c.dModel, mm = maskedMatmulCost([n, D], [n, D]);
  return defer ? mm : sumCosts([mm, truncPrCost(n * D, 2 * fracBits)]);
}

/** ffnHidden on n rows: xb·w13 (llama: w1 and w3; gpt2: w1), truncPr by f, then siluMul(h1, h3) or gelu. */
export function ffnHiddenCost(n: number, c: ModelConfig, fracBits: number): FormulaCost {
  const w = ffnInWidth(c), act = n * c.dFf;
  return sumCosts([
    maskedMatmulCost([n, c.dModel], [n, w]), truncPrCost(n * w, fracBits),
    c.family === 'llama' ? siluMulCost(act, fracBits, { tol: siluTolerance(fracBits) }) : geluCost(act, fracBits),
  ]);
}

/** ffnOutput on n rows: hb·w2, and the residual's truncation (llama 2f, gpt2 f) unless deferred. */
export function ffnOutputCost(n: number, c: ModelConfig, fracBits: number, defer: boolean): FormulaCost {
  const D = c.dModel, mm = maskedMatmulCost([n, c.dFf], [n, D]);
  return defer ? mm : sumCosts([mm, truncPrCost(n * D, (c.family === 'llama' ? 2 : 1) * fracBits)]);
}

/** classifierLogits on n rows: x·tokEmbᵀ, truncated by f unless `truncate` is false. */
export function classifierLogitsCost(n: number, c: ModelConfig, fracBits: number, truncate = true): FormulaCost {
  const mm = maskedMatmulCost([n, c.dModel], [n, c.vocabSize]);
  return truncate ? sumCosts([mm, truncPrCost(n * c.vocabSize, fracBits)]) : mm;
}

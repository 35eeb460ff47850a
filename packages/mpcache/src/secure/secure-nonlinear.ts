/**
 * The nonlinear steps of the decoder, bound to the protocols package: norms, softmax, SiLU, GeLU and
 * the greedy argmax. Each function only fixes shapes, scales and ranges for the decoder; the
 * protocols themselves (and their cost formulas and accuracy bounds) live in packages/protocols.
 *
 * Ranges chosen here (public, model-independent):
 *   - argmax compares logits on a signed range of fracBits + 16 bits: |logit| < 2^14, ample for
 *     trained models (stories15M's logits stay below 30) and for random weights;
 *   - the token's one-hot comes from the argmax index through a DPF one-hot (1 round, 2 B per token)
 *     instead of the tree's backward pass (15 more rounds and 16 B per vocabulary entry).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import {
  argmaxTree, fuseRounds, gelu, layerNorm, oneHot, rmsNorm, silu, softmaxRows, type PartyContext,
} from '@mpcache/protocols';
import type { ModelConfig } from '../model/config';

/** Extra signed bits above the fixed-point scale for logit comparisons (|logit| < 2^14). */
export const LOGIT_INT_BITS = 16;

/** RMSNorm (llama) or LayerNorm (gpt2) of each row of x (n, dModel) with the shared gain (and bias). */
export async function normOnShares(
  ctx: PartyContext, c: ModelConfig, x: RingTensor, gain: RingTensor, bias: RingTensor | null,
): Promise<RingTensor> {
  if (c.family === 'gpt2') return layerNorm(ctx, x, gain, bias!, { eps: c.normEps });
  return rmsNorm(ctx, x, gain, { eps: c.normEps });
}

/**
 * Row-wise softmax over the last axis of (…, L). With `causalQueries` = n, the rows form blocks of n
 * consecutive queries (one block per head) whose last n columns are this call's own rows: block
 * row t sees columns j ≤ L − n + t. Each block is one causal softmaxRows (masked entries skip the
 * exp), and the blocks run side by side with fused rounds (as many rounds as one block).
 */
export async function softmaxOnShares(ctx: PartyContext, x: RingTensor, causalQueries = 1): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1], rows = x.data.length / L, n = causalQueries;
  if (n === 1) {
    const p = await softmaxRows(ctx, { shape: [rows, L], data: x.data });
    return { shape: [...x.shape], data: p.data };
  }
  const blocks = rows / n, size = n * L, out = new BigUint64Array(x.data.length);
  const branches = Array.from({ length: blocks }, (_, b) => (c: PartyContext) =>
    softmaxRows(c, { shape: [n, L], data: x.data.subarray(b * size, (b + 1) * size) }, { causal: true }));
  const parts = await fuseRounds(ctx, branches);
  parts.forEach((p, b) => out.set(p.data, b * size));
  return { shape: [...x.shape], data: out };
}

export const siluOnShares = (ctx: PartyContext, x: RingTensor): Promise<RingTensor> => silu(ctx, x);
export const geluOnShares = (ctx: PartyContext, x: RingTensor): Promise<RingTensor> => gelu(ctx, x);

/** Greedy next token from logits (1, vocabSize): my share of its id (1) and of its one-hot row (1, vocabSize). */
export async function greedyToken(ctx: PartyContext, logits: RingTensor): Promise<{ id: RingTensor; oneHot: RingTensor }> {
  const V = logits.shape[logits.shape.length - 1];
  const { index } = await argmaxTree(ctx, { shape: [1, V], data: logits.data }, { bits: ctx.fracBits + LOGIT_INT_BITS });
  const row = await oneHot(ctx, index, V);
  return { id: index, oneHot: row };
}

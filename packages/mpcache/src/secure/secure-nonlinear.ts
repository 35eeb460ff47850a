/**
 * The nonlinear steps of the decoder, bound to the protocols package: norms, softmax, SiLU, GeLU and
 * the greedy argmax. Each function only fixes shapes, scales and ranges for the decoder; the
 * protocols themselves (and their cost formulas and accuracy bounds) live in packages/protocols.
 *
 * Ranges and tolerances chosen here (public, model-independent):
 *   - argmax compares logits on a signed range of fracBits + 16 bits: |logit| < 2^14, ample for
 *     trained models (stories15M's logits stay below 30) and for random weights;
 *   - the token's one-hot comes from the argmax index through a DPF one-hot (1 round, 2 B per token)
 *     instead of the tree's backward pass (15 more rounds and 16 B per vocabulary entry).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import {
  argmaxTree, gelu, layerNorm, oneHot, rmsNorm, silu, softmaxRows, type PartyContext,
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
 * Row-wise softmax over the last axis of (…, L), all rows in one call (one set of rounds). Causal
 * masking is done by the caller with a public filler (secure-attention.ts), not with softmaxRows'
 * `causal` option: its filler −2^16 overflows the 32-bit comparison range at fracBits > 13
 * (measured: every probability wrong at f = 16). The cost is exp work on masked prefill entries.
 */
export async function softmaxOnShares(ctx: PartyContext, x: RingTensor): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1], rows = x.data.length / L;
  const p = await softmaxRows(ctx, { shape: [rows, L], data: x.data });
  return { shape: [...x.shape], data: p.data };
}

/**
 * SiLU design tolerance: the protocol's default 3e-3 alone moves stories15M's logits by 0.16
 * (measured with the plaintext decoder and the same piecewise design, 20 tokens); 3e-4 (56 knots
 * instead of 18: more local DCF work, the same rounds and online bytes) moves them by 0.021.
 * Floored at 4 ulps so coarse fixed point still has a feasible design.
 */
export const siluTolerance = (fracBits: number): number => Math.max(3e-4, 4 * 2 ** -fracBits);

export const siluOnShares = (ctx: PartyContext, x: RingTensor): Promise<RingTensor> => silu(ctx, x, { tol: siluTolerance(ctx.fracBits) });
export const geluOnShares = (ctx: PartyContext, x: RingTensor): Promise<RingTensor> => gelu(ctx, x);

/** Greedy next token from logits (1, vocabSize): my share of its id (1) and of its one-hot row (1, vocabSize). */
export async function greedyToken(ctx: PartyContext, logits: RingTensor): Promise<{ id: RingTensor; oneHot: RingTensor }> {
  const V = logits.shape[logits.shape.length - 1];
  const { index } = await argmaxTree(ctx, { shape: [1, V], data: logits.data }, { bits: ctx.fracBits + LOGIT_INT_BITS });
  const row = await oneHot(ctx, index, V);
  return { id: index, oneHot: row };
}

/**
 * SecureDecoder — the transformer forward pass on secret shares, run.c `forward` step for step and
 * name for name (model/reference-decoder.ts is the plaintext twin; the section comments below are
 * the reference's, and each section is a ledger scope of the same name, so the cost table reads
 * like the code). Both families of config.ts run through the same blocks.
 *
 * forward(oneHot) processes n new tokens at positions length .. length + n − 1 in ONE pass: the
 * prefill is a batched forward over the whole prompt with causal attention (n = prompt length),
 * a decoding step is n = 1. Only the last row's logits are produced (the only ones greedy decoding
 * needs), so the final norm and the classifier run on one row.
 *
 * What stays secret: the tokens (one-hot rows, shared by the client or produced by the secure
 * argmax), the weights, every activation, the K/V cache. Public: shapes, positions, the policy's
 * counts. The weights and each cache row are masked once (secure-weights.ts, secure-layer-cache.ts);
 * a step opens only fresh activations.
 *
 * Steps per layer: attention rmsnorm → qkv matmuls (+ RoPE, local) → multihead attention (scores,
 * softmax, values; the new k, v rows go into the cache in the same rounds) → attention output matmul
 * + residual → ffn rmsnorm → SwiGLU | GeLU MLP → ffn output matmul + residual. Then final rmsnorm and
 * the tied classifier. Scales and truncations: secure-blocks.ts.
 *
 * Measured (stories15M, fracBits 16, in-memory channel, both parties and the dealer in one process
 * on the shared 2-core machine under load 6–10, Node 20.20, 2026-11-26):
 *   before (commit 6581a8e): decoding step 234 rounds (kvLen 5), 1.58 MB sent per party, 47.2 MB
 *   offline, 4.7–7.4 s, of which 2.0–3.1 s waiting on the in-process dealer (it re-expanded every
 *   weight mask from the keyed streams per product, and 85 % of the offline bytes were the argmax's
 *   31,999 DCF keys of n = 31, m = 3); golden test 83–174 s.
 *   now (bench/decode-step-bench.js, Generator path): 233 rounds, 1.07 MB sent, 30.3 MB offline,
 *   1.3–2.3 s per step, 0.33–0.49 s of it dealer wait. What changed: the dealer memoizes operand
 *   masks (dealer/keyed-value-cache.ts); the greedy argmax ranks packed keys with coarse DCFs
 *   (argmaxPacked: n = 23, m = 2, 8 B per comparison; secure-nonlinear.ts) over the untruncated
 *   logits (no classifier truncation round); dealer messages are read without copies.
 *   Golden test (forward + greedyToken at scale f, kvLen ≈ 20): 246 rounds, 1.37 MB, 31.7 MB
 *   offline per step; 48–70 s for the whole test; max |logit − float64 logit| 0.018 (fixed point
 *   alone: 0.012).
 * GPT-2-small width, one layer, kvLen 1024 (warmCache): before 70 rounds, 2.84 MB, 95.5 MB offline,
 * 9.7–10 s per token (6.1–6.5 s dealer wait); now 69 rounds, 2.04 MB, 68.9 MB offline, 4.7–6.3 s
 * (1.3–1.8 s dealer wait). Per layer 44 rounds and 1.23 MB (attention 22 rounds, 1.0 MB), the head
 * (embedding, final norm, classifier, argmax + one-hot) 25 rounds and 0.81 MB: twelve layers ≈ 553
 * rounds and 15.6 MB per token. Where a step's time goes now: the tokEmb products (each a pass over
 * 38.6 M words, copied into the wasm kernel's memory every call), the FSS key generation and
 * evaluation of the softmax/GeLU/argmax, GC.
 */
import { sizeOf, type RingTensor } from '@mpcache/mpc-core';
import { type NextBlock, type PartyContext } from '@mpcache/protocols';
import { assertFitsContext } from '../model/config';
import {
  addPositionEmbeddings, attentionOutput, classifierLogits, embedTokens, ffnHidden, ffnOutput, lastRows, qkvProjection, type PendingResidual,
} from './secure-blocks';
import { secureAttention } from './secure-attention';
import { SecureFullCache, type SecureKVCachePolicy } from './secure-kv-cache-policy';
import { SecureLayerCache } from './secure-layer-cache';
import { normOnShares } from './secure-nonlinear';
import type { SecureWeights } from './secure-weights';

export interface ForwardOptions {
  /** Return the logits untruncated, at scale 2f (saves the classifier's truncation round). */
  untruncatedLogits?: boolean;
  /** The planned block that follows this forward pass (the generator's argmax), for the dealer's prefetch. */
  next?: () => NextBlock | undefined;
}

/** Plan key of the token-embedding block of n rows (what a generator's last block announces next). */
export const embeddingPlanKey = (n: number): string => `embed n=${n}`;

export interface SecureDecoderOptions {
  /** Which cached rows attention uses; default: the full cache. */
  kvPolicy?: SecureKVCachePolicy;
}

export class SecureDecoder {
  readonly kvPolicy: SecureKVCachePolicy;
  private caches: SecureLayerCache[] = [];
  private filled = 0;

  constructor(readonly weights: SecureWeights, opts: SecureDecoderOptions = {}) {
    this.kvPolicy = opts.kvPolicy ?? new SecureFullCache();
  }

  /** Positions processed so far (the next token's position). */
  get length(): number {
    return this.filled;
  }

  /** The layer caches (for policies, tests and memory accounting). */
  get layerCaches(): readonly SecureLayerCache[] {
    return this.caches;
  }

  /** Start a new sequence: drop the caches and the policy's state (no communication). */
  reset(): void {
    this.caches = [];
    this.filled = 0;
    this.kvPolicy.reset();
  }

  /** Logits (1, vocabSize) after the n tokens given as one-hot rows (n, vocabSize), at scale f (2f untruncated). */
  async forward(ctx: PartyContext, oneHot: RingTensor, opts: ForwardOptions = {}): Promise<RingTensor> {
    const w = this.weights, c = w.config, L = ctx.ledger;
    const n = oneHot.shape[0], pos = this.filled;
    assertFitsContext(c, pos + n, 'positions');
    if (n < 1) throw new RangeError(`"oneHot" expected at least one row, got ${n}`);
    await this.ensureCaches(ctx);

    // Every stage runs as a planned block (public key), each announcing the next one, so the dealer
    // generates a block's material while the previous block computes (CorrelationSource.planned).
    const layerBlock = (l: number) => ({ key: this.layerPlanKey(l, n), operandKeys: this.layerOperandKeys(l, pos) });
    const headKey = `head n=${n} raw=${opts.untruncatedLogits === true}`;
    // copy the token embedding into x
    const x = await ctx.dealer.planned(embeddingPlanKey(n), () => L.scope('token embedding', async () => {
      const e = await embedTokens(ctx, w, oneHot);
      addPositionEmbeddings(w, e, pos); // gpt2: learned positions
      return e;
    }), [], () => layerBlock(0));

    let pending: PendingResidual | null = null;
    for (let l = 0; l < c.nLayers; l++) {
      const next = l + 1 < c.nLayers ? () => layerBlock(l + 1) : () => ({ key: headKey, operandKeys: [] });
      const before: PendingResidual | null = pending;
      pending = await ctx.dealer.planned(this.layerPlanKey(l, n), (): Promise<PendingResidual | null> => this.layer(ctx, l, x, pos, before), this.layerOperandKeys(l, pos), next);
    }

    const last: PendingResidual | null = pending;
    const logits = await ctx.dealer.planned(headKey, async () => {
      // final rmsnorm (last row only; llama: the last block's output joins x there)
      const tail = last && { z: lastRows(last.z, 1), shift: last.shift };
      const xl = await L.scope('final rmsnorm', () => normOnShares(ctx, c, lastRows(x, 1), w.rmsFinal, w.finalNormBias, tail));
      // classifier into logits
      return L.scope('classifier', () => classifierLogits(ctx, w, xl, { truncate: !opts.untruncatedLogits }));
    }, [], opts.next);
    this.filled = pos + n;
    return logits;
  }

  /**
   * A layer's dealer requests depend on public values only: the number of new rows, the cache
   * length, what the policy does at this layer (its planKey; by default its name), and whether the
   * previous layer's output joins x in this layer's first norm (llama after layer 0: another norm).
   */
  private layerPlanKey(l: number, n: number): string {
    const policyKey = this.kvPolicy.planKey?.(l, n) ?? this.kvPolicy.name;
    const residual = l > 0 && this.weights.config.family === 'llama' ? ' after-residual' : '';
    return `layer n=${n}${residual} ${policyKey}@kv=${this.caches[l].length}`; // a new cache length: predicted from the last two (correlation-plans.ts)
  }

  /** The masked operands layer l multiplies by, in a fixed order (plans of one layer serve the others). */
  private layerOperandKeys(l: number, pos: number): string[] {
    const lw = this.weights.layers[l], cache = this.caches[l];
    return [lw.wqkv.key, lw.wo.key, lw.w13.key, lw.w2.key, cache.keys.key, cache.values.key, ...(this.kvPolicy.planOperandKeys?.(l, pos) ?? [])];
  }

  /**
   * One transformer layer on x (updated in place: the residual connections). llama: each block's
   * output joins x in the next RMSNorm's first round (its truncation folded there), so a layer takes
   * the previous layer's pending output and returns its own.
   */
  private async layer(ctx: PartyContext, l: number, x: RingTensor, pos: number, pending: PendingResidual | null): Promise<PendingResidual | null> {
    const w = this.weights, c = w.config, L = ctx.ledger, defer = c.family === 'llama';
    const lw = w.layers[l];
    // attention rmsnorm (the previous layer's ffn output joins x here, llama)
    const xb = await L.scope('attention rmsnorm', () => normOnShares(ctx, c, x, lw.rmsAtt, lw.attNormBias, pending));
    // the policy sees the normed input (Attention-Gate's gate)
    if (this.kvPolicy.observeInput) await L.scope('kv cache policy', () => this.kvPolicy.observeInput!(ctx, l, pos, xb));
    // qkv matmuls for this position; RoPE relative positional encoding (local)
    const { q, k, v } = await L.scope('qkv matmuls', () => qkvProjection(ctx, c, lw, xb, pos));
    // multihead attention; key and value into the kv cache
    const attn = await L.scope('multihead attention', () =>
      secureAttention(ctx, c, this.caches[l], this.kvPolicy, { layer: l, startPos: pos, q, k, v }));
    // final matmul to get the output of the attention; residual connection back into x (llama: in
    // the ffn rmsnorm's first round)
    const attnOut = await L.scope('attention output matmul', () => attentionOutput(ctx, lw, attn, x, defer));

    // ffn rmsnorm
    const xb2 = await L.scope('ffn rmsnorm', () => normOnShares(ctx, c, x, lw.rmsFfn, lw.ffnNormBias, attnOut));
    // SwiGLU (gpt2: GeLU MLP)
    const hb = await L.scope(c.family === 'llama' ? 'swiglu' : 'gelu mlp', () => ffnHidden(ctx, c, lw, xb2));
    // final matmul to get the output of the ffn; residual connection (llama: in the next norm)
    return L.scope('ffn output matmul', () => ffnOutput(ctx, c, lw, hb, x, defer));
  }

  /**
   * Benchmarks only: append `rows` cached positions of shared zeros to every layer (masked like any
   * appended row: 1 round per layer, 16·kvDim B per row), so decoding can be measured at a long
   * context without running the prefill. Cost does not depend on the cached values.
   */
  async warmCache(ctx: PartyContext, rows: number): Promise<void> {
    const c = this.weights.config;
    assertFitsContext(c, this.filled + rows, 'positions');
    await this.ensureCaches(ctx);
    const shape = [c.nKvHeads, rows, c.headDim], zeros = () => ({ shape, data: new BigUint64Array(sizeOf(shape)) });
    await ctx.ledger.scope('warm cache', async () => {
      for (const cache of this.caches) await cache.appendRows(ctx, zeros(), zeros());
      await this.kvPolicy.warm?.(ctx, this.caches);
    });
    this.filled += rows;
  }

  private async ensureCaches(ctx: PartyContext): Promise<void> {
    const c = this.weights.config;
    while (this.caches.length < c.nLayers) this.caches.push(await SecureLayerCache.create(ctx, c.nKvHeads, c.headDim));
  }
}

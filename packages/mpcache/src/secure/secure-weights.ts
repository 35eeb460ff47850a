/**
 * maskModelWeights — turn a party's weight shares into the operands the secure decoder multiplies
 * by: every weight matrix masked ONCE (MaskedOperand: per later product only the fresh activation
 * is opened), the norm gains, biases and position embeddings kept as plain shares.
 *
 * Rounds:    1 per masked matrix: 1 + 4·nLayers (run once per session, at load)
 * Online:    8 B per matrix element per party, once (tokEmb dominates: 9.2 M elements for stories15M)
 * Offline:   0 B (masks come from keyed dealer streams)
 * Accuracy:  exact (a change of representation)
 *
 * Layout decisions (all local on shares, no cost):
 *   - matrices are stored transposed, (in, out), so a product is X·W with X (rows, in) and the
 *     matmul kernel streams W row by row for any number of rows (decode: 1, prefill: n);
 *   - fused operands: wqkv = [wq; wk; wv]ᵀ (dModel, dModel + 2·kvDim) and, for llama,
 *     w13 = [w1; w3]ᵀ (dModel, 2·dFf): one opening of the normed activation serves all of them;
 *   - tokEmb stays (vocabSize, dModel): the embedding is oneHot·tokEmb and the tied classifier is
 *     x·tokEmbᵀ on the SAME masked operand (masked once, used twice per token);
 *   - every masked matrix is `fixed`: its D and W̃ live in the ring kernel's memory (masked-operand.ts),
 *     the only copy, so no product copies a weight into the kernel (GPT-2-small: 2 GiB per party).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import { maskOperand, maskOperandCost, sumCosts, type FormulaCost, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import { kvDim, type ModelConfig } from '../model/config';
import type { WeightShares } from './shared-weights';

export interface SecureLayerWeights {
  readonly rmsAtt: RingTensor;             // (dModel) attention-norm gain (LayerNorm γ for gpt2)
  readonly attNormBias: RingTensor | null; // (dModel) gpt2 only
  readonly wqkv: MaskedOperand;            // (dModel, dModel + 2·kvDim) = [wq; wk; wv]ᵀ
  readonly wo: MaskedOperand;              // (dModel, dModel) = woᵀ
  readonly rmsFfn: RingTensor;             // (dModel) ffn-norm gain
  readonly ffnNormBias: RingTensor | null; // (dModel) gpt2 only
  readonly w13: MaskedOperand;             // llama: (dModel, 2·dFf) = [w1; w3]ᵀ;  gpt2: (dModel, dFf) = w1ᵀ
  readonly w2: MaskedOperand;              // (dFf, dModel) = w2ᵀ
}

export interface SecureWeights {
  readonly config: ModelConfig;
  readonly fracBits: number;
  readonly tokEmb: MaskedOperand;            // (vocabSize, dModel) embedding rows and tied classifier
  readonly posEmb: RingTensor | null;        // (seqLen, dModel) gpt2 only
  readonly rmsFinal: RingTensor;             // (dModel)
  readonly finalNormBias: RingTensor | null; // (dModel) gpt2 only
  readonly layers: readonly SecureLayerWeights[];
}

/** Mask this party's weight shares (both parties call it with their own shares, in step). */
export async function maskModelWeights(ctx: PartyContext, shares: WeightShares): Promise<SecureWeights> {
  const c = shares.config;
  if (shares.fracBits !== ctx.fracBits) {
    throw new RangeError(`weight shares are encoded with ${shares.fracBits} fractional bits, the context uses ${ctx.fracBits}`);
  }
  return ctx.ledger.scope('mask weights', async () => {
    const gpt2 = c.family === 'gpt2';
    // fixed: D and W̃ of every matrix live in the ring kernel's memory, read in place by products
    const mask = (w: RingTensor) => maskOperand(ctx, w, { fixed: true });
    const tokEmb = await mask(shares.tensor('tokEmb'));
    const layers: SecureLayerWeights[] = [];
    for (let l = 0; l < c.nLayers; l++) {
      const t = (name: Parameters<WeightShares['tensor']>[0]) => shares.tensor(name, l);
      layers.push({
        rmsAtt: t('rmsAtt'),
        attNormBias: gpt2 ? t('attNormBias') : null,
        wqkv: await mask(transposeConcat([t('wq'), t('wk'), t('wv')])),
        wo: await mask(transposeConcat([t('wo')])),
        rmsFfn: t('rmsFfn'),
        ffnNormBias: gpt2 ? t('ffnNormBias') : null,
        w13: await mask(transposeConcat(gpt2 ? [t('w1')] : [t('w1'), t('w3')])),
        w2: await mask(transposeConcat([t('w2')])),
      });
    }
    return {
      config: c,
      fracBits: shares.fracBits,
      tokEmb,
      posEmb: gpt2 ? shares.tensor('posEmb') : null,
      rmsFinal: shares.tensor('rmsFinal'),
      finalNormBias: gpt2 ? shares.tensor('finalNormBias') : null,
      layers,
    };
  });
}

/**
 * Give the ring kernel's memory back the masked matrices of `weights` now, instead of when they are
 * garbage-collected (a server that masks the weights per session should call it when the session
 * ends: the kernel memory is invisible to V8's GC heuristics). The weights are unusable afterwards.
 */
export function releaseSecureWeights(weights: SecureWeights): void {
  weights.tokEmb.release();
  for (const l of weights.layers) for (const op of [l.wqkv, l.wo, l.w13, l.w2]) op.release();
}

/** [A; B; …]ᵀ for matrices (outᵢ, in) sharing `in`: one (in, Σ outᵢ) matrix (local on shares). */
export function transposeConcat(parts: readonly RingTensor[]): RingTensor {
  const inDim = parts[0].shape[1];
  let outDim = 0;
  for (const p of parts) {
    if (p.shape.length !== 2 || p.shape[1] !== inDim) throw new RangeError(`transposeConcat: expected (out, ${inDim}) parts, got (${p.shape.join(', ')})`);
    outDim += p.shape[0];
  }
  const out = new BigUint64Array(inDim * outDim);
  let col = 0;
  for (const p of parts) {
    const rows = p.shape[0], d = p.data;
    for (let i = 0; i < rows; i++) {
      const src = i * inDim, dst = col + i;
      for (let j = 0; j < inDim; j++) out[j * outDim + dst] = d[src + j];
    }
    col += rows;
  }
  return { shape: [inDim, outDim], data: out };
}

/** Width of the fused qkv output and of the fused FFN input (for shape checks and cost formulas). */
export const qkvWidth = (c: ModelConfig): number => c.dModel + 2 * kvDim(c);
export const ffnInWidth = (c: ModelConfig): number => (c.family === 'llama' ? 2 : 1) * c.dFf;

/** Exact cost of maskModelWeights: one maskOperand per matrix (tokEmb; wqkv, wo, w13, w2 per layer), no dealer bytes. */
export function maskModelWeightsCost(c: ModelConfig): FormulaCost {
  const D = c.dModel, parts = [maskOperandCost([c.vocabSize, D])];
  for (let l = 0; l < c.nLayers; l++) {
    parts.push(maskOperandCost([D, qkvWidth(c)]), maskOperandCost([D, D]), maskOperandCost([D, ffnInWidth(c)]), maskOperandCost([c.dFf, D]));
  }
  return sumCosts(parts);
}

/**
 * Model configurations — the dimension names used by every model file in this package.
 *
 * Names follow STYLE §3 (one set of dimension names, defined here once) and map onto llama2.c
 * `Config` as: dim → dModel, hidden_dim → dFf, n_layers → nLayers, n_heads → nHeads,
 * n_kv_heads → nKvHeads, vocab_size → vocabSize, seq_len → seqLen; headDim = dModel / nHeads.
 *
 * Two families share one forward pass (`reference-decoder.ts`):
 *   - 'llama': RMSNorm, RoPE (θ = ropeTheta, adjacent pairs (i, i+1) as in run.c), SwiGLU FFN
 *     (w2 · (silu(w1·x) ⊙ w3·x)), grouped KV heads allowed.
 *   - 'gpt2':  LayerNorm (gain + bias), learned absolute position embeddings, GeLU MLP
 *     (w2 · gelu(w1·x)), no RoPE (ropeTheta ignored), no biases on the linear layers (they are
 *     local additions in 2PC and do not change cost), nKvHeads = nHeads.
 *
 * Only `stories15m` has real weights (model.md). The larger shapes exist to measure cost at long
 * contexts on seeded random weights: cost does not depend on the weights' values.
 */
import { LimitError } from '@mpcache/mpc-core';

export type ModelFamily = 'llama' | 'gpt2';

export interface ModelConfig {
  readonly name: string;
  readonly family: ModelFamily;
  /** Residual width (llama2.c `dim`). */
  readonly dModel: number;
  /** FFN hidden width (llama2.c `hidden_dim`). */
  readonly dFf: number;
  readonly nLayers: number;
  readonly nHeads: number;
  /** Key/value heads; nHeads % nKvHeads === 0 (grouped-query attention when smaller). */
  readonly nKvHeads: number;
  /** dModel / nHeads. */
  readonly headDim: number;
  readonly vocabSize: number;
  /** Maximum context in positions; the KV cache never grows beyond it. */
  readonly seqLen: number;
  /** ε inside RMSNorm / LayerNorm. */
  readonly normEps: number;
  /** RoPE base θ (llama family only). */
  readonly ropeTheta: number;
  /** wcls = tokEmb (both real model and all random configs are tied). */
  readonly tiedClassifier: boolean;
}

/** The real model: TinyStories stories15M (header of the checkpoint, model.md). */
export const STORIES15M: ModelConfig = {
  name: 'stories15m', family: 'llama',
  dModel: 288, dFf: 768, nLayers: 6, nHeads: 6, nKvHeads: 6, headDim: 48,
  vocabSize: 32000, seqLen: 256, normEps: 1e-5, ropeTheta: 10000, tiedClassifier: true,
};

/** GPT-2-small shapes with a context of 4096 for long-context cost measurements. */
export const GPT2_SMALL: ModelConfig = {
  name: 'gpt2-small', family: 'gpt2',
  dModel: 768, dFf: 3072, nLayers: 12, nHeads: 12, nKvHeads: 12, headDim: 64,
  vocabSize: 50257, seqLen: 4096, normEps: 1e-5, ropeTheta: 10000, tiedClassifier: true,
};

/** Llama blocks at GPT-2-small size; dFf = 8/3 · dModel = 2048 keeps the FFN's parameter count. */
export const LLAMA_SMALL: ModelConfig = {
  name: 'llama-small', family: 'llama',
  dModel: 768, dFf: 2048, nLayers: 12, nHeads: 12, nKvHeads: 12, headDim: 64,
  vocabSize: 32000, seqLen: 4096, normEps: 1e-5, ropeTheta: 10000, tiedClassifier: true,
};

/** Tiny Llama for unit tests: two layers, grouped KV heads (4 query heads share 2 KV heads). */
export const TINY_LLAMA: ModelConfig = {
  name: 'tiny-llama', family: 'llama',
  dModel: 32, dFf: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 8,
  vocabSize: 64, seqLen: 64, normEps: 1e-5, ropeTheta: 10000, tiedClassifier: true,
};

/** Tiny GPT-2 for unit tests. */
export const TINY_GPT2: ModelConfig = {
  name: 'tiny-gpt2', family: 'gpt2',
  dModel: 32, dFf: 128, nLayers: 2, nHeads: 4, nKvHeads: 4, headDim: 8,
  vocabSize: 64, seqLen: 64, normEps: 1e-5, ropeTheta: 10000, tiedClassifier: true,
};

/** Every named configuration, keyed by `name` (for the CLI's `--model`). */
export const MODEL_CONFIGS: Readonly<Record<string, ModelConfig>> = Object.freeze({
  [STORIES15M.name]: STORIES15M,
  [GPT2_SMALL.name]: GPT2_SMALL,
  [LLAMA_SMALL.name]: LLAMA_SMALL,
  [TINY_LLAMA.name]: TINY_LLAMA,
  [TINY_GPT2.name]: TINY_GPT2,
});

/**
 * Bounds on a configuration that did not ship with the code (a user's llama2.c checkpoint, a share
 * file's header): well above the llama2.c story models (stories110M: dim 768, 12 layers, 1024
 * positions) and below what would exhaust a server's memory on a malformed header.
 */
export const CUSTOM_MODEL_LIMITS = { dModel: 8192, dFf: 32768, nLayers: 128, nHeads: 256, vocabSize: 262144, seqLen: 32768 } as const;

/** The shipped configuration called `name`, or undefined (a model of one's own, or a typo). */
export function findModelConfig(name: string): ModelConfig | undefined {
  return Object.prototype.hasOwnProperty.call(MODEL_CONFIGS, name) ? MODEL_CONFIGS[name] : undefined;
}

/** Look up a named configuration; throws RangeError listing the known names. */
export function modelConfig(name: string): ModelConfig {
  const c = findModelConfig(name);
  if (!c) throw new RangeError(`unknown model "${name}"; known: ${Object.keys(MODEL_CONFIGS).join(', ')}`);
  return c;
}

/** Width of one position's keys (or values): nKvHeads · headDim (llama2.c `kv_dim`). */
export const kvDim = (c: ModelConfig): number => c.nKvHeads * c.headDim;

/** Check the invariants every model file relies on; throws RangeError naming the field. */
export function validateModelConfig(c: ModelConfig): void {
  const ints: [keyof ModelConfig, number][] = [
    ['dModel', c.dModel], ['dFf', c.dFf], ['nLayers', c.nLayers], ['nHeads', c.nHeads],
    ['nKvHeads', c.nKvHeads], ['headDim', c.headDim], ['vocabSize', c.vocabSize], ['seqLen', c.seqLen],
  ];
  for (const [k, v] of ints) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`"${k}" expected a positive integer, got ${v}`);
  }
  if (c.dModel !== c.nHeads * c.headDim) {
    throw new RangeError(`"headDim" expected dModel / nHeads = ${c.dModel / c.nHeads}, got ${c.headDim}`);
  }
  if (c.nHeads % c.nKvHeads !== 0) throw new RangeError(`"nKvHeads" (${c.nKvHeads}) must divide nHeads (${c.nHeads})`);
  if (c.family === 'llama' && c.headDim % 2 !== 0) throw new RangeError(`"headDim" must be even for RoPE, got ${c.headDim}`);
  if (c.family === 'gpt2' && c.nKvHeads !== c.nHeads) throw new RangeError(`"nKvHeads" must equal nHeads for gpt2`);
  if (!(c.normEps > 0)) throw new RangeError(`"normEps" expected > 0, got ${c.normEps}`);
  if (!c.tiedClassifier) throw new RangeError(`untied classifiers are not supported (config "${c.name}")`);
}

/** Parameter count (weights only; learned position embeddings included for gpt2). */
export function parameterCount(c: ModelConfig): number {
  const D = c.dModel, H = c.dFf, L = c.nLayers, kv = kvDim(c);
  const attn = D * D + 2 * kv * D + D * D;
  const ffn = (c.family === 'llama' ? 3 : 2) * H * D;
  const norms = c.family === 'llama' ? 2 * D : 4 * D;
  const final = c.family === 'llama' ? D : 2 * D;
  const pos = c.family === 'gpt2' ? c.seqLen * D : 0;
  return c.vocabSize * D + pos + L * (attn + ffn + norms) + final;
}

/** Check a position count against the model's context; LimitError when it does not fit. */
export function assertFitsContext(c: ModelConfig, positions: number, what: string): void {
  if (!Number.isInteger(positions) || positions < 0 || positions > c.seqLen) {
    throw new LimitError(`"${what}" expected at most seqLen = ${c.seqLen} positions, got ${positions}`, 'MPC_ERR_PROMPT_TOO_LONG');
  }
}

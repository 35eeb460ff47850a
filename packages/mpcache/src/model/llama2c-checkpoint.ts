/**
 * llama2.c's legacy checkpoint (model.md): 7 int32 header (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len; vocab_size > 0 = tied classifier), then fp32 tok_emb, rms_att, wq,
 * wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, then seq_len·head_dim legacy RoPE floats (skipped: RoPE
 * is computed), then wcls only when untied (not supported).
 *
 *   parseLlama2cCheckpoint(bytes, config)   zero-copy views, the header checked against a config
 *   llama2cCheckpointConfig(bytes, name)    the config a checkpoint's header describes (any llama
 *                                           shape within CUSTOM_MODEL_LIMITS: bring your own model)
 *   encodeLlama2cCheckpoint(weights, config) the file for weights (tests, converters)
 *
 * Validation (STYLE §6): every header int positive, dim % n_heads == 0, the header equal to the
 * expected config, the byte count equal to the header's expectation (ModelFileError).
 */
import { CUSTOM_MODEL_LIMITS, parameterCount, validateModelConfig, type ModelConfig } from './config';
import { ModelFileError } from './model-file-error';
import { buildWeights, numel, tensorOf, weightLayout, type TransformerWeights } from './weights';

const HEADER_FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
const HEADER_BYTES = 4 * HEADER_FIELDS.length;
/** RoPE defaults of llama2.c's run.c (the format carries neither). */
const NORM_EPS = 1e-5, ROPE_THETA = 10000;
/** A model name: it travels in share files, session requests and URLs' neighbours. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The header's ints, each checked positive, with dim divisible by n_heads. */
function readHeader(bytes: Uint8Array): number[] {
  if (bytes.length < HEADER_BYTES) {
    throw new ModelFileError(`checkpoint expected at least ${HEADER_BYTES} header bytes, got ${bytes.length}`, 'MPC_ERR_MODEL_SIZE');
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const h = HEADER_FIELDS.map((_, i) => dv.getInt32(4 * i, true));
  HEADER_FIELDS.forEach((f, i) => {
    if (h[i] <= 0) throw new ModelFileError(`checkpoint header "${f}" expected > 0, got ${h[i]}`, 'MPC_ERR_MODEL_HEADER');
  });
  const [dim, , , nHeads] = h;
  if (dim % nHeads !== 0) throw new ModelFileError(`checkpoint header: dim ${dim} not divisible by n_heads ${nHeads}`, 'MPC_ERR_MODEL_HEADER');
  return h;
}

/** The llama configuration a checkpoint's header describes, called `name` (ModelFileError if unusable). */
export function llama2cCheckpointConfig(bytes: Uint8Array, name: string): ModelConfig {
  if (!MODEL_NAME_PATTERN.test(name)) throw new RangeError(`model name "${name.slice(0, 70)}" expected ${MODEL_NAME_PATTERN}`);
  const [dModel, dFf, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = readHeader(bytes);
  const config: ModelConfig = {
    name, family: 'llama', dModel, dFf, nLayers, nHeads, nKvHeads, headDim: dModel / nHeads, vocabSize, seqLen,
    normEps: NORM_EPS, ropeTheta: ROPE_THETA, tiedClassifier: true,
  };
  try {
    validateCustomModelConfig(config);
  } catch (e) {
    throw new ModelFileError(`checkpoint header: ${(e as Error).message}`, 'MPC_ERR_MODEL_HEADER');
  }
  return config;
}

/** validateModelConfig plus CUSTOM_MODEL_LIMITS (a configuration that did not ship with the code). */
export function validateCustomModelConfig(c: ModelConfig): void {
  if (typeof c.name !== 'string' || !MODEL_NAME_PATTERN.test(c.name)) throw new RangeError(`"name" expected ${MODEL_NAME_PATTERN}`);
  validateModelConfig(c);
  if (!Number.isFinite(c.normEps) || !(c.ropeTheta > 0 && Number.isFinite(c.ropeTheta))) throw new RangeError('"normEps" and "ropeTheta" expected finite positive numbers');
  for (const [k, max] of Object.entries(CUSTOM_MODEL_LIMITS) as [keyof typeof CUSTOM_MODEL_LIMITS, number][]) {
    if (c[k] > max) throw new RangeError(`"${k}" ${c[k]} exceeds ${max}`);
  }
}

/** Parse a llama2.c legacy checkpoint into zero-copy views, validating it against `expected`. */
export function parseLlama2cCheckpoint(bytes: Uint8Array, expected: ModelConfig): TransformerWeights {
  validateModelConfig(expected);
  if (expected.family !== 'llama') throw new RangeError(`llama2.c checkpoints hold the llama family, config "${expected.name}" is ${expected.family}`);
  const h = readHeader(bytes);
  const want = [expected.dModel, expected.dFf, expected.nLayers, expected.nHeads, expected.nKvHeads, expected.vocabSize, expected.seqLen];
  HEADER_FIELDS.forEach((f, i) => {
    if (h[i] !== want[i]) throw new ModelFileError(`checkpoint header "${f}" expected ${want[i]} (config "${expected.name}"), got ${h[i]}`, 'MPC_ERR_MODEL_HEADER');
  });
  const expectedBytes = checkpointBytes(expected);
  if (bytes.length !== expectedBytes) {
    throw new ModelFileError(`checkpoint expected ${expectedBytes} bytes for its header, got ${bytes.length}`, 'MPC_ERR_MODEL_SIZE');
  }
  // views in memory_map_weights order (copy once if the slice is not 4-byte aligned)
  const aligned = (bytes.byteOffset + HEADER_BYTES) % 4 === 0 ? bytes : bytes.slice();
  let offset = aligned.byteOffset + HEADER_BYTES;
  return buildWeights(expected, (spec) => {
    const n = numel(spec.shape);
    const view = new Float32Array(aligned.buffer, offset, n);
    offset += 4 * n;
    return view;
  });
}

/** The checkpoint file of `weights` (header, tensors in layout order, a zero legacy RoPE block). */
export function encodeLlama2cCheckpoint(weights: TransformerWeights, config: ModelConfig): Uint8Array {
  validateModelConfig(config);
  if (config.family !== 'llama') throw new RangeError(`llama2.c checkpoints hold the llama family, config "${config.name}" is ${config.family}`);
  const out = new Uint8Array(checkpointBytes(config));
  const dv = new DataView(out.buffer);
  [config.dModel, config.dFf, config.nLayers, config.nHeads, config.nKvHeads, config.vocabSize, config.seqLen].forEach((v, i) => dv.setInt32(4 * i, v, true));
  let offset = HEADER_BYTES;
  for (const spec of weightLayout(config)) {
    const t = tensorOf(weights, spec.name);
    if (t.length !== numel(spec.shape)) throw new RangeError(`weight "${spec.name}" expected ${numel(spec.shape)} floats, got ${t.length}`);
    out.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), offset);
    offset += t.byteLength;
  }
  return out;
}

/** Header + weights + the legacy RoPE block (freq_cis_real and _imag, seq_len · head_dim/2 each). */
function checkpointBytes(c: ModelConfig): number {
  return HEADER_BYTES + 4 * (parameterCount(c) + c.seqLen * c.headDim);
}

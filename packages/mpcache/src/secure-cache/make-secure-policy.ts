/**
 * makeSecurePolicy — every KV-cache policy on shares by the CLI name of its plaintext twin
 * (cache/make-policy.ts `makePolicy`), at the same token budget and with the same option objects, so
 * a benchmark row and a quality row of one policy describe the same algorithm.
 *
 *   makeSecurePolicy('mpcache', 64, { model: config, mpcache: { clusterSizes: [8, 4] } })
 *
 * Deviations on shares (public-count rules of eviction-baselines.md B8, flagged):
 *   d2o            uniform layer budgets by default ({ layerBudgets: 'uniform', merge: false }); 'adaptive'
 *                  only with revealLayerBudgets: true (opens every head's density variance: a
 *                  documented leak, off by default); the merge is opt-in (d2o: { merge: true }, on
 *                  shares by a merge matrix, secure-d2o-merge.ts; the prompt's eviction merges nothing)
 *   cake           layer budgets 'uniform' unless calibrated public budgets are given (an array);
 *                  'adaptive' only with revealLayerBudgets: true (opens each layer's entropy and
 *                  variance: a documented leak, off by default); decode pooling kernel 1
 *   attention-gate needs `attentionGate.weights` (the plaintext gate, split in-process with a fixed
 *                  seed: both parties are handed the weights on this path; a deployment constructs
 *                  SecureAttentionGatePolicy with each party's GateShares); countMode 'topk' by default
 * Grouped-query models: h2o, d2o, cake and snapkv keep one score table and one kept set per KV head,
 * summing the group's query heads, as their plaintext twins (policy-config.ts kvUnitOf).
 * `compactEvery` (secure only): decoding steps between dead-slot compactions of the lazy-deletion
 * policies h2o, tova, d2o, cake and attention-gate 'topk' (dead-slot-compaction.ts; default
 * DEFAULT_COMPACT_EVERY, 0 = never).
 */
import { CAKE_DEFAULTS } from '../cache/cake';
import { D2O_DEFAULTS } from '../cache/d2o';
import { H2O_DEFAULTS } from '../cache/h2o';
import { isPolicyName, type PolicyConfig } from '../cache/make-policy';
import { validatePolicyContext, type PolicyName } from '../cache/policy-config';
import { QUEST_DEFAULTS } from '../cache/quest';
import { SNAPKV_DEFAULTS } from '../cache/snapkv';
import { STREAMING_LLM_DEFAULTS } from '../cache/streaming-llm';
import { SecureFullCache, type SecureKVCachePolicy } from '../secure/secure-kv-cache-policy';
import { SecureAttentionGatePolicy } from './secure-attention-gate';
import { SecureCakePolicy } from './secure-cake';
import { SecureD2oPolicy } from './secure-d2o';
import { DeadSlotPolicy } from './dead-slot-policy';
import { SecureH2oPolicy, SecureTovaPolicy } from './secure-h2o';
import { SecureMpcachePolicy } from './secure-mpcache-policy';
import { SecureQuestPolicy, SecureTokenTopKPolicy } from './secure-quest';
import { SecureSnapKvPolicy, SecureStreamingLlmPolicy } from './secure-snapkv';

/** Policies available on shares. */
export const SECURE_POLICY_NAMES: readonly PolicyName[] = Object.freeze([
  'full', 'streamingllm', 'h2o', 'tova', 'snapkv', 'quest', 'd2o', 'cake', 'attention-gate', 'mpcache', 'token-topk',
]);

/** The plaintext policy options plus the secure-only schedule of dead-slot compactions. */
export type SecurePolicyConfig = PolicyConfig & { compactEvery?: number };

type Factory = (budget: number, c: PolicyConfig) => SecureKVCachePolicy;

/**
 * The plaintext options with what runs on shares by default laid over them: D2O with uniform layer
 * budgets and no merge (and, when merging, none at the prompt's eviction, which on shares is a
 * compaction: promptMerge false), CAKE with uniform budgets (the adaptive budgets would open per-layer
 * statistics, and D2O's merge costs a product per step); `c`'s own d2o/cake options win. The
 * plaintext twin of a secure policy is makePolicy(name, budget, secureDefaults(c)).
 */
export function secureDefaults(c: PolicyConfig): PolicyConfig {
  return { ...c, d2o: { layerBudgets: 'uniform', merge: false, promptMerge: false, ...c.d2o }, cake: { layerBudgets: 'uniform', ...c.cake } };
}

const FACTORIES: Partial<Record<PolicyName, Factory>> = {
  full: () => new SecureFullCache(),
  streamingllm: (b, c) => new SecureStreamingLlmPolicy(b, { ...STREAMING_LLM_DEFAULTS, ...c.streamingllm }),
  h2o: (b, c) => new SecureH2oPolicy(c.model.nLayers, b, { ...H2O_DEFAULTS, ...c.h2o }),
  tova: (b, c) => new SecureTovaPolicy(c.model.nLayers, b),
  snapkv: (b, c) => new SecureSnapKvPolicy(c.model.nLayers, b, { ...SNAPKV_DEFAULTS, ...c.snapkv }),
  quest: (b, c) => new SecureQuestPolicy(c.model.nLayers, b, c.model.seqLen, { ...QUEST_DEFAULTS, ...c.quest }),
  d2o: (b, c) => new SecureD2oPolicy(c.model.nLayers, b, { ...D2O_DEFAULTS, ...secureDefaults(c).d2o }),
  cake: (b, c) => new SecureCakePolicy(c.model.nLayers, b, { ...CAKE_DEFAULTS, ...secureDefaults(c).cake }),
  'attention-gate': (b, c) => {
    const weights = c.attentionGate?.weights;
    if (!weights) throw new RangeError(`policy "attention-gate" needs "attentionGate.weights" (attention-gate-weights.ts)`);
    return new SecureAttentionGatePolicy(c.model, b, { countMode: 'topk', threshold: 0, maskPrefill: true, recentFraction: 0, ...c.attentionGate, weights });
  },
  mpcache: (b, c) => new SecureMpcachePolicy(c.model, b, c.mpcache),
  'token-topk': (b, c) => new SecureTokenTopKPolicy(c.model.nLayers, b),
};


/** A fresh secure policy `name` attending at most `budget` positions per head per decoding step. */
export function makeSecurePolicy(name: string, budget: number, config: SecurePolicyConfig): SecureKVCachePolicy {
  if (!isPolicyName(name)) throw new RangeError(`unknown policy "${name}"; known: ${SECURE_POLICY_NAMES.join(', ')}`);
  validatePolicyContext({ model: config.model, budget, fracBits: config.fracBits ?? null });
  const make = FACTORIES[name];
  if (!make) throw new RangeError(`policy "${name}" is not available on shares; available: ${SECURE_POLICY_NAMES.join(', ')}`);
  const policy = make(budget, config);
  if ((policy instanceof DeadSlotPolicy || policy instanceof SecureAttentionGatePolicy) && config.compactEvery !== undefined) policy.compactEvery = config.compactEvery;
  return policy;
}

/**
 * makePolicy — build any KV-cache policy by its CLI name at a token budget (policy-config.ts for the
 * budget convention). Per-policy options are partial overrides of each policy's defaults.
 *
 *   makePolicy('mpcache', 64, { model: STORIES15M, mpcache: { clusterSizes: [8, 4] } })
 *
 * `SHORT_CONTEXT_OPTIONS` holds the scaling used for stories15M's 256-token context (clusters and
 * pages of 8/4 tokens instead of 32/16, 8 forced recent prompt tokens instead of 32).
 */
import { AttentionGatePolicy, type AttentionGateOptions } from './attention-gate';
import { CAKE_DEFAULTS, CakePolicy, type CakeOptions } from './cake';
import { D2O_DEFAULTS, D2oPolicy, type D2oOptions } from './d2o';
import { H2O_DEFAULTS, H2oPolicy, type H2oOptions } from './h2o';
import { FullCache, type KVCachePolicy } from './kv-cache-policy';
import type { MpcacheConfig } from './mpcache-config';
import { MpcachePolicy } from './mpcache-policy';
import { POLICY_NAMES, validatePolicyContext, type PolicyContext, type PolicyModel, type PolicyName } from './policy-config';
import { QUEST_DEFAULTS, QuestPolicy, type QuestOptions } from './quest';
import { SNAPKV_DEFAULTS, SnapKvPolicy, type SnapKvOptions } from './snapkv';
import { STREAMING_LLM_DEFAULTS, StreamingLlmPolicy, type StreamingLlmOptions } from './streaming-llm';
import { TokenTopKPolicy } from './token-topk';
import { TovaPolicy } from './tova';

export interface PolicyConfig {
  model: PolicyModel;
  /** Fixed-point emulation grid of the decoder (null/absent: float64). */
  fracBits?: number | null;
  streamingllm?: Partial<StreamingLlmOptions>;
  h2o?: Partial<H2oOptions>;
  snapkv?: Partial<SnapKvOptions>;
  quest?: Partial<QuestOptions>;
  d2o?: Partial<D2oOptions>;
  cake?: Partial<CakeOptions>;
  /** Required for 'attention-gate': at least `weights`. */
  attentionGate?: Partial<AttentionGateOptions>;
  mpcache?: Partial<MpcacheConfig>;
}

/** Per-policy options for short contexts (stories15M, 256 positions); recorded in eval output. */
export const SHORT_CONTEXT_OPTIONS = Object.freeze({
  mpcache: { clusterSizes: [8, 4], forcedRecent: 8 } as Partial<MpcacheConfig>,
  quest: { pageSize: 4 } as Partial<QuestOptions>,
});

const FACTORIES: Readonly<Record<PolicyName, (ctx: PolicyContext, c: PolicyConfig) => KVCachePolicy>> = {
  full: () => new FullCache(),
  streamingllm: (ctx, c) => new StreamingLlmPolicy(ctx, { ...STREAMING_LLM_DEFAULTS, ...c.streamingllm }),
  h2o: (ctx, c) => new H2oPolicy(ctx, { ...H2O_DEFAULTS, ...c.h2o }),
  tova: (ctx) => new TovaPolicy(ctx),
  snapkv: (ctx, c) => new SnapKvPolicy(ctx, { ...SNAPKV_DEFAULTS, ...c.snapkv }),
  quest: (ctx, c) => new QuestPolicy(ctx, { ...QUEST_DEFAULTS, ...c.quest }),
  d2o: (ctx, c) => new D2oPolicy(ctx, { ...D2O_DEFAULTS, ...c.d2o }),
  cake: (ctx, c) => new CakePolicy(ctx, { ...CAKE_DEFAULTS, ...c.cake }),
  'attention-gate': (ctx, c) => {
    const weights = c.attentionGate?.weights;
    if (!weights) throw new RangeError(`policy "attention-gate" needs "attentionGate.weights" (attention-gate-weights.ts)`);
    return new AttentionGatePolicy(ctx, { countMode: 'topk', threshold: 0, maskPrefill: true, recentFraction: 0, ...c.attentionGate, weights });
  },
  mpcache: (ctx, c) => new MpcachePolicy(ctx, c.mpcache),
  'token-topk': (ctx) => new TokenTopKPolicy(ctx),
};

/** True if `name` is one of POLICY_NAMES. */
export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/** `name` if it is one of POLICY_NAMES; a RangeError listing them otherwise. */
export function assertPolicyName(name: string): PolicyName {
  if (!isPolicyName(name)) throw new RangeError(`unknown policy "${name}"; known: ${POLICY_NAMES.join(', ')}`);
  return name;
}

/** A fresh policy `name` attending at most `budget` positions per head per decoding step. */
export function makePolicy(name: string, budget: number, config: PolicyConfig): KVCachePolicy {
  const known = assertPolicyName(name);
  const ctx: PolicyContext = { model: config.model, budget, fracBits: config.fracBits ?? null };
  validatePolicyContext(ctx);
  return FACTORIES[known](ctx, config);
}

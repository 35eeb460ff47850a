/**
 * secureGenerateJob — the real job: greedy generation by the secure transformer
 * (@mpcache/mpcache `Generator`) on a secret-shared prompt.
 *
 * Per session: this party's weight shares (loaded once, at server start) are masked for the
 * session's dealer streams (`maskModelWeights`: 1 + 4·nLayers rounds, 8 B per weight element per
 * party, once; for stories15M ≈ 15 M elements, dominated by the 9.2 M-element tied embedding), then
 * `prefill` runs the whole prompt in one pass and each `step` feeds the previous token's one-hot
 * share back. The client sends shares of the prompt's token ids ('ids'; the parties turn them into
 * one-hot rows with one DPF round); a token leaves a party only as its share of the id.
 *
 * Memory per session and party: the masked weights, two words per weight element (≈ 240 MB for
 * stories15M), plus the masked K/V cache. Size MAX_SESSIONS (`--max-sessions`) to the machine.
 */
import {
  defaultPolicyBudget,
  defaultPolicyConfig,
  Generator,
  makePolicy,
  makeSecurePolicy,
  maskModelWeights,
  SECURE_POLICY_NAMES,
  SecureFullCache,
  SecureSinkWindowCache,
  type KVCachePolicy,
  type ModelConfig,
  type SecureKVCachePolicy,
  type WeightShares,
} from '@mpcache/mpcache';
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import type { JobParams, JobRun, PartyJob } from './party-job';

/** KV-cache policies a session may name, each a fresh instance per session. */
export type SecurePolicyFactories = Readonly<Record<string, () => SecureKVCachePolicy>>;

/** The deployment's 'streaming' policy: attention sinks and recent rows attended. */
const STREAMING_SINKS = 4, STREAMING_WINDOW = 64;

/**
 * The policies a deployment serves for a model: 'full' (the default), 'streaming' (4 attention
 * sinks and the 64 most recent rows), and every policy available on shares by its plaintext CLI
 * name (makeSecurePolicy: mpcache, streamingllm, h2o, tova, snapkv, quest, d2o, cake, token-topk)
 * at defaultPolicyBudget(seqLen) with defaultPolicyConfig — public choices, known to both parties.
 * Attention-Gate is left out: it needs a trained gate from the model owner.
 */
export function defaultSecurePolicies(config: ModelConfig): SecurePolicyFactories {
  const budget = defaultPolicyBudget(config.seqLen, config), options = defaultPolicyConfig(config);
  const out: Record<string, () => SecureKVCachePolicy> = {
    full: () => new SecureFullCache(),
    streaming: () => new SecureSinkWindowCache(STREAMING_SINKS, STREAMING_WINDOW),
  };
  for (const name of SECURE_POLICY_NAMES) {
    if (name !== 'full' && name !== 'attention-gate') out[name] = () => makeSecurePolicy(name, budget, options);
  }
  return out;
}

/**
 * The float64 (plaintext) twin of a policy of defaultSecurePolicies, for comparisons on the
 * client: the same name, budget and options; undefined for the full cache.
 */
export function plaintextPolicyTwin(policy: string, config: ModelConfig): KVCachePolicy | undefined {
  if (policy === 'full') return undefined;
  if (policy === 'streaming') return makePolicy('streamingllm', STREAMING_SINKS + STREAMING_WINDOW, { model: config, streamingllm: { sinks: STREAMING_SINKS } });
  return makePolicy(policy, defaultPolicyBudget(config.seqLen, config), defaultPolicyConfig(config));
}

export interface SecureGenerateJobOptions {
  /** This party's shares of the model's weights. */
  readonly shares: WeightShares;
  /** Default defaultSecurePolicies(the model) ('full' first). */
  readonly policies?: SecurePolicyFactories;
}

export function secureGenerateJob(opts: SecureGenerateJobOptions): PartyJob {
  const c = opts.shares.config;
  const policies = opts.policies ?? defaultSecurePolicies(c);
  return {
    model: c.name,
    policies: Object.keys(policies),
    input: 'ids',
    vocabSize: c.vocabSize,
    maxContext: c.seqLen,
    fracBits: opts.shares.fracBits,
    async start(ctx: PartyContext, params: JobParams): Promise<JobRun> {
      const weights = await maskModelWeights(ctx, opts.shares);
      const generator = new Generator(ctx, weights, { kvPolicy: policies[params.policy](), temperature: params.temperature ?? 0 });
      return { generate: (prompt, maxNewTokens) => greedyTokens(generator, prompt, maxNewTokens) };
    },
  };
}

async function* greedyTokens(generator: Generator, prompt: RingTensor, maxNewTokens: number): AsyncGenerator<bigint> {
  let token = await generator.prefill(prompt);
  yield token.idShare.data[0];
  for (let i = 1; i < maxNewTokens; i++) {
    token = await generator.step();
    yield token.idShare.data[0];
  }
}

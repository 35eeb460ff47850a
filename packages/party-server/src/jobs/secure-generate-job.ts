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
  loadShippedAttentionGate,
  makePolicy,
  makeSecurePolicy,
  maskModelWeights,
  secureDefaults,
  SECURE_POLICY_NAMES,
  SecureAttentionGatePolicy,
  SecureFullCache,
  SecureSinkWindowCache,
  SHIPPED_ATTENTION_GATES,
  type KVCachePolicy,
  type ModelConfig,
  type SecureKVCachePolicy,
  type WeightShares,
} from '@mpcache/mpcache';
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import type { PartyGateShares } from './local-gate-shares';
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
 * 'attention-gate' only with `gate`, this party's shares of the model owner's trained gate
 * (local-gate-shares.ts: models with a shipped gate), run with the options recorded in the gate file.
 */
export function defaultSecurePolicies(config: ModelConfig, gate: PartyGateShares | null = null): SecurePolicyFactories {
  const budget = defaultPolicyBudget(config.seqLen, config), options = defaultPolicyConfig(config);
  const out: Record<string, () => SecureKVCachePolicy> = {
    full: () => new SecureFullCache(),
    streaming: () => new SecureSinkWindowCache(STREAMING_SINKS, STREAMING_WINDOW),
  };
  for (const name of SECURE_POLICY_NAMES) {
    if (name !== 'full' && name !== 'attention-gate') out[name] = () => makeSecurePolicy(name, budget, options);
  }
  if (gate) out['attention-gate'] = () => new SecureAttentionGatePolicy(config, budget, gate.policy, gate.shares);
  return out;
}

/**
 * The float64 (plaintext) twin of a policy of defaultSecurePolicies, for comparisons on the
 * client: the same name, budget and options (secureDefaults: D2O and CAKE as they run on shares);
 * undefined for the full cache. 'attention-gate' reads
 * the model's shipped gate file (public in this demo setup); ModelFileError if the model has none.
 */
export function plaintextPolicyTwin(policy: string, config: ModelConfig): KVCachePolicy | undefined {
  if (policy === 'full') return undefined;
  if (policy === 'streaming') return makePolicy('streamingllm', STREAMING_SINKS + STREAMING_WINDOW, { model: config, streamingllm: { sinks: STREAMING_SINKS } });
  const budget = defaultPolicyBudget(config.seqLen, config), options = secureDefaults(defaultPolicyConfig(config));
  if (policy === 'attention-gate') {
    const gate = loadShippedAttentionGate(config);
    return makePolicy(policy, budget, { ...options, attentionGate: { ...gate.header.policy, weights: gate.weights } });
  }
  return makePolicy(policy, budget, options);
}

export interface SecureGenerateJobOptions {
  /** This party's shares of the model's weights. */
  readonly shares: WeightShares;
  /** This party's shares of the model's trained Attention-Gate (localGateShares), if it has one. */
  readonly gate?: PartyGateShares | null;
  /** Default defaultSecurePolicies(the model, gate) ('full' first). */
  readonly policies?: SecurePolicyFactories;
  /** The sharing's id (PartyJob.shareSet). */
  readonly shareSet?: string;
}

export function secureGenerateJob(opts: SecureGenerateJobOptions): PartyJob {
  const c = opts.shares.config, gate = opts.gate ?? null;
  if (gate && (gate.shares.dModel !== c.dModel || gate.shares.nHeads !== c.nHeads || gate.shares.layers.length !== c.nLayers)) {
    throw new RangeError(`attention-gate shares expected (dModel ${c.dModel}, nHeads ${c.nHeads}, ${c.nLayers} layers) of model "${c.name}", got (${gate.shares.dModel}, ${gate.shares.nHeads}, ${gate.shares.layers.length})`);
  }
  if (gate && gate.shares.fracBits !== undefined && gate.shares.fracBits !== opts.shares.fracBits) {
    throw new RangeError(`attention-gate shares at ${gate.shares.fracBits} fractional bits, the weight shares at ${opts.shares.fracBits}`);
  }
  const policies = opts.policies ?? defaultSecurePolicies(c, gate);
  return {
    model: c.name,
    policies: Object.keys(policies),
    ...(gate || policies['attention-gate'] ? {} : { unavailablePolicies: { 'attention-gate': noGate(c.name) } }),
    input: 'ids',
    vocabSize: c.vocabSize,
    maxContext: c.seqLen,
    fracBits: opts.shares.fracBits,
    ...(opts.shareSet ? { shareSet: opts.shareSet } : {}),
    async start(ctx: PartyContext, params: JobParams): Promise<JobRun> {
      const weights = await maskModelWeights(ctx, opts.shares);
      const generator = new Generator(ctx, weights, { kvPolicy: policies[params.policy](), temperature: params.temperature ?? 0, topK: params.topK, topP: params.topP });
      let turns = 0;
      return { generate: (prompt, maxNewTokens) => turnTokens(generator, turns++ > 0, prompt, maxNewTokens, params.stopToken) };
    },
  };
}

function noGate(model: string): string {
  return `model "${model}" has no trained Attention-Gate on this server (the model owner provides one; shipped for: ${Object.keys(SHIPPED_ATTENTION_GATES).join(', ')})`;
}

/**
 * One turn's tokens: the first turn prefills the prompt, a later one extends the sequence with it;
 * with a stop token the turn ends after it (checked after every token but the turn's last).
 */
async function* turnTokens(generator: Generator, later: boolean, prompt: RingTensor, maxNewTokens: number, stopToken?: number): AsyncGenerator<bigint> {
  let token = later ? await generator.extend(prompt) : await generator.prefill(prompt);
  for (let i = 1; ; i++) {
    yield token.idShare.data[0];
    if (i === maxNewTokens || (stopToken !== undefined && (await generator.lastTokenIs(stopToken)))) return;
    token = await generator.step();
  }
}

/**
 * The KV-cache policies `bench decode` measures (makeSecurePolicy: every policy available on
 * shares, by the CLI name of its plaintext twin) and how a row starts warm at a context of n
 * positions without a secure prefill of n tokens (infeasible at 4K; the prefill is paid once per
 * prompt, the decoding step once per token, and the step is what is measured):
 *   1. SecureDecoder.warmCache appends a "prompt" of n − tokens − 1 rows of shared zeros to every
 *      layer, masked once as real appends are (cost does not depend on the cached values), and the
 *      policy's `warm` installs the state that prompt would leave: MPCache keeps its static set of
 *      staticKeepCount(prompt, budget) rows and takes zero-valued cluster bounds; H2O/TOVA/D2O and
 *      SnapKV compact to their budget; full, StreamingLLM, Quest and token top-k keep every row;
 *   2. one warm-up token (a 1-token prefill on the warmed cache), then `tokens` measured steps, the
 *      last at position n.
 * The look-once work at the prompt's end (MPCache's static eviction, SnapKV's vote) is not part of a
 * decoding step.
 *
 * Budget: attended positions per head per step (policy-config.ts); `--budget auto` is
 * defaultPolicyBudget(n) (policy-defaults.ts: max(⌈n/16⌉, 3·s0), about 6 % of the context), and the
 * options are defaultPolicyConfig (stories15M's short context: clusters of 8/4 tokens, as the quality
 * harness uses).
 */
import {
  defaultPolicyConfig, makeSecurePolicy, randomAttentionGateWeights, SECURE_POLICY_NAMES,
  type ModelConfig, type PolicyConfig, type SecureKVCachePolicy,
} from '@mpcache/mpcache';

/** The default options, plus a seeded random attention gate (costs do not depend on its weights). */
export function benchPolicyConfig(model: ModelConfig): PolicyConfig {
  return { ...defaultPolicyConfig(model), attentionGate: { weights: randomAttentionGateWeights(model, 1) } };
}

/** Names `bench decode --policy` accepts. */
export const BENCH_POLICY_NAMES: readonly string[] = SECURE_POLICY_NAMES;

/** A fresh secure policy; RangeError (listing the available names) for unknown ones or bad budgets. */
export function benchPolicy(name: string, model: ModelConfig, budget: number): SecureKVCachePolicy {
  return makeSecurePolicy(name, budget, benchPolicyConfig(model));
}

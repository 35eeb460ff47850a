/**
 * The options and budget a policy gets when nobody chose them: `bench decode` rows with
 * `--budget auto`, and the sessions of a deployment (`mpcache serve`, `demo --policy mpcache`).
 *
 *   defaultPolicyConfig(model)       SHORT_CONTEXT_OPTIONS for short contexts (≤ 256 positions:
 *                                    stories15M), the design's defaults otherwise
 *   defaultPolicyBudget(n, model)    max(⌈n/16⌉, 3·s0): about 6 % of an n-token context, as in the
 *                                    paper, and never below MPCache's minimum (its forced clusters
 *                                    and minCoarseClusters − 1 coarse clusters of s0 tokens)
 */
import { SHORT_CONTEXT_OPTIONS, type PolicyConfig } from './make-policy';
import { mpcacheConfig } from './mpcache-config';
import type { PolicyModel } from './policy-config';

/** Contexts up to this many positions use SHORT_CONTEXT_OPTIONS. */
export const SHORT_CONTEXT_POSITIONS = 256;

export function defaultPolicyConfig(model: PolicyModel): PolicyConfig {
  return { model, ...(model.seqLen <= SHORT_CONTEXT_POSITIONS ? SHORT_CONTEXT_OPTIONS : {}) };
}

export function defaultPolicyBudget(n: number, model: PolicyModel): number {
  const s0 = mpcacheConfig(defaultPolicyConfig(model).mpcache).clusterSizes[0];
  return Math.max(Math.ceil(n / 16), 3 * s0);
}

/**
 * @mpcache/mpcache — the transformer on top of the protocols: plaintext float64 reference model,
 * weight and tokenizer loading, KV-cache policies (MPCache and baselines), the secure decoder.
 *
 * @example
 *   const { config, weights, tokenizer } = loadStories15M();
 *   const ids = new ReferenceDecoder(weights, config).generateGreedy(tokenizer.encode('Once upon a time', { bos: true }), 64);
 *   console.log(tokenizer.decode(ids));
 */
export * from './model/config';
export * from './model/model-file-error';
export * from './model/weights';
export * from './model/random-weights';
export * from './model/tokenizer';
export * from './model/load-stories15m';
export * from './model/blocks';
export * from './model/reference-decoder';
export * from './cache/kv-cache-policy';
export * from './secure/shared-weights';
export * from './secure/secure-weights';
export * from './secure/rope-shares';
export * from './secure/secure-kv-cache-policy';
export * from './secure/secure-layer-cache';
export * from './secure/secure-attention';
export * from './secure/secure-blocks';
export * from './secure/secure-nonlinear';
export * from './secure/secure-decoder';
export * from './secure/generator';
export * from './secure/token-shares';
export * from './cache/policy-config';
export * from './cache/top-k-kept';
export * from './cache/streaming-llm';
export * from './cache/h2o';
export * from './cache/tova';
export * from './cache/snapkv';
export * from './cache/quest';
export * from './cache/token-topk';
export * from './cache/d2o';
export * from './cache/cake-budgets';
export * from './cache/cake';
export * from './cache/attention-gate-weights';
export * from './cache/attention-gate';
export * from './cache/mpcache-config';
export * from './cache/static-eviction';
export * from './cache/cluster-selector';
export * from './cache/mpcache-policy';
export * from './cache/make-policy';
export * from './eval/eval-prompts';
export * from './eval/metrics';
export * from './eval/policy-wrappers';
export * from './eval/run-eval';
export * from './secure-cache/selections';
export * from './secure-cache/cluster-bounds';
export * from './secure-cache/secure-cluster-selector';
export * from './secure-cache/compact-rows';
export * from './secure-cache/secure-mpcache-policy';
export * from './secure-cache/dead-slot-state';
export * from './secure-cache/secure-h2o';
export * from './secure-cache/secure-snapkv';
export * from './secure-cache/secure-quest';
export * from './secure-cache/make-secure-policy';
export * from './cache/attention-gate-fit';
export * from './secure-cache/mpcache-step-cost';
export * from './secure-cache/kv-block-selection';
export * from './secure-cache/secure-cake-scores';
export * from './secure-cache/secure-cake';
export * from './secure-cache/secure-d2o-budgets';
export * from './secure-cache/gate-shares';
export * from './secure-cache/secure-attention-gate';

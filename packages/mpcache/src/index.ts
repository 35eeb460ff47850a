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

/**
 * @mpcache/protocols — two-party protocols on additive shares over Z_2^64 and the dealer's
 * generators for their correlated randomness.
 *
 * @example
 *   const parties = localParties();
 *   const [z0, z1] = await runBoth(parties, (ctx) => beaverMul(ctx, x[ctx.party], y[ctx.party]));
 */
export * from './dealer/correlation';
export * from './dealer/dealer-session';
export * from './dealer/correlation-source';
export * from './dealer/validate';
export * from './engine/context';
export * from './engine/open';
export * from './engine/local-parties';
export * from './beaver/beaver-mul';
export * from './fss/fss-prg';
export * from './shuffle/permutation';
export * from './shuffle/shuffle';
export * from './fss/dpf-keygen';
export * from './fss/dpf-eval';
export * from './dealer/keyed-streams';
export * from './select/masked-dpf';
export * from './select/equality';
export * from './select/one-hot';
export * from './select/lookup-table';
export * from './dealer/dealer-wire';
export * from './dealer/dealer-service';
export * from './dealer/channel-dealer-link';
export * from './beaver/beaver-core';
export * from './beaver/beaver-matmul';
export * from './beaver/masked-operand';
export * from './beaver/masked-matmul';
export * from './fss/dcf-keygen';
export * from './fss/dcf-eval';
export * from './dealer/derived-top-bits';
export * from './trunc/trunc-pr';
export * from './trunc/trunc-pr-fold';
export * from './trunc/mul-fx';
export * from './select/quick-select';
export * from './select/ranking-keys';
export * from './select/top-k';
export * from './select/top-k-bitonic';
export * from './fss/dcf-less-than';
export * from './select/relu';
export * from './select/mux';
export * from './select/max-tree';
export * from './engine/words';
export * from './engine/fuse-rounds';
export * from './nonlinear/threshold-compare';
export * from './nonlinear/gelu';
export * from './nonlinear/silu';
export * from './nonlinear/reciprocal';
export * from './nonlinear/rsqrt';
export * from './nonlinear/exp-clipped';
export * from './nonlinear/mul-broadcast';
export * from './softmax/softmax-rows';
export * from './norms/layer-norm';
export * from './norms/rms-norm';
export * from './trunc/trunc-round';
export * from './dealer/keyed-value-cache';
export * from './nonlinear/poly-input';
export * from './nonlinear/piecewise-poly-design';
export * from './nonlinear/piecewise-poly';
export * from './select/argmax-packed';
export * from './nonlinear/folded-mul';
export * from './nonlinear/normalized-power';
export * from './dealer/correlation-plans';
export * from './sample/gumbel-noise';

/**
 * Every secure policy from makeSecurePolicy through the real secure decoder (random tiny GPT-2
 * weights): a prompt (prefill bracket, compaction with the decoder's own probabilities) then
 * decoding steps, and the benchmark path (warmCache, then steps). Caches must hold the kept rows
 * the policy's public schedule says, and every step must run.
 */
import { runBoth } from '@mpcache/protocols';
import {
  Generator, SECURE_POLICY_NAMES, TINY_GPT2, makeSecurePolicy, randomAttentionGateWeights, randomWeights, shareTokenOneHots, type ModelConfig,
} from '@mpcache/mpcache';
import { secureModel, testPrg } from './secure-helpers';

const config: ModelConfig = { ...TINY_GPT2, nLayers: 2, seqLen: 128 };
const BUDGET = 24;
const policyConfig = { model: config, mpcache: { clusterSizes: [8, 4], forcedRecent: 8, staticKeepBudgetMultiple: 1 }, quest: { pageSize: 4 },
  attentionGate: { weights: randomAttentionGateWeights(config, 3, { gateHeads: 2, gateHeadDim: 8 }) } };
const setup = secureModel(config, randomWeights(config, 5), 12, 'policies-decoder');

/** Rows each layer keeps after a prompt of n then `steps` more tokens (public schedule). */
function expectedRows(name: string, n: number, steps: number): number {
  const b = BUDGET, t = steps;
  switch (name) {
    case 'h2o': case 'd2o': return Math.min(n, b - 1) + t;   // compacted to heavy + recent − 1, then append-only
    case 'tova': return Math.min(n, b - 1) + t;
    case 'attention-gate': return Math.min(n, b - 1) + t; // top-k: the prompt compacted to its top keep + recent window
    case 'snapkv': return Math.min(n, b) + t;
    case 'cake': return Math.min(n, b) + t;               // B_ℓ + w = budget rows (uniform), then lazy deletion
    case 'mpcache': return Math.min(n, Math.max(Math.ceil(0.3 * n), b)) + t;
    default: return n + t;
  }
}

describe('secure policies through the decoder', () => {
  it.each(SECURE_POLICY_NAMES.map((n) => [n]))('%s: prompt of 36 + 3 steps; warm 80 + 2 steps', async (name) => {
    const { parties, secure } = await setup;
    const prompt = Array.from({ length: 36 }, (_, i) => (i * 7 + 3) % config.vocabSize);
    const rows = shareTokenOneHots(prompt, config.vocabSize, testPrg('pd/prompt'));
    const out = await runBoth(parties, async (ctx) => {
      const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: makeSecurePolicy(name, BUDGET, policyConfig) });
      await gen.prefill(rows[ctx.party]);
      const before = ctx.ledger.get('softmaxWeightedSum').rounds, formed = ctx.ledger.get('softmaxRows').rounds;
      for (let s = 0; s < 3; s++) await gen.step();
      const weighedByNumerators = ctx.ledger.get('softmaxWeightedSum').rounds > before;
      const formedProbs = ctx.ledger.get('softmaxRows').rounds > formed;
      const afterPrompt = gen.decoder.layerCaches.map((c) => c.length);
      gen.reset();
      await gen.warmCache(80);
      await gen.prefill(shareTokenOneHots([5], config.vocabSize, testPrg('pd/one'))[ctx.party]);
      const step = await gen.step();
      return { afterPrompt, afterWarm: gen.decoder.layerCaches.map((c) => c.length), step, weighedByNumerators, formedProbs };
    });
    // decoding steps form P only for the policies that read it at every step
    const readsProbs = ['h2o', 'tova', 'd2o', 'cake'].includes(name);
    expect([out[0].formedProbs, out[0].weighedByNumerators]).toEqual([readsProbs, !readsProbs]);
    expect(out[0].afterPrompt).toEqual(new Array(config.nLayers).fill(expectedRows(name, 36, 3)));
    expect(out[0].afterWarm).toEqual(new Array(config.nLayers).fill(expectedRows(name, 80, 2)));
    expect(out[0].step.cost.rounds).toBe(out[1].step.cost.rounds);
  });

  it('names: every plaintext policy name is known; missing inputs and bad head counts throw a RangeError naming the field', () => {
    expect(() => makeSecurePolicy('attention-gate', BUDGET, { ...policyConfig, attentionGate: undefined })).toThrow(/"attention-gate" needs/);
    expect(() => makeSecurePolicy('nope', BUDGET, policyConfig)).toThrow(/unknown policy "nope"/);
    // grouped-query models run every policy (per-KV-head ones: secure-gqa-policies.test.ts); KV heads must divide the query heads
    expect(() => makeSecurePolicy('h2o', BUDGET, { ...policyConfig, model: { ...config, nHeads: 4, nKvHeads: 3 } })).toThrow(/"model.nKvHeads" expected a positive divisor of nHeads = 4, got 3/);
    for (const name of SECURE_POLICY_NAMES) expect(() => makeSecurePolicy(name, BUDGET, { ...policyConfig, model: { ...config, nHeads: 4, nKvHeads: 2 } })).not.toThrow();
  });

  // D2O with fewer heavy-hitter slots than sinks, H2O with none (refused before session 14; kept sets
  // against the plaintext: secure-baselines.test.ts)
  it.each([
    ['d2o', 5, {}, 4],
    ['h2o', 4, { h2o: { heavyFraction: 0 } }, 3],
  ] as const)('%s at budget %i (%j): prompt of 36 + 3 steps with compactions', async (name, budget, extra, rowsAfterPrompt) => {
    const { parties, secure } = await setup;
    const prompt = Array.from({ length: 36 }, (_, i) => (i * 5 + 1) % config.vocabSize);
    const rows = shareTokenOneHots(prompt, config.vocabSize, testPrg('pd/few-heavy'));
    const out = await runBoth(parties, async (ctx) => {
      const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: makeSecurePolicy(name, budget, { ...policyConfig, ...extra, compactEvery: 2 }) });
      await gen.prefill(rows[ctx.party]);
      const afterPrompt = gen.decoder.layerCaches.map((c) => c.length);
      for (let s = 0; s < 3; s++) await gen.step();
      return { afterPrompt, afterSteps: gen.decoder.layerCaches.map((c) => c.length) };
    });
    expect(out[0].afterPrompt).toEqual(new Array(config.nLayers).fill(rowsAfterPrompt));
    // one victim per step from the 2nd on; the compaction after step 2 drops that step's one
    expect(out[0].afterSteps).toEqual(new Array(config.nLayers).fill(rowsAfterPrompt + 3 - 1));
    expect(out[1]).toEqual(out[0]);
  });
});

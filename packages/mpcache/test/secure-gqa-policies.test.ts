/**
 * The per-KV-head policies (H2O, D2O, CAKE, SnapKV; TOVA, per layer; and the per-query-head ones,
 * MPCache, Quest, token top-k, Attention-Gate, and StreamingLLM alongside) on a grouped-query model:
 * 4 query heads over 2 KV heads. On shares they keep one kept set per KV head, summing the
 * group's attention; their plaintext twins now do the same (policy-config.ts kvUnitOf), so the secure
 * logits must follow the fixed-point reference step by step through a prompt, its eviction and the
 * decoding steps after it. Before, the twins kept one set per query head and the secure policies were
 * refused on such models (a differential fuzz had found SnapKV's kept sets silently differing).
 * Randomness is pinned (as secure-turn-policies.test.ts): a near-tie in an eviction ranking can flip
 * under truncation noise and move the logits by more than the tolerance.
 */
import { runBoth } from '@mpcache/protocols';
import {
  ReferenceDecoder, SecureDecoder, SecureMpcachePolicy, TINY_LLAMA, makeSecurePolicy, randomAttentionGateWeights, randomWeights, secureDefaults, shareTokenOneHots, type ModelConfig, type SecurePolicyConfig,
} from '@mpcache/mpcache';
import { makePolicy } from '../src/cache/make-policy';
import { PINNED, maxAbsDiff, openReals, secureModel, testPrg } from './secure-helpers';

const RUN = `${PINNED}1/gqa/`;
const F = 16;
const BUDGET = 16;
const STEPS = 5;
const config: ModelConfig = { ...TINY_LLAMA, nLayers: 2, seqLen: 96 };
const weights = randomWeights(config, 31);
const PROMPT = Array.from({ length: 40 }, (_, i) => (i * 13 + 7) % config.vocabSize);
const setup = secureModel(config, weights, F, `${RUN}model`);

/** The reference's logits after the prompt and after each of `STEPS` greedy steps, and the tokens fed. */
function reference(policyConfig: SecurePolicyConfig, name: string, model: ModelConfig = config): { logits: Float64Array[]; tokens: number[] } {
  const ref = new ReferenceDecoder(weights, config, { kvPolicy: makePolicy(name, BUDGET, secureDefaults({ ...policyConfig, model, fracBits: F })), fixedPointFracBits: F });
  const logits = [Float64Array.from(ref.prefill(PROMPT))], tokens: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const last = logits[logits.length - 1];
    tokens.push(last.indexOf(Math.max(...last)));
    logits.push(Float64Array.from(ref.forward(tokens[s], ref.length)));
  }
  return { logits, tokens };
}

describe('per-KV-head policies on a grouped-query model (4 query heads, 2 KV heads)', () => {
  it('the model is grouped-query', () => {
    expect(config.nHeads / config.nKvHeads).toBe(2);
  });

  it.each([
    ['h2o', {}], ['d2o', {}], ['d2o', { d2o: { merge: true } }], ['cake', { cake: { window: 4 } }], ['cake', { cake: { window: 4, layerBudgets: 'adaptive', revealLayerBudgets: true } }], ['snapkv', { snapkv: { window: 4 } }], ['tova', {}],
  ] as const)('%s %j: secure logits = the fixed-point reference\'s at the prompt and every step after its eviction', async (name, extra) => {
    const { parties, secure } = await setup;
    const policyConfig: SecurePolicyConfig = { model: config, ...extra };
    const want = reference(policyConfig, name), full = reference(policyConfig, 'full');
    const label = `${RUN}${name}${JSON.stringify(extra)}`;
    const prompt = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${label}/prompt`));
    const steps = want.tokens.map((t, s) => shareTokenOneHots([t], config.vocabSize, testPrg(`${label}/step${s}`)));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy(name, BUDGET, policyConfig), dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill!(PROMPT.length);
      const all = await dec.forward(ctx, prompt[ctx.party]);
      await policy.endPrefill!(ctx, PROMPT.length);
      const logits = [all];
      for (const s of steps) logits.push(await dec.forward(ctx, s[ctx.party]));
      return { logits, rows: dec.layerCaches.map((c) => c.length) };
    });
    const got = out[0].logits.map((l, i) => openReals([l, out[1].logits[i]], F)).map((x) => x.subarray(x.length - config.vocabSize));
    for (let s = 0; s <= STEPS; s++) expect(maxAbsDiff(got[s], want.logits[s])).toBeLessThan(0.02);
    // the eviction matters on this input: the full cache's logits are far from the policy's
    expect(Math.max(...want.logits.map((l, s) => maxAbsDiff(l, full.logits[s])))).toBeGreaterThan(0.1);
    // compacted at the prompt's end (CAKE's adaptive budgets: the budget on average over layers), then one row per step
    const rows = out[0].rows;
    expect(rows.every((r) => r < PROMPT.length)).toBe(true);
    expect(rows.reduce((a, b) => a + b, 0) / rows.length).toBeLessThanOrEqual(BUDGET + STEPS);
  });

  // the query-aware selections pick per query head on any model: MPCache (both gathers), Quest, token
  // top-k; StreamingLLM's window is public
  it.each([['mpcache', 'logits'], ['mpcache', 'kv'], ['quest', ''], ['token-topk', ''], ['streamingllm', '']] as const)('%s %s: secure logits = the fixed-point reference\'s, per query head', async (name, gather) => {
    const { parties, secure } = await setup;
    const mp = { clusterSizes: [4, 2], forcedRecent: 4, staticKeepBudgetMultiple: 1 };
    const policyConfig: SecurePolicyConfig = { model: config, mpcache: mp, quest: { pageSize: 4 } };
    const want = reference(policyConfig, name), full = reference(policyConfig, 'full');
    const label = `${RUN}${name}/${gather}`;
    const prompt = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${label}/prompt`));
    const steps = want.tokens.map((t, s) => shareTokenOneHots([t], config.vocabSize, testPrg(`${label}/step${s}`)));
    const out = await runBoth(parties, async (ctx) => {
      const policy = gather === 'kv' ? new SecureMpcachePolicy(config, BUDGET, mp, { gather: 'kv' }) : makeSecurePolicy(name, BUDGET, policyConfig);
      const dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill?.(PROMPT.length);
      const logits = [await dec.forward(ctx, prompt[ctx.party])];
      await policy.endPrefill?.(ctx, PROMPT.length);
      for (const s of steps) logits.push(await dec.forward(ctx, s[ctx.party]));
      return logits;
    });
    const got = out[0].map((l, i) => openReals([l, out[1][i]], F)).map((x) => x.subarray(x.length - config.vocabSize));
    for (let s = 0; s <= STEPS; s++) expect(maxAbsDiff(got[s], want.logits[s])).toBeLessThan(0.02);
    expect(Math.max(...want.logits.map((l, s) => maxAbsDiff(l, full.logits[s])))).toBeGreaterThan(0.1);
  });

  // Attention-Gate selects per QUERY head, as its twin (each head's own gate logits): on shares its
  // masks and alive bits are per query head too (before session 17 they were per KV head, read with
  // the group's first head's logits: the logits were off by ≈ 1)
  const gate = randomAttentionGateWeights(config, 4, { gateHeads: 2, gateHeadDim: 8 });
  it.each([['topk', true], ['topk', false], ['threshold', true]] as const)('attention-gate %s (masked prefill %s): secure logits = the fixed-point reference\'s, per query head', async (countMode, maskPrefill) => {
    const { parties, secure } = await setup;
    const policyConfig: SecurePolicyConfig = { model: config, attentionGate: { weights: gate, countMode, threshold: 0, maskPrefill } };
    const want = reference(policyConfig, 'attention-gate'), full = reference(policyConfig, 'full');
    const label = `${RUN}ag/${countMode}/${maskPrefill}`;
    const prompt = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${label}/prompt`));
    const steps = want.tokens.map((t, s) => shareTokenOneHots([t], config.vocabSize, testPrg(`${label}/step${s}`)));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy('attention-gate', BUDGET, policyConfig), dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill!(PROMPT.length);
      const logits = [await dec.forward(ctx, prompt[ctx.party])];
      await policy.endPrefill!(ctx, PROMPT.length);
      for (const s of steps) logits.push(await dec.forward(ctx, s[ctx.party]));
      return logits;
    });
    const got = out[0].map((l, i) => openReals([l, out[1][i]], F)).map((x) => x.subarray(x.length - config.vocabSize));
    for (let s = 0; s <= STEPS; s++) expect(maxAbsDiff(got[s], want.logits[s])).toBeLessThan(0.02);
    expect(Math.max(...want.logits.map((l, s) => maxAbsDiff(l, full.logits[s])))).toBeGreaterThan(0.1);
  });

  it('attention-gate topk: a chat turn in one pass, each row its query heads\' running top-k (dense prompt, recent half)', async () => {
    const { parties, secure } = await setup;
    const policyConfig: SecurePolicyConfig = { model: config, attentionGate: { weights: gate, countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0.5 } };
    const TURN = [3, 61, 17, 40, 8, 22, 50, 14, 33];
    const plain = (name: string) => new ReferenceDecoder(weights, config, { kvPolicy: makePolicy(name, BUDGET, secureDefaults({ ...policyConfig, fracBits: F })), fixedPointFracBits: F });
    const ref = plain('attention-gate'), dense = plain('full');
    for (const r of [ref, dense]) { r.prefill(PROMPT); r.forward(5, r.length); }
    const want = Float64Array.from(ref.extend([7, ...TURN])), far = Float64Array.from(dense.extend([7, ...TURN]));
    const label = `${RUN}ag/turn`, rows = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${label}/p`));
    const step = shareTokenOneHots([5], config.vocabSize, testPrg(`${label}/s`)), turn = shareTokenOneHots([7, ...TURN], config.vocabSize, testPrg(`${label}/t`));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy('attention-gate', BUDGET, policyConfig), dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill!(PROMPT.length);
      await dec.forward(ctx, rows[ctx.party]);
      await policy.endPrefill!(ctx, PROMPT.length);
      await dec.forward(ctx, step[ctx.party]);
      return dec.forward(ctx, turn[ctx.party]);
    });
    const got = openReals([out[0], out[1]], F);
    expect(maxAbsDiff(got.subarray(got.length - config.vocabSize), want)).toBeLessThan(0.02);
    expect(maxAbsDiff(want, far)).toBeGreaterThan(0.1);
  });

  it.each(['h2o', 'snapkv'])('%s: one kept set per QUERY head (the twin before) would give other logits on this input', (name) => {
    const extra = name === 'snapkv' ? { snapkv: { window: 4 } } : {};
    const perKv = reference({ model: config, ...extra }, name), perQuery = reference({ model: config, ...extra }, name, { ...config, nKvHeads: config.nHeads });
    expect(Math.max(...perKv.logits.map((l, s) => maxAbsDiff(l, perQuery.logits[s])))).toBeGreaterThan(0.02);
  });
});

/**
 * The quality harness: metrics against an independent direct computation on a tiny model, the
 * `eval --json` row schema, and the committed prompt set (its size and its generating procedure).
 */
import {
  EVAL_PROMPT_SEEDS, FullCache, ReferenceDecoder, TINY_LLAMA, argmax, klDivergence, loadEvalPrompts, loadStories15M,
  logSoftmax, makeEvalPrompts, makePolicy, randomAttentionGateWeights, randomWeights, runEval, type EvalRow, type LoadedModel,
} from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 3);
const c = TINY_LLAMA;
const w = randomWeights(c, SEED);
const model = { config: c, weights: w, tokenizer: null } as unknown as LoadedModel;
const prompts = [
  Array.from({ length: 24 }, (_, i) => (i === 0 ? 1 : (i * 13 + 5) % c.vocabSize)),
  Array.from({ length: 20 }, (_, i) => (i === 0 ? 1 : (i * 29 + 2) % c.vocabSize)),
];
const T = 10;
const gate = randomAttentionGateWeights(c, SEED, { gateHeads: 1, gateHeadDim: 4 });
const policyConfig = { mpcache: { clusterSizes: [4, 2], forcedRecent: 4 }, quest: { pageSize: 2 }, attentionGate: { weights: gate } };

describe('runEval on a tiny model', () => {
  const rows: EvalRow[] = [];
  const result = runEval({
    model, prompts, maxNewTokens: T, budgets: [12, c.seqLen], onRow: (r) => rows.push(r), policyConfig,
    policies: ['full', 'h2o', 'mpcache', 'attention-gate', { label: 'mpcache-exact', name: 'mpcache', options: { mpcache: { clusterSizes: [4, 2], alpha: 'exact' } } }],
  });

  test('schema: model + rows of { policy, budget, agreement, meanKL, perplexity }, streamed to onRow', () => {
    expect(result.model).toBe(c.name);
    expect(result.rows.map((r) => `${r.policy}@${r.budget}`)).toEqual([
      'full@64', 'h2o@12', 'h2o@64', 'mpcache@12', 'mpcache@64', 'attention-gate@12', 'attention-gate@64', 'mpcache-exact@12', 'mpcache-exact@64',
    ]);
    expect(rows).toEqual(result.rows);
    for (const r of result.rows) {
      for (const k of ['agreement', 'meanKL', 'perplexity'] as const) expect(typeof r[k]).toBe('number');
      expect(r.steps).toBe(prompts.length * T);
    }
  });

  test('the full cache agrees with itself; a budget of the whole context equals it', () => {
    const full = result.rows[0];
    expect(full).toMatchObject({ agreement: 1, meanKL: 0 });
    expect(full.perplexity).toBeGreaterThanOrEqual(1);
    for (const r of result.rows.filter((x) => x.budget === c.seqLen && x.policy !== 'full')) {
      expect(r.agreement).toBe(1);
      expect(r.meanKL).toBeLessThan(1e-12);
      expect(r.perplexity).toBeCloseTo(full.perplexity, 10);
    }
    const small = result.rows.find((r) => r.policy === 'h2o' && r.budget === 12)!;
    expect(small.meanKL).toBeGreaterThan(0);
    expect(small.maxAttended).toBeLessThanOrEqual(12);
  });

  test('h2o@12 equals a direct computation (own prefill, no fork, no fan-out)', () => {
    let agree = 0, kl = 0, nll = 0;
    for (const ids of prompts) {
      const ref = new ReferenceDecoder(w, c, { kvPolicy: new FullCache() });
      const y = [argmax(ref.prefill(ids))], refLp: Float64Array[] = [];
      for (let t = 0; t < T; t++) { const l = ref.forward(y[t], ref.length); refLp.push(logSoftmax(l)); y.push(argmax(l)); }
      const dec = new ReferenceDecoder(w, c, { kvPolicy: makePolicy('h2o', 12, { model: c }) });
      dec.prefill(ids);
      for (let t = 0; t < T; t++) {
        const l = dec.forward(y[t], dec.length), lp = logSoftmax(l);
        agree += argmax(l) === y[t + 1] ? 1 : 0;
        kl += klDivergence(refLp[t], lp);
        nll -= lp[y[t + 1]];
      }
    }
    const row = result.rows.find((r) => r.policy === 'h2o' && r.budget === 12)!;
    const steps = prompts.length * T;
    expect(row.agreement).toBe(agree / steps);
    expect(row.meanKL).toBeCloseTo(kl / steps, 12);
    expect(row.perplexity).toBeCloseTo(Math.exp(nll / steps), 10);
  });

  test('fixed-point mode and bad inputs', () => {
    const fx = runEval({ model, prompts: prompts.slice(1), maxNewTokens: 4, budgets: [12], policies: ['full', 'quest'], fracBits: 12, policyConfig });
    expect(fx.fracBits).toBe(12);
    expect(fx.rows[0].meanKL).toBe(0);
    expect(() => runEval({ model, prompts, maxNewTokens: c.seqLen, budgets: [12], policies: ['h2o'] })).toThrow(/must fit seqLen/);
    expect(() => runEval({ model, prompts, maxNewTokens: 2, budgets: [12], policies: ['lru'] })).toThrow(/unknown policy/);
    expect(fx.skipped).toEqual([]);
  });

  test('a budget a policy refuses is skipped with its reason, the others run; refusing every budget fails the run', () => {
    const cfg = { ...policyConfig, quest: { pageSize: 4 } };
    const r = runEval({ model, prompts: prompts.slice(1), maxNewTokens: 3, budgets: [3, 12], policies: ['quest', 'h2o'], policyConfig: cfg });
    expect(r.rows.map((x) => `${x.policy}@${x.budget}`)).toEqual(['quest@12', 'h2o@3', 'h2o@12']);
    expect(r.skipped).toEqual([{ policy: 'quest', budget: 3, reason: expect.stringMatching(/"quest.pageSize" expected an integer in \[1, budget = 3\], got 4/) }]);
    // the rows that ran are those of a run without the refused budget
    const alone = runEval({ model, prompts: prompts.slice(1), maxNewTokens: 3, budgets: [12], policies: ['quest'], policyConfig: cfg });
    expect(r.rows[0]).toEqual(alone.rows[0]);
    expect(() => runEval({ model, prompts, maxNewTokens: 2, budgets: [2, 3], policies: ['quest'], policyConfig: cfg })).toThrow(/policy "quest" refuses every budget \(2, 3\): "quest.pageSize"/);
  });
});

describe('the committed prompt set', () => {
  const file = loadEvalPrompts();

  test('≥ 50 prompts of 150 tokens, BOS first, one per documented seed', () => {
    expect(file.prompts.length).toBeGreaterThanOrEqual(50);
    expect(file.prompts.map((p) => p.seed)).toEqual([...EVAL_PROMPT_SEEDS]);
    for (const p of file.prompts) {
      expect(p.ids).toHaveLength(150);
      expect(p.ids.slice(1)).not.toContain(1);
      expect(p.ids).not.toContain(2);
    }
  });

  test('the procedure reproduces the file (first prompt, first 40 tokens)', () => {
    const { config, weights, tokenizer } = loadStories15M();
    const again = makeEvalPrompts(weights, config, tokenizer, { seeds: EVAL_PROMPT_SEEDS.slice(0, 1), promptTokens: 40 });
    expect(again.prompts[0].ids).toEqual(file.prompts[0].ids.slice(0, 40));
    expect(again.prompts[0].text.startsWith(file.prompts[0].seed)).toBe(true);
  });
});

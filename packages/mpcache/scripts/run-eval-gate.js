#!/usr/bin/env node
// Attention-Gate with a fitted readout (src/cache/attention-gate-fit.ts) through the quality harness:
// node packages/mpcache/scripts/run-eval-gate.js OUT.json. Training text: stories15M samples from
// GATE_TRAIN_SEEDS (the eval-prompt procedure with other seeds, 200 tokens each), not the eval prompts.
// Config (flagged): dense prefill (only the readout is trained, not the model) and a recent window of
// half the budget.
const { writeFileSync } = require('node:fs');
const m = {
  ...require('../dist/eval/run-eval'), ...require('../dist/eval/eval-prompts'), ...require('../dist/model/load-stories15m'),
  ...require('../dist/cache/attention-gate-fit'),
};

const out = process.argv[2] ?? 'eval-gate-result.json';
const model = m.loadStories15M();
const train = m.makeEvalPrompts(model.weights, model.config, model.tokenizer, { seeds: m.GATE_TRAIN_SEEDS, promptTokens: 200 });
const weights = m.fitAttentionGate(model.weights, model.config, train.prompts.map((p) => p.ids));
const result = m.runEval({
  model, budgets: [32, 64, 128], maxNewTokens: 100,
  policies: [{ label: 'attention-gate[fitted]', name: 'attention-gate', options: { attentionGate: { weights, maskPrefill: false, recentFraction: 0.5 } } }],
  onProgress: (p) => console.log(`prompt ${p.promptsDone}/${p.prompts} ${(p.elapsedMs / 1000).toFixed(0)} s`),
});
writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
for (const r of result.rows) console.log(r.policy, r.budget, r.agreement.toFixed(3), r.meanKL.toFixed(4), r.perplexity.toFixed(3), r.meanAttended.toFixed(1));

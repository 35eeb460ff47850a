#!/usr/bin/env node
// Fit stories15M's Attention-Gate and write the shipped file packages/mpcache/data/stories15m.attention-gate.bin
// (format: src/cache/attention-gate-file.ts). Same training text and fit as run-eval-gate.js: stories15M
// samples from GATE_TRAIN_SEEDS (200 tokens each), fitAttentionGate with GATE_FIT_DEFAULTS (deterministic,
// ≈ 70 s on one core). Policy options recorded in the file = the eval's: top-k, dense prefill, recent
// window of half the budget. Needs the build (npx tsc -b packages/mpcache).
//   node packages/mpcache/scripts/fit-stories15m-gate.js [OUT.bin]
// Prints sizes and quantization errors only, never weight values.
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const m = {
  ...require('../dist/eval/eval-prompts'), ...require('../dist/model/load-stories15m'), ...require('../dist/cache/attention-gate-fit'),
  ...require('../dist/cache/attention-gate-file'), ...require('../dist/cache/shipped-attention-gates'),
};

const PROMPT_TOKENS = 200;
const POLICY = { countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0.5 };
const out = process.argv[2] ?? m.shippedAttentionGatePath('stories15m');

const model = m.loadStories15M();
const train = m.makeEvalPrompts(model.weights, model.config, model.tokenizer, { seeds: m.GATE_TRAIN_SEEDS, promptTokens: PROMPT_TOKENS });
const weights = m.fitAttentionGate(model.weights, model.config, train.prompts.map((p) => p.ids));
const NAMES = ['wq', 'wk', 'wv', 'wg', 'bg'];

// the eval's gate (recorded in its result file) must be this fit: fitting is deterministic
const evalFile = join(__dirname, '..', 'data', 'eval-results-attention-gate-fitted.json');
if (existsSync(evalFile)) {
  const rec = JSON.parse(readFileSync(evalFile, 'utf8')).policyOptions.variants[0].options.attentionGate.weights;
  let diff = 0;
  rec.layers.forEach((L, l) => { for (const k of NAMES) Object.values(L[k]).forEach((v, i) => { diff = Math.max(diff, Math.abs(v - weights.layers[l][k][i])); }); });
  console.log(`fresh fit vs the eval's recorded gate: max |Δ| = ${diff}`);
  if (diff !== 0) throw new Error('the fit differs from the gate recorded in eval-results-attention-gate-fitted.json');
}

const bytes = m.encodeAttentionGateFile(weights, {
  model: model.config, policy: POLICY, modelWeightsSha256: m.STORIES15M_SHA256,
  training: {
    method: 'fitAttentionGate: fixed random self-attending MHA′, per-(layer, head) ridge readout to the attention each token receives from the next `horizon` queries of the full-cache model',
    script: 'packages/mpcache/scripts/fit-stories15m-gate.js', trainSeeds: m.GATE_TRAIN_SEEDS, promptTokens: PROMPT_TOKENS, fit: m.GATE_FIT_DEFAULTS,
    eval: 'packages/mpcache/data/eval-results-attention-gate-fitted.json (label attention-gate[fitted])',
  },
});
const back = m.decodeAttentionGateFile(bytes, model.config);
const err = {};
back.weights.layers.forEach((L, l) => { for (const k of NAMES) L[k].forEach((v, i) => { err[k] = Math.max(err[k] ?? 0, Math.abs(v - weights.layers[l][k][i])); }); });
writeFileSync(out, bytes);
console.log(`wrote ${out}: ${bytes.length} bytes (payload ${back.header.payloadBytes}, sha256 ${back.header.payloadSha256.slice(0, 12)}…)`);
console.log('storage:', back.header.tensors.slice(0, 5).map((t) => `${t.name} ${t.sameAs ? `= ${t.sameAs}` : t.dtype}${t.fracBits !== undefined ? `@${t.fracBits}` : ''}`).join(', '));
console.log('max |stored − fitted| per tensor:', err);

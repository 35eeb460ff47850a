#!/usr/bin/env node
// Full plaintext quality eval (src/eval/run-eval.ts): node packages/mpcache/scripts/run-eval.js OUT.json [fracBits]
// Build first: npx tsc -b packages/mpcache. About 1 h on an idle core (50 prompts × 3 budgets); pooled rows so far
// go to OUT.json.partial after each prompt.
const { writeFileSync } = require('node:fs');
const { runEval } = require('../dist/eval/run-eval');

const out = process.argv[2] ?? 'eval-result.json';
const fracBits = process.argv[3] ? Number(process.argv[3]) : null;
const policies = ['full', 'streamingllm', 'h2o', 'tova', 'snapkv', 'quest', 'd2o', 'cake', 'attention-gate', 'mpcache', 'token-topk',
  { label: 'mpcache[rho_s=0.3 only]', name: 'mpcache', options: { mpcache: { clusterSizes: [8, 4], forcedRecent: 8, staticKeepBudgetMultiple: 0 } } }];
const table = (rows) => ['policy'.padEnd(26) + ' budget agree  meanKL  ppl    attended'].concat(rows.map((r) =>
  `${r.policy.padEnd(26)} ${String(r.budget).padStart(6)} ${r.agreement.toFixed(3)} ${r.meanKL.toFixed(4)} ${r.perplexity.toFixed(3)} ${(r.meanAttended ?? NaN).toFixed(1)}`)).join('\n');
const result = runEval({
  policies, budgets: [32, 64, 128], maxNewTokens: 100, fracBits,
  onProgress: (p) => {
    console.log(`prompt ${p.promptsDone}/${p.prompts} ${(p.elapsedMs / 1000).toFixed(0)} s`);
    writeFileSync(out + '.partial', JSON.stringify({ promptsDone: p.promptsDone, rows: p.rows }, null, 1) + '\n');
  },
});
writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
console.log(table(result.rows));

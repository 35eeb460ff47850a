#!/usr/bin/env node
// D2O's variants through the quality harness: what its secure twin runs (eviction-baselines.md §6.5)
// against the plaintext defaults. node packages/mpcache/scripts/run-eval-d2o.js OUT.json
// (build first: npx tsc -b packages/mpcache). The secure twin's layer budgets are uniform unless
// the variances are revealed, its merge is opt-in, and its prompt eviction merges nothing;
// 'local 16' is the design's cheaper candidate scope for a prompt merge on shares (not ported).
const { writeFileSync } = require('node:fs');
const { runEval } = require('../dist/eval/run-eval');

const out = process.argv[2] ?? 'eval-d2o-result.json';
const variant = (label, d2o) => ({ label, name: 'd2o', options: { d2o } });
const policies = [
  'd2o',
  variant('d2o[no prompt merge]', { promptMerge: false }),
  variant('d2o[local 16]', { mergeScope: { local: 16 } }),
  variant('d2o[uniform]', { layerBudgets: 'uniform' }),
  variant('d2o[uniform, no prompt merge]', { layerBudgets: 'uniform', promptMerge: false }),
  variant('d2o[uniform, no merge]', { layerBudgets: 'uniform', merge: false }),
];
const result = runEval({
  policies, budgets: [32, 64, 128], maxNewTokens: 100,
  onProgress: (p) => console.log(`prompt ${p.promptsDone}/${p.prompts} ${(p.elapsedMs / 1000).toFixed(0)} s`),
});
writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
for (const r of result.rows) console.log(r.policy.padEnd(32), r.budget, r.agreement.toFixed(3), r.meanKL.toFixed(4), r.perplexity.toFixed(3), r.meanAttended.toFixed(1));

#!/usr/bin/env node
// Regenerate data/eval-prompts.json (procedure: src/eval/eval-prompts.ts). Build first: npx tsc -b packages/mpcache
const { writeFileSync } = require('node:fs');
const { loadStories15M } = require('../dist/model/load-stories15m');
const { makeEvalPrompts, EVAL_PROMPTS_PATH } = require('../dist/eval/eval-prompts');

const { config, weights, tokenizer } = loadStories15M();
const t0 = Date.now();
const file = makeEvalPrompts(weights, config, tokenizer);
writeFileSync(EVAL_PROMPTS_PATH, JSON.stringify(file, null, 1) + '\n');
console.log(`wrote ${file.prompts.length} prompts of ${file.promptTokens} tokens to ${EVAL_PROMPTS_PATH} in ${Date.now() - t0} ms`);

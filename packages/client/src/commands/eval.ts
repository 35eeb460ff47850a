/**
 * `mpcache eval`: the plaintext quality harness of the KV-cache policies on stories15M
 * (@mpcache/mpcache runEval): per policy and budget, greedy agreement with the full cache, mean
 * KL(p_full ‖ p_policy) and the perplexity of the full cache's continuation, over the stored eval
 * prompts (data/eval-prompts.json). `--json FILE` writes { model, rows: [ { policy, budget,
 * agreement, meanKL, perplexity, … } ], skipped: [ { policy, budget, reason } ] } plus the options
 * used (skipped: the budgets a policy refused, e.g. Quest's pages larger than the budget).
 */
import type { Command } from 'commander';
import { loadEvalPrompts, runEval, type EvalRow } from '@mpcache/mpcache';
import { parseIntArg, parseList, table, writeJson } from '../cli-util';

interface EvalOptions {
  policy: string;
  budget: string;
  prompts?: string;
  maxNewTokens: string;
  fracBits?: string;
  json?: string;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('quality of the KV-cache policies against the full cache (plaintext stories15M, teacher-forced)')
    .option('--policy <list>', "policies; 'full' adds the reference row", 'full,streamingllm,h2o,tova,snapkv,quest,mpcache,token-topk')
    .option('--budget <list>', 'attended positions per head per step, e.g. 32,64,128', '32,64,128')
    .option('--prompts <n>', 'use the first n stored prompts (default: all)')
    .option('--max-new-tokens <n>', 'decoding steps evaluated per prompt', '100')
    .option('--frac-bits <f>', 'emulate the fixed-point grid of the secure decoder (default: float64)')
    .option('--json <file>', 'write results as JSON')
    .action((o: EvalOptions) => {
      const all = loadEvalPrompts().prompts;
      const n = o.prompts === undefined ? all.length : parseIntArg(o.prompts, 'prompts', 1, all.length);
      const budgets = parseList(o.budget).map((b) => parseIntArg(b, 'budget', 2, 1 << 20));
      const t0 = Date.now();
      const result = runEval({
        policies: parseList(o.policy),
        budgets,
        prompts: all.slice(0, n),
        maxNewTokens: parseIntArg(o.maxNewTokens, 'max-new-tokens', 1, 4096),
        fracBits: o.fracBits === undefined ? null : parseIntArg(o.fracBits, 'frac-bits', 1, 24),
        onProgress: (p) => process.stderr.write(`prompt ${p.promptsDone}/${p.prompts} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`),
      });
      process.stdout.write(`${result.model}: ${result.prompts} prompts × ${result.maxNewTokens} steps\n${evalTable(result.rows)}\n`);
      for (const s of result.skipped) process.stdout.write(`not run: ${s.policy} at budget ${s.budget} (${s.reason})\n`);
      writeJson(o.json, result);
    });
}

function evalTable(rows: readonly EvalRow[]): string {
  const out: (string | number)[][] = [['policy', 'budget', 'agreement', 'meanKL', 'perplexity', 'attended']];
  for (const r of rows) {
    out.push([r.policy, r.budget, r.agreement.toFixed(3), r.meanKL.toFixed(4), r.perplexity.toFixed(3), Number.isNaN(r.meanAttended) ? '-' : r.meanAttended.toFixed(1)]);
  }
  return table(out);
}

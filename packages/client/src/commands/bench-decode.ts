/**
 * `mpcache bench decode`: the cost of one decoding step per KV-cache policy and context length,
 * P0 and P1 in two processes over loopback WebSockets, the dealer in this one
 * (bench/decode/bench-decode.ts). `--json FILE` writes { model, net, rows: [ { policy, seqLen,
 * msPerToken, bytesPerToken, roundsPerToken, offlineBytesPerToken, keptTokens, peakRssMB, … } ] }
 * after every row (a long run keeps what it measured); with --temperature (and --top-k, --top-p)
 * every row samples and the report names its `sampling`.
 */
import type { Command } from 'commander';
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { benchDecode, DEFAULT_WARMUP_STEPS, MAX_WARMUP_STEPS, type DecodeRow } from '../bench/decode/bench-decode';
import { fmtBytes, parseIntArg, parseList, table, writeJson } from '../cli-util';
import { parseSampling, TOP_K_HELP, TOP_P_HELP } from './run-generation';

interface DecodeOptions {
  model: string;
  seq: string;
  policy: string;
  net: string;
  tokens: string;
  warmupSteps: string;
  budget: string;
  fracBits?: string;
  seed: string;
  temperature: string;
  topK?: string;
  topP?: string;
  json?: string;
}

export function registerBenchDecodeCommand(bench: Command): void {
  bench
    .command('decode')
    .description('per-token cost of secure decoding per KV-cache policy and context (two party processes, real sockets)')
    .option('--model <name>', 'stories15m (real weights) | gpt2-small | llama-small (seeded random weights) | tiny-llama | tiny-gpt2', 'stories15m')
    .option('--seq <list>', 'context lengths, e.g. 512,1024,4096', '64,128')
    .option('--policy <list>', 'policies, e.g. full,mpcache,token-topk', 'full')
    .option('--net <profile>', 'emulated P0–P1 link: none | lan | wan', 'none')
    .option('--tokens <n>', 'measured decoding steps per row (after the warm-up)', '3')
    .option('--warmup-steps <n>', 'unmeasured decoding steps per row after the warm-up token (the first step has no recorded dealer plan yet)', String(DEFAULT_WARMUP_STEPS))
    .option('--budget <n>', "attended positions per head for budgeted policies, or 'auto' (max(n/16, 3 coarse clusters))", 'auto')
    .option('--frac-bits <f>', 'fixed-point fractional bits (default: the model default, 16)')
    .option('--seed <s>', 'public seed of the bench token shares', 'bench')
    .option('--temperature <T>', 'sample at temperature T on shares (0: greedy)', '0')
    .option('--top-k <k>', TOP_K_HELP)
    .option('--top-p <p>', TOP_P_HELP)
    .option('--json <file>', 'write results as JSON (rewritten after every row)')
    .action(async (o: DecodeOptions) => {
      if (!['none', 'lan', 'wan'].includes(o.net)) throw new RangeError(`--net expected none | lan | wan, got "${o.net}"`);
      const seqLens = parseList(o.seq).map((s) => parseIntArg(s, 'seq', 2, 1 << 20));
      const report = await benchDecode({
        model: o.model,
        seqLens,
        policies: parseList(o.policy),
        net: o.net as 'none' | 'lan' | 'wan',
        tokens: parseIntArg(o.tokens, 'tokens', 1, MAX_NEW_TOKENS),
        warmupSteps: parseIntArg(o.warmupSteps, 'warmup-steps', 0, MAX_WARMUP_STEPS),
        budget: o.budget === 'auto' ? 'auto' : parseIntArg(o.budget, 'budget', 2, 1 << 20),
        fracBits: o.fracBits === undefined ? undefined : parseIntArg(o.fracBits, 'frac-bits', 1, 24),
        seed: o.seed,
        sampling: parseSampling(o),
        onNote: (s) => process.stderr.write(`${s}\n`),
        onRow: (r, rep) => {
          process.stderr.write(`${rowLine(r)}\n`);
          if (o.json) writeJson(o.json, rep);
        },
      });
      const sampled = report.sampling ? `, sampling at T = ${report.sampling.temperature}${report.sampling.topK ? ` top-${report.sampling.topK}` : ''}${report.sampling.topP ? ` top-p ${report.sampling.topP}` : ''}` : '';
      process.stdout.write(`${report.model}, net ${report.net}${sampled}, ${report.tokens} measured tokens per row\n${decodeTable(report.rows)}\n`);
      writeJson(o.json, report);
    });
}

function rowLine(r: DecodeRow): string {
  return `${r.policy} @ ${r.seqLen}: ${(r.msPerToken / 1000).toFixed(2)} s/token (online ≈ ${(r.msOnlinePerToken / 1000).toFixed(2)} s, CPU ${cpuText(r)} s), ` +
    `${fmtBytes(r.bytesPerToken)}, ${r.roundsPerToken} rounds, offline ${fmtBytes(r.offlineBytesPerToken)}, kept ${r.keptTokens}, RSS ${r.peakRssMB.join(' / ')} MB`;
}

export function decodeTable(rows: readonly DecodeRow[]): string {
  const out: (string | number)[][] = [['policy', 'seq', 'budget', 'ms/token', 'median ms', 'max ms', 'online ms', 'CPU s (P0+P1+dealer)', 'bytes/party', 'rounds', 'offline (both)', 'kept', 'peak RSS MB (P0/P1)']];
  for (const r of rows) {
    out.push([r.policy, r.seqLen, r.budget ?? '-', r.msPerToken, r.msPerTokenMedian, r.msPerTokenMax, r.msOnlinePerToken, cpuText(r), fmtBytes(r.bytesPerToken), r.roundsPerToken, fmtBytes(r.offlineBytesPerToken), r.keptTokens, r.peakRssMB.join(' / ')]);
  }
  return table(out);
}

/** The three processes' CPU seconds per token and their sum, e.g. "0.91+0.88+0.87 = 2.66". */
function cpuText(r: DecodeRow): string {
  const { p0, p1, dealer } = r.cpuMsByProcess, s = (ms: number) => (ms / 1000).toFixed(2);
  return `${s(p0)}+${s(p1)}+${s(dealer)} = ${s(r.cpuMsPerToken)}`;
}

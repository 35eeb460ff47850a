/**
 * `mpcache bench compare BASE.json NEW.json` — the rows two runs share (bench decode, bench ops or
 * eval files), each metric's new / base ratio ("=" where an exact count did not move), and the rows
 * only one run has. `mpcache bench compare FILE.json --baseline full [--goals 2.5,8]` — one bench
 * decode file's policies against the baseline policy at each context, as "× lower" (latency, online
 * time, CPU time, online bytes, dealer bytes; rounds side by side; peak RSS as policy / baseline), and whether
 * the latency and byte ratios reach the goals.
 * `--json FILE` writes the comparison object (compare-results.ts).
 */
import type { Command } from 'commander';
import { compareToBaseline, compareVersions, type BaselineComparison, type Goals, type VersionComparison } from '../bench/compare/compare-results';
import { METRICS, readResultFile } from '../bench/compare/result-files';
import { fmtBytes, parseList, parseNumberArg, table, writeJson } from '../cli-util';

interface CompareOptions {
  baseline?: string;
  goals?: string;
  json?: string;
}

export function registerBenchCompareCommand(bench: Command): void {
  bench
    .command('compare')
    .description('compare result files: two runs row by row (new / base), or one bench decode file against a baseline policy')
    .argument('<file>', 'a --json file of bench decode, bench ops or eval (the base run)')
    .argument('[new]', 'the run to compare with it (same kind, model and link)')
    .option('--baseline <policy>', 'one bench decode file: every policy against this one at each context (e.g. full)')
    .option('--goals <latency,bytes>', "with --baseline: the '× lower' latency and online-byte ratios to reach, e.g. 2.5,8")
    .option('--json <file>', 'write the comparison as JSON')
    .action((file: string, next: string | undefined, o: CompareOptions) => {
      if (o.baseline !== undefined && next !== undefined) throw new RangeError('bench compare: --baseline takes one file; two files compare runs');
      if (o.baseline === undefined && next === undefined) throw new RangeError('bench compare: give two files to compare runs, or one bench decode file with --baseline POLICY');
      if (o.goals !== undefined && o.baseline === undefined) throw new RangeError('bench compare: --goals needs --baseline');
      if (o.baseline !== undefined) {
        const res = compareToBaseline(readResultFile(file), o.baseline, o.goals === undefined ? undefined : parseGoals(o.goals));
        process.stdout.write(baselineTable(res) + '\n');
        writeJson(o.json, res);
      } else {
        const res = compareVersions(readResultFile(file), readResultFile(next!));
        process.stdout.write(versionsTable(res) + '\n');
        writeJson(o.json, res);
      }
    });
}

function parseGoals(s: string): Goals {
  const parts = parseList(s);
  if (parts.length !== 2) throw new RangeError(`--goals expected two ratios "latency,bytes", got "${s}"`);
  return { latency: parseNumberArg(parts[0], 'goals', 1, 1e6), bytes: parseNumberArg(parts[1], 'goals', 1, 1e6) };
}

const ratioText = (r: number | null, exact: boolean): string => (r === null ? '-' : exact && r === 1 ? '=' : `${r.toFixed(r < 10 ? 3 : 1)}×`);

function versionsTable(c: VersionComparison): string {
  const metrics = METRICS[c.kind], lead = metrics[0];
  const head = ['row', `${lead.label} base`, `${lead.label} new`, ...metrics.map((m) => `${m.label} ×`)];
  const lines: (string | number)[][] = [head];
  for (const r of c.rows) {
    lines.push([r.key, show(r.base[lead.field]), show(r.next[lead.field]), ...metrics.map((m) => ratioText(r.ratio[m.field], m.exact))]);
  }
  const out = [`${c.kind} results: new ${c.next.file} / base ${c.base.file} (× = new / base; '=' an exact count unchanged)`, table(lines)];
  if (c.onlyInBase.length) out.push(`only in base: ${c.onlyInBase.join(', ')}`);
  if (c.onlyInNext.length) out.push(`only in new: ${c.onlyInNext.join(', ')}`);
  return out.join('\n');
}

function baselineTable(c: BaselineComparison): string {
  const head = ['context', 'policy', 'ms/token', `${c.baselinePolicy} ms`, 'latency × lower', 'online × lower', 'CPU × lower', 'bytes/party', `${c.baselinePolicy} bytes`, 'bytes × lower', 'rounds', `${c.baselinePolicy} rounds`, 'offline × lower', 'peak RSS ×'];
  if (c.goals) head.push(`≥ ${c.goals.latency}× latency`, `≥ ${c.goals.bytes}× bytes`);
  const lines: (string | number)[][] = [head];
  for (const r of c.rows) {
    const line: (string | number)[] = [
      r.seqLen, r.policy, show(r.row.msPerToken), show(r.baseline.msPerToken), ratioText(r.lower.msPerToken, false), ratioText(r.lower.msOnlinePerToken, false),
      ratioText(r.lower.cpuMsPerToken, false), fmtBytes(r.row.bytesPerToken ?? 0), fmtBytes(r.baseline.bytesPerToken ?? 0), ratioText(r.lower.bytesPerToken, false),
      show(r.row.roundsPerToken), show(r.baseline.roundsPerToken), ratioText(r.lower.offlineBytesPerToken, false),
      // RSS as row / baseline: the issue bounds MPCache's extra state by +25 %
      r.lower.peakRssMB ? `${(1 / r.lower.peakRssMB).toFixed(3)}×` : '-',
    ];
    if (r.meets) line.push(r.meets.latency ? 'yes' : 'no', r.meets.bytes ? 'yes' : 'no');
    lines.push(line);
  }
  const out = [`${c.file}: every policy against "${c.baselinePolicy}" at the same context (× lower = ${c.baselinePolicy} / policy; peak RSS × = policy / ${c.baselinePolicy})`, table(lines)];
  if (c.contextsWithoutBaseline.length) out.push(`no "${c.baselinePolicy}" row at context ${c.contextsWithoutBaseline.join(', ')}: not compared`);
  return out.join('\n');
}

const show = (v: number | undefined): string | number => (v === undefined ? '-' : Number.isInteger(v) ? v : Number(v.toFixed(2)));

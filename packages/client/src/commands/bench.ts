/** `mpcache bench ring | ops | decode | compare`. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { benchOps, type OpRow } from '../bench/bench-ops';
import { benchRing } from '../bench/bench-ring';
import { registerBenchCompareCommand } from './bench-compare';
import { registerBenchDecodeCommand } from './bench-decode';
import { fmtBytes, parseIntArg, parseList, table, writeJson } from '../cli-util';

interface CryptenRow {
  name: string;
  rounds: number;
  bytesPerParty: number;
  msTTP: number;
  offlineBytesTTP?: number;
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('benchmarks (results as JSON with --json FILE)');

  bench
    .command('ring')
    .description('ring matmul throughput: WebAssembly i64 kernel vs a Float64Array JS matmul')
    .option('--reps <n>', 'repetitions', '5')
    .option('--json <file>', 'write results as JSON')
    .action(async (o: { reps: string; json?: string }) => {
      const r = await benchRing({ reps: parseIntArg(o.reps, 'reps', 1, 100) });
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      writeJson(o.json, r);
    });

  bench
    .command('ops')
    .description('every protocol at the standard shapes, two parties over loopback WebSockets')
    .option('--reps <n>', 'timed repetitions per op', '5')
    .option('--only <names>', 'comma-separated name prefixes, e.g. mul,softmax')
    .option('--transport <t>', 'ws (two worker threads, real sockets) or memory', 'ws')
    .option('--net <profile>', 'link emulation: none | lan | wan', 'none')
    .option('--frac-bits <f>', 'fixed-point fractional bits', '12')
    .option('--seed <s>', 'public seed of the bench inputs', 'bench')
    .option('--compare <file>', "print ratios against another system's rows (e.g. CrypTen's)")
    .option('--json <file>', 'write results as JSON')
    .action(async (o: Record<string, string | undefined>) => {
      const transport = o.transport === 'memory' ? 'memory' : 'ws';
      const net = (['none', 'lan', 'wan'].includes(o.net!) ? o.net : 'none') as 'none' | 'lan' | 'wan';
      const report = await benchOps({
        reps: parseIntArg(o.reps!, 'reps', 1, 1000),
        fracBits: parseIntArg(o.fracBits!, 'frac-bits', 1, 30),
        only: o.only ? parseList(o.only) : undefined,
        transport,
        net,
        seed: o.seed!,
        onRow: (r) => process.stderr.write(`${r.name}: ${r.rounds} rounds, ${fmtBytes(r.bytesPerParty)}, ${r.msMedian} ms\n`),
      });
      const compare = o.compare ? loadCompare(o.compare) : undefined;
      process.stdout.write(opsTable(report.ops, compare) + '\n');
      writeJson(o.json, report);
    });

  registerBenchDecodeCommand(bench);
  registerBenchCompareCommand(bench);
}

function loadCompare(file: string): Map<string, CryptenRow> {
  const j = JSON.parse(readFileSync(file, 'utf8')) as { ops?: CryptenRow[] };
  if (!Array.isArray(j.ops)) throw new TypeError(`${file}: expected an object with an "ops" array`);
  return new Map(j.ops.map((r) => [r.name, r]));
}

function opsTable(rows: OpRow[], compare?: Map<string, CryptenRow>): string {
  const head = ['op', 'rounds', 'bytes/party', 'offline', 'ms', 'maxAbsErr'];
  if (compare) head.push('ref rounds', 'ref bytes', 'ref ms', 'rounds ×', 'bytes ×', 'ms ×');
  const out: (string | number)[][] = [head];
  for (const r of rows) {
    const line: (string | number)[] = [r.name, r.rounds, r.bytesPerParty, r.offlineBytes, r.msMedian, r.maxAbsErr.toExponential(2)];
    const c = compare?.get(r.name);
    if (compare) {
      if (c) {
        line.push(c.rounds, c.bytesPerParty, c.msTTP, ratio(c.rounds, r.rounds), ratio(c.bytesPerParty, r.bytesPerParty), ratio(c.msTTP, r.msMedian));
      } else line.push('-', '-', '-', '-', '-', '-');
    }
    out.push(line);
  }
  return table(out);
}

const ratio = (ref: number, ours: number) => (ours > 0 ? `${(ref / ours).toFixed(1)}×` : '∞');

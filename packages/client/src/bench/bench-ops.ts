/**
 * `mpcache bench ops`: every standard op on shares, with exact online rounds and bytes, dealer
 * bytes, median online milliseconds and max abs error against float64. Parties run in two worker
 * threads over real loopback WebSockets (`transport: 'ws'`, default) or in this thread over an
 * in-memory channel (`'memory'`).
 */

import { median } from './median';
import { benchShares } from './run-op-case';
import { maxAbsErr, standardOpCases } from './op-cases';
import { startBenchParties, type BenchParties } from './bench-parties';
import type { OpCase } from './op-case';

export interface OpRow {
  name: string;
  rounds: number;
  bytesPerParty: number;
  offlineBytes: number;
  msMedian: number;
  maxAbsErr: number;
  ms: number[];
}

export interface BenchOpsReport {
  ring: 64;
  fracBits: number;
  transport: string;
  net: string;
  node: string;
  date: string;
  ops: OpRow[];
}

export interface BenchOpsOptions {
  reps: number;
  fracBits: number;
  only?: string[];
  transport: 'ws' | 'memory';
  net: 'none' | 'lan' | 'wan';
  seed: string;
  onRow?: (row: OpRow) => void;
}

export async function benchOps(opts: BenchOpsOptions): Promise<BenchOpsReport> {
  const all = standardOpCases(), cases = all.filter((c) => !opts.only || opts.only.some((o) => c.name.startsWith(o)));
  if (cases.length === 0) throw new RangeError(`--only ${opts.only!.join(',')} names no op; ops: ${all.map((c) => c.name).join(', ')}`);
  const parties: BenchParties = await startBenchParties(opts);
  const ops: OpRow[] = [];
  try {
    for (const c of cases) {
      const [r0, r1] = await parties.runCase(c.name, opts.reps, opts.seed);
      const out = { shape: r0.output.shape, data: new BigUint64Array(r0.output.data.length) };
      for (let i = 0; i < out.data.length; i++) out.data[i] = BigInt.asUintN(64, r0.output.data[i] + r1.output.data[i]);
      const row: OpRow = {
        name: c.name,
        rounds: Math.max(r0.cost.rounds, r1.cost.rounds),
        bytesPerParty: Math.max(r0.cost.bytesSent, r1.cost.bytesSent),
        offlineBytes: r0.offlineBytes + r1.offlineBytes,
        msMedian: round2(median(r0.ms.map((m, i) => Math.max(m, r1.ms[i])))),
        maxAbsErr: maxAbsErr(c, out, referenceOf(c, opts), opts.fracBits),
        ms: r0.ms.map((m, i) => round2(Math.max(m, r1.ms[i]))),
      };
      ops.push(row);
      opts.onRow?.(row);
    }
  } finally {
    await parties.close();
  }
  return {
    ring: 64,
    fracBits: opts.fracBits,
    transport: opts.transport,
    net: opts.net,
    node: process.version,
    date: new Date().toISOString(),
    ops,
  };
}

function referenceOf(c: OpCase, opts: BenchOpsOptions): Float64Array {
  const { plain } = benchShares(c, 0, opts.seed, opts.fracBits);
  return c.reference(plain, opts.fracBits);
}

const round2 = (x: number) => Math.round(x * 100) / 100;


/**
 * `mpcache bench decode`: the cost of one decoding step of the secure transformer, per KV-cache
 * policy and context length, with P0 and P1 in two processes over loopback WebSockets (link
 * emulation on P0↔P1) and the dealer in this process (decode-cluster.ts).
 *
 * Per row (policy, seqLen) the parties warm the cache to the context, run one warm-up token and
 * `tokens` measured steps (decode-row.ts); the row reports means over the measured steps of:
 *   msPerToken            wall time per token, the slower party (the dealer answers on demand,
 *                         like CrypTen's TTP: this includes generating the correlations)
 *   msPerTokenMax         the slowest measured step's wall time (e.g. MPCache's steps that complete
 *                         a cluster, once every 16 at [32, 16]: msPerToken is a mean)
 *   msPerTokenMedian      the median step's wall time: on a shared machine one stalled step moves the
 *                         mean (session 25: a full-cache step of 16 s among steps of 6–8 s)
 *   msOnlinePerToken      max over parties of (ms − time waiting on the dealer): an estimate of the
 *                         online phase alone; it can err low by peer waits hidden under dealer waits
 *   bytesPerToken         online bytes one party sends (max over the two; exact, from the ledger)
 *   roundsPerToken        rounds (max over the two parties)
 *   offlineBytesPerToken  dealer bytes to both parties
 *   cpuMsPerToken         CPU time (user + system) of P0, P1 and the dealer's process together, and
 *                         cpuMsByProcess each one's (the dealer's over the measured steps' span:
 *                         it generates ahead, cpu-time.ts)
 *   keptTokens            rows one head's query attends, mean over layers (full cache: the context)
 *   peakRssMB             [P0, P1], resident memory sampled during the row
 * plus per-step figures and the per-section breakdown (ledger scope paths, depth ≤ 2).
 */
import type { SpeculationStats } from '@mpcache/protocols';
import { MAX_NEW_TOKENS, type Cost } from '@mpcache/mpc-core';
import { defaultPolicyBudget, modelConfig, type SamplingParams } from '@mpcache/mpcache';
import { DEFAULT_MODEL_FRAC_BITS } from '@mpcache/party-server';
import { benchPolicy } from './bench-policies';
import { CpuTimeline } from './cpu-time';
import { DecodeCluster } from './decode-cluster';
import type { NetProfile, PartyRowResult, PartyStep } from './decode-messages';
import { RssSampler } from './rss-sampler';
import { median } from '../median';

export interface BenchDecodeOptions {
  readonly model: string;
  readonly seqLens: readonly number[];
  readonly policies: readonly string[];
  readonly net: NetProfile;
  /** Measured decoding steps per row (after the warm-up token and `warmupSteps`). */
  readonly tokens: number;
  /**
   * Unmeasured decoding steps after the warm-up token (default 1): the first decoding step of a row
   * has no recorded dealer plan, so its requests go to the dealer on demand (MPCache at 4096: ≈ 108
   * on-demand requests, ≈ 0.1 s slower than the next steps; the full cache 40, ≈ 0.7 s).
   */
  readonly warmupSteps?: number;
  /** Attended positions per head for budgeted policies: a count, or 'auto' (bench-policies.ts). */
  readonly budget?: number | 'auto';
  readonly fracBits?: number;
  readonly seed?: string;
  /** Sampling for every row (default greedy): the argmax step's cost changes, nothing else. */
  readonly sampling?: SamplingParams;
  /** Called after each row (progress, partial results). */
  readonly onRow?: (row: DecodeRow, report: BenchDecodeReport) => void;
  readonly onNote?: (line: string) => void;
}

export interface SectionCost {
  rounds: number;
  bytesSent: number;
  offlineBytes: number;
  /** Wall-clock ms inside the section (inclusive, waits included; the slower party). */
  ms?: number;
}

export interface DecodeStepRow {
  kvLen: number;
  ms: number;
  msOnline: number;
  bytes: number;
  rounds: number;
  offlineBytes: number;
  keptTokens: number;
  /** P0's speculative dealer prefetch in this step (P1's is the same: public control flow). */
  speculation: SpeculationStats;
}

export interface DecodeRow {
  policy: string;
  seqLen: number;
  budget: number | null;
  msPerToken: number;
  /** The slowest measured step (wall time, the slower party). */
  msPerTokenMax: number;
  /** The median measured step (wall time, the slower party; the mean of the middle two for an even count). */
  msPerTokenMedian: number;
  msOnlinePerToken: number;
  dealerWaitMsPerToken: number;
  /** CPU ms per token of the three processes together (cpuMsByProcess summed). */
  cpuMsPerToken: number;
  /** CPU ms per token of each process: P0, P1 and the orchestrator that runs the dealer. */
  cpuMsByProcess: { p0: number; p1: number; dealer: number };
  bytesPerToken: number;
  bytesReceivedPerToken: number;
  roundsPerToken: number;
  offlineBytesPerToken: number;
  keptTokens: number;
  keptTokensByLayer: number[];
  peakRssMB: [number, number];
  /** Cached rows per layer at the first and last measured step. */
  kvLen: [number, number];
  warmRows: number;
  warmMs: number;
  warmup: DecodeStepRow;
  /** The unmeasured decoding steps between the warm-up token and the measured steps. */
  warmupSteps: DecodeStepRow[];
  steps: DecodeStepRow[];
  /** Per token, per ledger scope path (depth ≤ 2): rounds, bytes one party sends, dealer bytes to both. */
  sections: Record<string, SectionCost>;
  /** Each party's exact ledger difference for every measured step. */
  ledger: [Cost[], Cost[]];
}

export interface BenchDecodeReport {
  model: string;
  net: NetProfile;
  fracBits: number;
  tokens: number;
  /** Unmeasured decoding steps per row after the warm-up token. */
  warmupSteps: number;
  /** Present when the rows sample (temperature, topK, topP); absent: greedy. */
  sampling?: SamplingParams;
  node: string;
  date: string;
  setup: { ms: number; rssMB: [number, number]; maskBytesPerParty: number; maskRounds: number };
  dealerPeakRssMB: number;
  rows: DecodeRow[];
}

/** Unmeasured decoding steps per row by default, and at most. */
export const DEFAULT_WARMUP_STEPS = 1, MAX_WARMUP_STEPS = 16;

export async function benchDecode(opts: BenchDecodeOptions): Promise<BenchDecodeReport> {
  const config = modelConfig(opts.model);
  if (!Number.isInteger(opts.tokens) || opts.tokens < 1 || opts.tokens > MAX_NEW_TOKENS) throw new RangeError(`"tokens" expected an integer in [1, ${MAX_NEW_TOKENS}], got ${opts.tokens}`);
  const warmupSteps = opts.warmupSteps ?? DEFAULT_WARMUP_STEPS;
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > MAX_WARMUP_STEPS) throw new RangeError(`"warmupSteps" expected an integer in [0, ${MAX_WARMUP_STEPS}], got ${warmupSteps}`);
  if (opts.policies.length === 0 || opts.seqLens.length === 0) throw new RangeError('bench decode: expected at least one policy and one context length');
  const specs: { policy: string; seqLen: number; budget: number }[] = [];
  for (const seqLen of [...opts.seqLens].sort((a, b) => a - b)) {
    if (!Number.isInteger(seqLen) || seqLen < 1 || seqLen > config.seqLen) throw new RangeError(`"seq" ${seqLen} expected an integer in [1, ${config.seqLen}] (${config.name}'s context)`);
    for (const policy of opts.policies) {
      const budget = opts.budget === undefined || opts.budget === 'auto' ? defaultPolicyBudget(seqLen, config) : opts.budget;
      benchPolicy(policy, config, budget); // fail fast on unknown names and bad budgets
      if (seqLen - opts.tokens - 1 - warmupSteps < 1) throw new RangeError(`bench decode: context ${seqLen} is too short for ${opts.tokens} + ${1 + warmupSteps} tokens`);
      specs.push({ policy, seqLen, budget });
    }
  }
  const fracBits = opts.fracBits ?? DEFAULT_MODEL_FRAC_BITS;
  const dealerRss = new RssSampler(100).start();
  const dealerCpu = new CpuTimeline();
  const t0 = performance.now();
  opts.onNote?.(`starting P0 and P1 (two processes) and the dealer; each party loads and masks its share of ${config.name}…`);
  // profiling aid: MPCACHE_BENCH_PARTY_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (node options of both parties)
  const partyExecArgv = process.env.MPCACHE_BENCH_PARTY_ARGS?.split(' ').filter(Boolean);
  const cluster = await DecodeCluster.start({ model: config.name, fracBits, net: opts.net, partyExecArgv });
  const [r0, r1] = cluster.ready;
  const report: BenchDecodeReport = {
    model: config.name, net: opts.net, fracBits, tokens: opts.tokens, warmupSteps, ...(opts.sampling?.temperature ? { sampling: opts.sampling } : {}), node: process.version, date: new Date().toISOString(),
    setup: {
      ms: Math.round(performance.now() - t0), rssMB: [r0.rssMB, r1.rssMB],
      maskBytesPerParty: Math.max(r0.maskCost.bytesSent, r1.maskCost.bytesSent), maskRounds: r0.maskCost.rounds,
    },
    dealerPeakRssMB: 0,
    rows: [],
  };
  opts.onNote?.(`parties ready in ${(report.setup.ms / 1000).toFixed(1)} s (RSS ${r0.rssMB} / ${r1.rssMB} MB)`);
  try {
    for (const s of specs) {
      const usesBudget = s.policy !== 'full';
      dealerCpu.start();
      const [p0, p1] = await cluster.runRow({ ...s, tokens: opts.tokens, warmupSteps, seed: opts.seed ?? 'bench', ...(opts.sampling?.temperature ? { sampling: opts.sampling } : {}) });
      const row = aggregateRow(s.policy, s.seqLen, usesBudget ? s.budget : null, p0, p1, dealerCpu.cpuMsBetween(...measuredSpan(p0, p1)));
      dealerCpu.stop();
      report.rows.push(row);
      report.dealerPeakRssMB = dealerRss.peakSoFar();
      opts.onRow?.(row, report);
    }
  } finally {
    dealerCpu.stop();
    await cluster.close();
    report.dealerPeakRssMB = dealerRss.stop();
  }
  return report;
}

/** From the first measured step's start to the last one's end, on either party. */
function measuredSpan(p0: PartyRowResult, p1: PartyRowResult): [number, number] {
  const n = p0.steps.length - 1;
  return [Math.min(p0.steps[0].startAt, p1.steps[0].startAt), Math.max(p0.steps[n].endAt, p1.steps[n].endAt)];
}

/** One report row from both parties' measurements and the dealer's CPU ms over the steps (exported for tests). */
export function aggregateRow(policy: string, seqLen: number, budget: number | null, p0: PartyRowResult, p1: PartyRowResult, dealerCpuMs: number): DecodeRow {
  const steps = p0.steps.map((s, i) => stepRow(s, p1.steps[i]));
  const mean = (f: (s: DecodeStepRow) => number) => round1(steps.reduce((a, s) => a + f(s), 0) / steps.length);
  const n = p0.steps.length;
  const sections: Record<string, SectionCost> = {};
  for (let i = 0; i < n; i++) {
    // a section one party did not enter costs that party nothing (e.g. P0-only dealer material)
    const s0 = p0.steps[i].sections, s1 = p1.steps[i].sections, none = { rounds: 0, bytesSent: 0, offlineBytes: 0, ms: 0 };
    for (const path of new Set([...Object.keys(s0), ...Object.keys(s1)])) {
      const c0 = s0[path] ?? none, c1 = s1[path] ?? none;
      const acc = (sections[path] ??= { rounds: 0, bytesSent: 0, offlineBytes: 0, ms: 0 });
      acc.ms = (acc.ms ?? 0) + Math.max(c0.ms ?? 0, c1.ms ?? 0) / n;
      acc.rounds += Math.max(c0.rounds, c1.rounds) / n;
      acc.bytesSent += Math.max(c0.bytesSent, c1.bytesSent) / n;
      acc.offlineBytes += (c0.offlineBytes + c1.offlineBytes) / n;
    }
  }
  for (const c of Object.values(sections)) for (const k of ['rounds', 'bytesSent', 'offlineBytes', 'ms'] as const) c[k] = round1(c[k] ?? 0);
  const layers = p0.steps[0].keptByLayer.length;
  const cpu = { p0: cpuPerStep(p0), p1: cpuPerStep(p1), dealer: round1(dealerCpuMs / n) };
  return {
    policy, seqLen, budget,
    msPerToken: mean((s) => s.ms),
    msPerTokenMax: Math.max(...steps.map((s) => s.ms)),
    msPerTokenMedian: round1(median(steps.map((s) => s.ms))),
    msOnlinePerToken: mean((s) => s.msOnline),
    dealerWaitMsPerToken: round1(p0.steps.reduce((a, s, i) => a + Math.max(s.dealerWaitMs, p1.steps[i].dealerWaitMs), 0) / n),
    cpuMsPerToken: round1(cpu.p0 + cpu.p1 + cpu.dealer),
    cpuMsByProcess: cpu,
    bytesPerToken: mean((s) => s.bytes),
    bytesReceivedPerToken: round1(p0.steps.reduce((a, s) => a + s.cost.bytesReceived, 0) / n),
    roundsPerToken: mean((s) => s.rounds),
    offlineBytesPerToken: mean((s) => s.offlineBytes),
    keptTokens: mean((s) => s.keptTokens),
    keptTokensByLayer: Array.from({ length: layers }, (_, l) => round1(p0.steps.reduce((a, s) => a + s.keptByLayer[l], 0) / n)),
    peakRssMB: [p0.peakRssMB, p1.peakRssMB],
    kvLen: [p0.steps[0].kvLen, p0.steps[n - 1].kvLen],
    warmRows: p0.warmRows,
    warmMs: Math.max(p0.warmMs, p1.warmMs),
    warmup: stepRow(p0.warmup, p1.warmup),
    warmupSteps: p0.warmupSteps.map((s, i) => stepRow(s, p1.warmupSteps[i])),
    steps,
    sections,
    ledger: [p0.steps.map((s) => s.cost), p1.steps.map((s) => s.cost)],
  };
}

function stepRow(a: PartyStep, b: PartyStep): DecodeStepRow {
  const kept = a.keptByLayer.reduce((x, y) => x + y, 0) / a.keptByLayer.length;
  return {
    kvLen: a.kvLen,
    ms: Math.max(a.ms, b.ms),
    msOnline: round1(Math.max(a.ms - a.dealerWaitMs, b.ms - b.dealerWaitMs)),
    bytes: Math.max(a.cost.bytesSent, b.cost.bytesSent),
    rounds: Math.max(a.cost.rounds, b.cost.rounds),
    offlineBytes: a.cost.offlineBytes + b.cost.offlineBytes,
    keptTokens: round1(kept),
    speculation: a.speculation,
  };
}

const cpuPerStep = (p: PartyRowResult): number => round1(p.steps.reduce((a, s) => a + s.cpuMs, 0) / p.steps.length);

const round1 = (x: number) => Math.round(x * 10) / 10;

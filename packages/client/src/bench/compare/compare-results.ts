/**
 * Comparing result files (`mpcache bench compare`):
 *   - versions: the same rows (key) of two runs — e.g. before and after a change — with new / base
 *     per metric; rows only one file has are listed, not dropped silently.
 *   - baseline: within one `bench decode` file, every row against the baseline policy's row at the
 *     same context, as "× lower" (baseline / row): how the issue states MPCache's goals against the
 *     full cache (latency, online bytes), which the `goals` option checks.
 * Ratios are of the numbers in the files; a 0 or missing operand gives null, never Infinity.
 */
import { assertComparable, METRICS, type ResultFile, type ResultRow } from './result-files';

export interface VersionRow {
  readonly key: string;
  readonly base: ResultRow['values'];
  readonly next: ResultRow['values'];
  /** next / base per metric (null when either is missing or base is 0). */
  readonly ratio: Record<string, number | null>;
}

export interface VersionComparison {
  readonly mode: 'versions';
  readonly kind: ResultFile['kind'];
  readonly base: { file: string; setup: ResultFile['setup'] };
  readonly next: { file: string; setup: ResultFile['setup'] };
  readonly rows: VersionRow[];
  readonly onlyInBase: string[];
  readonly onlyInNext: string[];
}

export function compareVersions(base: ResultFile, next: ResultFile): VersionComparison {
  assertComparable(base, next);
  const nextByKey = new Map(next.rows.map((r) => [r.key, r]));
  const baseKeys = new Set(base.rows.map((r) => r.key));
  const rows: VersionRow[] = [];
  for (const b of base.rows) {
    const n = nextByKey.get(b.key);
    if (!n) continue;
    const ratio: Record<string, number | null> = {};
    for (const m of METRICS[base.kind]) ratio[m.field] = quotient(n.values[m.field], b.values[m.field]);
    rows.push({ key: b.key, base: b.values, next: n.values, ratio });
  }
  return {
    mode: 'versions',
    kind: base.kind,
    base: { file: base.file, setup: base.setup },
    next: { file: next.file, setup: next.setup },
    rows,
    onlyInBase: base.rows.filter((r) => !nextByKey.has(r.key)).map((r) => r.key),
    onlyInNext: next.rows.filter((r) => !baseKeys.has(r.key)).map((r) => r.key),
  };
}

/** Lower-is-better metrics of a decode row compared with the baseline policy's. */
const LOWER_BETTER = ['msPerToken', 'msPerTokenMedian', 'msOnlinePerToken', 'cpuMsPerToken', 'bytesPerToken', 'roundsPerToken', 'offlineBytesPerToken', 'peakRssMB'] as const;

export interface BaselineRow {
  readonly policy: string;
  readonly seqLen: number;
  readonly row: ResultRow['values'];
  readonly baseline: ResultRow['values'];
  /** baseline / row per metric: > 1 means the row costs less than the baseline. */
  readonly lower: Record<string, number | null>;
  /** With goals: whether the latency and byte ratios reach them. */
  readonly meets?: { latency: boolean; bytes: boolean };
}

export interface BaselineComparison {
  readonly mode: 'baseline';
  readonly file: string;
  readonly setup: ResultFile['setup'];
  readonly baselinePolicy: string;
  readonly goals?: Goals;
  readonly rows: BaselineRow[];
  /** Contexts that have rows but no baseline row. */
  readonly contextsWithoutBaseline: number[];
}

/** Minimum "× lower" ratios against the baseline (issue #5: latency 2.5, bytes 8 at 4096). */
export interface Goals {
  readonly latency: number;
  readonly bytes: number;
}

export function compareToBaseline(f: ResultFile, baselinePolicy: string, goals?: Goals): BaselineComparison {
  if (f.kind !== 'decode') throw new TypeError(`${f.file}: --baseline compares the policies of one bench decode file; this one holds ${f.kind} results`);
  const byContext = new Map<number, ResultRow[]>();
  for (const r of f.rows) {
    const list = byContext.get(r.seqLen!);
    if (list) list.push(r);
    else byContext.set(r.seqLen!, [r]);
  }
  if (!f.rows.some((r) => r.policy === baselinePolicy)) {
    const have = [...new Set(f.rows.map((r) => r.policy))].join(', ');
    throw new RangeError(`${f.file}: no "${baselinePolicy}" row to compare with (policies: ${have})`);
  }
  const rows: BaselineRow[] = [], without: number[] = [];
  for (const [seqLen, list] of byContext) {
    const base = list.find((r) => r.policy === baselinePolicy);
    if (!base) {
      without.push(seqLen);
      continue;
    }
    for (const r of list) {
      if (r === base) continue;
      const lower: Record<string, number | null> = {};
      for (const m of LOWER_BETTER) lower[m] = quotient(base.values[m], r.values[m]);
      const meets = goals && {
        latency: (lower.msPerToken ?? 0) >= goals.latency,
        bytes: (lower.bytesPerToken ?? 0) >= goals.bytes,
      };
      rows.push({ policy: r.policy!, seqLen, row: r.values, baseline: base.values, lower, ...(meets ? { meets } : {}) });
    }
  }
  return { mode: 'baseline', file: f.file, setup: f.setup, baselinePolicy, ...(goals ? { goals } : {}), rows, contextsWithoutBaseline: without };
}

function quotient(num: number | undefined, den: number | undefined): number | null {
  if (num === undefined || den === undefined || den === 0) return null;
  return num / den;
}

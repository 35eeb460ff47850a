/**
 * Result files of `bench decode`, `bench ops` and `eval` (--json), read back for comparison: the
 * file's kind from its shape (ARCHITECTURE.md's schemas), its setup (what must match for two files
 * to be comparable) and one row of numbers per key — decode `policy@seqLen`, ops `name`, eval
 * `policy@budget`. A malformed file is refused with the file, the row and the field named; nothing
 * is guessed.
 */
import { readFileSync } from 'node:fs';

export type ResultKind = 'decode' | 'ops' | 'eval';

/** A metric: exact ones (rounds, bytes) are equal from run to run; measured ones (ms, RSS) are noisy. */
export interface MetricSpec {
  readonly field: string;
  readonly label: string;
  readonly exact: boolean;
  /** Optional in the schema: rows without it show '-'. */
  readonly optional?: boolean;
}

export const METRICS: Record<ResultKind, readonly MetricSpec[]> = {
  decode: [
    { field: 'msPerToken', label: 'ms/token', exact: false },
    { field: 'msPerTokenMedian', label: 'median ms', exact: false, optional: true },
    { field: 'msOnlinePerToken', label: 'online ms', exact: false, optional: true },
    { field: 'cpuMsPerToken', label: 'CPU ms', exact: false, optional: true },
    { field: 'bytesPerToken', label: 'bytes/party', exact: true },
    { field: 'roundsPerToken', label: 'rounds', exact: true },
    { field: 'offlineBytesPerToken', label: 'offline', exact: true },
    { field: 'keptTokens', label: 'kept', exact: true },
    { field: 'peakRssMB', label: 'peak RSS MB', exact: false, optional: true },
  ],
  ops: [
    { field: 'msMedian', label: 'ms', exact: false },
    { field: 'rounds', label: 'rounds', exact: true },
    { field: 'bytesPerParty', label: 'bytes/party', exact: true },
    { field: 'offlineBytes', label: 'offline', exact: true },
    { field: 'maxAbsErr', label: 'max abs err', exact: false },
  ],
  eval: [
    { field: 'agreement', label: 'agreement', exact: false },
    { field: 'meanKL', label: 'mean KL', exact: false },
    { field: 'perplexity', label: 'perplexity', exact: false },
  ],
};

/** Setup fields that must be equal for two files' rows to be compared (decode: same model, link, precision and sampling). */
const SETUP: Record<ResultKind, readonly string[]> = {
  decode: ['model', 'net', 'fracBits', 'sampling'],
  ops: ['fracBits', 'net'],
  eval: ['model', 'fracBits', 'prompts', 'maxNewTokens'],
};

export interface ResultRow {
  readonly key: string;
  /** decode: policy and context, for grouping a file's rows by context. */
  readonly policy?: string;
  readonly seqLen?: number;
  readonly values: Record<string, number | undefined>;
}

export interface ResultFile {
  readonly file: string;
  readonly kind: ResultKind;
  /** Setup and provenance fields of the file (model, net, fracBits, tokens, date, node) when present. */
  readonly setup: Record<string, string | number | null>;
  readonly rows: readonly ResultRow[];
}

const PROVENANCE = ['model', 'net', 'fracBits', 'tokens', 'warmupSteps', 'prompts', 'maxNewTokens', 'date', 'node'];

export function readResultFile(file: string): ResultFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${file}: not JSON (${(e as Error).message})`);
  }
  return parseResultFile(file, json);
}

/** The kind, setup and rows of a parsed result object (`file` names it in errors). */
export function parseResultFile(file: string, json: unknown): ResultFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const kind = detectKind(file, o);
  const list = (kind === 'ops' ? o.ops : o.rows) as unknown[];
  const setup: Record<string, string | number | null> = {};
  for (const f of PROVENANCE) {
    const v = o[f];
    if (typeof v === 'string' || typeof v === 'number' || v === null) setup[f] = v;
  }
  if (kind === 'decode') setup.sampling = o.sampling === undefined ? 'greedy' : JSON.stringify(o.sampling);
  const rows: ResultRow[] = [];
  const seen = new Set<string>();
  list.forEach((r, i) => {
    const row = parseRow(file, kind, r, i);
    if (seen.has(row.key)) throw new RangeError(`${file}: row ${i} repeats "${row.key}"`);
    seen.add(row.key);
    rows.push(row);
  });
  return { file, kind, setup, rows };
}

function detectKind(file: string, o: Record<string, unknown>): ResultKind {
  if (Array.isArray(o.ops)) return 'ops';
  if (!Array.isArray(o.rows)) throw new TypeError(`${file}: expected "rows" (bench decode, eval) or "ops" (bench ops)`);
  const first = o.rows[0] as Record<string, unknown> | undefined;
  if (first && typeof first === 'object' && 'seqLen' in first) return 'decode';
  if (first && typeof first === 'object' && 'agreement' in first) return 'eval';
  throw new TypeError(`${file}: rows are neither bench decode rows (seqLen) nor eval rows (agreement)`);
}

function parseRow(file: string, kind: ResultKind, r: unknown, i: number): ResultRow {
  if (typeof r !== 'object' || r === null) throw new TypeError(`${file}: row ${i} is not an object`);
  const o = r as Record<string, unknown>;
  const str = (f: string): string => {
    if (typeof o[f] !== 'string' || o[f] === '') throw new TypeError(`${file}: row ${i}: "${f}" expected a string`);
    return o[f] as string;
  };
  const values: Record<string, number | undefined> = {};
  for (const m of METRICS[kind]) values[m.field] = metricValue(file, i, o, m);
  if (kind === 'ops') return { key: str('name'), values };
  const policy = str('policy');
  if (kind === 'eval') return { key: `${policy}@${finiteNumber(file, i, o, 'budget')}`, values };
  const seqLen = finiteNumber(file, i, o, 'seqLen');
  return { key: `${policy}@${seqLen}`, policy, seqLen, values };
}

function metricValue(file: string, i: number, o: Record<string, unknown>, m: MetricSpec): number | undefined {
  const v = o[m.field];
  if (v === undefined && m.optional) return undefined;
  // peak RSS is stored per party: the larger one
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return Math.max(...(v as number[]));
  return finiteNumber(file, i, o, m.field);
}

function finiteNumber(file: string, i: number, o: Record<string, unknown>, f: string): number {
  const v = o[f];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${file}: row ${i}: "${f}" expected a finite number, got ${JSON.stringify(v) ?? 'nothing'}`);
  return v;
}

/** Refuse two files whose rows do not measure the same thing (other kind, model or link). */
export function assertComparable(a: ResultFile, b: ResultFile): void {
  if (a.kind !== b.kind) throw new TypeError(`${a.file} holds ${a.kind} results, ${b.file} ${b.kind} results: nothing to compare`);
  for (const f of SETUP[a.kind]) {
    if (a.setup[f] !== b.setup[f]) {
      throw new RangeError(`${a.file} and ${b.file} differ in ${f} (${String(a.setup[f])} vs ${String(b.setup[f])}): their rows measure different setups`);
    }
  }
}

/** Small CLI helpers: argument validation and JSON output. Only the CLI exits the process. */
import { writeFileSync } from 'node:fs';

export function parseIntArg(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`--${name} expected an integer in [${min}, ${max}], got "${value}"`);
  }
  return n;
}

/** A number in [min, max] (e.g. --temperature). */
export function parseNumberArg(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!(n >= min && n <= max)) throw new RangeError(`--${name} expected a number in [${min}, ${max}], got "${value}"`);
  return n;
}

export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

export function writeJson(file: string | undefined, obj: unknown): void {
  if (!file) return;
  writeFileSync(file, JSON.stringify(obj, null, 2) + '\n');
  process.stderr.write(`wrote ${file}\n`);
}

export function fmtBytes(b: number): string {
  if (b >= 1e6) return `${(b / 1e6).toFixed(2)} MB`;
  if (b >= 1e3) return `${(b / 1e3).toFixed(1)} KB`;
  return `${b} B`;
}

export function table(rows: (string | number)[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(w[i]) : String(c).padEnd(w[i]))).join('  ')).join('\n');
}

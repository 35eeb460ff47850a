/** Validators for correlation params arriving from the wire (dealer service boundary). */

export const MAX_CORRELATION_ELEMENTS = 1 << 28;

export function validateCount(p: unknown): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > MAX_CORRELATION_ELEMENTS) {
    throw new RangeError(`correlation count expected an integer in [0, ${MAX_CORRELATION_ELEMENTS}]`);
  }
  return p;
}

/** A (rows, cols) grid of correlation elements: each dimension and their product within the bound. */
export function validateGrid(rows: unknown, cols: unknown): void {
  validateCount(rows);
  validateCount(cols);
  validateCount((rows as number) * (cols as number));
}

export function validateDims(p: unknown, len: number, what: string): number[] {
  if (!Array.isArray(p) || p.length !== len) throw new TypeError(`${what}: expected ${len} dimensions`);
  for (const d of p) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_CORRELATION_ELEMENTS) {
      throw new RangeError(`${what}: invalid dimension`);
    }
  }
  return p as number[];
}

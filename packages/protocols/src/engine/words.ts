/**
 * Elementwise loops on ring words (BigUint64Array, mod 2^64) shared by protocol steps and dealer specs.
 *
 * Performance: every loop is monomorphic and wraps with a local alias of BigInt.asUintN. Calling
 * `BigInt.asUintN(…)` through the global inside a vm context (jest) stops V8 from lowering it to a
 * native 64-bit op: ≈250 ns/elem instead of ≈1 ns (measured on Node 20.20, 2026-11). Storing into a
 * BigUint64Array also wraps, but intermediate values must stay under asUintN to stay native.
 */
export const { asUintN } = BigInt;

export function addWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] + b[i]);
  return out;
}

export function subWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] - b[i]);
  return out;
}

export function mulWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] * b[i]);
  return out;
}

/**
 * Logical right shift of each word by `bits` (0 ≤ bits ≤ 63). On 32-bit halves (little-endian views):
 * a BigInt shift by a non-constant amount is not lowered by V8 (≈ 25–35 ns/elem, Node 20.20, 2026-11),
 * the halves take ≈ 1 ns.
 */
export function shiftRightWords(a: BigUint64Array, bits: number): BigUint64Array {
  const out = new BigUint64Array(a.length);
  const src = new Uint32Array(a.buffer, a.byteOffset, 2 * a.length), dst = new Uint32Array(out.buffer);
  if (bits === 0) dst.set(src);
  else if (bits < 32) {
    const l = 32 - bits;
    for (let i = 0; i < 2 * a.length; i += 2) {
      const lo = src[i], hi = src[i + 1];
      dst[i] = (lo >>> bits) | (hi << l);
      dst[i + 1] = hi >>> bits;
    }
  } else {
    const b = bits - 32;
    for (let i = 0; i < 2 * a.length; i += 2) dst[i] = src[i + 1] >>> b;
  }
  return out;
}

/** A per-row value repeated over the L columns of each row: (rows) → (rows·L), row-major. */
export function repeatPerRow(v: BigUint64Array, L: number): BigUint64Array {
  const out = new BigUint64Array(v.length * L);
  for (let i = 0; i < v.length; i++) out.fill(v[i], i * L, (i + 1) * L);
  return out;
}

/** A per-column value repeated over `rows` rows: (L) → (rows·L), row-major. */
export function repeatPerColumn(v: BigUint64Array, rows: number): BigUint64Array {
  const out = new BigUint64Array(rows * v.length);
  for (let i = 0; i < rows; i++) out.set(v, i * v.length);
  return out;
}

/** f's result, computed on the first call only (dealer specs reuse derived word arrays). */
export function once<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

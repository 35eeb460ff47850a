/** Bench input helpers: uniform reals in a range, encoded at a fixed-point precision. */
import { decode, encode, type AesCtrPrg, type RingTensor } from '@mpcache/mpc-core';

export function uniformReals(prg: AesCtrPrg, n: number, lo: number, hi: number): Float64Array {
  const w = prg.words(n), out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * (Number(w[i] >> 11n) / 2 ** 53);
  return out;
}

export function realTensor(prg: AesCtrPrg, shape: number[], lo: number, hi: number, fracBits: number): RingTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: encode(uniformReals(prg, n, lo, hi), fracBits) };
}

export const reals = (t: RingTensor, fracBits: number): Float64Array => decode(t.data, fracBits);

/** Row-major float64 matmul (m×k)·(k×n). */
export function matmulF64(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      for (let j = 0; j < n; j++) out[i * n + j] += av * b[p * n + j];
    }
  return out;
}

/**
 * The WebAssembly kernels of poly-input's local steps against plain BigInt formulas: Σ K_j·(v − c)^j
 * evaluated directly from v = base − A (with the true powers A^i), and the payload products' formula
 * written out per element. Chunk boundaries are crossed (5,000 elements, chunks of 4,096).
 */
import { ShapeError } from '@mpcache/mpc-core';
import { addPolyTerms, payloadProductsInto } from '../src/nonlinear/poly-kernels';

const M64 = (1n << 64n) - 1n;
const wrap = (v: bigint) => v & M64;

/** Deterministic pseudo-random words (xorshift64*), not a secret: test data only. */
function words(n: number, seed: bigint): BigUint64Array {
  const out = new BigUint64Array(n);
  let s = seed | 1n;
  for (let i = 0; i < n; i++) {
    s ^= s >> 12n; s ^= wrap(s << 25n); s ^= s >> 27n;
    out[i] = wrap(s * 0x2545f4914f6cdd1dn);
  }
  return out;
}

function powers(a: BigUint64Array, d: number): BigUint64Array[] {
  return Array.from({ length: d + 1 }, (_, i) => a.map((v) => wrap(v ** BigInt(i))));
}

describe('addPolyTerms (wasm) equals Σ_terms Σ_j K_j·(base − A − center)^j mod 2^64', () => {
  test.each([
    [3, 5000, 5],
    [2, 17, 1],
    [0, 9, 2],
  ])('degree %i, %i elements, %i terms', (d, n, T) => {
    const base = words(n, 11n), start = words(n, 12n), out = start.slice();
    const terms = Array.from({ length: T }, (_, j) => {
      const a = words(n, 100n + BigInt(j)), A = powers(a, d);
      const K = Array.from(words(d + 1, 200n + BigInt(j)), (k) => BigInt.asIntN(64, k));
      return { a, A, K, center: BigInt(j * 1000 - 77) };
    });
    addPolyTerms(out, base, terms);
    for (let e = 0; e < n; e++) {
      let want = start[e];
      for (const t of terms) {
        const v = base[e] - t.a[e] - t.center;
        for (let j = 0; j <= d; j++) want += t.K[j] * v ** BigInt(j);
      }
      expect(out[e]).toBe(wrap(want));
    }
  });

  test('refuses terms of different degrees and short operands', () => {
    const n = 4, A = powers(words(n, 1n), 2);
    expect(() => addPolyTerms(new BigUint64Array(n), new BigUint64Array(n), [{ A, K: [1n, 2n, 3n], center: 0n }, { A, K: [1n, 2n], center: 0n }])).toThrow(ShapeError);
    expect(() => addPolyTerms(new BigUint64Array(n), new BigUint64Array(n), [{ A: A.slice(0, 2), K: [1n, 2n, 3n], center: 0n }])).toThrow(ShapeError);
    expect(() => addPolyTerms(new BigUint64Array(n), new BigUint64Array(n - 1), [{ A, K: [1n], center: 0n }])).toThrow(ShapeError);
  });
});

describe('payloadProductsInto (wasm) equals (1 − a)·V − (1 − 2a)·(ρ + y), a = bit k−1 of the DCF input', () => {
  test.each([
    [4, 3, 700, 40, 15],
    [1, 1, 33, 0, 39],
  ])('%i thresholds, %i words, %i elements from %i, k − 1 = %i', (t, m, len, e0, k1) => {
    const n = e0 + len + 5;
    const pts = words(t * len, 5n), y = words(t * len * m, 6n);
    const rho = Array.from({ length: m }, (_, w) => words(n, 30n + BigInt(w)));
    const V = Array.from({ length: m }, (_, w) => words(n, 40n + BigInt(w)));
    const out = Array.from({ length: t }, () => Array.from({ length: m }, () => new BigUint64Array(n).fill(7n)));
    payloadProductsInto(out, e0, len, k1, pts, y, rho, V);
    for (let c = 0; c < t; c++) {
      for (let w = 0; w < m; w++) {
        for (let i = 0; i < n; i++) {
          if (i < e0 || i >= e0 + len) { expect(out[c][w][i]).toBe(7n); continue; }
          const q = c * len + (i - e0), a = (pts[q] >> BigInt(k1)) & 1n;
          const v = rho[w][i] + y[q * m + w];
          expect(out[c][w][i]).toBe(wrap((1n - a) * V[w][i] - (1n - 2n * a) * v));
        }
      }
    }
  });
});

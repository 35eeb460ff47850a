/**
 * The local arithmetic of openPolyInput's users (poly-input.ts) in the WebAssembly kernel
 * (assembly/poly-kernels.ts, part of build/fss.wasm): per chunk of elements the operands are copied
 * into the kernel memory, one call does the i64 arithmetic, the result is copied back. Exact mod 2^64,
 * the same words as the BigInt loops they replace.
 *
 *   addPolyTerms      out += Σ_j P_j(v)·… over many polynomials at once (a piecewise design's knots)
 *   payloadProductsInto   [b_c·V_w] of every threshold from the DCF outputs (fss.md §4a)
 *
 * Measured 2026-11-28 (Node 20.20, 2-core AMD EPYC, `bench ops --transport memory`, medians of 15
 * repetitions, two runs each, against the BigInt loops these replace, which spent ≈ 50 ns per element,
 * threshold and payload word and ≈ 140 ns per element and polynomial): gelu[16384] 91–97 → 68 ms,
 * reciprocal[16384] 81–86 → 71 ms, exp[16384] 35 → 27–33 ms; same rounds, bytes and outputs.
 */
import { ShapeError } from '@mpcache/mpc-core';
import { FssLayout, wordBytes } from '../fss/fss-wasm';
import { asUintN } from '../engine/words';

/** One polynomial Σ_j K_j·(v − center)^j with v = base − A (A^i shared: A[i] = [A^i], or [b·A^i]). */
export interface PolyTerm {
  readonly A: readonly BigUint64Array[];
  readonly K: readonly bigint[];
  readonly center: bigint;
}

/** Elements per kernel call: a chunk's A words (terms·(d + 1)·CHUNK) stay within a few MB. */
const CHUNK = 4096;

/** λ_i(u) = (−1)^i Σ_{j ≥ i} K_j·C(j, i)·u^(j − i): coefficient of u^q at row i, (d + 1)² words per term. */
function lambdaCoefficients(K: readonly bigint[], into: BigUint64Array, at: number): void {
  const d1 = K.length;
  for (let i = 0; i < d1; i++) {
    let binom = 1n; // C(i + q, i)
    for (let q = 0; i + q < d1; q++) {
      into[at + i * d1 + q] = asUintN(64, (i % 2 ? -1n : 1n) * K[i + q] * binom);
      binom = (binom * BigInt(i + q + 1)) / BigInt(q + 1);
    }
  }
}

/**
 * out[e] += Σ_terms Σ_j K_j·(v_e − center)^j, v_e = base[e] − A_e, from the public base and the shared
 * [A^i] of each term: Σ_i λ_i(base − center)·[A^i]. Every term has the same degree (K.length − 1)
 * and at least that many + 1 arrays A[i] of out's length.
 */
export function addPolyTerms(out: BigUint64Array, base: BigUint64Array, terms: readonly PolyTerm[]): void {
  const n = out.length, T = terms.length;
  if (n === 0 || T === 0) return;
  const d1 = terms[0].K.length;
  if (base.length !== n) throw new ShapeError(`addPolyTerms: ${n} outputs but a base of ${base.length}`);
  for (const t of terms) {
    if (t.K.length !== d1) throw new ShapeError('addPolyTerms: every term needs the same degree');
    for (let i = 0; i < d1; i++) {
      if (t.A[i]?.length !== n) throw new ShapeError(`addPolyTerms: [A^${i}] missing or not ${n} words`);
    }
  }
  const coef = new BigUint64Array(T * d1 * d1), centers = new BigUint64Array(T);
  terms.forEach((t, j) => {
    lambdaCoefficients(t.K, coef, j * d1 * d1);
    centers[j] = asUintN(64, t.center);
  });
  const C = Math.min(n, CHUNK), L = new FssLayout();
  const baseAt = L.region(8 * C), outAt = L.region(8 * C), aAt = L.region(8 * T * d1 * C);
  const coefAt = L.region(8 * coef.length), centersAt = L.region(8 * T);
  const mem = L.commit();
  mem.set(wordBytes(coef, 0, coef.length), coefAt);
  mem.set(wordBytes(centers, 0, T), centersAt);
  for (let e0 = 0; e0 < n; e0 += C) {
    const e1 = Math.min(n, e0 + C), len = e1 - e0;
    mem.set(wordBytes(base, e0, e1), baseAt);
    mem.set(wordBytes(out, e0, e1), outAt);
    for (let j = 0; j < T; j++) {
      for (let i = 0; i < d1; i++) mem.set(wordBytes(terms[j].A[i], e0, e1), aAt + 8 * (j * d1 + i) * len);
    }
    L.kx.polyTerms(len, T, d1 - 1, baseAt, aAt, coefAt, centersAt, outAt);
    wordBytes(out, e0, e1).set(mem.subarray(outAt, outAt + 8 * len));
  }
}

/**
 * The payload products of t thresholds for elements [e0, e0 + len) (compareInput's step 4):
 * words[c][w][e0 + i] = (1 − a)·V[w][e0 + i] − (1 − 2a)·(rho[w][e0 + i] + y[(c·len + i)·m + w]),
 * a = bit k1 of pts[c·len + i], for m = V.length payload words.
 */
export function payloadProductsInto(
  words: readonly (readonly BigUint64Array[])[], e0: number, len: number, k1: number,
  pts: BigUint64Array, y: BigUint64Array, rho: readonly BigUint64Array[], V: readonly BigUint64Array[],
): void {
  const t = words.length, m = V.length;
  if (t === 0 || len === 0) return;
  if (pts.length !== t * len || y.length !== t * len * m || rho.length !== m) {
    throw new ShapeError(`payloadProducts: ${t} thresholds × ${len} elements × ${m} words do not match the inputs`);
  }
  const L = new FssLayout();
  const ptsAt = L.region(8 * t * len), yAt = L.region(8 * t * len * m), rhoAt = L.region(8 * m * len);
  const vAt = L.region(8 * m * len), outAt = L.region(8 * t * m * len);
  const mem = L.commit(), e1 = e0 + len;
  mem.set(wordBytes(pts, 0, t * len), ptsAt);
  mem.set(wordBytes(y, 0, t * len * m), yAt);
  for (let w = 0; w < m; w++) {
    mem.set(wordBytes(rho[w], e0, e1), rhoAt + 8 * w * len);
    mem.set(wordBytes(V[w], e0, e1), vAt + 8 * w * len);
  }
  L.kx.payloadProducts(len, t, m, k1, ptsAt, yAt, rhoAt, vAt, outAt);
  for (let c = 0; c < t; c++) {
    for (let w = 0; w < m; w++) {
      const at = outAt + 8 * (c * m + w) * len;
      wordBytes(words[c][w], e0, e1).set(mem.subarray(at, at + 8 * len));
    }
  }
}

/**
 * Kernels of poly-input.ts's local steps (the JS side, src/nonlinear/poly-kernels.ts, lays the
 * regions out): the comparison bits' payload products from the DCF outputs, and sums of polynomials
 * of the opened base times shared words. All arithmetic mod 2^64 (wasm i64 wraps); word arrays are
 * little-endian u64, laid out as the comments say.
 */

/**
 * Payload products of t thresholds over len elements (fss.md §4a with the payload generalised to any
 * dealer-known value V_w):
 *   a = bit k1 of pts[c·len + i] (the DCF input), v = rho[w·len + i] + y[(c·len + i)·m + w],
 *   out[(c·m + w)·len + i] = (1 − a)·V[w·len + i] − (1 − 2a)·v,
 * branch-free with mask = −a: (V & ~mask) − ((v ⊕ mask) − mask).
 */
export function payloadProducts(len: i32, t: i32, m: i32, k1: i32, pts: usize, y: usize, rho: usize, V: usize, out: usize): void {
  const n = <usize>len, M = <usize>m;
  for (let c: usize = 0; c < <usize>t; c++) {
    for (let i: usize = 0; i < n; i++) {
      const q = c * n + i;
      const mask: u64 = 0 - ((load<u64>(pts + (q << 3)) >> <u64>k1) & 1);
      for (let w: usize = 0; w < M; w++) {
        const v = load<u64>(rho + ((w * n + i) << 3)) + load<u64>(y + ((q * M + w) << 3));
        const base = load<u64>(V + ((w * n + i) << 3));
        store<u64>(out + (((c * M + w) * n + i) << 3), (base & ~mask) - ((v ^ mask) - mask));
      }
    }
  }
}

/**
 * out[e] += Σ_j Σ_i λ_ji(base[e] − centers[j]) · A[(j·(d+1) + i)·n + e] over `terms` terms j and
 * i = 0..d, where λ_ji(u) = Σ_q coef[((j·(d+1) + i)·(d+1) + q]·u^q (Horner, q = d..0).
 */
export function polyTerms(n: i32, terms: i32, d: i32, base: usize, A: usize, coef: usize, centers: usize, out: usize): void {
  const N = <usize>n, D1 = <usize>(d + 1);
  for (let e: usize = 0; e < N; e++) {
    const b = load<u64>(base + (e << 3));
    let acc = load<u64>(out + (e << 3));
    for (let j: usize = 0; j < <usize>terms; j++) {
      const u = b - load<u64>(centers + (j << 3));
      for (let i: usize = 0; i < D1; i++) {
        const row = coef + (((j * D1 + i) * D1) << 3);
        let l: u64 = 0;
        for (let q = <isize>D1 - 1; q >= 0; q--) l = l * u + load<u64>(row + (<usize>q << 3));
        acc += l * load<u64>(A + (((j * D1 + i) * N + e) << 3));
      }
    }
    store<u64>(out + (e << 3), acc);
  }
}

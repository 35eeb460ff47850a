/**
 * CAKE's layer preference, budget allocation and eviction indicator (Qin et al., ICLR 2025;
 * eviction-baselines.md §7.1–7.3), as pure functions over the window attention of the prefill.
 *
 * Input per layer: A[h][q][j], the w window queries' probabilities over prefix keys j < n − w (not
 * renormalised), stored as Float64Array rows of length `stride` (q-major, one array per head).
 *   preference  P_ℓ = H_ℓ^(1/τ1) · V_ℓ^(1/τ2), H_ℓ = −Σ A·log(A + 1e−10), V_ℓ = Σ_{h,j} Var_q A
 *   budgets     B_ℓ = adjustBudgets(P_ℓ/ΣP · B_total, B_total, n − w)
 *   indicator   I[j] = mean_q A[q, j] + γ·Var_q A[q, j] (unbiased), then avg-pool along j
 * The secure version makes the budgets public (B8: 'reveal' or 'calibrated'); plaintext computes them
 * in float64 from the (grid) probabilities.
 */
import { pool1d } from './snapkv';

/** P_ℓ of one layer from its heads' window rows over prefix [0, prefix). */
export function cakePreference(rows: Float64Array[], w: number, stride: number, prefix: number, tau1: number, tau2: number): number {
  let ent = 0, vr = 0;
  for (const A of rows) {
    for (let j = 0; j < prefix; j++) {
      let s = 0, s2 = 0;
      for (let q = 0; q < w; q++) {
        const a = A[q * stride + j];
        ent -= a * Math.log(a + 1e-10);
        s += a; s2 += a * a;
      }
      if (w > 1) vr += (s2 - (s * s) / w) / (w - 1);
    }
  }
  return Math.pow(Math.max(ent, 0), 1 / tau1) * Math.pow(Math.max(vr, 0), 1 / tau2);
}

/** Indicator of one head over [0, prefix): mean + γ·var across the w window queries, avg-pooled. */
export function cakeIndicator(A: Float64Array, w: number, stride: number, prefix: number, gamma: number, kernel: number): Float64Array {
  const raw = new Float64Array(prefix);
  for (let j = 0; j < prefix; j++) {
    let s = 0, s2 = 0;
    for (let q = 0; q < w; q++) { const a = A[q * stride + j]; s += a; s2 += a * a; }
    raw[j] = s / w + (w > 1 ? gamma * (s2 - (s * s) / w) / (w - 1) : 0);
  }
  const pooled = pool1d(raw, prefix, kernel, 'avg');
  for (let j = 0; j < prefix; j++) pooled[j] /= kernel;
  return pooled;
}

/**
 * Integer budgets summing to `total`, each in [0, cap], proportional to `raw` (CAKE `adjust_budgets`):
 * floor, clamp to cap and spread the excess evenly over unclamped layers (remainder to the first),
 * then ±1 round-robin until the sum is exactly `total` (or every layer is at its bound).
 */
export function adjustBudgets(raw: readonly number[], total: number, cap: number): number[] {
  const b = raw.map((x) => Math.max(0, Math.floor(x)));
  for (let iter = 0; iter < b.length + 1; iter++) {
    let over = 0;
    for (let i = 0; i < b.length; i++) if (b[i] > cap) { over += b[i] - cap; b[i] = cap; }
    const free = b.map((x, i) => (x < cap ? i : -1)).filter((i) => i >= 0);
    if (over === 0 || free.length === 0) break;
    const share = Math.floor(over / free.length), rem = over % free.length;
    free.forEach((i, k) => { b[i] += share + (k < rem ? 1 : 0); });
  }
  let diff = total - b.reduce((s, x) => s + x, 0);
  for (let guard = 0; diff !== 0 && guard < 4 * (Math.abs(diff) + b.length); guard++) {
    const i = guard % b.length;
    if (diff > 0 && b[i] < cap) { b[i]++; diff--; } else if (diff < 0 && b[i] > 0) { b[i]--; diff++; }
  }
  return b;
}

/**
 * The indicator's exact integer form on the fixed-point grid 2^−f (what the secure twin computes in
 * the ring): with S_j = Σ_q a·2^f and S2_j = Σ_q (a·2^f)² (integers),
 *   I'_j = Σ_{pool window of j} [(w − 1)·S_i·2^f + round(γ)·(w·S2_i − S_i²)]
 * (I'_j = Σ S_i for w = 1) = w(w − 1)·kernel·2^{2f} × the pooled indicator (γ rounded to an integer): the same ranking, no
 * rounding. Exact in float64 while |I'| < 2^53 (w ≤ 64, f ≤ 16, kernel ≤ 9).
 */
export function cakeIndicatorFx(A: Float64Array, w: number, stride: number, prefix: number, gamma: number, kernel: number, fracBits: number): Float64Array {
  const s = 2 ** fracBits, g = Math.round(gamma), raw = new Float64Array(prefix);
  for (let j = 0; j < prefix; j++) {
    let S = 0, S2 = 0;
    for (let q = 0; q < w; q++) { const a = Math.round(A[q * stride + j] * s); S += a; S2 += a * a; }
    raw[j] = w > 1 ? (w - 1) * S * s + g * (w * S2 - S * S) : S; // w = 1: the mean alone
  }
  return pool1d(raw, prefix, kernel, 'avg');
}

/**
 * Plaintext transformer blocks in float64, llama2.c `run.c` style: output buffer first, sizes
 * explicit, weights addressed as (array, offset) so a layer's slice needs no view allocation.
 * These are the references the secure blocks are tested against.
 *
 * Conventions the secure decoder must reproduce:
 *   - matvec: out(d) = W(d, n) · x(n), W row-major [out, in] (run.c `matmul`), float64 sums;
 *   - rmsNorm: o = w ⊙ x / √(mean(x²) + eps) (run.c `rmsnorm`);
 *   - layerNorm: o = γ ⊙ (x − mean) / √(var + eps) + β, biased variance (GPT-2);
 *   - rope: rotates the adjacent pairs (i, i+1) of each head by pos · θ^(−i/headDim), i even — run.c's
 *     pairing (not the half-split pairing of HF's rotate_half);
 *   - silu(x) = x·σ(x); gelu is GPT-2's tanh form;
 *   - softmax subtracts the max; −∞ entries (masked positions) get probability 0;
 *   - argmax returns the first index of the maximum (ties go to the lower id).
 *
 * Math functions are read once into module constants: under jest's vm sandbox every access to the
 * global `Math` in a hot loop costs ≈ 150 ns (plain Node: free), which made fixed-point emulation
 * 50 % slower in tests.
 *
 * Measured: matvec ≈ 1 ns per multiply-add (Float32Array weights, float64 sums, 4 accumulators);
 * the whole forward step is ≈ 17 ms/token for stories15M and ≈ 125 ms/token for gpt2-small
 * (Node 20.20, 2-core machine shared with other jobs, 2026-11-26); re-measure when Node changes major.
 */

const { round, exp, sqrt, tanh } = Math;

/** out(d) = W(d, n) · x(n) with W = w[wOff .. wOff + d·n). Hot loop: by far the most time is here. */
export function matvec(out: Float64Array, x: Float64Array, w: Float32Array, wOff: number, n: number, d: number): void {
  const n4 = n - (n % 4);
  for (let i = 0; i < d; i++) {
    const r = wOff + i * n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let j = 0; j < n4; j += 4) {
      s0 += w[r + j] * x[j];
      s1 += w[r + j + 1] * x[j + 1];
      s2 += w[r + j + 2] * x[j + 2];
      s3 += w[r + j + 3] * x[j + 3];
    }
    for (let j = n4; j < n; j++) s0 += w[r + j] * x[j];
    out[i] = s0 + s1 + s2 + s3;
  }
}

/** o = weight ⊙ x / √(mean(x²) + eps); o may alias x. Returns the inverse RMS. */
export function rmsNorm(o: Float64Array, x: Float64Array, weight: Float32Array, wOff: number, size: number, eps: number): number {
  let ss = 0;
  for (let j = 0; j < size; j++) ss += x[j] * x[j];
  const inv = 1 / sqrt(ss / size + eps);
  for (let j = 0; j < size; j++) o[j] = weight[wOff + j] * (inv * x[j]);
  return inv;
}

/** o = γ ⊙ (x − mean) / √(var + eps) + β; o may alias x. Returns the inverse standard deviation. */
export function layerNorm(
  o: Float64Array, x: Float64Array, gain: Float32Array, bias: Float32Array, off: number, size: number, eps: number,
): number {
  let mean = 0;
  for (let j = 0; j < size; j++) mean += x[j];
  mean /= size;
  let v = 0;
  for (let j = 0; j < size; j++) v += (x[j] - mean) * (x[j] - mean);
  const inv = 1 / sqrt(v / size + eps);
  for (let j = 0; j < size; j++) o[j] = gain[off + j] * ((x[j] - mean) * inv) + bias[off + j];
  return inv;
}

/** cos/sin of pos · θ^(−2i/headDim) for i < headDim/2 (one table per position, shared by heads). */
export function ropeTable(pos: number, headDim: number, theta: number, cos: Float64Array, sin: Float64Array): void {
  for (let i = 0; i < headDim; i += 2) {
    const val = pos / Math.pow(theta, i / headDim);
    cos[i >> 1] = Math.cos(val);
    sin[i >> 1] = Math.sin(val);
  }
}

/** Rotate the pairs (i, i+1) of every head in vec[0 .. size) by the table's angles (run.c RoPE). */
export function rope(vec: Float64Array, vOff: number, size: number, headDim: number, cos: Float64Array, sin: Float64Array): void {
  for (let i = 0; i < size; i += 2) {
    const f = (i % headDim) >> 1;
    const v0 = vec[vOff + i], v1 = vec[vOff + i + 1];
    vec[vOff + i] = v0 * cos[f] - v1 * sin[f];
    vec[vOff + i + 1] = v0 * sin[f] + v1 * cos[f];
  }
}

/** x·σ(x). */
export function silu(x: number): number {
  return x / (1 + exp(-x));
}

const GELU_C = sqrt(2 / Math.PI);
/** GPT-2's GeLU: ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + tanh(GELU_C * (x + 0.044715 * x * x * x)));
}

/** In-place softmax of x[off .. off + size); −∞ entries become 0 (at least one entry must be finite). */
export function softmax(x: Float64Array, off: number, size: number): void {
  let max = -Infinity;
  for (let i = 0; i < size; i++) if (x[off + i] > max) max = x[off + i];
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const e = exp(x[off + i] - max);
    x[off + i] = e;
    sum += e;
  }
  for (let i = 0; i < size; i++) x[off + i] /= sum;
}

/** Index of the first maximum. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Round x[off .. off + size) to the fixed-point grid 2^−fracBits (nearest, ties up). */
export function roundToGrid(x: Float64Array, off: number, size: number, fracBits: number): void {
  const s = 2 ** fracBits, inv = 2 ** -fracBits;
  for (let i = off; i < off + size; i++) x[i] = round(x[i] * s) * inv;
}

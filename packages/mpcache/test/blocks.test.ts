import { argmax, gelu, layerNorm, matvec, rmsNorm, rope, ropeTable, roundToGrid, silu, softmax, Xoshiro128 } from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 1234);
const rng = new Xoshiro128(SEED, 'blocks.test');
const reals = (n: number, scale = 1) => Float64Array.from({ length: n }, () => scale * (2 * rng.nextFloat() - 1));
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe(`model blocks (SEED=${SEED})`, () => {
  test.each([[1, 1], [3, 5], [7, 4], [288, 768], [13, 1]])('matvec (%i in, %i out) equals a naive loop, at a weight offset', (n, d) => {
    const off = 5;
    const w = Float32Array.from(reals(off + n * d));
    const x = reals(n), out = new Float64Array(d);
    matvec(out, x, w, off, n, d);
    const ref = Array.from({ length: d }, (_, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[off + i * n + j] * x[j];
      return s;
    });
    expect(maxAbsDiff(out, ref)).toBeLessThan(1e-12 * n);
  });

  test('rmsNorm: o = w ⊙ x / √(mean x² + eps), aliasing allowed', () => {
    const x = reals(8, 3), w = Float32Array.from(reals(10));
    const ms = x.reduce((a, v) => a + v * v, 0) / 8;
    const want = Array.from(x, (v, j) => w[2 + j] * v / Math.sqrt(ms + 1e-5));
    rmsNorm(x, x, w, 2, 8, 1e-5);
    expect(maxAbsDiff(x, want)).toBeLessThan(1e-12);
  });

  test('layerNorm: zero mean, unit variance before the affine part', () => {
    const x = reals(16, 4), o = new Float64Array(16);
    const ones = new Float32Array(16).fill(1), zeros = new Float32Array(16);
    layerNorm(o, x, ones, zeros, 0, 16, 0);
    const mean = o.reduce((a, v) => a + v, 0) / 16;
    const v = o.reduce((a, u) => a + (u - mean) ** 2, 0) / 16;
    expect(Math.abs(mean)).toBeLessThan(1e-12);
    expect(Math.abs(v - 1)).toBeLessThan(1e-12);
    const g = Float32Array.from(reals(16)), b = Float32Array.from(reals(16));
    const o2 = new Float64Array(16);
    layerNorm(o2, x, g, b, 0, 16, 0);
    expect(maxAbsDiff(o2, Array.from(o, (u, j) => g[j] * u + b[j]))).toBeLessThan(1e-12);
  });

  test('rope: run.c pairing (i, i+1) with angle pos·θ^(−i/headDim), i = index within the head', () => {
    const headDim = 8, size = 16, pos = 7, theta = 10000;
    const cos = new Float64Array(headDim / 2), sin = new Float64Array(headDim / 2);
    ropeTable(pos, headDim, theta, cos, sin);
    const v = reals(size), r = Float64Array.from(v);
    rope(r, 0, size, headDim, cos, sin);
    for (let i = 0; i < size; i += 2) {
      const val = pos * (1 / Math.pow(theta, (i % headDim) / headDim)); // run.c's expression
      expect(r[i]).toBeCloseTo(v[i] * Math.cos(val) - v[i + 1] * Math.sin(val), 12);
      expect(r[i + 1]).toBeCloseTo(v[i] * Math.sin(val) + v[i + 1] * Math.cos(val), 12);
    }
  });

  test('rope: q(m)·k(n) depends only on m − n; position 0 is the identity', () => {
    const headDim = 16;
    const at = (v: Float64Array, pos: number) => {
      const c = new Float64Array(headDim / 2), s = new Float64Array(headDim / 2), r = Float64Array.from(v);
      ropeTable(pos, headDim, 10000, c, s);
      rope(r, 0, headDim, headDim, c, s);
      return r;
    };
    const q = reals(headDim), k = reals(headDim);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);
    expect(dot(at(q, 10), at(k, 3))).toBeCloseTo(dot(at(q, 57), at(k, 50)), 10);
    expect(maxAbsDiff(at(q, 0), q)).toBe(0);
  });

  test('softmax: sums to 1, −∞ gets 0, shift invariant', () => {
    const x = Float64Array.of(9, 1, 2, -Infinity, 3, 1000);
    softmax(x, 1, 4);
    expect(x[0]).toBe(9);
    expect(x[5]).toBe(1000);
    expect(x[3]).toBe(0);
    expect(x[1] + x[2] + x[3] + x[4]).toBeCloseTo(1, 14);
    const e = [1, 2, 3].map((v) => Math.exp(v));
    const s = e[0] + e[1] + e[2];
    expect(maxAbsDiff([x[1], x[2], x[4]], e.map((v) => v / s))).toBeLessThan(1e-15);
  });

  test('silu, gelu, argmax, roundToGrid', () => {
    expect(silu(0)).toBe(0);
    expect(silu(2)).toBeCloseTo(2 / (1 + Math.exp(-2)), 15);
    expect(gelu(0)).toBe(0);
    expect(gelu(1)).toBeCloseTo(0.8411919906082768, 12); // GPT-2 tanh form
    expect(gelu(-3)).toBeCloseTo(-0.0036373920817729943, 12);
    expect(argmax([1, 5, 5, 2])).toBe(1);
    expect(argmax(Float64Array.of(-3))).toBe(0);
    const g = Float64Array.of(0.1, -0.1, 1 / 8192, -3 / 8192, 1e6 + 0.3);
    roundToGrid(g, 0, 5, 12);
    expect(Array.from(g)).toEqual([410 / 4096, -410 / 4096, 1 / 4096, -1 / 4096, 1e6 + 1229 / 4096]);
  });
});

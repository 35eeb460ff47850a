/**
 * Bench cases for the smooth non-linear ops and one attention decoding step (shapes of CrypTen's
 * table in protocols.md).
 */
import { truncPr, expClipped, gelu, layerNorm, maskedMatmul, maskOperand, reciprocal, softmaxRows, softmaxWeightedSum, type MaskedOperand } from '@mpcache/protocols';
import type { OpCase } from './op-case';
import { matmulF64, realTensor, reals } from './inputs';

const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse for a 1e-3 reference; use a series/continued split.
  const t = Math.abs(x);
  if (t < 3) {
    let sum = 0, term = t;
    for (let n = 0; n < 200; n++) {
      sum += term / (2 * n + 1);
      term *= (-t * t) / (n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // asymptotic tail: erfc(t) ≈ e^{−t²}/(t√π)·(1 − 1/(2t²) + 3/(4t⁴))
  const erfc = (Math.exp(-t * t) / (t * Math.sqrt(Math.PI))) * (1 - 1 / (2 * t * t) + 3 / (4 * t ** 4));
  return Math.sign(x) * (1 - erfc);
};

function softmaxF64(x: Float64Array, rows: number, L: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity, s = 0;
    for (let j = 0; j < L; j++) m = Math.max(m, x[i * L + j]);
    for (let j = 0; j < L; j++) s += out[i * L + j] = Math.exp(x[i * L + j] - m);
    for (let j = 0; j < L; j++) out[i * L + j] /= s;
  }
  return out;
}

const expCase: OpCase = {
  name: 'exp[16384]',
  makeInputs: (prg, f) => [realTensor(prg, [16384], -14, 0, f)],
  run: (ctx, [x]) => expClipped(ctx, x),
  reference: ([x], f) => reals(x, f).map(Math.exp),
};

const reciprocalCase: OpCase = {
  name: 'reciprocal[16384]',
  makeInputs: (prg, f) => [realTensor(prg, [16384], 1, 4096, f)],
  run: (ctx, [x]) => reciprocal(ctx, x, { outFracBits: ctx.fracBits }),
  reference: ([x], f) => reals(x, f).map((v) => 1 / v),
};

function softmaxCase(rows: number, L: number): OpCase {
  return {
    name: `softmax[${rows}x${L}]`,
    makeInputs: (prg, f) => [realTensor(prg, [rows, L], -8, 8, f)],
    run: (ctx, [x]) => softmaxRows(ctx, x),
    reference: ([x], f) => softmaxF64(reals(x, f), rows, L),
  };
}

const geluCase: OpCase = {
  name: 'gelu[16384]',
  makeInputs: (prg, f) => [realTensor(prg, [16384], -8, 8, f)],
  run: (ctx, [x]) => gelu(ctx, x, { variant: 'erf' }),
  reference: ([x], f) => reals(x, f).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
};

const layerNormCase: OpCase = {
  name: 'layernorm[128x768]',
  makeInputs: (prg, f) => [realTensor(prg, [128, 768], -4, 4, f), realTensor(prg, [768], 0.5, 1.5, f), realTensor(prg, [768], -0.2, 0.2, f)],
  run: (ctx, [x, g, b]) => layerNorm(ctx, x, g, b),
  reference: ([x, g, b], f) => {
    const xv = reals(x, f), gv = reals(g, f), bv = reals(b, f), d = 768, out = new Float64Array(xv.length);
    for (let i = 0; i < 128; i++) {
      let mu = 0, v = 0;
      for (let j = 0; j < d; j++) mu += xv[i * d + j] / d;
      for (let j = 0; j < d; j++) v += (xv[i * d + j] - mu) ** 2 / d;
      const r = 1 / Math.sqrt(v + 1e-5);
      for (let j = 0; j < d; j++) out[i * d + j] = (xv[i * d + j] - mu) * r * gv[j] + bv[j];
    }
    return out;
  },
};

/**
 * One head, one decoding step: scores = q·Kᵀ/√d, softmax, p·V, with K and V already masked in the
 * cache (masked once, untimed, like rows appended in earlier steps). 1/√64 = 2^−3 folds into the
 * query's truncation; the scores stay at 2f (the exp truncates them inside its own opening).
 */
const attnDecode: OpCase = {
  name: 'attn_decode[1x64,1024x64]',
  makeInputs: (prg, f) => [realTensor(prg, [1, 64], -1, 1, f), realTensor(prg, [1024, 64], -1, 1, f), realTensor(prg, [1024, 64], -1, 1, f)],
  prepare: async (ctx, [, k, v]) => [await maskOperand(ctx, k), await maskOperand(ctx, v)],
  run: async (ctx, [q], ops) => {
    const [K, V] = ops as [MaskedOperand, MaskedOperand];
    const f = ctx.fracBits;
    // q/√64 = q/8: truncate the 64 query entries by 3 bits instead of the 1024 scores by f + 3 …
    const q8 = await truncPr(ctx, q, 3);
    // … and let softmax read the scores at scale 2f (its exp truncates the input inside its own
    // opening), so no separate round or bytes for the scores' truncation.
    const scores = await maskedMatmul(ctx, q8, K, { transpose: true });
    // V weighed by the softmax numerators beside the reciprocal, each output divided once
    // (softmaxWeightedSum, what the decoder runs when no cache policy reads P)
    return softmaxWeightedSum(ctx, scores, (c, e) => maskedMatmul(c, e, V), { inFracBits: 2 * f, bits: 32 + f });
  },
  reference: ([q, k, v], f) => {
    const qv = reals(q, f), kv = reals(k, f), vv = reals(v, f);
    const kt = new Float64Array(64 * 1024);
    for (let j = 0; j < 1024; j++) for (let c = 0; c < 64; c++) kt[c * 1024 + j] = kv[j * 64 + c];
    const s = matmulF64(qv, kt, 1, 64, 1024).map((x) => x / 8);
    return matmulF64(softmaxF64(s, 1, 1024), vv, 1, 1024, 64);
  },
};

export const nonlinearOpCases = (): OpCase[] => [
  expCase,
  reciprocalCase,
  softmaxCase(1, 1024),
  softmaxCase(12, 1024),
  geluCase,
  layerNormCase,
  attnDecode,
];

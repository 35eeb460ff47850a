/**
 * The standard cases of `mpcache bench ops`, named as in ARCHITECTURE.md (shapes of CrypTen's table).
 */
import { decode, type RingTensor } from '@mpcache/mpc-core';
import { beaverMatmul, beaverMul, dcfLessThanZero, maskedMatmul, maskOperand, maxTree, mulFx, relu, topK, truncPr, type MaskedOperand } from '@mpcache/protocols';
import type { OpCase } from './op-case';
import { matmulF64, realTensor, reals } from './inputs';
import { nonlinearOpCases } from './op-cases-nonlinear';

const mulRing: OpCase = {
  name: 'mul[65536]',
  makeInputs: (prg, f) => [realTensor(prg, [65536], -8, 8, f), realTensor(prg, [65536], -8, 8, f)],
  run: (ctx, [x, y]) => beaverMul(ctx, x, y),
  reference: ([x, y], f) => {
    const a = reals(x, f), b = reals(y, f);
    return a.map((v, i) => v * b[i]);
  },
  outputFracBits: (f) => 2 * f,
};

/** Ring matrix product (no truncation) of fresh operands; output at 2f fractional bits. */
function matmulCase(m: number, k: number, n: number): OpCase {
  return {
    name: `matmul[${m}x${k},${k}x${n}]`,
    makeInputs: (prg, f) => [realTensor(prg, [m, k], -2, 2, f), realTensor(prg, [k, n], -0.1, 0.1, f)],
    run: (ctx, [x, w]) => beaverMatmul(ctx, x, w),
    reference: ([x, w], f) => matmulF64(reals(x, f), reals(w, f), m, k, n),
    outputFracBits: (f) => 2 * f,
  };
}

/** The right operand (weights) masked once, untimed; each product opens only the fresh left operand. */
function maskedMatmulCase(m: number, k: number, n: number): OpCase {
  return {
    ...matmulCase(m, k, n),
    name: `matmul_masked[${m}x${k},${k}x${n}]`,
    prepare: (ctx, [, w]) => maskOperand(ctx, w),
    run: (ctx, [x], w) => maskedMatmul(ctx, x, w as MaskedOperand),
  };
}

const ltz: OpCase = {
  name: 'ltz[65536]',
  makeInputs: (prg, f) => [realTensor(prg, [65536], -100, 100, f)],
  run: (ctx, [x]) => dcfLessThanZero(ctx, x),
  reference: ([x], f) => reals(x, f).map((v) => (v < 0 ? 1 : 0)),
  outputFracBits: () => 0,
};

const reluCase: OpCase = {
  name: 'relu[65536]',
  makeInputs: (prg, f) => [realTensor(prg, [65536], -100, 100, f)],
  run: (ctx, [x]) => relu(ctx, x),
  reference: ([x], f) => reals(x, f).map((v) => Math.max(v, 0)),
};

const maxRow: OpCase = {
  name: 'max[1x1024]',
  makeInputs: (prg, f) => [realTensor(prg, [1, 1024], -20, 20, f)],
  run: async (ctx, [x]) => maxTree(ctx, x),
  reference: ([x], f) => Float64Array.of(Math.max(...reals(x, f))),
};

/** Fixed-point product: ring product then truncation (the result is at f fractional bits). */
const mulFxCase: OpCase = {
  ...mulRing,
  name: 'mul_fx[65536]',
  run: (ctx, [x, y]) => mulFx(ctx, x, y),
  outputFracBits: undefined,
};

/** Truncation of products at 2f fractional bits back to f. */
const truncCase: OpCase = {
  name: 'trunc[65536]',
  makeInputs: (prg, f) => [realTensor(prg, [65536], -64, 64, 2 * f)],
  run: (ctx, [x]) => truncPr(ctx, x),
  reference: ([x], f) => reals(x, 2 * f),
};

/** Top-8 values of a row (descending), by shuffle + quick-select. */
const topk8: OpCase = {
  name: 'topk8[1x1024]',
  makeInputs: (prg, f) => [realTensor(prg, [1, 1024], -20, 20, f)],
  run: async (ctx, [x]) => (await topK(ctx, x, 8, { sorted: true })).values,
  reference: ([x], f) => Float64Array.from(reals(x, f)).sort().reverse().subarray(0, 8),
  dataDependentCorrelations: true,
};

export function standardOpCases(): OpCase[] {
  return [
    topk8,
    mulFxCase,
    truncCase,
    ltz,
    reluCase,
    maxRow,
    mulRing,
    matmulCase(128, 768, 768),
    maskedMatmulCase(128, 768, 768),
    matmulCase(1, 64, 1024),
    ...nonlinearOpCases(),
  ];
}

/** Max |decoded output − reference|. */
export function maxAbsErr(c: OpCase, out: RingTensor, ref: Float64Array, fracBits: number): number {
  const got = decode(out.data, c.outputFracBits ? c.outputFracBits(fracBits) : fracBits);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - ref[i]));
  return m;
}

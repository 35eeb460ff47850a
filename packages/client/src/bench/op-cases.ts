/**
 * The standard cases of `mpcache bench ops`, named as in ARCHITECTURE.md (shapes of CrypTen's table).
 */
import { decode, type RingTensor } from '@mpcache/mpc-core';
import { beaverMul } from '@mpcache/protocols';
import type { OpCase } from './op-case';
import { realTensor, reals } from './inputs';

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

export function standardOpCases(): OpCase[] {
  return [mulRing];
}

/** Max |decoded output − reference|. */
export function maxAbsErr(c: OpCase, out: RingTensor, ref: Float64Array, fracBits: number): number {
  const got = decode(out.data, c.outputFracBits ? c.outputFracBits(fracBits) : fracBits);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - ref[i]));
  return m;
}

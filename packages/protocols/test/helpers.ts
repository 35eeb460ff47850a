/** Test helpers: seeded randomness (SEED=… to replay), sharing, reconstruction. */
import { AesCtrPrg, encode, decode, share, type RingTensor } from '@mpcache/mpc-core';
import { createHash } from 'node:crypto';

export const TEST_SEED = process.env.SEED ?? String(Date.now() % 1_000_000);

/** A deterministic PRG for test data, derived from TEST_SEED and a label. */
export function testPrg(label: string): AesCtrPrg {
  const h = createHash('sha256').update(`${TEST_SEED}/${label}`).digest();
  return new AesCtrPrg(h.subarray(0, 16), h.subarray(16, 32));
}

/** Uniform reals in [lo, hi). */
export function randomReals(prg: AesCtrPrg, n: number, lo: number, hi: number): Float64Array {
  const w = prg.words(n), out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * (Number(w[i] >> 11n) / 2 ** 53);
  return out;
}

export function shareReals(xs: ArrayLike<number>, shape: number[], fracBits = 12, prg?: AesCtrPrg): [RingTensor, RingTensor] {
  return share({ shape, data: encode(xs, fracBits) }, prg);
}

export function openReals(a: RingTensor, b: RingTensor, fracBits = 12): Float64Array {
  const s = new BigUint64Array(a.data.length);
  for (let i = 0; i < s.length; i++) s[i] = BigInt.asUintN(64, a.data[i] + b.data[i]);
  return decode(s, fracBits);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

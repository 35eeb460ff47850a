/** Helpers for the secure decoder tests: parties with masked weights, sharing and opening reals. */
import { createHash } from 'node:crypto';
import { AesCtrPrg, decode, encode, share, type RingTensor } from '@mpcache/mpc-core';
import { localParties, runBoth, type LocalParties } from '@mpcache/protocols';
import { maskModelWeights, shareModelWeights, type ModelConfig, type SecureWeights, type TransformerWeights } from '@mpcache/mpcache';

export const TEST_SEED = process.env.SEED ?? String(Date.now() % 1_000_000);

/** A label starting with this prefix ignores TEST_SEED: the test pins its randomness (and says why). */
export const PINNED = 'pinned:';

const seeded = (label: string) => (label.startsWith(PINNED) ? label.slice(PINNED.length) : `${TEST_SEED}/${label}`);

/** Deterministic 16-byte seeds from TEST_SEED and a label. */
export function seed16(label: string): Uint8Array {
  return createHash('sha256').update(seeded(label)).digest().subarray(0, 16);
}

export function testPrg(label: string): AesCtrPrg {
  const h = createHash('sha256').update(seeded(label)).digest();
  return new AesCtrPrg(h.subarray(0, 16), h.subarray(16, 32));
}

/** Two parties (reproducible seeds) and both parties' masked weights. */
export async function secureModel(
  config: ModelConfig, weights: TransformerWeights, fracBits: number, label: string,
): Promise<{ parties: LocalParties; secure: [SecureWeights, SecureWeights] }> {
  const parties = localParties({ fracBits, seeds: { dealerP0: seed16(`${label}/d0`), dealerP1: seed16(`${label}/d1`), common: seed16(`${label}/c`) } });
  const shares = shareModelWeights(weights, config, fracBits, seed16(`${label}/owner`));
  const secure = await runBoth(parties, (ctx) => maskModelWeights(ctx, shares[ctx.party]));
  return { parties, secure };
}

/** Uniform reals in [lo, hi) rounded to the grid 2^−fracBits. */
export function gridReals(prg: AesCtrPrg, n: number, lo: number, hi: number, fracBits: number): Float64Array {
  const w = prg.words(n), out = new Float64Array(n), s = 2 ** fracBits;
  // + 0: Math.round of a small negative is −0, which the ring cannot hold (it decodes as +0, and Object.is tells them apart)
  for (let i = 0; i < n; i++) out[i] = (Math.round((lo + (hi - lo) * (Number(w[i] >> 11n) / 2 ** 53)) * s) + 0) / s;
  return out;
}

export function shareReals(xs: ArrayLike<number>, shape: number[], fracBits: number, prg?: AesCtrPrg): [RingTensor, RingTensor] {
  return share({ shape, data: encode(xs, fracBits) }, prg);
}

export function openReals(pair: readonly [RingTensor, RingTensor], fracBits: number): Float64Array {
  const [a, b] = pair, s = new BigUint64Array(a.data.length);
  for (let i = 0; i < s.length; i++) s[i] = BigInt.asUintN(64, a.data[i] + b.data[i]);
  return decode(s, fracBits);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** out(n, d) = X(n, k) · W(d, k)ᵀ in float64 (W row-major [out, in] at offset wOff). */
export function linearRows(x: Float64Array, n: number, k: number, w: Float32Array, wOff: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let t = 0; t < n; t++) for (let i = 0; i < d; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += x[t * k + j] * w[wOff + i * k + j];
    out[t * d + i] = s;
  }
  return out;
}

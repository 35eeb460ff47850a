/**
 * The correlation behind zero tests, one-hot vectors and lookup tables (fss.md §4d–§4e): a uniform
 * ring mask r (additive shares, each drawn from the party's own dealer stream: nothing sent) and a DPF
 * key pair for α = r mod 2^n, β = 1. The dealer sends count·dpfKeyBytes(n, ν) B to EACH party.
 *
 * openMaskedIndex is the one online round all three share: open x̂ = (x + r) mod 2^n, ⌈n/8⌉ B per element
 * per party (n = 1: one bit per element, packed, ⌈count/8⌉ B: engine/open.ts). x̂ is uniform on [0, 2^n) because r is uniform and single-use, so it reveals nothing.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { totalDealerBytes } from '../dealer/dealer-bytes';
import { randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { checkDpfShape, dealDpfKeys, dpfKeysBytes, dpfKeysWork, type DpfKeys } from '../fss/dpf-keygen';

export interface MaskedDpfParams {
  readonly count: number;
  readonly n: number;
  readonly nu: number;
}

export interface MaskedDpf {
  /** This party's share of r (count words). */
  readonly r: BigUint64Array;
  readonly keys: DpfKeys;
}

function validateMaskedDpf(p: unknown): MaskedDpfParams {
  const q = p as MaskedDpfParams;
  if (typeof q !== 'object' || q === null) throw new TypeError('maskedDpf params: expected an object');
  validateCount(q.count);
  checkDpfShape(q.n, q.nu);
  return { count: q.count, n: q.n, nu: q.nu };
}

// work: [r] and the DPF keys' generation (dpfKeysWork)
export const maskedDpfCorrelation = defineCorrelation('maskedDpf', validateMaskedDpf, (p) => dpfKeysBytes(p.n, p.nu, p.count), (p) => randomWork(p.count) + dpfKeysWork(p.n, p.nu, p.count), (g, p: MaskedDpfParams): MaskedDpf => {
  const r = g.random(p.count);
  const mask = p.n === 64 ? (1n << 64n) - 1n : (1n << BigInt(p.n)) - 1n;
  const alpha = () => {
    const v = r.value(), a = new BigUint64Array(p.count);
    for (let i = 0; i < p.count; i++) a[i] = v[i] & mask;
    return a;
  };
  const keys = dealDpfKeys(g, p.n, p.nu, p.count, alpha, () => new BigUint64Array(p.count).fill(1n));
  return { r: r.share, keys };
});

/** Offline bytes (both parties together) for count masked DPFs of shape (n, ν). */
export const maskedDpfOfflineBytes = (count: number, n: number, nu: number): number => totalDealerBytes(dpfKeysBytes(n, nu, count));

/**
 * Take `count = x.data.length` masked DPFs and open x̂ = (x + r) mod 2^n in one round.
 * Returns the material and x̂ (public, reduced mod 2^n).
 */
export async function openMaskedIndex(
  ctx: PartyContext,
  x: RingTensor,
  n: number,
  nu: number,
): Promise<{ mat: MaskedDpf; xHat: BigUint64Array }> {
  const count = x.data.length;
  const mat = await ctx.dealer.take(maskedDpfCorrelation, { count, n, nu });
  const masked = new BigUint64Array(count);
  for (let i = 0; i < count; i++) masked[i] = BigInt.asUintN(64, x.data[i] + mat.r[i]);
  const xHat = await openWords(ctx, masked, n);
  return { mat, xHat };
}


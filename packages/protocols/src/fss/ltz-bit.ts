/**
 * dcfLessThanZeroBit — [x < 0] for shared x on a k-bit signed range as XOR shares of one bit: 0/1
 * words whose sum mod 2 is the answer, so `openWords(·, 1)` opens it. For protocols that open the
 * bit at once (quick-select's comparisons, top-k.ts); dcfLessThanZero (dcf-less-than.ts) gives ring
 * shares for those that compute with it.
 *
 * Rounds:    1   (open xHat = (x + r) mod 2^k)
 * Online:    ⌈k/8⌉ B/elem sent per party, as dcfLessThanZero
 * Offline:   per element one Z₂-output DCF key (n = k − 1, dcf-bit.ts: 16(k − 8) + 16 B with early
 *            termination, k ≥ 8) to each party, plus the 8-B correction of [ρ] to P0 —
 *            1832 B for k = 64 against dcfLessThanZero's 3048 (1736 against 2904 at k = 61; 2026 and
 *            1930 before session 24's early termination). dcfLessThanZeroBitCost(n, k).
 * Accuracy:  exact for x read as a signed integer in [−2^(k−1), 2^(k−1)).
 * Opens:     xHat = (x + r) mod 2^k, uniform because r is uniform and used once.
 * Steps:     1. take [r], [ρ] (ρ = bit_{k−1}(r); its ring shares' low bits are XOR shares of it) and
 *               the DCF keys for α = r mod 2^(k−1)
 *            2. open xHat
 *            3. a = bit_{k−1}(xHat); c_b = Eval(b, key_b, xHat mod 2^(k−1)) (XOR shares of
 *               [xHat' < r'], the carry out of the low k − 1 bits); this party's bit:
 *               (b = 0 ? a : 0) ⊕ low bit of [ρ]_b ⊕ c_b — local
 * Why:       bit_{k−1}(x) = a ⊕ ρ ⊕ c (dcf-less-than.ts), every term now a bit.
 */
import type { PartyId, RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import type { PartyContext } from '../engine/context';
import { dcfBitEval, dcfBitKeysBytes, dcfBitKeysWork, dealDcfBitKeys, sliceDcfBitKeys, type DcfBitKeys } from './dcf-bit';
import { maskedComparison, validateCompareParams, type CompareParams } from './dcf-less-than';
import { defaultFssPrg } from './dpf-keygen';

/** Correlation of one batch of bit comparisons (this party's shares). */
export interface LtzBitKeys {
  readonly r: BigUint64Array;
  readonly rho: BigUint64Array;
  readonly keys: DcfBitKeys;
}

/** Comparisons [from, to) of taken material (each comparison's material is used once). */
export function sliceLtzBitKeys(mat: LtzBitKeys, from: number, to: number): LtzBitKeys {
  return { r: mat.r.subarray(from, to), rho: mat.rho.subarray(from, to), keys: sliceDcfBitKeys(mat.keys, from, to) };
}

const ltzBitKeysBytes = ({ count, bits }: CompareParams) => sumDealerBytes(bytesToP0(8 * count), dcfBitKeysBytes({ n: bits - 1, count }));

/** Work: [r], the derived [ρ] and one (bits − 1)-bit Z₂ DCF key per comparison. */
const ltzBitKeysWork = ({ count, bits }: CompareParams) => randomWork(count) + derivedWork(count) + dcfBitKeysWork({ n: bits - 1, count });

export const ltzBitKeys = defineCorrelation('dcfLtzBit', validateCompareParams, ltzBitKeysBytes, ltzBitKeysWork, (g, p: CompareParams): LtzBitKeys => {
  const { count, bits } = p;
  const top = BigInt(bits - 1);
  const r = g.random(count);
  const rho = g.derived(count, () => r.value().map((v) => (v >> top) & 1n));
  const keys = dealDcfBitKeys(g, defaultFssPrg(), { n: bits - 1, count }, () => {
    const lowMask = (1n << top) - 1n;
    return r.value().map((v) => v & lowMask);
  });
  return { r: r.share, rho: rho.share, keys };
});

/**
 * [x < 0] as XOR shares (0/1 words). `taken`: material already taken for these comparisons, as
 * consecutive segments (a ComparisonPool's slices); default one request.
 */
export async function dcfLessThanZeroBit(ctx: PartyContext, x: RingTensor, bits = 64, taken?: readonly LtzBitKeys[]): Promise<RingTensor> {
  return maskedComparison(ctx, 'dcfLessThanZeroBit', x, bits, taken ?? (() => ctx.dealer.take(ltzBitKeys, { count: x.data.length, bits })),
    (xHat, mat) => ltzBitCombine(ctx.party, xHat, mat, bits));
}

/** Step 3 for an opened xHat (mod 2^bits): this party's XOR share of [x < 0] per element. */
export function ltzBitCombine(party: PartyId, xHat: BigUint64Array, mat: LtzBitKeys, bits: number): BigUint64Array {
  const n = xHat.length, c = dcfBitEval(defaultFssPrg(), party, mat.keys, xHat); // reads xHat mod 2^(k−1)
  const out = new BigUint64Array(n), o32 = new Uint32Array(out.buffer); // high halves stay 0
  const x32 = new Uint32Array(xHat.buffer, xHat.byteOffset, 2 * n), r32 = new Uint32Array(mat.rho.buffer, mat.rho.byteOffset, 2 * n);
  const aw = (bits - 1) >>> 5, ash = (bits - 1) & 31, p0 = party === 0 ? 1 : 0;
  for (let i = 0; i < n; i++) o32[2 * i] = ((p0 & (x32[2 * i + aw] >>> ash)) ^ r32[2 * i] ^ c[i]) & 1;
  return out;
}

/** Exact cost of n bit comparisons on a `bits`-wide signed range (offline: dealer bytes to both). */
export const dcfLessThanZeroBitCost = (n: number, bits = 64) => ({
  rounds: 1,
  bytesSent: n * Math.ceil(bits / 8),
  offlineBytes: totalDealerBytes(ltzBitKeysBytes({ count: n, bits })),
});

/**
 * dcfLessThanZero — [x < 0] for shared x on a k-bit signed range, as arithmetic shares of 0/1
 * (LTZ, fss.md §4a); dcfLessThan — [x < y] (§4b); drelu — [x ≥ 0] = 1 − LTZ.
 *
 * Rounds:    1   (open xHat = (x + r) mod 2^k; fuses with other openings via fuseRounds)
 * Online:    ⌈k/8⌉ B/elem sent per party (8 for k = 64, 5 for k = 40, 2 for k = 16)
 * Offline:   per element: one DCF key (n = k − 1, m = 1) to each party, dcfKeyBytes(k − 1, 1) =
 *            24(k − 1) + 8 B each, plus the 8-B correction of [ρ] to P0; [r] costs nothing (both
 *            shares come from the dealer streams). Total 2·(24(k − 1) + 8) + 8 B: 3048 for k = 64,
 *            1896 for k = 40 (fss.md's table counts 8 B more for [r]). dcfLessThanZeroCost(n, k).
 * Accuracy:  exact, no failure probability, for x read as a signed integer in [−2^(k−1), 2^(k−1));
 *            for x < y: exact while x − y stays in that range (else the answer flips silently).
 * Opens:     xHat = (x + r) mod 2^k, uniform because r is uniform and used once.
 * Steps:     1. take the correlation: [r], [ρ] with ρ = bit_{k−1}(r), DCF keys for
 *               α = r mod 2^(k−1), β = 1 − 2ρ
 *            2. open xHat = (x + r) mod 2^k
 *            3. a = bit_{k−1}(xHat); y_b = Eval_DCF(b, key_b, xHat mod 2^(k−1));
 *               [w] = [ρ] + y (w = ρ ⊕ c);  [LTZ] = (b = 0 ? a : 0) + (1 − 2a)·[w]   — local
 * Why:       bit_{k−1}(x) = a ⊕ ρ ⊕ c with c = [xHat' < r'] the carry out of the low k − 1 bits;
 *            ρ ⊕ c = ρ + (1 − 2ρ)c, so the DCF payload 1 − 2ρ plus [ρ] gives [ρ ⊕ c].
 * Reference: Boyle et al., "Function Secret Sharing for Mixed-Mode and Fixed-Point Secure
 *            Computation", EUROCRYPT 2021; Orca/SIGMA (EzPC GPU-MPC).
 */
import { assertSameShape, type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { dcfEval } from './dcf-eval';
import { dcfKeysBytes, dcfKeysWork, dealDcfKeys, sliceDcfKeys, type DcfKeys } from './dcf-keygen';
import { defaultFssPrg } from './dpf-keygen';

const { asUintN } = BigInt; // the global lookup is ≈ 250× slower inside jest's vm context

/** Correlation of one batch of LTZ comparisons (this party's shares). */
export interface LtzKeys {
  readonly r: BigUint64Array;
  readonly rho: BigUint64Array;
  readonly keys: DcfKeys;
}

export interface CompareParams {
  /** Number of comparisons. */
  count: number;
  /** Signed comparison range k: inputs lie in [−2^(k−1), 2^(k−1)), 2 ≤ k ≤ 64. */
  bits: number;
  /** A public label the dealer ignores: the chunk's index in a ComparisonPool (comparison-pool.ts). */
  chunk?: number;
}

/** Largest chunk label (a pool's chunk index). */
const MAX_CHUNK_LABEL = 2 ** 20;

/** Wire validator for { count, bits, chunk? } (dealer service boundary). */
export function validateCompareParams(p: unknown): CompareParams {
  if (typeof p !== 'object' || p === null) throw new TypeError('compare params: expected { count, bits }');
  const { count, bits, chunk } = p as Record<string, unknown>;
  assertBits(bits);
  if (chunk === undefined) return { count: validateCount(count), bits: bits as number };
  if (typeof chunk !== 'number' || !Number.isInteger(chunk) || chunk < 0 || chunk > MAX_CHUNK_LABEL) {
    throw new RangeError(`compare chunk expected an integer in [0, ${MAX_CHUNK_LABEL}]`);
  }
  return { count: validateCount(count), bits: bits as number, chunk };
}

/** Comparisons [from, to) of taken LTZ material (each comparison's material is used once). */
export function sliceLtzKeys(mat: LtzKeys, from: number, to: number): LtzKeys {
  return { r: mat.r.subarray(from, to), rho: mat.rho.subarray(from, to), keys: sliceDcfKeys(mat.keys, from, to) };
}

export function assertBits(bits: unknown): void {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 2 || bits > 64) {
    throw new RangeError(`comparison bits expected an integer in [2, 64], got ${String(bits)}`);
  }
}

/** [ρ] to P0 and one (bits − 1)-bit DCF key per comparison to each party. */
const ltzKeysBytes = ({ count, bits }: CompareParams) => sumDealerBytes(bytesToP0(8 * count), dcfKeysBytes({ n: bits - 1, m: 1, count }));

/** Work: [r], the derived [ρ] and one (bits − 1)-bit DCF key per comparison (dcfKeysWork). */
const ltzKeysWork = ({ count, bits }: CompareParams) => randomWork(count) + derivedWork(count) + dcfKeysWork({ n: bits - 1, m: 1, count });

export const ltzKeys = defineCorrelation('dcfLtz', validateCompareParams, ltzKeysBytes, ltzKeysWork, (g, p: CompareParams): LtzKeys => {
  const { count, bits } = p;
  const top = BigInt(bits - 1);
  const r = g.random(count);
  const rho = g.derived(count, () => r.value().map((v) => (v >> top) & 1n));
  const keys = dealDcfKeys(g, defaultFssPrg(), { n: bits - 1, m: 1, count }, () => {
    const rv = r.value(), lowMask = (1n << top) - 1n;
    const alpha = rv.map((v) => v & lowMask);
    const beta = rv.map((v) => asUintN(64, 1n - 2n * ((v >> top) & 1n)));
    return { alpha, beta };
  });
  return { r: r.share, rho: rho.share, keys };
});

/**
 * [x < 0] as shares of 0/1, for x in [−2^(bits−1), 2^(bits−1)). `taken`: material already taken
 * for these comparisons, as consecutive segments (a ComparisonPool's slices); default one request.
 */
export async function dcfLessThanZero(ctx: PartyContext, x: RingTensor, bits = 64, taken?: readonly LtzKeys[]): Promise<RingTensor> {
  // 1. take [r], [ρ] and the DCF keys; 2.–3. open xHat, then DCF on the low k − 1 bits and LTZ = a ⊕ w
  return maskedComparison(ctx, 'dcfLessThanZero', x, bits, taken ?? (() => ctx.dealer.take(ltzKeys, { count: x.data.length, bits })),
    (xHat, mat) => ltzCombine(ctx.party, xHat, mat, bits));
}

/**
 * An LTZ in the ledger scope `what`: its material (`taken` as consecutive segments, each with its
 * mask r, or one request), xHat = (x + r) mod 2^bits opened in one round, then `combine` each
 * segment's part locally.
 */
export async function maskedComparison<M extends { readonly r: BigUint64Array }>(
  ctx: PartyContext, what: string, x: RingTensor, bits: number, taken: readonly M[] | (() => Promise<M>),
  combine: (xHat: BigUint64Array, mat: M) => BigUint64Array,
): Promise<RingTensor> {
  assertBits(bits);
  return ctx.ledger.scope(what, async () => {
    const segments = typeof taken === 'function' ? [await taken()] : taken;
    return openAndCombine(ctx, what, x, bits, segments, combine);
  });
}

async function openAndCombine<M extends { readonly r: BigUint64Array }>(
  ctx: PartyContext, what: string, x: RingTensor, bits: number, segments: readonly M[],
  combine: (xHat: BigUint64Array, mat: M) => BigUint64Array,
): Promise<RingTensor> {
  const n = x.data.length;
  if (segments.reduce((s, m) => s + m.r.length, 0) !== n) throw new RangeError(`${what}: material for another count than ${n}`);
  const masked = new BigUint64Array(n);
  let off = 0;
  for (const mat of segments) {
    for (let i = 0; i < mat.r.length; i++) masked[off + i] = asUintN(64, x.data[off + i] + mat.r[i]);
    off += mat.r.length;
  }
  const xHat = await openWords(ctx, masked, bits);
  if (segments.length === 1) return { shape: [...x.shape], data: combine(xHat, segments[0]) };
  const out = new BigUint64Array(n);
  off = 0;
  for (const mat of segments) {
    out.set(combine(xHat.subarray(off, off + mat.r.length), mat), off);
    off += mat.r.length;
  }
  return { shape: [...x.shape], data: out };
}

/** [x < y] = LTZ(x − y); exact while x − y fits the signed `bits` range. */
export async function dcfLessThan(ctx: PartyContext, x: RingTensor, y: RingTensor, bits = 64): Promise<RingTensor> {
  assertSameShape(x, y, 'dcfLessThan');
  return ctx.ledger.scope('dcfLessThan', () => dcfLessThanZero(ctx, subTensor(x, y), bits));
}

/** DReLU(x) = [x ≥ 0] = 1 − LTZ(x), as shares of 0/1. */
export async function drelu(ctx: PartyContext, x: RingTensor, bits = 64): Promise<RingTensor> {
  return ctx.ledger.scope('drelu', async () => {
    const l = await dcfLessThanZero(ctx, x, bits);
    return { shape: l.shape, data: oneMinus(ctx.party, l.data) };
  });
}

/**
 * Step 3 of LTZ for an opened xHat (mod 2^bits): this party's shares of [x < 0]. Exposed so tests
 * can drive it with dealer material of a chosen r (edge masks).
 */
export function ltzCombine(party: PartyId, xHat: BigUint64Array, mat: LtzKeys, bits: number): BigUint64Array {
  const n = xHat.length;
  const y = dcfEval(defaultFssPrg(), party, mat.keys, xHat); // reads xHat mod 2^(k−1)
  const out = new BigUint64Array(n);
  // u64 arithmetic on u32 halves (no BigInt: ≈ 10× faster here, and immune to jest's slow globals)
  const x32 = u32(xHat), r32 = u32(mat.rho), y32 = u32(y), o32 = u32(out);
  const aw = (bits - 1) >>> 5, ash = (bits - 1) & 31, p0 = party === 0 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const a = (x32[2 * i + aw] >>> ash) & 1;
    // w = [ρ] + y
    let lo = r32[2 * i] + y32[2 * i], hi = r32[2 * i + 1] + y32[2 * i + 1] + (lo > 0xffffffff ? 1 : 0);
    lo >>>= 0;
    // a ⊕ w = a + (1 − 2a)·w: negate w when a = 1; a is public, P0 adds it
    if (a === 1) {
      hi = ~hi + (lo === 0 ? 1 : 0);
      lo = -lo >>> 0;
    }
    lo += p0 & a;
    o32[2 * i] = lo;
    o32[2 * i + 1] = hi + (lo > 0xffffffff ? 1 : 0);
  }
  return out;
}

const u32 = (w: BigUint64Array) => new Uint32Array(w.buffer, w.byteOffset, 2 * w.length);

/** Shares of 1 − v from shares of v (P0 adds 1). */
export function oneMinus(party: PartyId, v: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = asUintN(64, (party === 0 ? 1n : 0n) - v[i]);
  return out;
}

function subTensor(x: RingTensor, y: RingTensor): RingTensor {
  const d = new BigUint64Array(x.data.length);
  for (let i = 0; i < d.length; i++) d[i] = asUintN(64, x.data[i] - y.data[i]);
  return { shape: [...x.shape], data: d };
}

/** Exact cost of n comparisons on a `bits`-wide signed range (offline: dealer bytes to both). */
export const dcfLessThanZeroCost = (n: number, bits = 64) => ({
  rounds: 1,
  bytesSent: n * Math.ceil(bits / 8),
  offlineBytes: totalDealerBytes(ltzKeysBytes({ count: n, bits })),
});
export const dcfLessThanCost = dcfLessThanZeroCost;
export const dreluCost = dcfLessThanZeroCost;

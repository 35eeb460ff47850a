/**
 * truncPr — dealer-assisted probabilistic truncation: y ≈ x / 2^f for shared x (fss.md §4f).
 *
 * Rounds:    1   (open ẑ = x + 2^62 + r)
 * Online:    8 B/elem sent per party
 * Offline:   8 + ⌈f/8⌉ B/elem to P0 (10 B at f = 12–16), 0 B to P1: [r] from both streams, [r >> f]
 *            as an 8-byte correction, [2^(64−f)·msb(r)] packed in ⌈f/8⌉ bytes (derived-top-bits.ts).
 *            fss.md budgets 24 B; the two savings above are exact, not approximations.
 * Accuracy:  y = ⌊x/2^f⌋ + c with c ∈ {0, 1} and Pr[c = 1] = (x mod 2^f)/2^f, so |y − x/2^f| < 1 ulp
 *            and E[y] = x/2^f (stochastic rounding, unbiased); exact wrap handling, i.e. no large
 *            error at all, for every x in [−2^62, 2^62).
 * Opens:     ẑ = x + 2^62 + r, uniform because r is uniform and used once.
 * Steps:     1. take a truncation pair ([r], [r >> f], [2^(64−f)·μr]) with μr = msb(r)
 *            2. open ẑ: P0 sends x0 + r0 + 2^62, P1 sends x1 + r1
 *            3. μ̄ = 1 − msb(ẑ);  y_b = [P0]·((ẑ >> f) − 2^(62−f)) − [r >> f]_b + μ̄·[2^(64−f)·μr]_b — local
 * Why step 3: with x' = x + 2^62 ∈ [0, 2^63), x' + r wraps past 2^64 exactly when μr = 1 and
 * msb(ẑ) = 0; then ẑ >> f = (x' >> f) + (r >> f) + c − wrap·2^(64−f) and x' >> f = ⌊x/2^f⌋ + 2^(62−f).
 * Performance: the step-3 loop is branch-free BigUint64Array arithmetic (μ̄·m as m & (msb − 1)),
 * ≈ 1.5 ns/elem, Node 20.20, 2026-11 (a branch or an unsigned BigInt compare there costs 5–10×).
 */
import { type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation, type DealGen } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { asUintN, shiftRightWords } from '../engine/words';

/** One party's shares of a truncation mask, per element. */
export interface TruncPair {
  /** [r], r uniform in Z_2^64. */
  readonly r: BigUint64Array;
  /** [r >> f] (logical shift). */
  readonly rTrunc: BigUint64Array;
  /** [2^(64−f)·μr], μr = msb(r): the correction for a wrap of x + 2^62 + r past 2^64. */
  readonly rWrap: BigUint64Array;
}

export interface TruncParams {
  readonly n: number;
  readonly f: number;
}

/** The mask part of every truncation correlation (also used by the folded products). */
export function dealTruncMask(g: DealGen, n: number, f: number): TruncPair & { rValue: () => BigUint64Array } {
  const r = g.random(n);
  const rTrunc = g.derived(n, () => shiftRightWords(r.value(), f));
  const rWrap = derivedTopBits(g, n, f, () => shiftRightWords(r.value(), 63));
  return { r: r.share, rTrunc: rTrunc.share, rWrap, rValue: () => r.value() };
}

export const truncPairs = defineCorrelation('truncPairs', validateTruncParams, (p) => bytesToP0(truncMaskBytes(p.n, p.f)), (p) => truncMaskWork(p.n, p.f), (g, p): TruncPair => {
  const { r, rTrunc, rWrap } = dealTruncMask(g, p.n, p.f);
  return { r, rTrunc, rWrap };
});

/** y ≈ x / 2^shift on shares; precondition |x| < 2^62 (signed). */
export async function truncPr(ctx: PartyContext, x: RingTensor, shift = ctx.fracBits): Promise<RingTensor> {
  assertShift(shift);
  return ctx.ledger.scope('truncPr', async () => {
    const n = x.data.length;
    // 1. take a truncation pair
    const pair = await ctx.dealer.take(truncPairs, { n, f: shift });
    // 2. open ẑ = x + 2^62 + r
    const zHat = await openWords(ctx, maskForTrunc(ctx.party, x.data, pair.r));
    // 3. y_b = [P0]·((ẑ >> f) − 2^(62−f)) − [r >> f]_b + μ̄·[2^(64−f)·μr]_b
    return { shape: [...x.shape], data: truncOpened(ctx.party, zHat, pair, shift) };
  });
}

/** My part of ẑ: x_b + r_b (+ 2^62 on P0). */
export function maskForTrunc(party: 0 | 1, x: BigUint64Array, r: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(x.length), k = party === 0 ? 1n << 62n : 0n;
  for (let i = 0; i < x.length; i++) out[i] = asUintN(64, x[i] + r[i] + k);
  return out;
}

/** Step 3: my share of y from the opened ẑ. */
export function truncOpened(party: 0 | 1, zHat: BigUint64Array, pair: TruncPair, f: number): BigUint64Array {
  const n = zHat.length, y = new BigUint64Array(n), rt = pair.rTrunc, m = pair.rWrap, s = BigInt(f);
  if (party === 0) {
    const off = 1n << BigInt(62 - f);
    for (let i = 0; i < n; i++) {
      const z = zHat[i];
      y[i] = asUintN(64, (z >> s) - off - rt[i] + (m[i] & ((z >> 63n) - 1n)));
    }
  } else {
    for (let i = 0; i < n; i++) y[i] = asUintN(64, (m[i] & ((zHat[i] >> 63n) - 1n)) - rt[i]);
  }
  return y;
}

export function assertShift(f: number, max = 62): void {
  if (!Number.isInteger(f) || f < 1 || f > max) throw new RangeError(`truncation shift ${f} out of [1, ${max}]`);
}

export function validateTruncParams(p: unknown): TruncParams {
  const q = (p ?? {}) as Record<string, unknown>;
  const n = validateCount(q.n), f = q.f;
  if (typeof f !== 'number') throw new TypeError('truncation: "f" expected a number');
  assertShift(f);
  return { n, f };
}

/** Offline bytes of one truncation mask (dealTruncMask), all to P0. */
export const truncMaskBytes = (n: number, f: number) => 8 * n + derivedTopBitsBytes(n, f);

/** Work of one truncation mask (dealer-work.ts): [r], the derived [r >> f] and the packed wrap term. */
export const truncMaskWork = (n: number, f: number) => randomWork(n) + derivedWork(n) + derivedTopBitsWork(n, f);

/** Cost of truncPr on n elements by f bits, per party (offline bytes are P0's; P1 gets none). */
export const truncPrCost = (n: number, f = 12) => ({ rounds: 1, bytesSent: 8 * n, offlineBytes: totalDealerBytes(truncPairs.messageBytes({ n, f })) });

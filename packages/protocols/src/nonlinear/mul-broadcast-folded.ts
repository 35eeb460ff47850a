/**
 * mulBroadcastFolded — out_ij = x_ij · t_i · z_j with t = truncPr(w, shift) per row, in ONE round:
 * the truncation of the row factor rides in the product's opening (fss.md §4f, "Folding the
 * truncation into the next product", with mulBroadcast's broadcasting). The norms' final product
 * (x − μ)·rsqrt·γ takes rsqrt's untruncated output this way.
 *
 * Rounds:    1   (mulBroadcast after a truncPr of the row factor: 2)
 * Online:    8·(rows·L + rows·1 + L·[z]) B sent per party (ẑ per row instead of F = y − b)
 * Offline:   to P0, per element: [aR] 8 B and [aW] ⌈shift/8⌉ B, and with z [ac], [cR], [acR] 8 B each
 *            and [cW], [acW] ⌈shift/8⌉ B each; per row the truncation mask; mulBroadcastFoldedCost exact
 * Accuracy:  t as truncPr (⌊w/2^shift⌋ + {0, 1}, |w| < 2^62); the product is exact in the ring for that t
 * Opens:     ẑ = w + 2^62 + r (per row), E = x − a, G = z − c: uniform (r, a, c fresh)
 * Steps:     1. take r (R = r >> shift, W = 2^(64−shift)·msb(r)), a, c and the derived terms
 *            2. open ẑ, E, G in one round
 *            3. t = D − A with public D = (ẑ >> shift) − 2^(62−shift), A = R − μ̄W (μ̄ = 1 − msb(ẑ));
 *               x·t·z = D·(x·z) − (x·z)·A with x·z = EG + E·c + G·a + ac, each ·A term a dealer
 *               product with R and W combined by the public μ̄ (W² ≡ 0 is never needed)        local
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateGrid } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany, type OpenPart } from '../engine/open';
import { asUintN, mulWords, once, repeatPerColumn, repeatPerRow, shiftRightWords, subWords } from '../engine/words';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes, truncMaskWork } from '../trunc/trunc-pr';

export interface FoldedBroadcastParams {
  readonly rows: number;
  readonly L: number;
  readonly shift: number;
  readonly hasZ: boolean;
}

function validateParams(p: unknown): FoldedBroadcastParams {
  const q = (p ?? {}) as FoldedBroadcastParams;
  validateGrid(q.rows, q.L);
  assertShift(q.shift);
  return { rows: q.rows, L: q.L, shift: q.shift, hasZ: q.hasZ === true };
}

/** All to P0: the rows' mask, [aR] and packed [aW] per element, with z also [ac], [cR], [acR] and packed [cW], [acW]. */
const foldedBroadcastBytes = ({ rows, L, shift, hasZ }: FoldedBroadcastParams) => {
  const n = rows * L, full = 8 * n, top = derivedTopBitsBytes(n, shift);
  return bytesToP0(truncMaskBytes(rows, shift) + full + top + (hasZ ? 3 * full + 2 * top : 0));
};

/**
 * Work: the rows' mask, a (and c) drawn, the derived [aR] and packed [aW], with z also the derived
 * [ac], [cR], [acR] and packed [cW], [acW] (the broadcasts R, msb, C are covered by those words).
 */
const foldedBroadcastWork = ({ rows, L, shift, hasZ }: FoldedBroadcastParams) => {
  const n = rows * L, full = derivedWork(n), top = derivedTopBitsWork(n, shift);
  return truncMaskWork(rows, shift) + randomWork(n) + full + top + (hasZ ? randomWork(L) + 3 * full + 2 * top : 0);
};

export const foldedBroadcastTriples = defineCorrelation('foldedBroadcastTriples', validateParams, foldedBroadcastBytes, foldedBroadcastWork, (g, p: FoldedBroadcastParams) => {
  const { rows, L, shift } = p, n = rows * L, zero = new BigUint64Array(n);
  const mask = dealTruncMask(g, rows, shift);
  const a = g.random(n), c = p.hasZ ? g.random(L) : undefined;
  const R = once(() => repeatPerRow(shiftRightWords(mask.rValue(), shift), L)), msb = once(() => repeatPerRow(shiftRightWords(mask.rValue(), 63), L));
  const C = once(() => repeatPerColumn(c!.value(), rows)), AC = once(() => mulWords(a.value(), C()));
  // [v·R] as a full word, [v·W] as its top `shift` bits (W = 2^(64−shift)·msb)
  const withR = (v: () => BigUint64Array) => g.derived(n, () => mulWords(v(), R())).share;
  const withW = (v: () => BigUint64Array) => derivedTopBits(g, n, shift, () => mulWords(v(), msb()));
  const aR = withR(() => a.value()), aW = withW(() => a.value());
  const ac = c ? g.derived(n, AC).share : zero;
  const cR = c ? withR(C) : zero, cW = c ? withW(C) : zero;
  const acR = c ? withR(AC) : zero, acW = c ? withW(AC) : zero;
  return { r: mask.r, rTrunc: mask.rTrunc, rWrap: mask.rWrap, a: a.share, c: c?.share ?? new BigUint64Array(L), aR, aW, ac, cR, cW, acR, acW };
});

/** x (rows, L) · truncPr(w (rows), shift) per row · z (L) per column (z may be null). */
export async function mulBroadcastFolded(ctx: PartyContext, x: RingTensor, w: RingTensor, shift: number, z: RingTensor | null): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1] ?? 1, n = x.data.length, rows = L ? n / L : 0;
  if (w.data.length !== rows) throw new ShapeError(`mulBroadcastFolded: x has ${rows} rows, w has ${w.data.length} elements`);
  if (z && z.data.length !== L) throw new ShapeError(`mulBroadcastFolded: x rows have ${L} columns, z has ${z.data.length} elements`);
  return ctx.ledger.scope('mulBroadcastFolded', async () => {
    // 1. the material; 2. open ẑ, E (and G) in one round
    const t = await ctx.dealer.take(foldedBroadcastTriples, { rows, L, shift, hasZ: z !== null });
    const parts: OpenPart[] = [{ x: maskForTrunc(ctx.party, w.data, t.r) }, { x: subWords(x.data, t.a) }];
    if (z) parts.push({ x: subWords(z.data, t.c) });
    const opened = await openMany(ctx, parts);
    const zHat = opened[0], E = opened[1], G = z ? opened[2] : new BigUint64Array(L).fill(1n);
    // 3. x·t·z = D·xz − xz·A, xz = EG + E·c + G·a + ac; A-products: [vR] − μ̄[vW]
    const out = combine(ctx.party === 0 ? 1n : 0n, rows, L, shift, zHat, E, G, t);
    return { shape: [...x.shape], data: out };
  });
}

type FoldedBroadcastTriple = ReturnType<typeof foldedBroadcastTriples.deal>;

/** Step 3 (a top-level function: V8 optimizes the loop sooner than inside the protocol's closure). */
function combine(p0: bigint, rows: number, L: number, shift: number, zHat: BigUint64Array, E: BigUint64Array, G: BigUint64Array, t: FoldedBroadcastTriple): BigUint64Array {
  const off = 1n << BigInt(62 - shift), s = BigInt(shift), out = new BigUint64Array(rows * L);
  const { a, c, aR, aW, ac, cR, cW, acR, acW, rTrunc, rWrap } = t;
  for (let i = 0, q = 0; i < rows; i++) {
    const zh = zHat[i], D = asUintN(64, (zh >> s) - off), keep = asUintN(64, (zh >> 63n) - 1n);
    const A = asUintN(64, rTrunc[i] - (rWrap[i] & keep));
    for (let j = 0; j < L; j++, q++) {
      // one wrapped product per statement: V8 keeps these in 64-bit registers (mul-broadcast.ts)
      const e = E[q], Gj = G[j], eG = asUintN(64, e * Gj);
      const t1 = asUintN(64, e * c[j]), t2 = asUintN(64, Gj * a[q]);
      const xz = asUintN(64, asUintN(64, p0 * eG) + asUintN(64, t1 + t2) + ac[q]);
      const cA = asUintN(64, cR[q] - (cW[q] & keep)), aA = asUintN(64, aR[q] - (aW[q] & keep));
      const u1 = asUintN(64, eG * A), u2 = asUintN(64, e * cA), u3 = asUintN(64, Gj * aA);
      const xzA = asUintN(64, asUintN(64, u1 + u2) + asUintN(64, u3 + acR[q]) - (acW[q] & keep));
      out[q] = asUintN(64, asUintN(64, D * xz) - xzA);
    }
  }
  return out;
}

/** Exact cost (offline: P0's; P1 gets none). */
export function mulBroadcastFoldedCost(rows: number, L: number, shift: number, hasZ: boolean) {
  return {
    rounds: 1,
    bytesSent: 8 * (rows * L + rows + (hasZ ? L : 0)),
    offlineBytes: totalDealerBytes(foldedBroadcastBytes({ rows, L, shift, hasZ })),
  };
}

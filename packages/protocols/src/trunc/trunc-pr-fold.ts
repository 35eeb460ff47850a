/**
 * truncPrMul / truncPrMulAdd / truncPrSquare — a truncation folded into the next product (fss.md §4f,
 * "Folding the truncation into the next product"): t·q, (t + w)·q and t² for t = truncPr(z), in the
 * round of the truncation.
 *
 * Rounds:    1   (open ẑ = z + 2^62 + r, and e = q + b' for truncPrMul(Add), ŵ = w + a for truncPrMulAdd,
 *                 in one message)
 * Online:    truncPrMul 16 B/elem, truncPrMulAdd 24 B/elem (also ŵ = w + a), truncPrSquare 8 B/elem,
 *            sent per party
 * Offline:   to P0 only: truncPrMul 16 + 2⌈f/8⌉ B/elem, truncPrMulAdd 8 B/elem more ([a·b']),
 *            truncPrSquare 16 + 2⌈f/8⌉ B/elem (20 B at f = 12)
 * Accuracy:  exact products of t = ⌊z/2^f⌋ + c, c ∈ {0, 1} as in truncPr (precondition |z| < 2^62);
 *            the output is a ring product at scale 2f, not truncated: feed it to the next fold or
 *            to truncPr. truncPrSquare needs f ≤ 32.
 * Opens:     ẑ (uniform, r fresh), e = q + b' (uniform, b' fresh and independent of r) and ŵ = w + a
 *            (uniform, a fresh).
 * Steps:     1. take the mask (r, [r >> f], [2^(64−f)μr]) plus the product terms below
 *            2. open ẑ (and e, ŵ) in one round
 *            3. D = (ẑ >> f) − 2^(62−f) public, μ̄ = 1 − msb(ẑ); t = D − A with dealer-known
 *               A = (r >> f) − μ̄·2^(64−f)μr, so [A] and [A·b'] are local from the dealer's terms:
 *               t·q = [P0]·D·e − D·[b'] − e·[A] + [A·b']
 *               w·q = [P0]·ŵ·e − ŵ·[b'] − e·[a] + [a·b']   (truncPrMulAdd: a Beaver product on q's mask)
 *               t²  = [P0]·D² − 2D·[A] + [A²],  A² = (r >> f)² − μ̄·2·2^(64−f)μr·(r >> f)  (f ≤ 32)
 * A chain of fixed-point products (polynomials, Newton steps, repeated squaring) thus costs one round
 * per product instead of two. (αt + β)·q for public α, β is α·truncPrMul(z, q) + β·q, still 1 round.
 * Not for matrix products: μ̄ varies inside the contraction (fss.md); use matmulFx there.
 */
import { assertSameShape, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation, type DealGen } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { addWords, asUintN, mulWords, shiftRightWords } from '../engine/words';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes, truncMaskWork, validateTruncParams, type TruncPair } from './trunc-pr';

export interface TruncMulTriple extends TruncPair {
  /** [b'], the mask of q. */
  readonly b: BigUint64Array;
  /** [(r >> f)·b']. */
  readonly rTruncB: BigUint64Array;
  /** [2^(64−f)·μr·b']. */
  readonly rWrapB: BigUint64Array;
}

export interface TruncSquarePair extends TruncPair {
  /** [(r >> f)²]. */
  readonly rTruncSq: BigUint64Array;
  /** [2^(64−f)·μr·(r >> f)]. */
  readonly rWrapTrunc: BigUint64Array;
}

/** The truncation mask and q's mask b' with the products t·q needs; `bValue` for terms built on b'. */
function dealTruncMul(g: DealGen, n: number, f: number): { triple: TruncMulTriple; bValue: () => BigUint64Array } {
  const mask = dealTruncMask(g, n, f);
  const b = g.random(n);
  const rTruncB = g.derived(n, () => mulWords(shiftRightWords(mask.rValue(), f), b.value()));
  const rWrapB = derivedTopBits(g, n, f, () => mulWords(shiftRightWords(mask.rValue(), 63), b.value()));
  return { triple: { r: mask.r, rTrunc: mask.rTrunc, rWrap: mask.rWrap, b: b.share, rTruncB: rTruncB.share, rWrapB }, bValue: () => b.value() };
}

/** dealTruncMul's bytes, all to P0: the mask, [(r >> f)·b'] and the packed [2^(64−f)·μr·b']. */
const truncMulBytes = (n: number, f: number) => truncMaskBytes(n, f) + 8 * n + derivedTopBitsBytes(n, f);

/** dealTruncMul's work: the mask, b', the derived [(r >> f)·b'] and the packed [2^(64−f)·μr·b']. */
const truncMulWork = (n: number, f: number) => truncMaskWork(n, f) + randomWork(n) + derivedWork(n) + derivedTopBitsWork(n, f);

export const truncPrMulTriples = defineCorrelation('truncPrMulTriples', validateTruncParams, (p) => bytesToP0(truncMulBytes(p.n, p.f)), (p) => truncMulWork(p.n, p.f), (g, { n, f }): TruncMulTriple => dealTruncMul(g, n, f).triple);

export interface TruncMulAddTriple extends TruncMulTriple {
  /** [a], the mask of w. */
  readonly a: BigUint64Array;
  /** [a·b']. */
  readonly ab: BigUint64Array;
}

// dealTruncMul's work plus a and the derived [a·b']
export const truncPrMulAddTriples = defineCorrelation('truncPrMulAddTriples', validateTruncParams, (p) => bytesToP0(truncMulBytes(p.n, p.f) + 8 * p.n), (p) => truncMulWork(p.n, p.f) + randomWork(p.n) + derivedWork(p.n), (g, { n, f }): TruncMulAddTriple => {
  const { triple, bValue } = dealTruncMul(g, n, f);
  const a = g.random(n);
  const ab = g.derived(n, () => mulWords(a.value(), bValue()));
  return { ...triple, a: a.share, ab: ab.share };
});

// the mask, [(r >> f)²] and the packed [2^(64−f)·μr·(r >> f)]: truncMulBytes' sizes; work: the mask and the two derived terms
export const truncPrSquarePairs = defineCorrelation('truncPrSquarePairs', validateSquareParams, (p) => bytesToP0(truncMulBytes(p.n, p.f)), (p) => truncMaskWork(p.n, p.f) + derivedWork(p.n) + derivedTopBitsWork(p.n, p.f), (g, { n, f }): TruncSquarePair => {
  const mask = dealTruncMask(g, n, f);
  const rt = () => shiftRightWords(mask.rValue(), f);
  const rTruncSq = g.derived(n, () => { const t = rt(); return mulWords(t, t); });
  const rWrapTrunc = derivedTopBits(g, n, f, () => mulWords(shiftRightWords(mask.rValue(), 63), rt()));
  return { r: mask.r, rTrunc: mask.rTrunc, rWrap: mask.rWrap, rTruncSq: rTruncSq.share, rWrapTrunc };
});

/** truncPr(z)·q in one round; output at scale 2f (untruncated). */
export async function truncPrMul(ctx: PartyContext, z: RingTensor, q: RingTensor, shift = ctx.fracBits): Promise<RingTensor> {
  assertSameShape(z, q, 'truncPrMul');
  assertShift(shift);
  return ctx.ledger.scope('truncPrMul', async () => {
    // 1. take the mask and the product terms
    const t = await ctx.dealer.take(truncPrMulTriples, { n: z.data.length, f: shift });
    // 2. open ẑ = z + 2^62 + r and e = q + b' in one round
    const [zHat, e] = await openMany(ctx, [{ x: maskForTrunc(ctx.party, z.data, t.r) }, { x: addWords(q.data, t.b) }]);
    // 3. t·q from the opened values (local)
    return { shape: [...z.shape], data: truncTimesOpened(ctx.party, zHat, e, t, shift) };
  });
}

/**
 * (truncPr(z) + w)·q in one round, w at the scale of truncPr(z); output at the scale of t·q
 * (untruncated). E.g. an activation's truncated residual plus its exact linear part, times the gate.
 */
export async function truncPrMulAdd(ctx: PartyContext, z: RingTensor, w: RingTensor, q: RingTensor, shift = ctx.fracBits): Promise<RingTensor> {
  assertSameShape(z, q, 'truncPrMulAdd');
  assertSameShape(w, q, 'truncPrMulAdd');
  assertShift(shift);
  return ctx.ledger.scope('truncPrMulAdd', async () => {
    const n = z.data.length;
    // 1. take the mask, the product terms and w's Beaver mask (on q's mask b')
    const t = await ctx.dealer.take(truncPrMulAddTriples, { n, f: shift });
    // 2. open ẑ = z + 2^62 + r, e = q + b' and ŵ = w + a in one round
    const [zHat, e, wHat] = await openMany(ctx, [
      { x: maskForTrunc(ctx.party, z.data, t.r) }, { x: addWords(q.data, t.b) }, { x: addWords(w.data, t.a) },
    ]);
    // 3. t·q, plus w·q = [P0]·ŵ·e − ŵ·[b'] − e·[a] + [a·b'] (local)
    const out = truncTimesOpened(ctx.party, zHat, e, t, shift);
    addBeaverProduct(ctx.party, out, wHat, e, t);
    return { shape: [...z.shape], data: out };
  });
}

/** Step 3 of truncPrMul: t·q = [P0]·D·e − D·[b'] − e·[A] + [A·b'], [A] = [r >> f] − μ̄[M], [A·b'] = [(r >> f)b'] − μ̄[M·b']. */
function truncTimesOpened(party: 0 | 1, zHat: BigUint64Array, e: BigUint64Array, t: TruncMulTriple, shift: number): BigUint64Array {
  const n = zHat.length, out = new BigUint64Array(n), p0w = party === 0 ? 1n : 0n, s = BigInt(shift), off = 1n << BigInt(62 - shift);
  const { b, rTrunc, rWrap, rTruncB, rWrapB } = t;
  for (let i = 0; i < n; i++) {
    const zh = zHat[i], keep = asUintN(64, (zh >> 63n) - 1n); // μ̄ as a mask: all ones when msb(ẑ) = 0
    const D = asUintN(64, (zh >> s) - off), ei = e[i];
    const A = asUintN(64, rTrunc[i] - (rWrap[i] & keep)), AB = asUintN(64, rTruncB[i] - (rWrapB[i] & keep));
    out[i] = asUintN(64, AB - D * b[i] - ei * A + D * ei * p0w);
  }
  return out;
}

/** truncPr(z)² in one round, 8 B/elem; output at scale 2f (untruncated). Needs shift ≤ 32. */
export async function truncPrSquare(ctx: PartyContext, z: RingTensor, shift = ctx.fracBits): Promise<RingTensor> {
  assertShift(shift, 32);
  return ctx.ledger.scope('truncPrSquare', async () => {
    // 1. take the mask and the square terms
    const t = await ctx.dealer.take(truncPrSquarePairs, { n: z.data.length, f: shift });
    // 2. open ẑ = z + 2^62 + r
    const [zHat] = await openMany(ctx, [{ x: maskForTrunc(ctx.party, z.data, t.r) }]);
    // 3. t² from the opened value (local)
    return { shape: [...z.shape], data: truncSquaredOpened(ctx.party, zHat, t, shift) };
  });
}

/** Step 3 of truncPrSquare: t² = [P0]·D² − 2D·[A] + [A²], [A²] = [(r >> f)²] − 2μ̄·[2^(64−f)μr·(r >> f)]. */
function truncSquaredOpened(party: 0 | 1, zHat: BigUint64Array, t: TruncSquarePair, shift: number): BigUint64Array {
  const n = zHat.length, out = new BigUint64Array(n), p0w = party === 0 ? 1n : 0n, s = BigInt(shift), off = 1n << BigInt(62 - shift);
  const rTrunc = t.rTrunc, rWrap = t.rWrap, rTruncSq = t.rTruncSq, rWrapTrunc = t.rWrapTrunc;
  for (let i = 0; i < n; i++) {
    const zh = zHat[i], keep = asUintN(64, (zh >> 63n) - 1n); // μ̄ as a mask: all ones when msb(ẑ) = 0
    const D = asUintN(64, (zh >> s) - off);
    const A = asUintN(64, rTrunc[i] - (rWrap[i] & keep)), A2 = asUintN(64, rTruncSq[i] - 2n * (rWrapTrunc[i] & keep));
    out[i] = asUintN(64, A2 - 2n * D * A + D * D * p0w);
  }
  return out;
}

/** out += w·q = [P0]·ŵ·e − ŵ·[b'] − e·[a] + [a·b'] (truncPrMulAdd's Beaver term). */
function addBeaverProduct(party: 0 | 1, out: BigUint64Array, wHat: BigUint64Array, e: BigUint64Array, t: TruncMulAddTriple): void {
  const p0w = party === 0 ? 1n : 0n, { a, b, ab } = t;
  for (let i = 0; i < out.length; i++) out[i] = asUintN(64, out[i] + ab[i] - wHat[i] * b[i] - e[i] * a[i] + wHat[i] * e[i] * p0w);
}

function validateSquareParams(p: unknown) {
  const v = validateTruncParams(p);
  assertShift(v.f, 32);
  return v;
}

/** Cost of truncPrMul on n elements, per party (offline bytes are P0's). */
export const truncPrMulCost = (n: number, f = 12) => ({
  rounds: 1,
  bytesSent: 16 * n,
  offlineBytes: totalDealerBytes(truncPrMulTriples.messageBytes({ n, f })),
});

/** Cost of truncPrMulAdd on n elements, per party (offline bytes are P0's). */
export const truncPrMulAddCost = (n: number, f = 12) => ({
  rounds: 1,
  bytesSent: 24 * n,
  offlineBytes: totalDealerBytes(truncPrMulAddTriples.messageBytes({ n, f })),
});

/** Cost of truncPrSquare on n elements, per party (offline bytes are P0's). */
export const truncPrSquareCost = (n: number, f = 12) => ({
  rounds: 1,
  bytesSent: 8 * n,
  offlineBytes: totalDealerBytes(truncPrSquarePairs.messageBytes({ n, f })),
});

/**
 * openPolyInput — ONE opening of a shared x serves (a) every power of v = x or v = trunc(x, shift),
 * and (b) comparisons of trunc(x, cmpShift) with any number of public thresholds C_c, each giving
 * shares of b_c = [trunc(x, cmpShift) ≥ C_c] and of the payload products b_c·x^i (i < payload).
 * Any polynomial of v, and b_c times any polynomial of x, is then a local combination.
 *
 * Rounds:    1   (open ẑ = x + 2^62 + r, full 64 bits; fuses with other openings)
 * Online:    8 B/elem sent per party, whatever the degree and the number of thresholds
 * Offline:   polyInputCost(…).offlineBytes: to P0 8 B per power [A^i], ≤ 8 B per wrap term, 8 B per
 *            [ρ·V]; with thresholds one DCF key (n = k − 1, m = payload words) to each party,
 *            dcfKeyBytes(k − 1, m). r comes from the parties' own streams.
 * Local:     per element and threshold one (k − 1)-level DCF evaluation (the key replicated per
 *            threshold: dcfEval takes one key per point) and O(payload) BigInt ops; the hot loops avoid
 *            BigInt shifts by a variable amount (not lowered by V8, ≈ 30 ns each; engine/words.ts)
 * Accuracy:  powers exact (shift = 0) or exact powers of t = ⌊x/2^shift⌋ + c, c ∈ {0, 1} (as truncPr,
 *            |x| < 2^62, shift ≤ 62); b_c exact for trunc(x, cmpShift) (the same ±1-ulp carry, so a
 *            threshold is sharp only to 2^cmpShift units of x), provided trunc(x, cmpShift) − C_c lies
 *            in [−2^(k−1), 2^(k−1)).
 * Opens:     ẑ = x + 2^62 + r, uniform (r uniform, single-use); everything else is local.
 * Steps:     1. take r, [A^i] (A = r, or A = (r >> shift) − μ̄·2^(64−shift)·msb(r) via [R^i], [W·R^(i−1)]),
 *               and the DCF key for α = (r >> cmpShift) mod 2^(k−1), β_i = (1 − 2ρ)·r^i, ρ = bit_{k−1}(r >> cmpShift)
 *            2. open ẑ
 *               (and [W^k·R^(i−k)], W = 2^(64−shift)·msb(r), for the wrap terms that survive mod 2^64)
 *            3. v = B − A with public B = ẑ − 2^62 (shift 0) or (ẑ >> shift) − 2^(62−shift); so
 *               (v − c)^j = Σ_i C(j,i)·(B − c)^(j−i)·(−1)^i·A^i — local for public c
 *            4. per threshold (local): ŷ = D − C_c with D = (ẑ >> cmpShift) − 2^(62−cmpShift) ≡ trunc(x) + (r >> cmpShift)
 *               (mod 2^k); a = bit_{k−1}(ŷ); y = Eval_DCF(ŷ mod 2^(k−1)); [b·V] = (1 − a)[V] − (1 − 2a)([ρ·V] + y_V)
 *               for each payload value V (fss.md §4a/§4c with the payload generalised to any dealer-known
 *               value): V = r^i, so b·P(x) = Σ_i λ_i(x̂)·[b·r^i]; with shift > 0, V ∈ {1, R, W} and
 *               [b·A] = [b·R] − μ̄[b·W] gives b·v for v = trunc(x, shift)
 * Why the comparison needs no second mask: D ≡ trunc(x) + (r >> cmpShift) mod 2^k for k ≤ 64 − cmpShift
 * (the wrap term 2^(64−cmpShift) vanishes mod 2^k), so r >> cmpShift masks it like the mask of an LTZ.
 */
import { type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation, type Dealt } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes, type DealerBytes } from '../dealer/dealer-bytes';
import { derivedTopBits, derivedTopBitsBytes, derivedTopBitsWork } from '../dealer/derived-top-bits';
import { derivedWork, randomWork, type DealerWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { asUintN, mulWords, shiftRightWords } from '../engine/words';
import { dcfEval, EVAL_CHUNK_KEYS } from '../fss/dcf-eval';
import { dcfKeysBytes, dcfKeysWork, dealDcfKeys, type DcfKeys } from '../fss/dcf-keygen';
import { defaultFssPrg } from '../fss/dpf-keygen';
import { dealTruncMask, maskForTrunc, truncMaskWork } from '../trunc/trunc-pr';
import { addPolyTerms, payloadProductsInto } from './poly-kernels';

export interface PolyInputParams {
  readonly count: number;
  /** Powers of v = trunc(x, shift); 0 = exact powers of x (0 ≤ shift ≤ 62). */
  readonly shift: number;
  /** Highest power of v (1 ≤ degree ≤ 6). */
  readonly degree: number;
  /** Comparison width k (0 = no comparisons; else 2 ≤ k ≤ 64 − cmpShift). */
  readonly k: number;
  readonly cmpShift: number;
  /**
   * Payload products b·v^i for i < payload (1 ≤ payload ≤ 4, payload ≤ degree + 1). With shift > 0 only
   * payload ≤ 2 (b and b·v, carried as three DCF words b, b·R, b·W of the mask A = R − μ̄W).
   */
  readonly payload: number;
  /** Also [trunc(x, shift2)] from the same opening (0 or absent: none; ≤ 62). */
  readonly shift2?: number;
}

export interface PolyInputMaterial {
  readonly r: BigUint64Array;
  /** [A^i] for i = 2..degree (index i). */
  readonly pow: BigUint64Array[];
  /** [W^k·R^(i−k)] at wrap[i][k], 1 ≤ k ≤ i ≤ degree, k(64 − shift) < 64, when shift > 0. */
  readonly wrap: BigUint64Array[][];
  /** [ρ·r^i] for i < payload. */
  readonly rhoPow: BigUint64Array[];
  readonly keys: DcfKeys | undefined;
  /** [r >> shift2], [2^(64−shift2)·msb(r)] when shift2 > 0. */
  readonly trunc2: { readonly rTrunc: BigUint64Array; readonly rWrap: BigUint64Array } | undefined;
}

function validatePolyInput(p: unknown): PolyInputParams {
  const q = (p ?? {}) as PolyInputParams;
  validateCount(q.count);
  const int = (v: unknown, lo: number, hi: number, name: string) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`polyInput: ${name} out of [${lo}, ${hi}]`);
  };
  int(q.shift, 0, 62, 'shift');
  int(q.degree, 1, 6, 'degree');
  int(q.cmpShift, 0, 62, 'cmpShift');
  int(q.payload, 1, 4, 'payload');
  if (q.k !== 0) int(q.k, 2, 64 - q.cmpShift, 'k');
  if (q.payload > q.degree + 1) throw new RangeError('polyInput: payload needs the powers up to payload − 1');
  if (q.payload > 2 && q.shift !== 0) throw new RangeError('polyInput: payload products beyond b·v need shift 0');
  const shift2 = q.shift2 ?? 0;
  int(shift2, 0, 62, 'shift2');
  return { count: q.count, shift: q.shift, degree: q.degree, k: q.k, cmpShift: q.cmpShift, payload: q.payload, shift2 };
}

function powWords(v: BigUint64Array, e: number): BigUint64Array {
  const out = new BigUint64Array(v.length).fill(1n);
  for (let k = 0; k < e; k++) for (let i = 0; i < v.length; i++) out[i] = asUintN(64, out[i] * v[i]);
  return out;
}

/** Top bit of each word as 0/1 (msb(r) = r >> 63). */
const msbWords = (v: BigUint64Array) => shiftRightWords(v, 63);

export const polyInputCorrelation = defineCorrelation('polyInput', validatePolyInput, polyInputBytes, polyInputWork, (g, p: PolyInputParams): PolyInputMaterial => {
  const { count, shift, degree, k, cmpShift, payload } = p;
  // 1. the mask and the powers of A
  let r: Dealt, rValue: () => BigUint64Array;
  const pow: BigUint64Array[] = [], wrap: BigUint64Array[][] = [];
  if (shift === 0) {
    r = g.random(count);
    rValue = () => r.value();
    for (let i = 2; i <= degree; i++) pow[i] = g.derived(count, () => powWords(rValue(), i)).share;
  } else {
    const m = dealTruncMask(g, count, shift);
    r = { share: m.r, value: m.rValue };
    rValue = m.rValue;
    const R = () => shiftRightWords(rValue(), shift);
    pow[1] = m.rTrunc;
    wrap[1] = [new BigUint64Array(0), m.rWrap];
    for (let i = 2; i <= degree; i++) pow[i] = g.derived(count, () => powWords(R(), i)).share;
    // [W^k·R^(i−k)] = shares of 2^(k(64−shift))·μr·R^(i−k), nonzero mod 2^64 while k(64 − shift) < 64
    for (let i = 2; i <= degree; i++) {
      wrap[i] = [new BigUint64Array(0)];
      for (let k = 1; k <= i && k * (64 - shift) < 64; k++) {
        wrap[i][k] = derivedTopBits(g, count, 64 - k * (64 - shift), () => {
          return mulWords(msbWords(rValue()), powWords(R(), i - k));
        });
      }
    }
  }
  // the comparison key and [ρ·r^i]
  const rhoPow: BigUint64Array[] = [];
  let keys: DcfKeys | undefined;
  if (k > 0) {
    const low = (1n << BigInt(k - 1)) - 1n;
    const rho = () => shiftRightWords(rValue(), cmpShift + k - 1).map((v) => v & 1n);
    // the payload values V_w: r^w (shift 0), or 1, R = r >> shift, W = 2^(64−shift)·msb(r)
    const m = dcfWords(p);
    const value = (w: number) => shift === 0 || w === 0 ? powWords(rValue(), w)
      : w === 1 ? shiftRightWords(rValue(), shift) : msbWords(rValue()).map((v) => asUintN(64, v << BigInt(64 - shift)));
    for (let w = 0; w < m; w++) rhoPow.push(g.derived(count, () => mulWords(rho(), value(w))).share);
    keys = dealDcfKeys(g, defaultFssPrg(), { n: k - 1, m, count }, () => {
      const rv = rValue(), rh = rho(), rs = shiftRightWords(rv, cmpShift), alpha = new BigUint64Array(count), beta = new BigUint64Array(m * count);
      const vals = Array.from({ length: m }, (_, w) => value(w));
      for (let j = 0; j < count; j++) {
        alpha[j] = rs[j] & low;
        const sg = asUintN(64, 1n - 2n * rh[j]);
        for (let w = 0; w < m; w++) beta[j * m + w] = asUintN(64, sg * vals[w][j]);
      }
      return { alpha, beta };
    });
  }
  // a second truncation of the same x
  const s2 = p.shift2 ?? 0;
  const trunc2 = s2 > 0
    ? { rTrunc: g.derived(count, () => shiftRightWords(rValue(), s2)).share, rWrap: derivedTopBits(g, count, s2, () => msbWords(rValue())) }
    : undefined;
  return { r: r.share, pow, wrap, rhoPow, keys, trunc2 };
});

/** The opened input: public base B (v = B − A) and this party's [A^i], i = 0..degree. */
export interface PolyInput {
  readonly party: PartyId;
  readonly params: PolyInputParams;
  readonly zHat: BigUint64Array;
  readonly base: BigUint64Array;
  /** [A^i] for i = 0..degree ([A^0]: P0 holds 1). */
  readonly A: BigUint64Array[];
  readonly mat: PolyInputMaterial;
  /** [trunc(x, shift2)] when requested. */
  readonly extra: RingTensor | undefined;
}

/** Steps 1–3: take the material, open ẑ, form B and [A^i]. */
export async function openPolyInput(ctx: PartyContext, x: RingTensor, params: Omit<PolyInputParams, 'count'>): Promise<PolyInput> {
  const count = x.data.length, p = { count, ...params };
  const mat = await ctx.dealer.take(polyInputCorrelation, p);
  const zHat = await openWords(ctx, maskForTrunc(ctx.party, x.data, mat.r));
  const base = new BigUint64Array(count), A: BigUint64Array[] = [new BigUint64Array(count).fill(ctx.party === 0 ? 1n : 0n)];
  if (p.shift === 0) {
    const off = 1n << 62n;
    for (let i = 0; i < count; i++) base[i] = asUintN(64, zHat[i] - off);
    A[1] = mat.r;
    for (let i = 2; i <= p.degree; i++) A[i] = mat.pow[i];
  } else {
    const off = 1n << BigInt(62 - p.shift), zs = shiftRightWords(zHat, p.shift);
    const keep = new BigUint64Array(count); // μ̄ as a mask: all ones when msb(ẑ) = 0
    for (let i = 0; i < count; i++) {
      base[i] = asUintN(64, zs[i] - off);
      keep[i] = asUintN(64, (zHat[i] >> 63n) - 1n);
    }
    // [A^i] = [R^i] + Σ_{k ≥ 1} C(i,k)(−1)^k μ̄ [W^k R^(i−k)]   (A = R − μ̄W, μ̄^k = μ̄, W^k ≡ 0 once k(64 − shift) ≥ 64)
    for (let i = 1; i <= p.degree; i++) {
      const a = new BigUint64Array(count), R = mat.pow[i], Wi = mat.wrap[i];
      a.set(R);
      let binom = 1n;
      for (let k = 1; k < Wi.length; k++) {
        binom = (binom * BigInt(i - k + 1)) / BigInt(k);
        const W = Wi[k], c = asUintN(64, (k % 2 ? -1n : 1n) * binom);
        for (let j = 0; j < count; j++) a[j] = asUintN(64, a[j] + c * (W[j] & keep[j]));
      }
      A[i] = a;
    }
  }
  let extra: RingTensor | undefined;
  if (mat.trunc2) {
    const s2 = p.shift2 ?? 0, off = 1n << BigInt(62 - s2), t2 = new BigUint64Array(count), p0 = ctx.party === 0 ? 1n : 0n;
    const { rTrunc, rWrap } = mat.trunc2, zs = shiftRightWords(zHat, s2);
    for (let i = 0; i < count; i++) t2[i] = asUintN(64, p0 * (zs[i] - off) - rTrunc[i] + (rWrap[i] & asUintN(64, (zHat[i] >> 63n) - 1n)));
    extra = { shape: [count], data: t2 };
  }
  return { party: ctx.party, params: p, zHat, base, A, mat, extra };
}

/**
 * out += Σ_j K_j·(v − center)^j (K_j ring integers, j ≤ degree) via the public base; exact mod 2^64.
 * `A` may be the plain [A^i] or the payload products [b·A^i] (then out += b·P(v)). Several
 * polynomials at once: addPolyTerms (poly-kernels.ts).
 */
export function addPoly(out: BigUint64Array, base: BigUint64Array, A: readonly BigUint64Array[], K: readonly bigint[], center: bigint): void {
  addPolyTerms(out, base, [{ A, K, center }]);
}

/**
 * Step 4 for every threshold C_c (at the comparison scale): this party's [b_c·r^i], i < payload, as
 * result[c][i] (result[c][0] = [b_c]).
 */
export function compareInput(inp: PolyInput, thresholds: readonly bigint[]): BigUint64Array[][] {
  const { k, cmpShift, payload, count: n } = inp.params, mat = inp.mat, keys = mat.keys;
  if (!keys) throw new RangeError('compareInput: the input was opened without comparisons');
  const t = thresholds.length;
  if (t === 0) return []; // a design of one segment (a reciprocal or rsqrt range inside one step) compares nothing
  const off = 1n << BigInt(62 - cmpShift), D = shiftRightWords(inp.zHat, cmpShift);
  for (let i = 0; i < n; i++) D[i] = asUintN(64, D[i] - off);
  // shares of the payload values V_w (see the dealer): r^w, or 1, R, W
  const m = dcfWords(inp.params), trunc = inp.params.shift > 0;
  const rPow = (trunc ? [inp.A[0], mat.pow[1], mat.wrap[1]?.[1]] : [inp.A[0], mat.r, ...inp.A.slice(2, payload)]).slice(0, m);
  if (rPow.some((v) => v === undefined)) throw new RangeError('compareInput: the material lacks a payload value');
  const words = thresholds.map(() => Array.from({ length: m }, () => new BigUint64Array(n)));
  const C = BigUint64Array.from(thresholds, (c) => asUintN(64, c));
  const block = Math.max(1, Math.floor(EVAL_CHUNK_KEYS / t));
  for (let e0 = 0; e0 < n; e0 += block) {
    const e1 = Math.min(n, e0 + block), len = e1 - e0, pts = new BigUint64Array(len * t);
    for (let c = 0; c < t; c++) for (let i = 0; i < len; i++) pts[c * len + i] = asUintN(64, D[e0 + i] - C[c]);
    const y = dcfEval(defaultFssPrg(), inp.party, keys, pts, { from: e0, to: e1, times: t }); // every threshold on the one key
    // [b·r^w] = (1 − a)[r^w] − (1 − 2a)·([ρ r^w] + y_w), a = the sign bit of the DCF input
    payloadProductsInto(words, e0, len, k - 1, pts, y, mat.rhoPow, rPow as BigUint64Array[]);
  }
  if (!trunc || payload === 1) return words.map((w) => w.slice(0, payload));
  // [b·A] = [b·R] − μ̄·[b·W]
  const keep = inp.zHat.map((z) => asUintN(64, (z >> 63n) - 1n));
  return words.map(([b, bR, bW]) => [b, bR.map((v, i) => asUintN(64, v - (bW[i] & keep[i])))]);
}

/** DCF payload words behind `payload` products. */
const dcfWords = (p: Omit<PolyInputParams, 'count'>) => (p.shift > 0 && p.payload === 2 ? 3 : p.payload);

/**
 * The correlation's bytes: to P0 the powers [A^i], the packed wrap terms (the mask's [W] included),
 * [ρ·V] per DCF word and the second truncation; with thresholds one DCF key per element to each party.
 */
function polyInputBytes(p: PolyInputParams): DealerBytes {
  const { count, shift, degree } = p;
  let toP0 = 0;
  if (shift === 0) toP0 += 8 * count * (degree - 1); // [r^i], i ≥ 2
  else {
    toP0 += 8 * count * degree; // [R^i], i ≥ 1
    for (let i = 1; i <= degree; i++) for (let k = 1; k <= i && k * (64 - shift) < 64; k++) toP0 += derivedTopBitsBytes(count, 64 - k * (64 - shift));
  }
  if (p.shift2) toP0 += 8 * count + derivedTopBitsBytes(count, p.shift2);
  if (p.k === 0) return bytesToP0(toP0);
  const m = dcfWords(p);
  return sumDealerBytes(bytesToP0(toP0 + 8 * m * count), dcfKeysBytes({ n: p.k - 1, m, count }));
}

/**
 * The correlation's work (dealer-work.ts), term by term as the deal draws it: the mask (r, or the
 * truncation mask), the derived powers and the packed wrap terms, [ρ·V] per DCF word and the DCF keys'
 * generation, the second truncation. The powers' products (≤ degree ≤ 6 per word) are covered by
 * their words.
 */
function polyInputWork(p: PolyInputParams): DealerWork {
  const { count, shift, degree } = p;
  let work = shift === 0 ? randomWork(count) : truncMaskWork(count, shift);
  work += (degree - 1) * derivedWork(count); // [A^i], i ≥ 2
  if (shift > 0) {
    for (let i = 2; i <= degree; i++) for (let k = 1; k <= i && k * (64 - shift) < 64; k++) work += derivedTopBitsWork(count, 64 - k * (64 - shift));
  }
  if (p.k > 0) work += dcfWords(p) * derivedWork(count) + dcfKeysWork({ n: p.k - 1, m: dcfWords(p), count });
  if (p.shift2) work += derivedWork(count) + derivedTopBitsWork(count, p.shift2);
  return work;
}

/** Exact cost of openPolyInput (offline: both parties). */
export function polyInputCost(count: number, p: Omit<PolyInputParams, 'count'>) {
  return { rounds: 1, bytesSent: 8 * count, offlineBytes: totalDealerBytes(polyInputBytes({ ...p, count })) };
}

/**
 * normalizedPower — w^p for w = scale·x + eps > 0 and p ∈ {−1, −1/2} (reciprocal, rsqrt): normalise w
 * by its segment B^e (B = 2^stepBits) with one comparison round, a degree-4 polynomial of the mantissa
 * m = w/B^e, optional Newton steps (p = −1), and the segment's factor c = B^(e·p):  w^p = c·m^p.
 *
 * Rounds:    4 without Newton (normalise; powers of m; c·trunc(p(m)); final truncation), 3 with
 *            `exactOut` (c·trunc(p(m)) lands at outF);
 *            4 + 2·newton with Newton steps (each: y·m, then y·(2 − y·m), truncations folded)
 * Online:    8 + 8 + 16 + 8 B/elem sent per party without Newton, + 40 B per Newton step;
 *            normalizedPowerCost exact
 * Offline:   one DCF key (n = k − 1, m = 2) per element to each party + the powers' dealer terms
 *            (≈ 12 words to P0) + folded-product terms; no key grows with the number of segments
 * Accuracy:  relative ≤ (fit error)^(2^newton) + truncation errors (≈ 2^-s, 2^-s_y); see
 *            reciprocal.ts / rsqrt.ts for the asserted bounds. w must lie in [lo, hi]·(1 ± 1e-3)
 * Opens:     those of openPolyInput (twice) and foldedMul, all masked
 * Steps:     1. openPolyInput(x) + compare trunc(x, cmpShift) with every segment start τ_e: bits b_e, b_e·x
 *               (x read as trunc(x, sh0) when its scale exceeds what M can hold, e.g. variances at 2^32)
 *               M = Σ_e [segment e]·(scale·x + eps)/B^e at 2^S_M,  C = Σ_e [segment e]·c_e at 2^S_C  (local,
 *               telescoped over the bits)                                                   1 round
 *            2. openPolyInput(M, shift S_M − s): powers of t ≈ m at 2^s (and m at 2^24 for Newton);
 *               P = poly(t) ≈ m^p at 2^60                                                    1 round
 *            3. p = −1, Newton (× newton): foldedMul(Y, [m(, C)]) → y, y·m(, y·c);
 *               foldedMul(2 − y·m, [y or y·c]) → y·(2 − y·m)(·c)                          2 rounds each
 *               without Newton: foldedMul(P, [C]) → trunc(P)·c                              1 round
 *            4. truncPr to outF                                                              1 round
 * The comparisons are fuzzy by 2 ulps of trunc(x, cmpShift) (≤ `sharp`·τ relative): m then lies in
 * [1 − ρ, B(1 + ρ)], and the polynomial is fitted on that wider interval.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { sumCosts } from '../engine/formula-cost';
import { asUintN } from '../engine/words';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';
import { foldedMul, foldedMulCost } from './folded-mul';
import { fitPoly } from './piecewise-poly-design';
import { addPoly, compareInput, openPolyInput, polyInputCost, type PolyInputParams } from './poly-input';

export interface NormPowerSpec {
  readonly power: -1 | -0.5;
  readonly inF: number;
  readonly outF: number;
  readonly scale: number;
  readonly eps: number;
  /** Range of w = scale·x + eps with the accuracy guarantee. */
  readonly lo: number;
  readonly hi: number;
  readonly stepBits: number;
  readonly newton: number;
  /** Relative sharpness of the segment comparisons. */
  readonly sharp: number;
  /**
   * Land c·m^p directly at outF (no Newton): the mantissa keeps outF − sC ≥ 16 bits and step 4's
   * truncation round disappears (softmaxWeightedSum's 1/s at 2^36).
   */
  readonly exactOut?: boolean;
}

export interface NormPowerDesign {
  readonly spec: NormPowerSpec;
  readonly cmp: Omit<PolyInputParams, 'count'>;
  readonly thresholds: readonly bigint[];
  /** Per segment (index 0 = below the first threshold): M and C coefficients. */
  readonly kappa: readonly bigint[];
  readonly epsM: readonly bigint[];
  readonly cSeg: readonly bigint[];
  readonly sM: number;
  readonly sC: number;
  readonly pow: Omit<PolyInputParams, 'count'>;
  /** Polynomial in (T − center) at 2^60, T = m at 2^s. */
  readonly K: readonly bigint[];
  readonly center: bigint;
  readonly s: number;
  readonly sY: number;
  readonly fitError: number;
}

const DEG = 4, SP = 60, SM_NEWTON = 24;
const cache = new Map<string, NormPowerDesign>();
/**
 * The fits by their own inputs: a design's key holds `hi` (a softmax's 2L, new at every decoding
 * step of the full cache), which moves the segments but not the fitted interval.
 */
const fits = new Map<string, { coef: number[]; err: number }>();

function powerFit(power: number, a: number, b: number, mc: number): { coef: number[]; err: number } {
  const key = `${power} ${a} ${b} ${mc}`;
  let fit = fits.get(key);
  if (!fit) fits.set(key, (fit = fitPoly((m) => m ** power, a, b, mc, DEG, true)));
  return fit;
}

export function designNormalizedPower(spec: NormPowerSpec): NormPowerDesign {
  const key = JSON.stringify(spec);
  const hit = cache.get(key);
  if (hit) return hit;
  const { power, inF, scale, eps, hi, stepBits, newton } = spec, B = 2 ** stepBits;
  const wMin = Math.max(spec.lo, eps);
  if (!(wMin > 0) || !(hi > wMin) || !(scale > 0)) throw new RangeError('normalizedPower: needs 0 < max(lo, eps) < hi and scale > 0');
  const eMin = Math.floor(Math.log2(wMin) / stepBits), eMax = Math.floor(Math.log2(hi) / stepBits);
  const segs = Array.from({ length: eMax - eMin + 1 }, (_, i) => eMin + i);
  const tauMin = B ** (eMin + 1);
  // comparisons on trunc(x, cmpShift): one ulp ≤ sharp·τ_min in w units
  const cmpShift = Math.max(0, Math.min(inF + 40, Math.floor(inF + Math.log2((spec.sharp * tauMin) / scale))));
  const ulpW = scale * 2 ** (cmpShift - inF), rho = segs.length > 1 ? (2 * ulpW) / tauMin : 0;
  const xMax = (2 * hi) / scale * 2 ** (inF - cmpShift);
  const k = Math.min(64 - cmpShift, Math.ceil(Math.log2(xMax + 2)) + 2);
  const thresholds = segs.slice(1).map((e) => BigInt(Math.round(((B ** e - eps) / scale) * 2 ** (inF - cmpShift))));
  // mantissa M at 2^sM and factor C at 2^sC
  const mMax = B * (1 + rho) * 1.001, sM = Math.floor(61.9 - Math.log2(mMax));
  // x enters M as trunc(x, sh0) when its scale has more bits than M can hold (κ ≥ 2^12 keeps the
  // coefficients' rounding ≤ 1.2e-4 relative; the truncation moves w by ≤ scale·2^(sh0 − inF))
  const sh0 = Math.max(0, Math.ceil(12 - Math.log2(scale * B ** -eMax * 2 ** (sM - inF))));
  const kappa = segs.map((e) => BigInt(Math.round(scale * B ** -e * 2 ** (sM - inF + sh0))));
  if (sh0 > 62 || (sh0 > 0 && scale * 2 ** (sh0 - inF) > 1e-5 * wMin)) throw new RangeError(`normalizedPower: range too wide for the mantissa scale (x at 2^${inF})`);
  const epsM = segs.map((e) => BigInt(Math.round(eps * B ** -e * 2 ** sM)));
  const cVal = segs.map((e) => B ** (e * power)), cMin = Math.min(...cVal), cMax = Math.max(...cVal);
  const exact = power === -1 && eMax >= 0 && eMin >= 0;
  const sC = exact ? stepBits * eMax : Math.ceil(17 - Math.log2(cMin));
  const cSeg = cVal.map((c) => BigInt(Math.round(c * 2 ** sC)));
  // polynomial p(m) ≈ m^power on [1 − ρ, B(1 + ρ)], in t = m at 2^s
  const a = 1 - rho, b = B * (1 + rho), mc = (a + b) / 2;
  const fit = powerFit(power, a, b, mc);
  let s = 12;
  const pMin = b ** power;
  while (s > 6 && 0.5 * 2 ** -(SP - DEG * s) * ((b - a) / 2) ** DEG > 1e-5 * pMin) s--;
  const center = BigInt(Math.round(mc * 2 ** s));
  const K = fit.coef.map((c, i) => BigInt(Math.round(c * 2 ** (SP - i * s))));
  const topC = Math.ceil(Math.log2(cMax * 1.05));
  let sY = newton > 0 ? Math.min(SM_NEWTON, Math.floor((61 - topC - sC) / 2)) : 60 - topC - sC;
  if (spec.exactOut) {
    if (newton > 0 || spec.outF - sC < 16 || spec.outF - sC > sY) {
      throw new RangeError(`normalizedPower: exactOut needs no Newton step and outF − sC in [16, ${sY}], got outF ${spec.outF}, sC ${sC}`);
    }
    sY = spec.outF - sC;
  }
  const d: NormPowerDesign = {
    spec,
    cmp: { shift: sh0, degree: 1, k, cmpShift, payload: 2 },
    thresholds,
    kappa,
    epsM,
    cSeg,
    sM,
    sC,
    pow: { shift: sM - s, degree: DEG, k: 0, cmpShift: 0, payload: 1, ...(newton > 0 ? { shift2: sM - SM_NEWTON } : {}) },
    K,
    center,
    s,
    sY,
    fitError: fit.err,
  };
  cache.set(key, d);
  return d;
}

/** w^power on shares, at 2^outF; x at 2^inF. */
export async function normalizedPower(ctx: PartyContext, x: RingTensor, d: NormPowerDesign): Promise<RingTensor> {
  return ctx.ledger.scope('normalizedPower', async () => {
    const { value, scale } = await powerSteps(ctx, x, d);
    // 4. to the output scale
    const y = scale > d.spec.outF ? await truncPr(ctx, value, scale - d.spec.outF) : value;
    return { shape: [...x.shape], data: y.data };
  });
}

/**
 * Steps 1–3 only: w^power at 2^scale, scale = normalizedPowerScale(d) ≥ outF, untruncated, for a
 * caller that folds the last truncation into its next product (mulBroadcastFolded). One round less.
 */
export async function normalizedPowerUntruncated(ctx: PartyContext, x: RingTensor, d: NormPowerDesign): Promise<{ value: RingTensor; scale: number }> {
  return ctx.ledger.scope('normalizedPower', () => powerSteps(ctx, x, d));
}

/** Scale of normalizedPowerUntruncated's value. */
export const normalizedPowerScale = (d: NormPowerDesign): number => (d.spec.newton === 0 ? d.sY + d.sC : 2 * d.sY + d.sC);

async function powerSteps(ctx: PartyContext, x: RingTensor, d: NormPowerDesign): Promise<{ value: RingTensor; scale: number }> {
  const n = x.data.length, p0 = ctx.party === 0 ? 1n : 0n, { spec } = d;
  // 1. normalise: bits of every segment start, then M and C (telescoped)
  const inp = await openPolyInput(ctx, x, d.cmp);
  const bits = compareInput(inp, d.thresholds), E = inp.base, r = inp.A[1]; // v = trunc(x, sh0) = E − r
  const M = new BigUint64Array(n), C = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    M[i] = asUintN(64, d.kappa[0] * (p0 * E[i] - r[i]) + p0 * d.epsM[0]);
    C[i] = p0 * d.cSeg[0];
  }
  bits.forEach(([b, br], c) => {
    const dk = d.kappa[c + 1] - d.kappa[c], de = d.epsM[c + 1] - d.epsM[c], dc = d.cSeg[c + 1] - d.cSeg[c];
    for (let i = 0; i < n; i++) {
      M[i] = asUintN(64, M[i] + dk * asUintN(64, E[i] * b[i] - br[i]) + de * b[i]);
      C[i] = asUintN(64, C[i] + dc * b[i]);
    }
  });
  // 2. powers of t = trunc(M) and the polynomial
  const pin = await openPolyInput(ctx, { shape: [n], data: M }, d.pow);
  const P = new BigUint64Array(n);
  addPoly(P, pin.base, pin.A, d.K, d.center);
  const cT: RingTensor = { shape: [n], data: C };
  // 3. Newton steps with c folded into the last one, or c·trunc(P)
  let out: RingTensor;
  if (spec.newton === 0) {
    out = (await foldedMul(ctx, { shape: [n], data: P }, SP - d.sY, [cT])).products[0];
  } else {
    const m = pin.extra as RingTensor;
    let Y: RingTensor = { shape: [n], data: P }, yShift = SP - d.sY;
    out = Y;
    for (let it = 0; it < spec.newton; it++) {
      const last = it === spec.newton - 1;
      const a = await foldedMul(ctx, Y, yShift, last ? [m, cT] : [m]);
      const two = p0 << BigInt(1 + d.sY + SM_NEWTON), q = a.products[0].data, e = new BigUint64Array(n);
      for (let i = 0; i < n; i++) e[i] = asUintN(64, two - q[i]);
      const b = await foldedMul(ctx, { shape: [n], data: e }, SM_NEWTON, [last ? a.products[1] : a.t]);
      Y = out = b.products[0];
      yShift = d.sY;
    }
  }
  return { value: { shape: [...x.shape], data: out.data }, scale: normalizedPowerScale(d) };
}

/** Exact cost of normalizedPowerUntruncated, steps 1–3 (offline: both parties). */
export function normalizedPowerUntruncatedCost(n: number, d: NormPowerDesign) {
  const parts = [polyInputCost(n, d.cmp), polyInputCost(n, d.pow)];
  if (d.spec.newton === 0) parts.push(foldedMulCost(n, SP - d.sY, 1));
  for (let it = 0; it < d.spec.newton; it++) {
    const last = it === d.spec.newton - 1;
    parts.push(foldedMulCost(n, it === 0 ? SP - d.sY : d.sY, last ? 2 : 1), foldedMulCost(n, SM_NEWTON, 1));
  }
  return sumCosts(parts);
}

/** Exact cost (offline: both parties) of normalizedPower on n elements: steps 1–3 and the final truncation. */
export function normalizedPowerCost(n: number, d: NormPowerDesign) {
  const scale = normalizedPowerScale(d), steps = normalizedPowerUntruncatedCost(n, d);
  return scale > d.spec.outF ? sumCosts([steps, truncPrCost(n, scale - d.spec.outF)]) : steps;
}

/**
 * d2oMergeStep — D2O's merge of this step's victims on shares (cache/d2o.ts, steady state: one
 * victim e per head), recorded in the layer's MergeMatrix (d2o-merge-matrix.ts) so that no cached
 * row is rewritten. Per head h, over the slots alive after the eviction (the current token too):
 *   u_h = max_c cos(k_e, k_c) on the EFFECTIVE keys (M·K), target c* = argmax (ties: newer wins);
 *   S = Σ_h u_h; threshold τ·H as the EMA τS ← S (first call), α·τS + β·S; pass b = [S ≥ τS]
 *   (one bit per layer, as the plaintext's per-index head mean); if b: K_c* ← (K_c* + u·k_e)/2,
 *   V alike (the plaintext's scatter mean with one victim per target).
 *
 * Rounds:    d2oMergeStepCost(…) (exact): ≈ 30 + argmaxTree's 2⌈log2 n⌉ + rsqrt's 4, + 5 while T > 0
 * Online:    O(U·(n·(k + 12) + d + C + T)) words; the dominant terms are the argmax tree, rsqrt
 *            (40 B/elem) and ~8 elementwise products over U·n; no K/V row is re-masked. At
 *            gpt2-small (U = 12, d = 64, n = 1024, f = 16, T = 32): 46 rounds, 3.45 MB per layer and
 *            step (H2O's argmin: 10 rounds, 98 KB), 94 MB offline
 * Offline:   Beaver triples/pairs of the same products, truncation masks, DCF keys (argmax, LTZ),
 *            the one-hot's DPF keys, the masked products' C terms
 * Accuracy:  cosines through rsqrt (≤ 2e-3 relative) against the plaintext's fxRound(cos): targets
 *            and pass bits agree unless two candidates' cosines (or S and τS) are within ~1e-2;
 *            merged rows within a few ulps (the plaintext rounds merged rows, here M stays exact)
 * Opens:     masked operands only (Beaver openings, the one-hot's DPF input, LTZ and argmax masked
 *            inputs); u, c*, b stay secret; the number of merges per step is public (one per head)
 * Steps:     1. key norms |K_c|² of new rows (squares, 2f); m_e = Mᵀ·e; k_e = m_e·K; y = K·k_e;
 *               dots = M·y; |k_e|²
 *            2. cos = dots·rsqrt(|K_c|²)·rsqrt(|k_e|²); keys cos·2^B + c, dead −2^(f+B+3)
 *            3. argmaxTree → c*, one-hot o; u = o·cos; S; τS; b = 1 − LTZ(S − τS)
 *            4. m_o = Mᵀ·o; w = (u·m_e − m_o)·b/2; norms of the new row: |K_c*|² += o·(|m_new·K|² − |m_o·K|²)
 *            5. M ← M + oᵀ·w (append w and o: one round)
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import {
  argmaxTree, argmaxTreeCost, beaverMul, beaverMulCost, beaverSquare, beaverSquareCost, dcfLessThanZero, dcfLessThanZeroCost, indexBits,
  maskedMatmul, maskedMatmulCost, oneHot, oneHotCost, rsqrt, rsqrtCost, truncPr, truncPrCost, type PartyContext,
} from '@mpcache/protocols';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import type { MergeMatrix } from './d2o-merge-matrix';

const { asUintN } = BigInt;

/** One layer's merge state: M, |K_eff,c|² at scale 2f for slots [0, normRows), the threshold τ·H. */
export interface D2oMergeState {
  m: MergeMatrix;
  norms: BigUint64Array; // (U, normRows)
  normRows: number;
  tauS: bigint | null;
}

const t = (data: BigUint64Array, shape = [data.length]): RingTensor => ({ shape, data });

/** Sum each lane's `len` consecutive words. */
function laneSums(x: BigUint64Array, U: number, len: number): BigUint64Array {
  const out = new BigUint64Array(U);
  for (let h = 0; h < U; h++) {
    let s = 0n;
    for (let i = 0; i < len; i++) s += x[h * len + i];
    out[h] = asUintN(64, s);
  }
  return out;
}

/** Each lane's scalar repeated `len` times. */
function bcast(x: BigUint64Array, U: number, len: number): BigUint64Array {
  const out = new BigUint64Array(U * len);
  for (let h = 0; h < U; h++) out.fill(x[h], h * len, (h + 1) * len);
  return out;
}

const scale = (x: BigUint64Array, k: bigint) => x.map((v) => asUintN(64, v * k));

/** |row|² of rows [from, n) of the keys into the norm table (scale 2f). */
async function extendNorms(ctx: PartyContext, st: D2oMergeState, cache: SecureLayerCache): Promise<void> {
  const U = cache.lanes, d = cache.headDim, n = cache.length, r = n - st.normRows;
  if (r <= 0) return;
  const rows = new BigUint64Array(U * r * d);
  for (let h = 0; h < U; h++) rows.set(cache.keys.laneShare(h).subarray(st.normRows * d, n * d), h * r * d);
  const sums = laneSums((await beaverSquare(ctx, t(rows))).data, U * r, d), norms = new BigUint64Array(U * n);
  for (let h = 0; h < U; h++) {
    norms.set(st.norms.subarray(h * st.normRows, (h + 1) * st.normRows), h * n);
    norms.set(sums.subarray(h * r, (h + 1) * r), h * n + st.normRows);
  }
  st.norms = norms;
  st.normRows = n;
}

/**
 * Merge the victims `victim` (U, end) one-hot rows of this step into M. `alive` (U, n) the alive
 * bits after the eviction. Public emaAlpha/emaBeta as the plaintext options.
 */
export async function d2oMergeStep(
  ctx: PartyContext, st: D2oMergeState, cache: SecureLayerCache, victim: BigUint64Array, end: number, alive: BigUint64Array,
  ema: { alpha: number; beta: number },
): Promise<void> {
  const U = cache.lanes, n = cache.length, d = cache.headDim, f = ctx.fracBits, F = 1n << BigInt(f), p0 = ctx.party === 0, K = cache.keys;
  // 1. norms, m_e, k_e, dots
  await extendNorms(ctx, st, cache);
  const eF = new BigUint64Array(U * n);
  for (let h = 0; h < U; h++) for (let j = 0; j < end; j++) eF[h * n + j] = asUintN(64, victim[h * end + j] * F);
  const me = await st.m.applyCols(ctx, t(eF, [U, 1, n]));
  const ke = await truncPr(ctx, await maskedMatmul(ctx, me, K));
  const y = await truncPr(ctx, await maskedMatmul(ctx, ke, K, { transpose: true }));
  const dots = (await st.m.applyRows(ctx, y)).data;
  const ne = laneSums((await beaverSquare(ctx, ke)).data, U, d);
  // 2. cosines
  const rIn = new BigUint64Array(U * n + U);
  rIn.set(st.norms); rIn.set(ne, U * n);
  const r = (await rsqrt(ctx, t(rIn))).data, g = f + 8;
  const rr = await truncPr(ctx, await beaverMul(ctx, t(r.subarray(0, U * n)), t(bcast(r.subarray(U * n), U, n))), g);
  const cos = (await truncPr(ctx, await beaverMul(ctx, t(dots), rr), g)).data;
  const B = BigInt(indexBits(n)), big = 1n << BigInt(f + indexBits(n) + 3), keys = new BigUint64Array(U * n);
  for (let i = 0; i < U * n; i++) keys[i] = asUintN(64, (cos[i] << B) + (p0 ? BigInt(i % n) - big : 0n) + big * alive[i]);
  // 3. target, similarity, threshold, pass bit
  const { index } = await argmaxTree(ctx, t(keys, [U, n]));
  const o = (await oneHot(ctx, index, n)).data;
  const u = laneSums((await beaverMul(ctx, t(o), t(cos))).data, U, n);
  let S = 0n;
  for (let h = 0; h < U; h++) S += u[h];
  S = asUintN(64, S);
  if (st.tauS === null) st.tauS = S;
  else {
    const a = encodeScalar(ema.alpha, f), b = encodeScalar(ema.beta, f);
    st.tauS = (await truncPr(ctx, t(new BigUint64Array([asUintN(64, a * st.tauS + b * S)])))).data[0];
  }
  const ltz = (await dcfLessThanZero(ctx, t(new BigUint64Array([asUintN(64, S - st.tauS)])))).data[0];
  const bit = asUintN(64, (p0 ? 1n : 0n) - ltz);
  // 4. the update row w and the target's new norm
  const mo = (await st.m.applyCols(ctx, t(scale(o, F), [U, 1, n]))).data;
  const um = (await truncPr(ctx, await beaverMul(ctx, t(bcast(u, U, n)), t(me.data)))).data;
  const diff = um.map((v, i) => asUintN(64, v - mo[i]));
  const half = new BigUint64Array(U * n).fill(asUintN(64, bit << BigInt(f - 1)));
  const w = (await truncPr(ctx, await beaverMul(ctx, t(diff), t(half)))).data;
  const rowsX = new BigUint64Array(U * 2 * n);
  for (let h = 0; h < U; h++) {
    rowsX.set(mo.subarray(h * n, (h + 1) * n), 2 * h * n);
    for (let j = 0; j < n; j++) rowsX[(2 * h + 1) * n + j] = asUintN(64, mo[h * n + j] + w[h * n + j]);
  }
  const kk = await truncPr(ctx, await maskedMatmul(ctx, t(rowsX, [U, 2, n]), K));
  const sq = laneSums((await beaverSquare(ctx, kk)).data, 2 * U, d), delta = new BigUint64Array(U);
  for (let h = 0; h < U; h++) delta[h] = asUintN(64, sq[2 * h + 1] - sq[2 * h]);
  const dn = (await beaverMul(ctx, t(o), t(bcast(delta, U, n)))).data;
  st.norms = st.norms.map((v, i) => asUintN(64, v + dn[i]));
  // 5. M ← M + oᵀ·w
  await st.m.append(ctx, t(w, [U, 1, n]), t(o, [U, 1, n]));
}

type Cost = { rounds: number; bytesSent: number; offlineBytes: number };
const sum = (parts: Cost[]): Cost => parts.reduce((a, c) => ({ rounds: a.rounds + c.rounds, bytesSent: a.bytesSent + c.bytesSent, offlineBytes: a.offlineBytes + c.offlineBytes }),
  { rounds: 0, bytesSent: 0, offlineBytes: 0 });
const mm = (x: number[], out: number[]): Cost => maskedMatmulCost(x, out);

/** Cost of MergeMatrix.applyRows on (U, m, ·) with T merges and capacity C (nothing while T = 0). */
export function applyRowsCost(U: number, m: number, T: number, C: number, f: number): Cost {
  return T === 0 ? sum([]) : sum([mm([U, m, C], [U, m, T]), truncPrCost(U * m * T, f), mm([U, m, T], [U, m, C])]);
}

/** Cost of MergeMatrix.applyCols on (U, m, ·). */
export function applyColsCost(U: number, m: number, T: number, C: number, f: number): Cost {
  return T === 0 ? sum([]) : sum([mm([U, m, C], [U, m, T]), mm([U, m, T], [U, m, C]), truncPrCost(U * m * C, f)]);
}

/**
 * Exact cost of one d2oMergeStep per party (offlineBytes: the dealer's to both): U lanes, n slots,
 * head dim d, T merges before the step, `newNorms` slots whose norms are computed now, capacity C,
 * `first`: the layer's first merge (τ initialised, no EMA truncation).
 */
export function d2oMergeStepCost(U: number, n: number, d: number, T: number, newNorms: number, C: number, first: boolean, f: number): Cost {
  const g = f + 8, un = U * n;
  return sum([
    newNorms > 0 ? beaverSquareCost(U * newNorms * d) : sum([]),
    applyColsCost(U, 1, T, C, f), mm([U, 1, n], [U, 1, d]), truncPrCost(U * d, f), mm([U, 1, d], [U, 1, n]), truncPrCost(un, f),
    applyRowsCost(U, 1, T, C, f), beaverSquareCost(U * d),
    rsqrtCost(un + U, f), beaverMulCost(un), truncPrCost(un, g), beaverMulCost(un), truncPrCost(un, g),
    argmaxTreeCost(U, n), oneHotCost(U, n), beaverMulCost(un), first ? sum([]) : truncPrCost(1, f), dcfLessThanZeroCost(1, 64),
    applyColsCost(U, 1, T, C, f), beaverMulCost(un), truncPrCost(un, f), beaverMulCost(un), truncPrCost(un, f),
    mm([U, 2, n], [U, 2, d]), truncPrCost(2 * U * d, f), beaverSquareCost(2 * U * d), beaverMulCost(un),
    { rounds: 1, bytesSent: 16 * U * C, offlineBytes: 0 },
  ]);
}

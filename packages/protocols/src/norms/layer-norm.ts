/**
 * layerNorm — LayerNorm over the last axis of a (rows, d) tensor with shared gamma and beta (d):
 * out = γ·(x − μ)/sqrt(var + eps) + β, var the biased variance (as in PyTorch / GPT-2).
 *
 * Rounds:    6   (μ's truncation and Σ(x − μ)² by Beaver squares in one round, folded-trunc-squares.ts;
 *                 rsqrt 3, its final truncation folded into the broadcast product; one truncation)
 * Online:    24 B/elem sent per party (square 8, product 8, truncation 8) plus ≈ 48 B per row and
 *            8 B per column (γ opened once); layerNormCost(rows, d, …) is exact.
 *            128×768: ≈ 2.37 MB (CrypTen 2.38 MB in 19 rounds)
 * Offline:   to P0 per element: the mean's folded squares (8 + ⌈30/8⌉ = 12 B, folded-trunc-squares.ts),
 *            the folded broadcast product's terms (32 + 3⌈s/8⌉ B, s its row factor's shift: 47 B at
 *            f = 12) and the final truncation mask (12 B at f = 12); per row one rsqrt key (octave
 *            normalisation, normalized-power.ts, ≈ 2.8 KB at f = 12, d = 768) — ≈ 71 B/elem + 2.8 KB/row
 * Measured:  bench ops layernorm[128x768] 261 ms, was 1186–1905 ms (the 300-knot rsqrt and BigInt
 *            products that V8 could not keep in 64 bits), Node 20.20, 2026-11, loaded 2-core machine
 * Accuracy:  ≤ 6e-3 + 4e-4·|y| abs per output on GPT-2-like activations (|x| ≤ 100, var ≤ 1e4,
 *            |γ| ≤ 8), asserted in tests (an outlier's normalized output |y| ≈ 47 is off by ≈ 1e-2 at
 *            f = 16); rsqrt is relative to 2e-4 for var in [0, 1e4] (eps folded in, so var → 0 does
 *            not break it), μ exact to 1 ulp, products to 1 ulp. Needs Σ_j (x − μ)² < 2^38 (real).
 *            The 1-ulp error of μ reaches the output divided by σ = √(var + eps): rows with
 *            σ < 0.05 (at f = 12; 0.003 at f = 16) may be off by up to |γ|·2^−f/σ more (a row
 *            [0, 0.01] at f = 12: 2.1e-2 for |y| ≈ 0.85).
 * Opens:     masked values only (truncations, Beaver openings, the rsqrt comparison)
 * Steps:     1. μ_i = trunc(Σ_j x_ij · ⌊2^30/d⌉, 30), folded into step 2's round (centeredSquares)
 *            2. D = x − μ;  V_i = Σ_j D_ij² (scale 2^2f, not truncated)                   (1 round)
 *            3. y_i = (V_i/d + eps)^(−1/2) at scale 2^(f+4) (rsqrt, input scale 2^2f), its last
 *               truncation left to step 4's round                                        (3 rounds)
 *            4. out = truncPr(D ⊙ y (per row) ⊙ γ (per column), f + (f + 4)) + β (scaleRows:
 *               mulBroadcastFolded, then the truncation)                                 (2 rounds)
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { sumCosts } from '../engine/formula-cost';
import { mulBroadcastFolded, mulBroadcastFoldedCost } from '../nonlinear/mul-broadcast-folded';
import { rsqrtUntruncated, rsqrtUntruncatedCost, rsqrtUntruncatedScale, type RsqrtOptions } from '../nonlinear/rsqrt';
import { centeredSquares, centeredSquaresCost } from './folded-trunc-squares';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface NormOptions {
  /** Default 1e-5. */
  readonly eps?: number;
  /** Largest variance (mean square for RMSNorm) the caller expects (default 1e4). */
  readonly maxVariance?: number;
}

const MEAN_SHIFT = 30;

/** rsqrt options for (V/d + eps)^(−1/2) with V a sum of squares at scale 2^2f. */
/**
 * Extra fractional bits of the norms' 1/σ (y at scale f + NORM_Y_EXTRA_BITS). The final product
 * x·y·w sits at 3f + NORM_Y_EXTRA_BITS before its truncation, which needs |product| < 2^62: outputs
 * up to 2^(62 − 3f − extra) — 1024 at f = 16. (With 8 extra bits the bound was 64, and
 * stories15M's final norm, whose largest output is ≈ 72, wrapped by 256 now and then.)
 */
export const NORM_Y_EXTRA_BITS = 4;

export function normRsqrtOptions(fracBits: number, d: number, opts: NormOptions): RsqrtOptions {
  return { scale: 1 / d, eps: opts.eps ?? 1e-5, lo: 0, hi: opts.maxVariance ?? 1e4, inFracBits: 2 * fracBits, outFracBits: fracBits + NORM_Y_EXTRA_BITS };
}

/** Truncation of the norms' final product x·y·w back to fracBits. */
export const normProductShift = (fracBits: number): number => 2 * fracBits + NORM_Y_EXTRA_BITS;

export function normDims(x: RingTensor, weights: readonly (RingTensor | undefined)[], name: string): { rows: number; d: number } {
  const d = x.shape[x.shape.length - 1];
  if (x.shape.length === 0 || !(d > 0)) throw new ShapeError(`${name}: expected shape (…, d) with d ≥ 1, got (${x.shape.join(', ')})`);
  for (const w of weights) {
    if (w && w.data.length !== d) throw new ShapeError(`${name}: weights expected ${d} elements, got ${w.data.length}`);
  }
  return { rows: x.data.length / d, d };
}

export async function layerNorm(ctx: PartyContext, x: RingTensor, gamma: RingTensor, beta: RingTensor, opts: NormOptions = {}): Promise<RingTensor> {
  const { rows, d } = normDims(x, [gamma, beta], 'layerNorm');
  const f = ctx.fracBits;
  return ctx.ledger.scope('layerNorm', async () => {
    // 1.–2. μ = Σx · ⌊2^30/d⌉ >> 30, D = x − μ and V = Σ D², in one round
    const c = BigInt(Math.round(2 ** MEAN_SHIFT / d)), S = rowSums(x.data, rows, d);
    for (let i = 0; i < rows; i++) S[i] = asUintN(64, S[i] * c);
    const { D, V } = await centeredSquares(ctx, { shape: [rows, d], data: x.data }, S, MEAN_SHIFT);
    // 3.–4. y = (V/d + eps)^(−1/2);  out = trunc(D·y·γ) + β
    const out = await scaleRows(ctx, D, V, gamma, d, opts);
    for (let i = 0, q = 0, o = out.data, bd = beta.data; i < rows; i++) for (let j = 0; j < d; j++, q++) o[q] = asUintN(64, o[q] + bd[j]);
    return { shape: [...x.shape], data: out.data };
  });
}

/** Exact cost (offline: both parties) of layerNorm on (rows, d). */
export function layerNormCost(rows: number, d: number, fracBits = 12, opts: NormOptions = {}) {
  const parts = [
    centeredSquaresCost(rows, d, MEAN_SHIFT),
    scaleRowsCost(rows, d, fracBits, opts),
  ];
  return sumCosts(parts);
}

/**
 * The norms' last steps: y = (V/d + eps)^(−1/2) per row, out = trunc(x·y·w) at fracBits. rsqrt's own
 * final truncation rides in the product's round (mulBroadcastFolded): rsqrt 3 rounds + 1 + 1.
 */
export async function scaleRows(ctx: PartyContext, x: RingTensor, V: RingTensor, weight: RingTensor, d: number, opts: NormOptions): Promise<RingTensor> {
  const f = ctx.fracBits, ro = normRsqrtOptions(f, d, opts);
  const y = await rsqrtUntruncated(ctx, V, ro);
  const p = await mulBroadcastFolded(ctx, x, y.value, y.scale - (f + NORM_Y_EXTRA_BITS), weight);
  return truncPr(ctx, p, normProductShift(f));
}

export function scaleRowsCost(rows: number, d: number, fracBits: number, opts: NormOptions) {
  const ro = normRsqrtOptions(fracBits, d, opts);
  return sumCosts([
    rsqrtUntruncatedCost(rows, fracBits, ro),
    mulBroadcastFoldedCost(rows, d, rsqrtUntruncatedScale(fracBits, ro) - (fracBits + NORM_Y_EXTRA_BITS), true),
    truncPrCost(rows * d, normProductShift(fracBits)),
  ]);
}

/** Σ_j x_ij per row of a (rows, d) ring tensor. */
export function rowSums(x: BigUint64Array, rows: number, d: number): BigUint64Array {
  const s = new BigUint64Array(rows);
  for (let i = 0, q = 0; i < rows; i++) {
    let acc = 0n;
    for (let j = 0; j < d; j++, q++) acc = asUintN(64, acc + x[q]);
    s[i] = acc;
  }
  return s;
}


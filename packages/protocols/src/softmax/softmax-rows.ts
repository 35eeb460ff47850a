/**
 * softmaxRows — softmax over the last axis of a (rows, L) tensor of shared fixed-point scores, with
 * an optional causal mask for prefill (row i sees keys j ≤ i + L − rows).
 *
 * Rounds:    ⌈log2 L⌉ + 13   (maxTree; exp 7; reciprocal 4; row product 1; truncation 1)
 *            = 23 for L = 1024, the same for any number of rows (CrypTen: 137)
 * Online:    per party ≈ 8 (max) + 64 (exp) + 16 (product, truncation) B per unmasked element, plus
 *            ≈ 40 B per row; softmaxRowsCost(rows, L, …) is exact. 12×1024: 1.08 MB (CrypTen 8.5 MB)
 * Offline:   maxTree's compare-and-select keys (coarse by default: n = bits − 1 − (inF − 5) input
 *            bits instead of bits − 1, ≈ 1.6 instead of 2 KB per comparison at 32 bits, inF = 12), exp's
 *            (≈ 1.2 KB/elem), one reciprocal key per row, the broadcast triple and the final
 *            truncation mask: ≈ 2.75 KB/elem in all (3.2 KB with the exact max), 12×1024 at f = 12
 * Measured:  bench ops (two worker threads over loopback WebSockets, 2-core machine loaded by other
 *            jobs, Node 20.20, 2026-11): softmax[12x1024] 319 ms (was 1885–3047 ms with LUT exp and
 *            160-knot reciprocal), softmax[1x1024] 46 ms (was 221–778 ms)
 * Accuracy:  ≤ 2e-3 abs per probability (tests: 4×256 random and peaked rows, causal rows);
 *            exp is relative to 2.5e-4, 1/s to 7e-4, the product truncation 1 ulp.
 *            Scores must satisfy |x| < 2^(bits − 2 − inFracBits) (2^18 at the defaults; 2^14
 *            for attention scores at 2f = 32 with bits = 48).
 * Opens:     those of maxTree, expClippedRaw, reciprocal, mulBroadcast and truncPr (all masked).
 * Steps:     1. masked entries (causal) take a copy of the row's first score (local: every causal
 *               row sees key 0), so they never change the row max
 *            2. m_i = maxTree(row i), coarse: a row value within ⌈log2 L⌉/32 of the max
 *               (maxResolutionLog2), so e^(x − m) ≤ e^0.5 and s ∈ [1, 2L]  ⌈log2 L⌉ rounds
 *            3. e_ij = expClippedRaw(x_ij − m_i) over unmasked entries, scale 2^32      7 rounds
 *            4. s_i = Σ_j e_ij (local, scale 2^32);  y_i = 1/s_i at scale 2^28 (reciprocal on
 *               [1, L] with octave segments: s_i ≥ 1 because the max entry gives e^0 = 1) 4 rounds
 *            5. p_ij = truncPr(e_ij · y_i, 60 − fracBits): one broadcast product (y opened once
 *               per row), then one truncation; masked entries are exactly 0             2 rounds
 * Why e stays at 2^32 untruncated: the sum needs relative precision (one peaked row sums ~1000
 * tiny terms), and 2^32·2^28 still fits below 2^62 for the product.
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { EXP_RAW_SCALE, expClipped, expClippedCost } from '../nonlinear/exp-clipped';
import { mulBroadcast, mulBroadcastCost } from '../nonlinear/mul-broadcast';
import { reciprocal, reciprocalCost } from '../nonlinear/reciprocal';
import { maxTree, maxTreeCost } from '../select/max-tree';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';
import { sumCosts } from '../engine/formula-cost';
import { rowSums } from '../norms/layer-norm';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface SoftmaxOptions {
  /** Causal mask: row i attends keys j ≤ i + L − rows. */
  readonly causal?: boolean;
  /** Clip exp below −T (default 14). */
  readonly T?: number;
  /** Comparison width for the max and the clip (default 32; 48 for scores at 2f = 32). */
  readonly bits?: number;
  /**
   * Scale of the scores (default ctx.fracBits). Attention passes its untruncated q·Kᵀ at 2f: the
   * exp's opening truncates its input anyway, so the scores' own truncation round disappears.
   * The probabilities are at ctx.fracBits either way.
   */
  readonly inFracBits?: number;
  /**
   * Resolution of the row max, as log2 of real units (default −5): the max-tree compares only the
   * bits above 2^(inFracBits − 5) (coarse DCFs, max-tree.ts), so its result m is a row value within
   * ⌈log2 L⌉/32 of the true max. Softmax is shift-invariant, so this costs only exp's accuracy
   * above 0 (relative 2.5e-4 at 0, 4.5e-4 at +0.31 = 10/32); 1/s then lies in [1, 2L].
   * `null`: the exact max.
   */
  readonly maxResolutionLog2?: number | null;
}

/** lowBits of the coarse max-tree (0 = exact). */
function maxLowBits(inF: number, opts: SoftmaxOptions): number {
  const r = opts.maxResolutionLog2 === undefined ? -5 : opts.maxResolutionLog2;
  return r === null ? 0 : Math.max(0, inF + r);
}

/** Scale of the softmax's 1/s. */
export const RECIP_SCALE = 28;
/**
 * 1/s at 2^28 (sums at scale inF): octave segments, no Newton (4 rounds; one denominator per row). s ∈ [1, L] with the
 * exact max; with a coarse max every term is at most e^(⌈log2 L⌉·2^(lowBits − inF)) ≤ 2, so s ≤ 2L.
 */
const recipOptions = (L: number, lowBits: number, inF: number, outF = RECIP_SCALE) => ({
  inFracBits: inF, outFracBits: outF, maxValue: lowBits > 0 ? 2 * L : L, stepBits: 1 as const, ...(outF !== RECIP_SCALE ? { exactOut: true } : {}),
});

/** The numerators of a softmax and their row sums (softmaxNumerators). */
export interface SoftmaxNumerators {
  /** e_ij = exp(x_ij − m_i) at scale `scale`, x's shape; exactly 0 where causally masked. */
  readonly e: RingTensor;
  /** s_i = Σ_j e_ij (rows) at the same scale: s_i ≥ 1 (the max entry gives e^0). */
  readonly sums: RingTensor;
  readonly scale: number;
  readonly rows: number;
  readonly L: number;
}

/**
 * Steps 1–3 of softmaxRows and the row sums: the row max (coarse by default) and e = exp(x − m) at
 * `scale` (EXP_RAW_SCALE for softmaxRows; softmaxWeightedSum takes fracBits). ⌈log2 L⌉ + 7 rounds.
 */
export async function softmaxNumerators(ctx: PartyContext, x: RingTensor, opts: SoftmaxOptions = {}, scale = EXP_RAW_SCALE): Promise<SoftmaxNumerators> {
  const L = x.shape[x.shape.length - 1], n = x.data.length;
  if (x.shape.length === 0 || !(L > 0)) throw new ShapeError(`softmaxRows: expected shape (…, L) with L ≥ 1, got (${x.shape.join(', ')})`);
  const rows = n / L, bits = opts.bits ?? 32, p0 = ctx.party === 0;
  const inF = opts.inFracBits ?? ctx.fracBits, lowBits = maxLowBits(inF, opts);
  const keep = keepMask(rows, L, opts.causal === true);
  // 1. masked entries take a copy of the row's first key, which every causal row sees: the row max
  // is then the max of its visible scores whatever their values (a constant filler had to sit below
  // every allowed score and inside the comparison range at once, and did not: scores below it
  // emptied their row). A row that sees no key (rows > L) takes a constant filler.
  const xs = new BigUint64Array(n);
  const filler = asUintN(64, -(1n << BigInt(bits - 3)));
  for (let q = 0; q < n; q++) {
    const first = q - (q % L);
    xs[q] = keep[q] ? x.data[q] : keep[first] ? x.data[first] : p0 ? filler : 0n;
  }
  // 2. row max
  const m = await maxTree(ctx, { shape: [rows, L], data: xs }, { bits, lowBits });
  // 3. exp of the unmasked differences
  const kept = keep.reduce((a, k) => a + k, 0);
  const d = new BigUint64Array(kept);
  for (let q = 0, k = 0; q < n; q++) if (keep[q]) d[k++] = asUintN(64, xs[q] - m.data[Math.floor(q / L)]);
  const ek = await expClipped(ctx, { shape: [kept], data: d }, { T: opts.T, bits, inFracBits: inF, outFracBits: scale });
  const e = new BigUint64Array(n);
  for (let q = 0, k = 0; q < n; q++) if (keep[q]) e[q] = ek.data[k++];
  return { e: { shape: [...x.shape], data: e }, sums: { shape: [rows], data: rowSums(e, rows, L) }, scale, rows, L };
}

/**
 * 1/s_i for the numerators' row sums: at RECIP_SCALE, 4 rounds; or at a wider outF (≥ 16 + log2(2L)),
 * 3 rounds (the segment factor's product lands there: no final truncation).
 */
export function reciprocalOfSums(ctx: PartyContext, num: SoftmaxNumerators, opts: SoftmaxOptions, outF = RECIP_SCALE): Promise<RingTensor> {
  return reciprocal(ctx, num.sums, recipOptions(num.L, maxLowBits(opts.inFracBits ?? ctx.fracBits, opts), num.scale, outF));
}

/** Softmax over the last axis; x is (…, L), flattened to rows. */
export async function softmaxRows(ctx: PartyContext, x: RingTensor, opts: SoftmaxOptions = {}): Promise<RingTensor> {
  return ctx.ledger.scope('softmaxRows', async () => {
    // 1.–3. row max, e = exp(x − m) at 2^32; 4. s = Σ e per row, y = 1/s
    const num = await softmaxNumerators(ctx, x, opts);
    const y = await reciprocalOfSums(ctx, num, opts);
    // 5. p = e·y per row, truncated to fracBits
    const p = await mulBroadcast(ctx, { shape: [num.rows, num.L], data: num.e.data }, y, null);
    const out = await truncPr(ctx, p, EXP_RAW_SCALE + RECIP_SCALE - ctx.fracBits);
    return { shape: [...x.shape], data: out.data };
  });
}

/** 1 where row i may see key j. */
function keepMask(rows: number, L: number, causal: boolean): Uint8Array {
  const keep = new Uint8Array(rows * L).fill(1);
  if (causal) for (let i = 0; i < rows; i++) for (let j = i + L - rows + 1; j < L; j++) keep[i * L + j] = 0;
  return keep;
}

/** Exact cost (offline: both parties) of softmaxNumerators on (rows, L) at `scale`. */
export function softmaxNumeratorsCost(rows: number, L: number, fracBits = 12, opts: SoftmaxOptions = {}, scale = EXP_RAW_SCALE) {
  const bits = opts.bits ?? 32, inF = opts.inFracBits ?? fracBits, lowBits = maxLowBits(inF, opts);
  const kept = keepMask(rows, L, opts.causal === true).reduce((a, k) => a + k, 0);
  return sumCosts([maxTreeCost(rows, L, bits, lowBits), expClippedCost(kept, fracBits, { bits, inFracBits: inF, outFracBits: scale })]);
}

/** Exact cost of reciprocalOfSums. */
export function reciprocalOfSumsCost(rows: number, L: number, fracBits = 12, opts: SoftmaxOptions = {}, scale = EXP_RAW_SCALE, outF = RECIP_SCALE) {
  return reciprocalCost(rows, fracBits, recipOptions(L, maxLowBits(opts.inFracBits ?? fracBits, opts), scale, outF));
}

/** Exact cost (offline: both parties) of softmaxRows on (rows, L). */
export function softmaxRowsCost(rows: number, L: number, fracBits = 12, opts: SoftmaxOptions = {}) {
  return sumCosts([
    softmaxNumeratorsCost(rows, L, fracBits, opts),
    reciprocalOfSumsCost(rows, L, fracBits, opts),
    mulBroadcastCost(rows, L, true, false),
    truncPrCost(rows * L, EXP_RAW_SCALE + RECIP_SCALE - fracBits),
  ]);
}

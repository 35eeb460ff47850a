/**
 * cakeWindowStats / cakeIndicatorShares / cakeRevealPreferences — CAKE's prefill statistics on
 * shares (eviction-baselines.md §7.1, §7.3, §7.6), the twins of cache/cake-budgets.ts.
 *
 * Input per layer: the w window queries' probabilities over the prefix keys, (lanes, w, prefix) at
 * scale f (the secure softmax's output, not renormalised).
 *
 * cakeWindowStats — S = Σ_q a (scale f, local) and D = w·Σ_q a² − S² (scale 2f), for every layer:
 *   Rounds 1 (one beaverSquare over every window probability and every S of every layer)
 *   Online 8·layers·lanes·(w + 1)·prefix B per party; Offline 8 B per squared element (to P0)
 *   Accuracy exact in the ring (no truncation)
 * cakeIndicatorShares — local: I'_j = Σ_{pool window} [(w − 1)·S·2^f + round(γ)·D] (w = 1: Σ S), the
 *   exact integer `cakeIndicatorFx` of the plaintext (same ranking as mean + γ·var, avg-pooled).
 * cakeRevealPreferences — OPT-IN LEAK (CakeOptions.revealLayerBudgets): the entropy
 *   H_ℓ = −Σ a·ln(a + 1e−10) by one lookup table over the grid probabilities (a ∈ [0, 1] has f + 1
 *   bits; the signed table has f + 2 ≤ 16 bits, entries at scale 2f) and V_ℓ = Σ D/(w(w − 1)), then
 *   both are OPENED (2 words per layer) and P_ℓ = H^(1/τ1)·V^(1/τ2) and the budgets follow in
 *   public. What leaks: each layer's window-attention entropy and variance (2L reals per prompt).
 *   Rounds 1 (lookup) + 1 (open); Online layers·lanes·w·prefix·⌈(f + 2)/8⌉ + 16·layers B per party;
 *   Offline lookupTableCost; for f > 14 the probabilities are first truncated to 14 fractional bits
 *   (truncPr, + 1 round: the entropy is then approximate and budgets may differ from the plaintext's)
 * Opens: the Beaver and lookup openings (masked), and in reveal mode H_ℓ, V_ℓ.
 */
import { decodeScalar, encodeScalar } from '@mpcache/mpc-core';
import {
  beaverSquare, beaverSquareCost, lookupTable, lookupTableCost, MAX_LUT_BITS, openWords, tableOf, truncPr, truncPrCost, type PartyContext,
} from '@mpcache/protocols';

const { asUintN } = BigInt;

export interface CakeStats {
  /** Per layer: S (lanes, prefix) at scale f and D = w·Σa² − S² (lanes, prefix) at scale 2f. */
  readonly S: BigUint64Array[];
  readonly D: BigUint64Array[];
}

/** S and D of every layer's window (lanes, w, prefix), one squaring round for all of them. */
export async function cakeWindowStats(ctx: PartyContext, wins: readonly BigUint64Array[], lanes: number, w: number, prefix: number): Promise<CakeStats> {
  const per = lanes * w * prefix, sq = lanes * prefix, x = new BigUint64Array(wins.length * (per + sq));
  const S = wins.map((win, l) => {
    const s = new BigUint64Array(sq);
    for (let h = 0; h < lanes; h++) for (let q = 0; q < w; q++) for (let j = 0; j < prefix; j++) s[h * prefix + j] = asUintN(64, s[h * prefix + j] + win[(h * w + q) * prefix + j]);
    x.set(win.subarray(0, per), l * (per + sq));
    x.set(s, l * (per + sq) + per);
    return s;
  });
  const y = (await beaverSquare(ctx, { shape: [x.length], data: x })).data, W = BigInt(w);
  const D = wins.map((_, l) => {
    const o = l * (per + sq), d = new BigUint64Array(sq);
    for (let h = 0; h < lanes; h++) {
      for (let j = 0; j < prefix; j++) {
        let s2 = 0n;
        for (let q = 0; q < w; q++) s2 += y[o + (h * w + q) * prefix + j];
        d[h * prefix + j] = asUintN(64, W * s2 - y[o + per + h * prefix + j]);
      }
    }
    return d;
  });
  return { S, D };
}

export const cakeWindowStatsCost = (layers: number, lanes: number, w: number, prefix: number) => beaverSquareCost(layers * lanes * (w + 1) * prefix);

/** The pooled integer indicator (lanes, prefix) at scale 2f (local). */
export function cakeIndicatorShares(fracBits: number, S: BigUint64Array, D: BigUint64Array, lanes: number, prefix: number, w: number, gamma: number, kernel: number): BigUint64Array {
  const raw = new BigUint64Array(lanes * prefix), g = BigInt(Math.round(gamma)), F = BigInt(fracBits), w1 = BigInt(w - 1);
  for (let e = 0; e < raw.length; e++) raw[e] = w > 1 ? asUintN(64, w1 * (S[e] << F) + g * D[e]) : S[e];
  const out = new BigUint64Array(lanes * prefix), half = Math.floor(kernel / 2);
  for (let h = 0; h < lanes; h++) {
    for (let j = 0; j < prefix; j++) {
      let s = 0n;
      for (let i = Math.max(0, j - half); i <= Math.min(prefix - 1, j - half + kernel - 1); i++) s += raw[h * prefix + i];
      out[h * prefix + j] = asUintN(64, s);
    }
  }
  return out;
}

/**
 * Bits of the largest |I'| (w queries, kernel, γ, scale 2f), or of a sum of `groups` of them (a
 * grouped-query model's KV head): compactRows needs < 61 − 2⌈log2 n⌉.
 */
export function cakeIndicatorBits(fracBits: number, w: number, gamma: number, kernel: number, groups = 1): number {
  const bound = groups * kernel * 2 ** (2 * fracBits) * w * (w > 1 ? w - 1 + Math.round(gamma) * w : 1 / 2 ** fracBits);
  return Math.ceil(Math.log2(bound + 1));
}

/** The lookup width and the truncation the entropy table needs at fracBits f. */
export function entropyLutBits(fracBits: number): { m: number; shift: number } {
  const shift = Math.max(0, fracBits + 2 - MAX_LUT_BITS);
  return { m: fracBits + 2 - shift, shift };
}

/** OPT-IN LEAK: open each layer's (H_ℓ, V_ℓ) and return P_ℓ = H^(1/τ1)·V^(1/τ2) (public). */
export async function cakeRevealPreferences(
  ctx: PartyContext, wins: readonly BigUint64Array[], D: readonly BigUint64Array[], w: number, tau1: number, tau2: number,
): Promise<number[]> {
  const f = ctx.fracBits, { m, shift } = entropyLutBits(f), fa = f - shift, L = wins.length;
  const all = new BigUint64Array(wins.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const win of wins) { all.set(win, o); o += win.length; }
  const x = shift > 0 ? await truncPr(ctx, { shape: [all.length], data: all }, shift) : { shape: [all.length], data: all };
  const table = tableOf(m, (v) => {
    const a = v / 2 ** fa;
    return a <= 0 ? 0n : encodeScalar(-a * Math.log(a + 1e-10), 2 * f);
  }, true);
  const [ent] = await lookupTable(ctx, x, m, [table]);
  const sums = new BigUint64Array(2 * L);
  o = 0;
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < wins[l].length; i++) sums[2 * l] = asUintN(64, sums[2 * l] + ent.data[o + i]);
    o += wins[l].length;
    for (const v of D[l]) sums[2 * l + 1] = asUintN(64, sums[2 * l + 1] + v);
  }
  const opened = await openWords(ctx, sums);
  return Array.from({ length: L }, (_, l) => {
    const H = decodeScalar(opened[2 * l], 2 * f), V = w > 1 ? decodeScalar(opened[2 * l + 1], 2 * f) / (w * (w - 1)) : 0;
    return Math.pow(Math.max(H, 0), 1 / tau1) * Math.pow(Math.max(V, 0), 1 / tau2);
  });
}

/** Exact cost of cakeRevealPreferences over `count` window probabilities in `layers` layers. */
export function cakeRevealCost(count: number, layers: number, fracBits: number) {
  const { m, shift } = entropyLutBits(fracBits), lut = lookupTableCost(count, m), t = shift > 0 ? truncPrCost(count, shift) : { rounds: 0, bytesSent: 0, offlineBytes: 0 };
  return { rounds: t.rounds + lut.rounds + 1, bytesSent: t.bytesSent + lut.bytesSent + 16 * layers, offlineBytes: t.offlineBytes + lut.offlineBytes };
}

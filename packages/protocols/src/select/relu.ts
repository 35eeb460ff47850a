/**
 * relu — ReLU(x) = max(x, 0) in ONE round (fss.md §4c, DCF with m = 2), and its general core
 * dreluSelect: for a compared value c and P payload values δ_j, the products DReLU(c)·c and
 * DReLU(c)·δ_j (plus the bit [DReLU(c)]), all in the same single round.
 *
 * Rounds:    1   (open ĉ = c + r and δ̂_j = δ_j + s_j together, full 64 bits)
 * Online:    8·(1 + P) B/elem sent per party (relu: 8)
 * Offline:   per element: one DCF key (n = k − 1, m = 2 + P; n = k − 1 − lowBits when coarse) to each
 *            party, dcfKeyBytes(n, 2 + P)
 *            each, plus 8·(2 + P) B of corrections to P0 ([ρ], [ρ·r], [ρ·s_j]); [r], [s_j] are free.
 *            relu at k = 64: 2·2032 + 16 = 4080 B (fss.md counts 8 B more for [r]). dreluSelectCost.
 * Accuracy:  exact in the ring for c in [−2^(k−1), 2^(k−1)); the δ_j are arbitrary ring elements.
 *            Coarse (SelectParams.lowBits): the bit is exact for 2^lowBits ≤ |c| < 2^(k−1) − 2^lowBits.
 * Opens:     ĉ = c + r, δ̂_j = δ_j + s_j; uniform (r, s_j fresh, uniform over Z_2^64, used once).
 * Steps:     1. take [r], [s_j], [ρ], [ρ·r], [ρ·s_j] and DCF keys for α = r mod 2^(k−1),
 *               β = (1 − 2ρ, (1 − 2ρ)·r, (1 − 2ρ)·s_j …), ρ = bit_{k−1}(r)
 *            2. open ĉ and every δ̂_j in one round
 *            3. a = bit_{k−1}(ĉ); y = Eval_DCF(b, key_b, ĉ mod 2^(k−1));          — local
 *               [L] = (b=0 ? a : 0) + (1 − 2a)([ρ] + y_0)                           (L = LTZ(c))
 *               [L·r] = a[r] + (1 − 2a)([ρ·r] + y_1);  [L·s_j] = a[s_j] + (1 − 2a)([ρ·s_j] + y_{2+j})
 *               [DReLU·c] = (b=0 ? ĉ : 0) − [r] − ĉ[L] + [L·r]    (= (1 − L)(ĉ − r))
 *               [DReLU·δ_j] = (b=0 ? δ̂_j : 0) − [s_j] − δ̂_j[L] + [L·s_j]
 * Why:       w = ρ ⊕ carry = ρ + (1 − 2ρ)·carry, so w·r = ρr + (1 − 2ρ)·r·carry: the DCF's extra
 *            payload words are exactly the carry-dependent parts of the products.
 */
import type { PartyId, RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { dcfEval } from '../fss/dcf-eval';
import { dcfKeysBytes, dcfKeysWork, dealDcfKeys, sliceDcfKeys, type DcfKeys } from '../fss/dcf-keygen';
import { assertBits } from '../fss/dcf-less-than';
import { defaultFssPrg } from '../fss/dpf-keygen';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

/** Correlation for `count` selections with `payloads` extra values each (this party's shares). */
export interface SelectKeys {
  readonly r: BigUint64Array; // (count)
  readonly s: BigUint64Array[]; // payloads × (count)
  readonly rho: BigUint64Array;
  readonly rhoR: BigUint64Array;
  readonly rhoS: BigUint64Array[];
  readonly keys: DcfKeys; // m = 2 + payloads, element-major payload words
}

export interface SelectParams {
  count: number;
  bits: number;
  payloads: number;
  /**
   * Coarse comparison (optional, default 0): the DCF compares only bits [lowBits, k − 1) of the
   * masked value (key input n = k − 1 − lowBits). The result is exact for 2^lowBits ≤ |c| <
   * 2^(k−1) − 2^lowBits; for |c| < 2^lowBits it is either answer (still a bit, so a selection picks
   * one of its two operands). Why: when only a ranking at a coarser resolution matters (an argmax
   * over packed keys, argmax-packed.ts), narrower keys cut key bytes and evaluation time.
   */
  lowBits?: number;
}

/** Payload words per DCF key are m = 2 + payloads ≤ MAX_DCF_WORDS (this project uses ≤ 1 payload). */
export const MAX_SELECT_PAYLOADS = 2;

export function validateSelectParams(p: unknown): SelectParams {
  if (typeof p !== 'object' || p === null) throw new TypeError('select params: expected { count, bits, payloads }');
  const { count, bits, payloads } = p as Record<string, unknown>;
  assertBits(bits);
  if (typeof payloads !== 'number' || !Number.isInteger(payloads) || payloads < 0 || payloads > MAX_SELECT_PAYLOADS) {
    throw new RangeError(`select payloads expected an integer in [0, ${MAX_SELECT_PAYLOADS}]`);
  }
  const lowBits = (p as Record<string, unknown>).lowBits;
  if (lowBits === undefined || lowBits === 0) return { count: validateCount(count), bits: bits as number, payloads };
  if (typeof lowBits !== 'number' || !Number.isInteger(lowBits) || lowBits < 0 || lowBits > (bits as number) - 2) {
    throw new RangeError(`select lowBits expected an integer in [0, bits − 2]`);
  }
  return { count: validateCount(count), bits: bits as number, payloads, lowBits };
}

const mulWords = (a: BigUint64Array, b: BigUint64Array) => a.map((v, i) => asUintN(64, v * b[i]));

/** [ρ], [ρ·r], [ρ·s_j] to P0 and one DCF key (m = 2 + payloads) per selection to each party. */
const selectKeysBytes = ({ count, bits, payloads, lowBits }: SelectParams) =>
  sumDealerBytes(bytesToP0(8 * (2 + payloads) * count), dcfKeysBytes({ n: bits - 1 - (lowBits ?? 0), m: 2 + payloads, count }));

/** Work: [r] and each [s_j], the derived [ρ], [ρ·r], [ρ·s_j], and the DCF keys' generation (dcfKeysWork). */
const selectKeysWork = ({ count, bits, payloads, lowBits }: SelectParams) =>
  (1 + payloads) * randomWork(count) + (2 + payloads) * derivedWork(count) + dcfKeysWork({ n: bits - 1 - (lowBits ?? 0), m: 2 + payloads, count });

export const selectKeys = defineCorrelation('dcfSelect', validateSelectParams, selectKeysBytes, selectKeysWork, (g, p: SelectParams): SelectKeys => {
  const { count, bits, payloads } = p, low = BigInt(p.lowBits ?? 0);
  const top = BigInt(bits - 1), m = 2 + payloads;
  const r = g.random(count);
  const s = Array.from({ length: payloads }, () => g.random(count));
  const rhoOf = () => r.value().map((v) => (v >> top) & 1n);
  const rho = g.derived(count, rhoOf);
  const rhoR = g.derived(count, () => mulWords(rho.value(), r.value()));
  const rhoS = s.map((sj) => g.derived(count, () => mulWords(rho.value(), sj.value())));
  const keys = dealDcfKeys(g, defaultFssPrg(), { n: bits - 1 - (p.lowBits ?? 0), m, count }, () => {
    const rv = r.value(), rh = rho.value(), sv = s.map((sj) => sj.value());
    const alpha = rv.map((v) => (v & ((1n << top) - 1n)) >> low);
    const beta = new BigUint64Array(count * m);
    for (let i = 0; i < count; i++) {
      const sign = asUintN(64, 1n - 2n * rh[i]);
      beta[i * m] = sign;
      beta[i * m + 1] = asUintN(64, sign * rv[i]);
      for (let j = 0; j < payloads; j++) beta[i * m + 2 + j] = asUintN(64, sign * sv[j][i]);
    }
    return { alpha, beta };
  });
  return { r: r.share, s: s.map((x) => x.share), rho: rho.share, rhoR: rhoR.share, rhoS: rhoS.map((x) => x.share), keys };
});

export interface DreluSelectResult {
  /** [DReLU(c)] = [c ≥ 0], shares of 0/1. */
  readonly bit: BigUint64Array;
  /** [DReLU(c)·c] = [ReLU(c)]. */
  readonly prod: BigUint64Array;
  /** [DReLU(c)·δ_j] per payload. */
  readonly sel: BigUint64Array[];
}

/** The 1-round core: DReLU(c)·c and DReLU(c)·δ_j for equally long word arrays (no scope). */
export async function dreluSelect(
  ctx: PartyContext,
  c: BigUint64Array,
  deltas: readonly BigUint64Array[],
  bits: number,
  lowBits = 0,
  taken?: SelectKeys,
): Promise<DreluSelectResult> {
  const n = c.length, P = deltas.length;
  // 1. take the correlation (or use keys taken for several calls: takeSelectKeys + sliceSelectKeys)
  const mat = taken ?? (await takeSelectKeys(ctx, n, bits, P, lowBits));
  if (mat.r.length !== n || mat.s.length !== P) throw new RangeError(`dreluSelect: keys for ${mat.r.length} × ${mat.s.length} payloads, inputs ${n} × ${P}`);
  // 2. open ĉ = c + r and δ̂_j = δ_j + s_j in one round
  const parts = [c, ...deltas].map((v, j) => {
    const mask = j === 0 ? mat.r : mat.s[j - 1];
    return { x: v.map((w, i) => asUintN(64, w + mask[i])) };
  });
  const [cHat, ...dHat] = await openMany(ctx, parts);
  // 3. local combination
  return selectCombine(ctx.party, cHat, dHat, mat, bits, lowBits);
}

/** The dealer material of `count` select-comparisons (one request). */
export function takeSelectKeys(ctx: PartyContext, count: number, bits: number, payloads: number, lowBits = 0): Promise<SelectKeys> {
  const params: SelectParams = lowBits > 0 ? { count, bits, payloads, lowBits } : { count, bits, payloads };
  return ctx.dealer.take(selectKeys, params);
}

/** Comparisons [from, to) of taken select keys (each comparison's material is used once). */
export function sliceSelectKeys(mat: SelectKeys, from: number, to: number): SelectKeys {
  const cut = (w: BigUint64Array) => w.subarray(from, to);
  return {
    r: cut(mat.r), s: mat.s.map(cut), rho: cut(mat.rho), rhoR: cut(mat.rhoR), rhoS: mat.rhoS.map(cut),
    keys: sliceDcfKeys(mat.keys, from, to),
  };
}

/** Step 3 of dreluSelect for opened ĉ, δ̂_j (exposed so tests can use chosen masks). */
export function selectCombine(
  party: PartyId,
  cHat: BigUint64Array,
  dHat: readonly BigUint64Array[],
  mat: SelectKeys,
  bits: number,
  lowBits = 0,
): DreluSelectResult {
  const n = cHat.length, m = mat.keys.m, top = BigInt(bits - 1), p0 = party === 0;
  // reads ĉ mod 2^(k−1) (coarse: bits [lowBits, k − 1) of it)
  const y = dcfEval(defaultFssPrg(), party, mat.keys, lowBits > 0 ? shiftedWords(cHat, lowBits) : cHat);
  const bit = new BigUint64Array(n), prod = new BigUint64Array(n);
  const sel = dHat.map(() => new BigUint64Array(n));
  for (let i = 0; i < n; i++) {
    const a = (cHat[i] >> top) & 1n, flip = a === 1n;
    const w = mat.rho[i] + y[i * m];
    const L = asUintN(64, (p0 ? a : 0n) + (flip ? -w : w));
    const wr = mat.rhoR[i] + y[i * m + 1];
    const Lr = a * mat.r[i] + (flip ? -wr : wr);
    bit[i] = asUintN(64, (p0 ? 1n : 0n) - L);
    prod[i] = asUintN(64, (p0 ? cHat[i] : 0n) - mat.r[i] - cHat[i] * L + Lr);
    for (let j = 0; j < dHat.length; j++) {
      const ws = mat.rhoS[j][i] + y[i * m + 2 + j];
      const Ls = a * mat.s[j][i] + (flip ? -ws : ws);
      const d = dHat[j][i];
      sel[j][i] = asUintN(64, (p0 ? d : 0n) - mat.s[j][i] - d * L + Ls);
    }
  }
  return { bit, prod, sel };
}

/** ReLU(x) = max(x, 0) for x in the signed `bits` range; 1 round, 8 B/elem. */
export async function relu(ctx: PartyContext, x: RingTensor, bits = 64): Promise<RingTensor> {
  assertBits(bits);
  return ctx.ledger.scope('relu', async () => {
    const res = await dreluSelect(ctx, x.data, [], bits);
    return { shape: [...x.shape], data: res.prod };
  });
}

/** x >> s per word (the DCF then reads the low n bits). */
function shiftedWords(x: BigUint64Array, s: number): BigUint64Array {
  const out = new BigUint64Array(x.length), k = BigInt(s);
  for (let i = 0; i < x.length; i++) out[i] = x[i] >> k;
  return out;
}

/** Exact cost of n selections with `payloads` extra values (offline: dealer bytes to both). */
export const dreluSelectCost = (n: number, bits = 64, payloads = 0, lowBits = 0) => ({
  rounds: 1,
  bytesSent: 8 * n * (1 + payloads),
  offlineBytes: totalDealerBytes(selectKeysBytes({ count: n, bits, payloads, lowBits })),
});
export const reluCost = (n: number, bits = 64) => dreluSelectCost(n, bits, 0);

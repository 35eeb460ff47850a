/**
 * expClipped — e^x for shared x ≤ 0, clipped to 0 below −T (default T = 14), by two 9-bit lookup
 * tables: one on the multiples of 1/32, one on the remainder (fss.md §4e).
 *
 * Rounds:    4 at fracBits ≤ 12 (5 above: one extra truncation to 12 bits first);
 *            3 with `raw` (no final truncation: the product at scale 2^32)
 * Online:    40 B/elem sent per party at the defaults (8 trunc + 4 compare + 2 + 2 LUT + 16 product
 *            + 8 trunc); expClippedCost(n, …) is exact
 * Offline:   a truncation mask, a DCF comparison key (k = bits − 1, m = 1), two 9-bit DPF keys,
 *            a Beaver triple and the final truncation mask: 2180 B/elem at the defaults (expClippedCost)
 * Local:     two full-domain 9-bit DPF evaluations + 2·512 multiply-adds per element and party:
 *            ≈ 0.2 ms/elem for both parties in one process (4096 elements 1.6 s, Node 20.20,
 *            2026-11); the tables are 9-bit each (split at 1/32) to keep this down
 * Accuracy:  ≤ 5e-4 abs on [−T, 0] at fracBits = 12 (asserted ≤ 1e-3 in tests); 0 below −T (error
 *            ≤ e^−T = 8.3e-7); with `raw` the relative error is ≤ 2.5e-4 plus 2^-20 abs (T_hi rounding), which is
 *            what softmax sums need. Inputs must satisfy |x| < 2^(bits − 1 − fracBits) − T.
 * Opens:     the truncations' ẑ, the comparison's x̂, the two LUT indices (all masked, single-use),
 *            the Beaver openings.
 * Steps:     (u = −x at 12 fractional bits: for fracBits > 12, u = truncPr(−x, fracBits − 12) fused
 *            into round 1 and v's truncation moves to its own round)
 *            1. v = truncPr(u, 7) ≈ ⌊u/128⌋ (+1 carry) ‖ g = [x ≥ −T] (DCF)         — one round
 *               ρ = u − 128·v ∈ [−128, 128) exactly, whatever the carry   (local)
 *               w = ρ + 256·(1 − g)  (local; w mod 512 lands in [128, 384) iff clipped)
 *            2. H = T_hi[v mod 512] = 2^20·e^{−v/32} (0 for v > 32T + 1) ‖ L = T_lo[w mod 512] =
 *               2^12·e^{−ρ/4096} (0 in the clipped zone)                                — one round
 *            3. e = H·L (Beaver, scale 2^32), since e^{−u/4096} = e^{−v/32}·e^{−ρ/4096}
 *            4. truncPr(e, 32 − outFracBits)
 * Why ρ from the probabilistic truncation: the carry c only moves 128 between v and ρ, and the
 * tables are exact for either split; an exact truncation would cost a DCF per element instead.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost } from '../beaver/beaver-mul';
import type { PartyContext } from '../engine/context';
import { fuseRounds } from '../engine/fuse-rounds';
import { dcfLessThanZeroCost, drelu } from '../fss/dcf-less-than';
import { lookupTable, lookupTableCost, tableOf } from '../select/lookup-table';
import { truncPr, truncPrCost } from '../trunc/trunc-pr';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface ExpOptions {
  /** Clip below −T (0 < T ≤ 15, default 14). */
  readonly T?: number;
  /** Output scale (default ctx.fracBits). Ignored with `raw`. */
  readonly outFracBits?: number;
  /** Comparison width for the clip (default 32: |x| < 2^19 at fracBits 12). */
  readonly bits?: number;
}

/** Scale of the untruncated product H·L. */
export const EXP_RAW_SCALE = 32;
const HI_SCALE = 20, LO_SCALE = 12, HI_BITS = 9, LO_BITS = 9, SPLIT = 7;

const tables = new Map<number, { hi: BigUint64Array; lo: BigUint64Array }>();
function expTables(T: number) {
  let t = tables.get(T);
  if (!t) {
    const vMax = Math.floor(32 * T) + 1;
    const hi = tableOf(HI_BITS, (v) => (v <= vMax ? BigInt(Math.round(2 ** HI_SCALE * Math.exp(-v / 32))) : 0n));
    const lo = tableOf(LO_BITS, (w) => {
      if (w >= 128 && w < 384) return 0n; // clipped (g = 0)
      const rho = w < 128 ? w : w - 512;
      return BigInt(Math.round(2 ** LO_SCALE * Math.exp(-rho / 4096)));
    });
    tables.set(T, (t = { hi, lo }));
  }
  return t;
}

function checkT(T: number): void {
  if (!(T > 0 && T <= 15)) throw new RangeError(`expClipped: T must be in (0, 15], got ${T}`);
}

/** e^x at scale 2^EXP_RAW_SCALE (untruncated product), 3 rounds (4 above 12 fractional bits). */
export async function expClippedRaw(ctx: PartyContext, x: RingTensor, opts: ExpOptions = {}): Promise<RingTensor> {
  const T = opts.T ?? 14, bits = opts.bits ?? 32, f = ctx.fracBits;
  checkT(T);
  return ctx.ledger.scope('expClipped', async () => {
    const n = x.data.length, p0 = ctx.party === 0;
    const neg = new BigUint64Array(n), shifted = new BigUint64Array(n);
    const tq = BigInt(Math.round(T * 2 ** f));
    for (let i = 0; i < n; i++) {
      neg[i] = asUintN(64, -x.data[i]);
      shifted[i] = asUintN(64, x.data[i] + (p0 ? tq : 0n));
    }
    const xT: RingTensor = { shape: [n], data: shifted };
    // 1. v = truncPr(u, 8) ‖ g = [x ≥ −T]   (u = −x at 12 fractional bits)
    let u: RingTensor = { shape: [n], data: neg }, v: RingTensor, g: RingTensor;
    if (f > 12) {
      [u, g] = await fuseRounds<[RingTensor, RingTensor]>(ctx, [(c) => truncPr(c, u, f - 12), (c) => drelu(c, xT, bits)]);
      v = await truncPr(ctx, u, SPLIT);
    } else {
      const up = BigInt(12 - f); // f < 12: read u at 12 fractional bits (exact left shift)
      const u12: RingTensor = (u = { shape: [n], data: neg.map((q) => asUintN(64, q << up)) });
      [v, g] = await fuseRounds<[RingTensor, RingTensor]>(ctx, [(c) => truncPr(c, u12, SPLIT), (c) => drelu(c, xT, bits)]);
    }
    const w = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const rho = u.data[i] - (v.data[i] << 7n);
      w[i] = asUintN(64, rho + (p0 ? 256n : 0n) - (g.data[i] << 8n));
    }
    // 2. H = T_hi[v], L = T_lo[w] — one fused round
    const { hi, lo } = expTables(T);
    const [[H], [L]] = await fuseRounds<[RingTensor[], RingTensor[]]>(ctx, [
      (c) => lookupTable(c, v, HI_BITS, [hi]),
      (c) => lookupTable(c, { shape: [n], data: w }, LO_BITS, [lo]),
    ]);
    // 3. e = H·L at scale 2^32
    const e = await beaverMul(ctx, H, L);
    return { shape: [...x.shape], data: e.data };
  });
}

/** e^x clipped at −T, at outFracBits (default fracBits). */
export async function expClipped(ctx: PartyContext, x: RingTensor, opts: ExpOptions = {}): Promise<RingTensor> {
  const outF = opts.outFracBits ?? ctx.fracBits;
  return ctx.ledger.scope('expClipped', async () => {
    const e = await expClippedRaw(ctx, x, opts);
    // 4. truncate to the output scale
    return truncPr(ctx, e, EXP_RAW_SCALE - outF);
  });
}

/** Exact cost (offline: both parties) of expClipped, or of expClippedRaw with raw = true. */
export function expClippedCost(n: number, fracBits = 12, opts: ExpOptions & { raw?: boolean } = {}) {
  const bits = opts.bits ?? 32, outF = opts.outFracBits ?? fracBits;
  const parts = [
    truncPrCost(n, SPLIT),
    dcfLessThanZeroCost(n, bits),
    lookupTableCost(n, HI_BITS),
    lookupTableCost(n, LO_BITS),
    beaverMulCost(n),
  ];
  if (fracBits > 12) parts.push(truncPrCost(n, fracBits - 12));
  if (!opts.raw) parts.push(truncPrCost(n, EXP_RAW_SCALE - outF));
  const rounds = 3 + (fracBits > 12 ? 1 : 0) + (opts.raw ? 0 : 1);
  return {
    rounds,
    bytesSent: parts.reduce((a, p) => a + p.bytesSent, 0),
    offlineBytes: parts.reduce((a, p) => a + p.offlineBytes, 0),
  };
}

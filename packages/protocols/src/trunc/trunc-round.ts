/**
 * truncRound — deterministic fixed-point truncation: y = ⌊x/2^f + 1/2⌋ (round half up) or
 * y = ⌊x/2^f⌋ (floor), exactly, for shared x (fss.md §4f "Exact (FSS) variant").
 *
 * Rounds:    1   (open ẑ = x + 2^62 + r, as truncPr; fuses with other openings via fuseRounds)
 * Online:    8 B/elem sent per party
 * Offline:   truncPr's mask (8 + ⌈f/8⌉ B/elem to P0) plus one DCF key pair on f-bit inputs per
 *            element, 2·(24f + 8) B (592 B at f = 12): truncRoundCost(n, f)
 * Accuracy:  exact, no failure probability, for x in [−2^62, 2^62 − 2^(f−1)) (signed)
 * Opens:     ẑ = x + 2^62 + r, uniform because r is uniform and used once
 * Steps:     1. take the truncation mask ([r], [r >> f], [2^(64−f)·μr]) and DCF keys for
 *               α = r mod 2^f, β = 1
 *            2. (round mode) P0 adds 2^(f−1) to its share; open ẑ
 *            3. y' = truncPr's local output = ⌊x/2^f⌋ + c with c = [(ẑ mod 2^f) < (r mod 2^f)], the
 *               carry out of the low f bits; the DCF at ẑ mod 2^f gives shares of c: y = y' − c
 * Why:       truncPr is within 1 ulp but random (stochastic rounding). KV-cache policies rank
 *            derived scores (MPCache's representatives and cluster scores, Quest's bound), and
 *            their plaintext twins round to the grid with fxRound (round half up); an exact
 *            rounding makes the secure ranking equal the plaintext ranking, ties included.
 */
import { type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes } from '../dealer/dealer-bytes';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { asUintN } from '../engine/words';
import { dcfEval } from '../fss/dcf-eval';
import { dcfKeysBytes, dcfKeysWork, dealDcfKeys, type DcfKeys } from '../fss/dcf-keygen';
import { defaultFssPrg } from '../fss/dpf-keygen';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes, truncMaskWork, truncOpened, validateTruncParams, type TruncPair, type TruncParams } from './trunc-pr';

export interface TruncRoundKeys extends TruncPair {
  /** DCF keys of [x < r mod 2^f] on f-bit inputs. */
  readonly carry: DcfKeys;
}

/** The mask (to P0) and one f-bit DCF key per element (to each party). */
const truncRoundBytes = (p: TruncParams) => sumDealerBytes(bytesToP0(truncMaskBytes(p.n, p.f)), dcfKeysBytes({ n: p.f, m: 1, count: p.n }));

/** Work: the mask and the f-bit DCF keys' generation (dcfKeysWork). */
const truncRoundWork = (p: TruncParams) => truncMaskWork(p.n, p.f) + dcfKeysWork({ n: p.f, m: 1, count: p.n });

export const truncRoundKeys = defineCorrelation('truncRound', validateTruncParams, truncRoundBytes, truncRoundWork, (g, p): TruncRoundKeys => {
  const { r, rTrunc, rWrap, rValue } = dealTruncMask(g, p.n, p.f);
  const low = (1n << BigInt(p.f)) - 1n;
  const carry = dealDcfKeys(g, defaultFssPrg(), { n: p.f, m: 1, count: p.n }, () => ({
    alpha: rValue().map((v) => v & low),
    beta: new BigUint64Array(p.n).fill(1n),
  }));
  return { r, rTrunc, rWrap, carry };
});

export interface TruncRoundOptions {
  /** 'round' (default): ⌊x/2^f + 1/2⌋, the grid rounding fxRound; 'floor': ⌊x/2^f⌋. */
  mode?: 'round' | 'floor';
}

/** Exact truncation of x by `shift` bits (round half up by default); precondition |x| < 2^62. */
export async function truncRound(ctx: PartyContext, x: RingTensor, shift = ctx.fracBits, opts: TruncRoundOptions = {}): Promise<RingTensor> {
  assertShift(shift);
  return ctx.ledger.scope('truncRound', async () => {
    const n = x.data.length;
    // 1. take the mask and the carry keys
    const mat = await ctx.dealer.take(truncRoundKeys, { n, f: shift });
    // 2. round mode: x + 2^(f−1) (P0), then open ẑ
    let xs = x.data;
    if ((opts.mode ?? 'round') === 'round' && ctx.party === 0) {
      const half = 1n << BigInt(shift - 1);
      xs = new BigUint64Array(n);
      for (let i = 0; i < n; i++) xs[i] = asUintN(64, x.data[i] + half);
    }
    const zHat = await openWords(ctx, maskForTrunc(ctx.party, xs, mat.r));
    // 3. y = ⌊·/2^f⌋ + c − c
    const y = truncOpened(ctx.party, zHat, mat, shift);
    const c = dcfEval(defaultFssPrg(), ctx.party, mat.carry, lowBits(zHat, shift));
    for (let i = 0; i < n; i++) y[i] = asUintN(64, y[i] - c[i]);
    return { shape: [...x.shape], data: y };
  });
}

function lowBits(z: BigUint64Array, f: number): BigUint64Array {
  const out = new BigUint64Array(z.length), m = (1n << BigInt(f)) - 1n;
  for (let i = 0; i < z.length; i++) out[i] = z[i] & m;
  return out;
}

/** Cost of truncRound on n elements by f bits, per party (offline: dealer bytes to both parties). */
export const truncRoundCost = (n: number, f = 12) => ({
  rounds: 1,
  bytesSent: 8 * n,
  offlineBytes: totalDealerBytes(truncRoundBytes({ n, f })),
});

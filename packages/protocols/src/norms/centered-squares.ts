/**
 * centeredSquares — per row of x (rows, d): the mean μ = trunc(Σ_j x_j · c, shift) and, in the SAME
 * round, D = x − μ and V = Σ_j D_j² (LayerNorm's steps 1–2). The mean's truncation opening and the
 * Beaver opening of x travel together; the dealer's square terms already hold the mean's mask, so μ
 * needs no round of its own (the fold of fss.md §4f, with a sum of squares as the product).
 *
 * Rounds:    1   (truncPr then beaverSquare: 2)
 * Online:    8 B per element + 8 B per row sent per party (the same bytes as the two rounds)
 * Offline:   to P0: per element [(a + ρ)²] (8 B) and [W·(a + ρ)] (⌈shift/8⌉ B, low bits zero),
 *            per row a truncation mask (truncMaskBytes); a comes from the parties' streams;
 *            centeredSquaresCost exact
 * Accuracy:  μ as truncPr (⌊Σx·c / 2^shift⌋ + {0, 1}, needs |Σx·c| < 2^62); D and V exact for that μ
 *            (ring identities, no truncation)
 * Opens:     ẑ = Σx·c + 2^62 + r per row and E = x − a per element: uniform (r, a fresh)
 * Steps:     1. take r (ρ = r >> shift, W = 2^(64−shift)·msb(r)), a, [(a + ρ)²], [W·(a + ρ)]
 *            2. open ẑ and E in one round
 *            3. μ = D_μ − ρ + μ̄W with public D_μ = (ẑ >> shift) − 2^(62−shift), μ̄ = 1 − msb(ẑ), so
 *               D = x − μ = P + M, P = E − D_μ public, M = a + ρ − μ̄W, and
 *               D² = P² + 2P·M + (a + ρ)² − 2μ̄·W(a + ρ)   (W² ≡ 0 mod 2^64 for shift ≤ 32)   local
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { derivedTopBits, derivedTopBitsBytes } from '../dealer/derived-top-bits';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { asUintN, mulWords, shiftRightWords, subWords } from '../engine/words';
import { assertShift, dealTruncMask, maskForTrunc, truncMaskBytes } from '../trunc/trunc-pr';

export interface CenteredSquaresParams {
  readonly rows: number;
  readonly d: number;
  readonly shift: number;
}

function validateParams(p: unknown): CenteredSquaresParams {
  const q = (p ?? {}) as CenteredSquaresParams;
  validateCount(q.rows);
  validateCount(q.d);
  validateCount(q.rows * q.d);
  assertShift(q.shift, 32);
  return { rows: q.rows, d: q.d, shift: q.shift };
}

export const centeredSquareMaterial = defineCorrelation('centeredSquares', validateParams, (g, p: CenteredSquaresParams) => {
  const { rows, d, shift } = p, n = rows * d;
  const m = dealTruncMask(g, rows, shift);
  const a = g.random(n);
  const perElement = (perRow: BigUint64Array) => { const o = new BigUint64Array(n); for (let i = 0; i < rows; i++) o.fill(perRow[i], i * d, (i + 1) * d); return o; };
  const aRho = () => { const av = a.value(), rho = perElement(shiftRightWords(m.rValue(), shift)); return rho.map((v, q) => asUintN(64, v + av[q])); };
  const sq = g.derived(n, () => { const v = aRho(); return mulWords(v, v); });
  const wa = derivedTopBits(g, n, shift, () => mulWords(aRho(), perElement(shiftRightWords(m.rValue(), 63))));
  return { r: m.r, rTrunc: m.rTrunc, rWrap: m.rWrap, a: a.share, sq: sq.share, wa };
});

/**
 * x (rows, d) and sc (rows) = Σ_j x_j·c on shares (c public, e.g. ⌊2^shift/d⌉): shares of D = x − μ
 * (x's shape) and V = Σ_j D_j² (rows), μ = trunc(sc, shift).
 */
export async function centeredSquares(ctx: PartyContext, x: RingTensor, sc: BigUint64Array, shift: number): Promise<{ D: RingTensor; V: RingTensor }> {
  const rows = sc.length, n = x.data.length, d = rows ? n / rows : 0;
  if (!Number.isInteger(d) || d < 1) throw new ShapeError(`centeredSquares: ${n} elements do not split into ${rows} rows`);
  assertShift(shift, 32);
  return ctx.ledger.scope('centeredSquares', async () => {
    // 1. the material; 2. one round
    const t = await ctx.dealer.take(centeredSquareMaterial, { rows, d, shift });
    const [zHat, E] = await openMany(ctx, [{ x: maskForTrunc(ctx.party, sc, t.r) }, { x: subWords(x.data, t.a) }]);
    // 3. D = P + M, D² = P² + 2P·M + (a + ρ)² − 2μ̄·W(a + ρ)
    const p0 = ctx.party === 0 ? 1n : 0n, off = 1n << BigInt(62 - shift), s = BigInt(shift);
    const D = new BigUint64Array(n), V = new BigUint64Array(rows);
    for (let i = 0, q = 0; i < rows; i++) {
      const z = zHat[i], dMu = asUintN(64, (z >> s) - off), keep = asUintN(64, (z >> 63n) - 1n); // keep: μ̄ as a mask
      const rhoW = asUintN(64, t.rTrunc[i] - (t.rWrap[i] & keep));
      let acc = 0n;
      for (let j = 0; j < d; j++, q++) {
        const P = asUintN(64, E[q] - dMu), M = asUintN(64, t.a[q] + rhoW);
        D[q] = asUintN(64, p0 * P + M);
        const sq = asUintN(64, asUintN(64, p0 * asUintN(64, P * P)) + asUintN(64, 2n * asUintN(64, P * M)) + t.sq[q] - asUintN(64, 2n * (t.wa[q] & keep)));
        acc = asUintN(64, acc + sq);
      }
      V[i] = acc;
    }
    return { D: { shape: [...x.shape], data: D }, V: { shape: [rows], data: V } };
  });
}

/** Exact cost (offline: both parties; all of it is P0's). */
export const centeredSquaresCost = (rows: number, d: number, shift: number) => ({
  rounds: 1,
  bytesSent: 8 * (rows * d + rows),
  offlineBytes: truncMaskBytes(rows, shift) + 8 * rows * d + derivedTopBitsBytes(rows * d, shift),
});

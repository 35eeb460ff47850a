import { encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { centeredSquares, centeredSquaresCost, residualSquares, residualSquaresCost } from '../src/norms/folded-trunc-squares';
import { expectScopeCost } from './cost-helpers';
import { randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const { asUintN, asIntN } = BigInt;
const add = (a: BigUint64Array, b: BigUint64Array) => a.map((v, i) => asUintN(64, v + b[i]));
/** Header: all to P0, a truncation mask (8 + ⌈shift/8⌉ B) per w, [(a − sR)²] (8 B) and [W·(a − sR)] (⌈shift/8⌉ B) per element. */
const headerOffline = (wCount: number, n: number, shift: number) => (wCount + n) * (8 + Math.ceil(shift / 8));

describe(`foldedTruncSquares (SEED=${TEST_SEED})`, () => {
  it('centeredSquares: the mean (truncated as truncPr), D = x − μ and V = Σ D² exactly, in one round; exact cost on both parties', async () => {
    const rows = 5, d = 48, shift = 30, c = BigInt(Math.round(2 ** shift / d));
    const xr = randomReals(testPrg('centered'), rows * d, -100, 100);
    for (let j = 0; j < d; j++) xr[d + j] = 3.5; // a constant row: D = 0 up to the mean's ulp
    const X = encode(xr), xs = shareReals(xr, [rows, d]);
    const parties = localParties();
    const out = await runBoth(parties, (ctx) => {
      const x = xs[ctx.party], sc = new BigUint64Array(rows);
      for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) sc[i] = asUintN(64, sc[i] + x.data[i * d + j] * c);
      return centeredSquares(ctx, x, sc, shift);
    });
    const D = add(out[0].D.data, out[1].D.data), V = add(out[0].V.data, out[1].V.data);
    expect(out[0].D.shape).toEqual([rows, d]);
    for (let i = 0; i < rows; i++) {
      let s = 0n;
      for (let j = 0; j < d; j++) s += asIntN(64, X[i * d + j]);
      const floorMean = (s * c) >> BigInt(shift);
      const mu = asIntN(64, asUintN(64, X[i * d] - D[i * d]));
      expect([0n, 1n]).toContain(mu - floorMean);
      let v = 0n;
      for (let j = 0; j < d; j++) {
        expect(asIntN(64, asUintN(64, X[i * d + j] - D[i * d + j]))).toBe(mu); // one μ per row
        v += asIntN(64, D[i * d + j]) ** 2n;
      }
      expect(V[i]).toBe(asUintN(64, v));
    }
    const cost = centeredSquaresCost(rows, d, shift);
    expect(cost).toEqual({ rounds: 1, bytesSent: 8 * (rows * d + rows), offlineBytes: headerOffline(rows, rows * d, shift) });
    expectScopeCost(parties, 'foldedTruncSquares', cost, 'p0');
  });

  it('residualSquares: x = x_old + trunc(z) per element and V = Σ x² exactly, in one round; exact cost on both parties', async () => {
    const rows = 3, d = 40, shift = 24;
    const xr = randomReals(testPrg('resid-x'), rows * d, -60, 60), zr = randomReals(testPrg('resid-z'), rows * d, -60, 60);
    const X = encode(xr), Z = encode(zr, 12 + shift); // z at 12 + shift fractional bits: trunc(z) is at 12
    const xs = shareReals(xr, [rows, d]), zs = shareReals(zr, [rows, d], 12 + shift);
    const parties = localParties();
    const out = await runBoth(parties, (ctx) => residualSquares(ctx, xs[ctx.party], zs[ctx.party], shift, rows));
    const x = add(out[0].x.data, out[1].x.data), V = add(out[0].V.data, out[1].V.data);
    for (let i = 0; i < rows; i++) {
      let v = 0n;
      for (let j = 0; j < d; j++) {
        const q = i * d + j, t = asIntN(64, asUintN(64, x[q] - X[q]));
        expect([0n, 1n]).toContain(t - (asIntN(64, Z[q]) >> BigInt(shift)));
        v += asIntN(64, x[q]) ** 2n;
      }
      expect(V[i]).toBe(asUintN(64, v));
    }
    const cost = residualSquaresCost(rows, d, shift);
    expect(cost).toEqual({ rounds: 1, bytesSent: 16 * rows * d, offlineBytes: headerOffline(rows * d, rows * d, shift) });
    expectScopeCost(parties, 'foldedTruncSquares', cost, 'p0');
  });

  it('refuses a shift above 32 (the W² term would not vanish)', async () => {
    const xs = shareReals([1, 2], [1, 2]);
    await expect(runBoth(localParties(), (ctx) => centeredSquares(ctx, xs[ctx.party], new BigUint64Array(1), 40))).rejects.toThrow(/out of \[1, 32\]/);
  });
});

import { encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { centeredSquares, centeredSquaresCost } from '../src/norms/centered-squares';
import { randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const { asUintN, asIntN } = BigInt;
const add = (a: BigUint64Array, b: BigUint64Array) => a.map((v, i) => asUintN(64, v + b[i]));

describe(`centeredSquares (SEED=${TEST_SEED})`, () => {
  it('the mean (truncated as truncPr), D = x − μ and V = Σ D² exactly, in one round', async () => {
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
    for (const p of [0, 1] as const) expect(parties.ctx[p].ledger.get('centeredSquares')).toMatchObject({ rounds: 1, bytesSent: cost.bytesSent });
    expect(cost.bytesSent).toBe(8 * (rows * d + rows));
    expect(parties.ctx[0].ledger.get('centeredSquares').offlineBytes + parties.ctx[1].ledger.get('centeredSquares').offlineBytes).toBe(cost.offlineBytes);
  });

  it('refuses a shift above 32 (the W² term would not vanish)', async () => {
    const xs = shareReals([1, 2], [1, 2]);
    await expect(runBoth(localParties(), (ctx) => centeredSquares(ctx, xs[ctx.party], new BigUint64Array(1), 40))).rejects.toThrow(/out of \[1, 32\]/);
  });
});

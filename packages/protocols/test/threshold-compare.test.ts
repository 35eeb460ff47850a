import { encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { compareThresholds, compareThresholdsCost } from '../src/nonlinear/threshold-compare';
import { randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

describe(`compareThresholds (SEED=${TEST_SEED})`, () => {
  it('gives [x ≥ C] and [x ≥ C]·x exactly for every threshold, one round, 8 B/elem', async () => {
    const n = 300, k = 26;
    const xr = randomReals(testPrg('thr'), n, -1000, 1000);
    xr[0] = 3.5; xr[1] = 3.5 - 2 ** -12; xr[2] = -500; xr[3] = 0; xr[4] = -(2 ** -12); // edges
    const xs = shareReals(xr, [n]);
    const C = Array.from(encode([-500, 0, 3.5, 999, -1000]));
    const X = encode(xr);
    const parties = localParties();
    const got = [new BigUint64Array(n * C.length), new BigUint64Array(n * C.length)];
    const gotX = [new BigUint64Array(n * C.length), new BigUint64Array(n * C.length)];
    await runBoth(parties, (ctx) =>
      compareThresholds(ctx, xs[ctx.party], C, k, (c, i, b, bx) => {
        got[ctx.party][c * n + i] = b;
        gotX[ctx.party][c * n + i] = bx;
      }),
    );
    const signed = (v: bigint) => BigInt.asIntN(64, v);
    for (let c = 0; c < C.length; c++) {
      for (let i = 0; i < n; i++) {
        const want = signed(X[i]) >= signed(C[c]) ? 1n : 0n;
        expect(BigInt.asUintN(64, got[0][c * n + i] + got[1][c * n + i])).toBe(want);
        expect(BigInt.asUintN(64, gotX[0][c * n + i] + gotX[1][c * n + i])).toBe(BigInt.asUintN(64, want * X[i]));
      }
    }
    const cost = compareThresholdsCost(n, k);
    for (const p of [0, 1] as const) {
      const l = parties.ctx[p].ledger.get('compareThresholds');
      expect(l.rounds).toBe(cost.rounds);
      expect(l.bytesSent).toBe(cost.bytesSent);
    }
    const off = parties.ctx[0].ledger.get('compareThresholds').offlineBytes + parties.ctx[1].ledger.get('compareThresholds').offlineBytes;
    expect(off).toBe(cost.offlineBytes);
  });
});

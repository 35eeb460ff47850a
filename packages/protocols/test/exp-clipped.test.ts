import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { EXP_RAW_SCALE, expClipped, expClippedCost, expClippedRaw } from '../src/nonlinear/exp-clipped';
import { expectScopeCost } from './cost-helpers';
import { maxAbsDiff, openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

describe(`expClipped (SEED=${TEST_SEED})`, () => {
  it('≤ 5e-4 abs on [−14, 0], 0 below −15, 7 rounds, exact cost', async () => {
    const n = 2048;
    const xr = randomReals(testPrg('exp'), n, -16, 0);
    xr.set([0, -14, -(2 ** -12), -1 / 16, -13.999, -14.001, -100, -5000]);
    const xq = decode(encode(xr));
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => expClipped(ctx, xs[ctx.party]));
    const got = openReals(y0, y1);
    const want = xq.map((x) => (x >= -14 ? Math.exp(x) : 0));
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(5e-4);
    xq.forEach((x, i) => { if (x < -15) expect(got[i]).toBe(0); });
    const cost = expClippedCost(n);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('expClipped')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    expect(cost).toMatchObject({ rounds: 7, bytesSent: 64 * n });
    expect(parties.ctx[0].ledger.get('expClipped').offlineBytes + parties.ctx[1].ledger.get('expClipped').offlineBytes).toBe(cost.offlineBytes);
  });

  it('raw: relative error ≤ 3e-4 (+2^-30 abs) on [−12.5, 0] at scale 2^32, 7 rounds, exact cost', async () => {
    const n = 1024;
    const xr = randomReals(testPrg('expraw'), n, -12.5, 0);
    const xq = decode(encode(xr));
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => expClippedRaw(ctx, xs[ctx.party]));
    const got = openReals(y0, y1, EXP_RAW_SCALE);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - Math.exp(xq[i]))).toBeLessThanOrEqual(3e-4 * Math.exp(xq[i]) + 2 ** -30);
    const cost = expClippedCost(n, 12, { raw: true });
    expect(cost).toMatchObject({ rounds: 7, bytesSent: 64 * n });
    expectScopeCost(parties, 'expClipped', cost);
  });

  it('works at 16 fractional bits (7 rounds: the powers come from trunc(x, 4) in the same opening), exact cost', async () => {
    const n = 256;
    const xr = randomReals(testPrg('exp16'), n, -15, 0);
    const xq = decode(encode(xr, 16), 16);
    const xs = shareReals(xr, [n], 16);
    const parties = localParties({ fracBits: 16 });
    const [y0, y1] = await runBoth(parties, (ctx) => expClipped(ctx, xs[ctx.party]));
    expect(maxAbsDiff(openReals(y0, y1, 16), xq.map((x) => (x >= -14 ? Math.exp(x) : 0)))).toBeLessThanOrEqual(5e-4);
    const cost = expClippedCost(n, 16);
    expect(cost).toMatchObject({ rounds: 7, bytesSent: 64 * n });
    expectScopeCost(parties, 'expClipped', cost);
  });
});

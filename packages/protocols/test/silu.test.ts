import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { silu, siluCost, siluDesign } from '../src/nonlinear/silu';
import { maxAbsDiff, openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

describe(`silu (SEED=${TEST_SEED})`, () => {
  it('≤ 5e-3 abs on [−8, 8], 2 rounds, exact bytes', async () => {
    const n = 2048;
    const xr = randomReals(testPrg('silu'), n, -8, 8);
    xr.set([-8, 8, 0, -1.2785, 2 ** -12, -(2 ** -12)]);
    const xq = decode(encode(xr));
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => silu(ctx, xs[ctx.party]));
    const got = openReals(y0, y1), want = xq.map((x) => x / (1 + Math.exp(-x)));
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(5e-3);
    const cost = siluCost(n);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('silu')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    expect(cost).toMatchObject({ rounds: 2, bytesSent: 16 * n });
    expect(parties.ctx[0].ledger.get('silu').offlineBytes + parties.ctx[1].ledger.get('silu').offlineBytes).toBe(cost.offlineBytes);
  });
});

describe(`silu at tol 3e-4 (the llama decoder's setting, SEED=${TEST_SEED})`, () => {
  it('≤ 3e-4 + 1 ulp abs on [−16, 16], 2 rounds, 16 B/elem, at most 12 knots', async () => {
    const n = 2048;
    const xr = randomReals(testPrg('silu-tight'), n, -16, 16);
    xr.set([-16, 16, 0, -12, 12, -6.4375, 2 ** -12, -(2 ** -12)]);
    const xq = decode(encode(xr));
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => silu(ctx, xs[ctx.party], { tol: 3e-4 }));
    expect(maxAbsDiff(openReals(y0, y1), xq.map((x) => x / (1 + Math.exp(-x))))).toBeLessThanOrEqual(3e-4 + 2 ** -12);
    const cost = siluCost(n, 12, { tol: 3e-4 });
    expect(parties.ctx[1].ledger.get('silu')).toMatchObject({ rounds: 2, bytesSent: 16 * n });
    expect(parties.ctx[0].ledger.get('silu').offlineBytes + parties.ctx[1].ledger.get('silu').offlineBytes).toBe(cost.offlineBytes);
    expect(siluDesign(12, { tol: 3e-4 }).thresholds.length).toBeLessThanOrEqual(12);
  });
});

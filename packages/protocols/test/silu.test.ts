import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { silu, siluCost } from '../src/nonlinear/silu';
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

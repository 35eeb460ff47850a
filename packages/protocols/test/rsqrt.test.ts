import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { rsqrt, rsqrtCost, rsqrtUntruncated, rsqrtUntruncatedCost, rsqrtUntruncatedScale } from '../src/nonlinear/rsqrt';
import { expectScopeCost } from './cost-helpers';
import { openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return m;
};

describe(`rsqrt (SEED=${TEST_SEED})`, () => {
  it('≤ 2e-3 relative on [1e-3, 1e4] (input at 2^24), 4 rounds, exact cost', async () => {
    const n = 1024;
    const xr = randomReals(testPrg('rsqrt'), n, Math.log(1e-3), Math.log(1e4)).map(Math.exp);
    xr.set([1e-3, 1e4, 1, 0.5, 9999.5]);
    const xq = decode(encode(xr, 24), 24);
    const xs = shareReals(xr, [n], 24);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => rsqrt(ctx, xs[ctx.party]));
    const got = openReals(y0, y1, 20);
    expect(maxRel(got, xq.map((x) => 1 / Math.sqrt(x)))).toBeLessThanOrEqual(2e-3);
    const cost = rsqrtCost(n);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('rsqrt')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    expect(cost).toMatchObject({ rounds: 4, bytesSent: 40 * n });
    expect(parties.ctx[0].ledger.get('rsqrt').offlineBytes + parties.ctx[1].ledger.get('rsqrt').offlineBytes).toBe(cost.offlineBytes);
  });

  it('rsqrtUntruncated: the same value before the final truncation, 3 rounds, 32 B/elem; exact cost on both parties', async () => {
    const n = 64, xr = randomReals(testPrg('rsqrt-untrunc'), n, Math.log(1e-3), Math.log(1e4)).map(Math.exp);
    const xs = shareReals(xr, [n], 24), parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => rsqrtUntruncated(ctx, xs[ctx.party]));
    expect(a.scale).toBe(rsqrtUntruncatedScale(12));
    expect(maxRel(openReals(a.value, b.value, a.scale), decode(encode(xr, 24), 24).map((x) => 1 / Math.sqrt(x)))).toBeLessThanOrEqual(2e-3);
    const cost = rsqrtUntruncatedCost(n);
    // header: rsqrt less its last round (the truncation, 8 B/elem)
    expect(cost).toMatchObject({ rounds: 3, bytesSent: 32 * n });
    expectScopeCost(parties, 'rsqrt', cost);
  });

  it('folds scale and eps: (x/768 + 1e-5)^(−1/2) from x = 0', async () => {
    const xr = Float64Array.from([0, 1e-6, 768 * 1e-5, 0.5, 768, 768 * 1e4]);
    const xs = shareReals(xr, [xr.length], 24);
    const opts = { scale: 1 / 768, eps: 1e-5, lo: 0, hi: 1e4 };
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => rsqrt(ctx, xs[ctx.party], opts));
    const xq = decode(encode(xr, 24), 24);
    expect(maxRel(openReals(y0, y1, 20), xq.map((x) => 1 / Math.sqrt(x / 768 + 1e-5)))).toBeLessThanOrEqual(2e-3);
  });

  it('a range inside one octave ([1, 1.5]): no comparisons needed, ≤ 2e-3 relative', async () => {
    const n = 32, xr = randomReals(testPrg('rsqrt-one-octave'), n, 1, 1.5);
    xr.set([1, 1.5]);
    const xs = shareReals(xr, [n], 24);
    const [y0, y1] = await runBoth(localParties(), (ctx) => rsqrt(ctx, xs[ctx.party], { lo: 1, hi: 1.5 }));
    expect(maxRel(openReals(y0, y1, 20), decode(encode(xr, 24), 24).map((x) => 1 / Math.sqrt(x)))).toBeLessThanOrEqual(2e-3);
  });
});

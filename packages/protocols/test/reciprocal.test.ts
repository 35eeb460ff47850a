import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { reciprocal, reciprocalCost } from '../src/nonlinear/reciprocal';
import { openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const maxRel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / Math.abs(want[i]));
  return m;
};

describe(`reciprocal (SEED=${TEST_SEED})`, () => {
  for (const stepBits of [3, 2, 1] as const) it(`stepBits ${stepBits}: ≤ 1e-3 relative on [1, 4096], ${[4, 5, 7][stepBits - 1]} rounds, exact cost`, async () => {
    const n = 1024;
    const xr = randomReals(testPrg('recip'), n, 0, Math.log(4096)).map(Math.exp);
    xr.set([1, 4096, 2, 1024, 1 + 2 ** -12, 4095.99, 3.3]);
    const xq = decode(encode(xr));
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => reciprocal(ctx, xs[ctx.party], { stepBits }));
    const got = openReals(y0, y1, 24);
    expect(maxRel(got, xq.map((x) => 1 / x))).toBeLessThanOrEqual(1e-3);
    const cost = reciprocalCost(n, 12, { stepBits });
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('reciprocal')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    expect(cost.rounds).toBe([4, 5, 7][stepBits - 1]);
    expect(cost.bytesSent).toBe([40, 64, 96][stepBits - 1] * n);
    expect(parties.ctx[0].ledger.get('reciprocal').offlineBytes + parties.ctx[1].ledger.get('reciprocal').offlineBytes).toBe(cost.offlineBytes);
  });

  it('a range inside one segment (maxValue < 4 at stepBits 3, < 2 at stepBits 2): no comparisons needed, same accuracy and cost formula', async () => {
    for (const [maxValue, stepBits] of [[3, 3], [1, 3], [1.5, 2]] as const) {
      const n = 32;
      const xr = randomReals(testPrg(`recip-one-${maxValue}-${stepBits}`), n, 1, maxValue);
      xr.set([1, maxValue]);
      const xq = decode(encode(xr));
      const xs = shareReals(xr, [n]);
      const parties = localParties();
      const [y0, y1] = await runBoth(parties, (ctx) => reciprocal(ctx, xs[ctx.party], { maxValue, stepBits }));
      expect(maxRel(openReals(y0, y1, 24), xq.map((x) => 1 / x))).toBeLessThanOrEqual(1e-3);
      const cost = reciprocalCost(n, 12, { maxValue, stepBits });
      expect(parties.ctx[0].ledger.get('reciprocal')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
  });

  it('takes inputs at a higher scale (softmax sums at 2^32)', async () => {
    const n = 64;
    const xr = randomReals(testPrg('recip32'), n, 1, 1024);
    const xs = shareReals(xr, [n], 32);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => reciprocal(ctx, xs[ctx.party], { inFracBits: 32, outFracBits: 30 }));
    expect(maxRel(openReals(y0, y1, 30), xr.map((x) => 1 / x))).toBeLessThanOrEqual(1e-3);
  });

  it('exactOut: the segment product lands at outFracBits, 3 rounds, 32 B/elem, the same accuracy; refused without room', async () => {
    const n = 256, opts = { stepBits: 1 as const, inFracBits: 16, outFracBits: 36, maxValue: 8192, exactOut: true };
    const xr = randomReals(testPrg('recip-exact'), n, 0, Math.log(16384)).map(Math.exp);
    xr.set([1, 16383, 2, 8192, 1 + 2 ** -16]);
    const xq = decode(encode(xr, 16), 16);
    const xs = shareReals(xr, [n], 16);
    const parties = localParties({ fracBits: 16 });
    const [y0, y1] = await runBoth(parties, (ctx) => reciprocal(ctx, xs[ctx.party], opts));
    expect(maxRel(openReals(y0, y1, 36), xq.map((x) => 1 / x))).toBeLessThanOrEqual(1e-3);
    const cost = reciprocalCost(n, 16, opts);
    expect(parties.ctx[1].ledger.get('reciprocal')).toMatchObject({ rounds: 3, bytesSent: 32 * n });
    expect(cost).toMatchObject({ rounds: 3, bytesSent: 32 * n });
    expect(reciprocalCost(n, 16, { ...opts, exactOut: false }).rounds).toBe(4);
    expect(() => reciprocalCost(n, 16, { ...opts, outFracBits: 24 })).toThrow(/exactOut needs/);
  });
});

import { decode, encode } from '@mpcache/mpc-core';
import { dcfKeyBytes, localParties, runBoth } from '@mpcache/protocols';
import { gelu, geluCost, geluDesign } from '../src/nonlinear/gelu';
import { maxAbsDiff, openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

/** erf by Simpson's rule on 2/√π·∫₀ˣ e^{−t²} dt — an independent reference. */
function erfSimpson(x: number): number {
  const N = 400, h = x / N;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < N; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}
const refs = {
  erf: (x: number) => 0.5 * x * (1 + erfSimpson(x / Math.SQRT2)),
  tanh: (x: number) => 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
};

describe(`gelu (SEED=${TEST_SEED})`, () => {
  for (const variant of ['tanh', 'erf'] as const) {
    it(`${variant}: ≤ 5e-3 abs on [−8, 8], 2 rounds, exact bytes`, async () => {
      const n = 2048;
      const xr = randomReals(testPrg(`gelu-${variant}`), n, -8, 8);
      xr.set([-8, 8, 0, -6, 6, -0.5, 1e-3, 5.99]);
      const xq = decode(encode(xr)); // the exact fixed-point inputs
      const xs = shareReals(xr, [32, 64]);
      const parties = localParties();
      const [y0, y1] = await runBoth(parties, (ctx) => gelu(ctx, xs[ctx.party], { variant }));
      expect(y0.shape).toEqual([32, 64]);
      const got = openReals(y0, y1), want = xq.map(refs[variant]);
      expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(5e-3);
      const cost = geluCost(n, 12, { variant });
      expect(cost.offlineBytes).toBe(n * (2 * dcfKeyBytes(15, 4) + 62)); // header: a 15-level key (m = 4) each + 62 B to P0
      for (const p of [0, 1] as const) {
        const c = parties.ctx[p].ledger.get('gelu');
        expect(c.rounds).toBe(cost.rounds);
        expect(c.bytesSent).toBe(cost.bytesSent);
      }
      expect(cost.rounds).toBe(2);
      expect(cost.bytesSent).toBe(16 * n);
      expect(parties.ctx[0].ledger.get('gelu').offlineBytes + parties.ctx[1].ledger.get('gelu').offlineBytes).toBe(cost.offlineBytes);
    });
  }

  it('is exact far out: 0 below the knots, x above (|x| up to maxAbs)', async () => {
    const xr = Float64Array.from([-1000, -20, 20, 1000, 513.25]);
    const xs = shareReals(xr, [5]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => gelu(ctx, xs[ctx.party]));
    const got = openReals(y0, y1);
    expect(maxAbsDiff(got, [0, 0, 20, 1000, 513.25])).toBeLessThanOrEqual(2 ** -12);
    expect(geluDesign(12).thresholds.length).toBeLessThanOrEqual(6);
  });
});

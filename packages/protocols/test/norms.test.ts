import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { layerNorm, layerNormCost, scaleRows, scaleRowsCost } from '../src/norms/layer-norm';
import { rmsNorm, rmsNormCost, rmsNormOfResidual, rmsNormOfResidualCost } from '../src/norms/rms-norm';
import { expectCosts, expectScopeCost, measureBoth } from './cost-helpers';
import { openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const rows = 4, d = 768;

/**
 * The norms' accuracy (layer-norm.ts, rms-norm.ts): |error| ≤ 6e-3 + 4e-4·|y| per output — rsqrt's
 * 2e-4 relative plus the products' ulps, so the outliers' normalized outputs (|y| ≈ 40–50 here)
 * may be off by ≈ 1e-2 (measured: 3e-4 relative at f = 16, ≤ 5.6e-3 abs on small outputs at f = 12).
 */
function expectNormAccuracy(got: Float64Array, want: Float64Array): void {
  let worst = -Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) - (6e-3 + 4e-4 * Math.abs(want[i])));
  expect(worst).toBeLessThanOrEqual(0);
}

/** GPT-2-like rows: Gaussian-ish activations at different scales and offsets, a few large outliers. */
function activations(): Float64Array {
  const prg = testPrg('norm-x');
  const u = randomReals(prg, rows * d * 4, -1, 1);
  const x = new Float64Array(rows * d);
  const sigma = [0.05, 1, 8, 30], mean = [0.02, -0.5, 3, -10];
  for (let q = 0; q < x.length; q++) {
    const g = u[4 * q] + u[4 * q + 1] + u[4 * q + 2] + u[4 * q + 3]; // ≈ N(0, 4/3)
    x[q] = mean[Math.floor(q / d)] + sigma[Math.floor(q / d)] * g * 0.87;
  }
  x[5] = 3; x[d + 100] = 60; x[2 * d + 200] = -90; x[3 * d + 7] = 100; // outlier channels
  return decode(encode(x));
}

describe(`layerNorm / rmsNorm (SEED=${TEST_SEED})`, () => {
  const x = activations();
  const gamma = decode(encode(randomReals(testPrg('norm-g'), d, -2, 2)));
  const beta = decode(encode(randomReals(testPrg('norm-b'), d, -0.5, 0.5)));

  it('layerNorm: within 6e-3 + 4e-4·|y| on GPT-2-like activations, 6 rounds, exact cost', async () => {
    const want = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      let m = 0, v = 0;
      for (let j = 0; j < d; j++) m += x[i * d + j] / d;
      for (let j = 0; j < d; j++) v += (x[i * d + j] - m) ** 2 / d;
      for (let j = 0; j < d; j++) want[i * d + j] = (gamma[j] * (x[i * d + j] - m)) / Math.sqrt(v + 1e-5) + beta[j];
    }
    const xs = shareReals(x, [rows, d]), gs = shareReals(gamma, [d]), bs = shareReals(beta, [d]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => layerNorm(ctx, xs[ctx.party], gs[ctx.party], bs[ctx.party]));
    expectNormAccuracy(openReals(y0, y1), want);
    const cost = layerNormCost(rows, d);
    expect(cost.rounds).toBe(6); // the mean's truncation rides in the squares' round, rsqrt's in the product's
    expect(cost.bytesSent).toBe(24 * rows * d + 48 * rows + 8 * d); // header: 24 B/elem, 48 B per row, 8 B per column
    expectScopeCost(parties, 'layerNorm', cost);
  });

  it('rmsNorm: within 6e-3 + 4e-4·|y|, 6 rounds, exact cost', async () => {
    const want = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      let ms = 0;
      for (let j = 0; j < d; j++) ms += x[i * d + j] ** 2 / d;
      for (let j = 0; j < d; j++) want[i * d + j] = (gamma[j] * x[i * d + j]) / Math.sqrt(ms + 1e-5);
    }
    const xs = shareReals(x, [rows, d]), ws = shareReals(gamma, [d]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => rmsNorm(ctx, xs[ctx.party], ws[ctx.party]));
    expectNormAccuracy(openReals(y0, y1), want);
    const cost = rmsNormCost(rows, d);
    expect(cost.rounds).toBe(6); // rsqrt's last truncation rides in the product's round
    expect(cost.bytesSent).toBe(24 * rows * d + 40 * rows + 8 * d); // header: 24 B/elem, 40 B per row, 8 B per column
    expectScopeCost(parties, 'rmsNorm', cost);
  });

  it('layerNorm at 16 fractional bits (variances at 2^32 enter the mantissa as trunc(V, sh0)): within 6e-3 + 4e-4·|y|, exact cost', async () => {
    const want = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++) {
      let m = 0, v = 0;
      for (let j = 0; j < d; j++) m += x[i * d + j] / d;
      for (let j = 0; j < d; j++) v += (x[i * d + j] - m) ** 2 / d;
      for (let j = 0; j < d; j++) want[i * d + j] = (gamma[j] * (x[i * d + j] - m)) / Math.sqrt(v + 1e-5) + beta[j];
    }
    const xs = shareReals(x, [rows, d], 16), gs = shareReals(gamma, [d], 16), bs = shareReals(beta, [d], 16);
    const parties = localParties({ fracBits: 16 });
    const [y0, y1] = await runBoth(parties, (ctx) => layerNorm(ctx, xs[ctx.party], gs[ctx.party], bs[ctx.party]));
    expectNormAccuracy(openReals(y0, y1, 16), want);
    const cost = layerNormCost(rows, d, 16);
    expect(cost.rounds).toBe(6);
    expectScopeCost(parties, 'layerNorm', cost);
  });

  it('rmsNormOfResidual: x = x_old + trunc(z) joins in the squares\' round, then rmsNorm: 6 rounds, exact cost on both parties', async () => {
    const r = 2, dd = 64, shift = 24, xr = randomReals(testPrg('norm-res-x'), r * dd, -20, 20), zr = randomReals(testPrg('norm-res-z'), r * dd, -20, 20);
    const wr = decode(encode(randomReals(testPrg('norm-res-w'), dd, -2, 2)));
    const xs = shareReals(xr, [r, dd]), zs = shareReals(zr, [r, dd], 12 + shift), ws = shareReals(wr, [dd]);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => rmsNormOfResidual(ctx, xs[ctx.party], zs[ctx.party], shift, ws[ctx.party]));
    const xNew = decode(encode(xr)).map((v, q) => v + decode(encode([zr[q]], 12 + shift), 12 + shift)[0]);
    const gotX = openReals(a.x, b.x);
    for (let q = 0; q < xNew.length; q++) expect(Math.abs(gotX[q] - xNew[q])).toBeLessThanOrEqual(2 ** -12);
    const want = new Float64Array(r * dd), xq = gotX; // normalise the residual the parties hold
    for (let i = 0; i < r; i++) {
      let ms = 0;
      for (let j = 0; j < dd; j++) ms += xq[i * dd + j] ** 2 / dd;
      for (let j = 0; j < dd; j++) want[i * dd + j] = (wr[j] * xq[i * dd + j]) / Math.sqrt(ms + 1e-5);
    }
    expectNormAccuracy(openReals(a.out, b.out), want);
    const cost = rmsNormOfResidualCost(r, dd, shift);
    // header: rmsNorm's 6 rounds; the residual's truncation adds 8 B per element to the squares' round
    expect(cost.rounds).toBe(rmsNormCost(r, dd).rounds);
    expect(cost.bytesSent).toBe(rmsNormCost(r, dd).bytesSent + 8 * r * dd);
    expectScopeCost(parties, 'rmsNorm', cost);
  });

  it('scaleRows (the norms\' last steps: rsqrt of V/d + eps, x·y·w, one truncation): 5 rounds, exact cost on both parties', async () => {
    const r = 3, dd = 32, xr = randomReals(testPrg('scale-x'), r * dd, -4, 4), wr = decode(encode(randomReals(testPrg('scale-w'), dd, -2, 2)));
    const xq = decode(encode(xr)), V = new Float64Array(r);
    for (let i = 0; i < r; i++) for (let j = 0; j < dd; j++) V[i] += xq[i * dd + j] ** 2; // Σx² at scale 2f, as rmsNorm forms it
    const xs = shareReals(xq, [r, dd]), vs = shareReals(V, [r], 24), ws = shareReals(wr, [dd]);
    const parties = localParties();
    const { out: [y0, y1], used } = await measureBoth(parties, (ctx) => scaleRows(ctx, xs[ctx.party], vs[ctx.party], ws[ctx.party], dd, {}));
    const want = xq.map((v, q) => (wr[q % dd] * v) / Math.sqrt(V[Math.floor(q / dd)] / dd + 1e-5));
    expectNormAccuracy(openReals(y0, y1), want);
    const cost = scaleRowsCost(r, dd, 12, {});
    expect(cost.rounds).toBe(5); // rsqrt 3 (its truncation folded), the broadcast product 1, the truncation 1
    expectCosts(used, cost);
  });

  it('rejects weights of the wrong length', async () => {
    const parties = localParties();
    const xs = shareReals(x, [rows, d]), ws = shareReals(gamma.subarray(0, 10), [10]);
    await expect(runBoth(parties, (ctx) => rmsNorm(ctx, xs[ctx.party], ws[ctx.party]))).rejects.toMatchObject({ name: 'ShapeError' });
  });

  it('rmsNorm / layerNorm at 16 fractional bits with a massive activation (|out| ≈ 150, beyond stories15M\'s final-norm ≈ 72): no wrap, within rsqrt\'s relative bound', async () => {
    const n = 8, dd = 256, f = 16;
    const xr = randomReals(testPrg('norm-massive'), n * dd, -0.5, 0.5);
    for (let i = 0; i < n; i++) { xr[i * dd + 3] = 40; xr[i * dd + 77] = -35; } // one channel carries the row
    const w = new Float64Array(dd).fill(1);
    w[3] = 12; w[77] = 12;
    const b = new Float64Array(dd);
    const xq = decode(encode(xr, f), f), wq = decode(encode(w, f), f);
    const want = new Float64Array(n * dd), wantLn = new Float64Array(n * dd);
    let biggest = 0;
    for (let i = 0; i < n; i++) {
      let ms = 0, m = 0, v = 0;
      for (let j = 0; j < dd; j++) { ms += xq[i * dd + j] ** 2 / dd; m += xq[i * dd + j] / dd; }
      for (let j = 0; j < dd; j++) v += (xq[i * dd + j] - m) ** 2 / dd;
      for (let j = 0; j < dd; j++) {
        want[i * dd + j] = (wq[j] * xq[i * dd + j]) / Math.sqrt(ms + 1e-5);
        wantLn[i * dd + j] = (wq[j] * (xq[i * dd + j] - m)) / Math.sqrt(v + 1e-5);
        biggest = Math.max(biggest, Math.abs(want[i * dd + j]));
      }
    }
    expect(biggest).toBeGreaterThan(128); // beyond what 3f + 8 bits of product scale left room for
    const xs = shareReals(xq, [n, dd], f), ws = shareReals(wq, [dd], f), bs = shareReals(b, [dd], f);
    const parties = localParties({ fracBits: f });
    const [y0, y1] = await runBoth(parties, (ctx) => rmsNorm(ctx, xs[ctx.party], ws[ctx.party]));
    const [z0, z1] = await runBoth(parties, (ctx) => layerNorm(ctx, xs[ctx.party], ws[ctx.party], bs[ctx.party]));
    // 1/σ is relative to 2.5e-4 (rsqrt), so the bound scales with the output; a wrap would be off by 256
    for (const [got, ref] of [[openReals(y0, y1, f), want], [openReals(z0, z1, f), wantLn]] as const) {
      for (let q = 0; q < ref.length; q++) expect(Math.abs(got[q] - ref[q])).toBeLessThanOrEqual(2.5e-4 * Math.abs(ref[q]) + 1e-2);
    }
  });
});

import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { EXP_RAW_SCALE } from '../src/nonlinear/exp-clipped';
import {
  reciprocalOfSums, reciprocalOfSumsCost, RECIP_SCALE, softmaxNumerators, softmaxNumeratorsCost, softmaxRows, softmaxRowsCost,
} from '../src/softmax/softmax-rows';
import { expectCosts, expectScopeCost, measureBoth } from './cost-helpers';
import { maxAbsDiff, openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

/** float64 softmax per row; keep(i, j) false → probability 0. */
function softmaxRef(x: Float64Array, rows: number, L: number, keep: (i: number, j: number) => boolean): Float64Array {
  const out = new Float64Array(rows * L);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity, s = 0;
    for (let j = 0; j < L; j++) if (keep(i, j)) m = Math.max(m, x[i * L + j]);
    for (let j = 0; j < L; j++) if (keep(i, j)) s += Math.exp(x[i * L + j] - m);
    for (let j = 0; j < L; j++) out[i * L + j] = keep(i, j) ? Math.exp(x[i * L + j] - m) / s : 0;
  }
  return out;
}

async function run(xr: Float64Array, rows: number, L: number, causal: boolean, fracBits = 12) {
  const xq = decode(encode(xr, fracBits), fracBits);
  const xs = shareReals(xr, [rows, L], fracBits);
  const parties = localParties({ fracBits });
  const [y0, y1] = await runBoth(parties, (ctx) => softmaxRows(ctx, xs[ctx.party], { causal }));
  const keep = (i: number, j: number) => !causal || j <= i + L - rows;
  return { got: openReals(y0, y1, fracBits), want: softmaxRef(xq, rows, L, keep), parties };
}

describe(`softmaxRows (SEED=${TEST_SEED})`, () => {
  it('4×256 random, peaked and flat rows: ≤ 2e-3 abs, exact rounds and bytes', async () => {
    const rows = 4, L = 256;
    const xr = randomReals(testPrg('softmax'), rows * L, -8, 8);
    // row 1: one clear winner above many tiny terms; row 2: all equal; row 3: wide range with clipping
    for (let j = 0; j < L; j++) {
      xr[L + j] = j === 17 ? 6 : -1 - (j % 7) * 0.01;
      xr[2 * L + j] = 3.25;
      xr[3 * L + j] = -40 + (j * 80) / L;
    }
    const { got, want, parties } = await run(xr, rows, L, false);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(2e-3);
    const cost = softmaxRowsCost(rows, L);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('softmaxRows')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    expect(cost.rounds).toBe(8 + 13); // maxTree 8, exp 7, reciprocal 4, product 1, truncation 1
    const off = parties.ctx[0].ledger.get('softmaxRows').offlineBytes + parties.ctx[1].ledger.get('softmaxRows').offlineBytes;
    expect(off).toBe(cost.offlineBytes);
  });

  it('causal prefill 32×32: masked entries exactly 0, ≤ 2e-3 abs, exact cost', async () => {
    const rows = 32, L = 32;
    const xr = randomReals(testPrg('softmax-causal'), rows * L, -10, 10);
    const { got, want, parties } = await run(xr, rows, L, true);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(2e-3);
    for (let i = 0; i < rows; i++) for (let j = i + 1; j < L; j++) expect(got[i * L + j]).toBe(0);
    expectScopeCost(parties, 'softmaxRows', softmaxRowsCost(rows, L, 12, { causal: true }));
  });

  it('its building blocks softmaxNumerators (e = exp(x − m), s = Σe) and reciprocalOfSums, causal 6×8: exact costs on both parties', async () => {
    const rows = 6, L = 8, opts = { causal: true };
    const xr = randomReals(testPrg('softmax-parts'), rows * L, -6, 6);
    const xs = shareReals(xr, [rows, L]), parties = localParties();
    const num = await measureBoth(parties, (ctx) => softmaxNumerators(ctx, xs[ctx.party], opts));
    expectCosts(num.used, softmaxNumeratorsCost(rows, L, 12, opts));
    const [n0, n1] = num.out, e = openReals(n0.e, n1.e, EXP_RAW_SCALE), sums = openReals(n0.sums, n1.sums, EXP_RAW_SCALE);
    const want = softmaxRef(decode(encode(xr)), rows, L, (i, j) => j <= i + L - rows);
    for (let i = 0; i < rows; i++) {
      const row = e.subarray(i * L, (i + 1) * L);
      expect(sums[i]).toBeCloseTo(row.reduce((a, v) => a + v, 0), 6); // s = Σ e in the ring
      row.forEach((v, j) => expect(Math.abs(v / sums[i] - want[i * L + j])).toBeLessThanOrEqual(1e-3));
    }
    const rec = await measureBoth(parties, (ctx) => reciprocalOfSums(ctx, ctx.party === 0 ? n0 : n1, opts));
    expectCosts(rec.used, reciprocalOfSumsCost(rows, L, 12, opts));
    expectCosts([parties.ctx[0].ledger.get('reciprocal'), parties.ctx[1].ledger.get('reciprocal')], reciprocalOfSumsCost(rows, L, 12, opts));
    const y = openReals(rec.out[0], rec.out[1], RECIP_SCALE);
    for (let i = 0; i < rows; i++) expect(Math.abs(y[i] * sums[i] - 1)).toBeLessThanOrEqual(1e-3);
  });

  it('causal at 16 fractional bits: the filler stays inside the comparison range', async () => {
    const rows = 8, L = 16;
    const xr = randomReals(testPrg('softmax-causal-16'), rows * L, -30, -18); // all below 0: a filler that wraps to 0 would win the max
    const { got, want } = await run(xr, rows, L, true, 16);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(2e-3);
    for (let i = 0; i < rows; i++) for (let j = i + L - rows + 1; j < L; j++) expect(got[i * L + j]).toBe(0);
  });

  it('causal rows whose scores lie near the bottom of the allowed range (|x| < 2^(bits − 2 − inF)) keep their mass', async () => {
    // 2^17 ≤ −x < 2^18 at bits 32, f 12: below the old constant filler −2^(bits−3) ring units, which
    // then won the max and emptied the row
    const rows = 4, L = 6;
    const xr = new Float64Array(rows * L).map((_, q) => -140_000 - (q % 5) * 1.5);
    const { got, want } = await run(xr, rows, L, true);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(2e-3);
    for (let i = 0; i < rows; i++) expect(got.slice(i * L, (i + 1) * L).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
  });

  it('scores at 2f (untruncated q·kᵀ) with the coarse max: ≤ 2e-3 abs, exact costs, fewer key bytes than the exact max', async () => {
    const rows = 3, L = 300, f = 16, inF = 2 * f, bits = 48;
    const xr = randomReals(testPrg('softmax-2f'), rows * L, -12, 12);
    // row 1: near-ties at the top (within the max's 1/32 resolution), row 2: one winner far above
    for (let j = 0; j < L; j++) {
      if (j % 50 === 3) xr[L + j] = 9 + (j / L) * 0.03;
      xr[2 * L + j] = j === 123 ? 20 : -5 + (j % 11) * 0.1;
    }
    const xs = shareReals(xr, [rows, L], inF);
    const xq = decode(encode(xr, inF), inF);
    const opts = { bits, inFracBits: inF };
    const parties = localParties({ fracBits: f });
    const [y0, y1] = await runBoth(parties, (ctx) => softmaxRows(ctx, xs[ctx.party], opts));
    expect(maxAbsDiff(openReals(y0, y1, f), softmaxRef(xq, rows, L, () => true))).toBeLessThanOrEqual(2e-3);
    const cost = softmaxRowsCost(rows, L, f, opts);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('softmaxRows')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    const off = parties.ctx[0].ledger.get('softmaxRows').offlineBytes + parties.ctx[1].ledger.get('softmaxRows').offlineBytes;
    expect(off).toBe(cost.offlineBytes);
    const exact = softmaxRowsCost(rows, L, f, { ...opts, maxResolutionLog2: null });
    expect(exact.rounds).toBe(cost.rounds);
    expect(cost.offlineBytes).toBeLessThan(0.75 * exact.offlineBytes);
  });

  it('12×1024 stays within 30 rounds and 1/5 of CrypTen bytes (cost formula)', () => {
    const c = softmaxRowsCost(12, 1024);
    expect(c.rounds).toBeLessThanOrEqual(30);
    expect(c.bytesSent).toBeLessThanOrEqual(8_533_536 / 5);
  });
});

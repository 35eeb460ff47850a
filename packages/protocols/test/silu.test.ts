import { decode, encode } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost, dcfKeyBytes, localParties, runBoth } from '@mpcache/protocols';
import { silu, siluCost, siluDesign, siluMul, siluMulCost } from '../src/nonlinear/silu';
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
    // header: one 15-level DCF key (m = 4) per element to each party + 62 B to P0
    expect(cost.offlineBytes).toBe(n * (2 * dcfKeyBytes(15, 4) + 62));
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

describe(`silu at tol 3e-4 and 16 fractional bits (the deployments' default, SEED=${TEST_SEED})`, () => {
  it('≤ 3e-4 + 1 ulp abs on [−16, 16] with at most 12 knots (the cubic coefficient\'s 2^−12 grid absorbed by refitting)', async () => {
    const n = 2048, f = 16;
    const xr = randomReals(testPrg('silu-f16'), n, -16, 16);
    xr.set([-16, 16, 0, -12, 12, -6.4375, 2 ** -f, -(2 ** -f), 1.3, -1.7]);
    const xq = decode(encode(xr, f), f);
    const xs = shareReals(xr, [n], f);
    const parties = localParties({ fracBits: f });
    const [y0, y1] = await runBoth(parties, (ctx) => silu(ctx, xs[ctx.party], { tol: 3e-4 }));
    expect(maxAbsDiff(openReals(y0, y1, f), xq.map((x) => x / (1 + Math.exp(-x))))).toBeLessThanOrEqual(3e-4 + 2 ** -f);
    const design = siluDesign(f, { tol: 3e-4 });
    expect(design.thresholds.length).toBeLessThanOrEqual(12);
    expect(design.checkedError).toBeLessThanOrEqual(3e-4);
  });
});

describe(`siluMul: SiLU(x)·q with the truncation folded into the product (SEED=${TEST_SEED})`, () => {
  it('equals float64 SiLU(x)·q within (3e-4 + 1 ulp)·|q| + ulp, in 2 rounds (silu + beaverMul: 3), 32 B/elem', async () => {
    const n = 2048, f = 12;
    const xr = randomReals(testPrg('silumul-x'), n, -16, 16), qr = randomReals(testPrg('silumul-q'), n, -4, 4);
    xr.set([-16, 16, 0, -12, 12, -6.4375, 2 ** -12, -(2 ** -12)]);
    const xq = decode(encode(xr)), qq = decode(encode(qr));
    const xs = shareReals(xr, [n]), qs = shareReals(qr, [n]);
    const parties = localParties();
    const [y0, y1] = await runBoth(parties, (ctx) => siluMul(ctx, xs[ctx.party], qs[ctx.party], { tol: 3e-4 }));
    const got = openReals(y0, y1, 2 * f);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(got[i] - (xq[i] / (1 + Math.exp(-xq[i]))) * qq[i]) - (3e-4 + 2 ** -f) * Math.abs(qq[i]));
    expect(worst).toBeLessThanOrEqual(2 ** -(2 * f));
    const cost = siluMulCost(n, f, { tol: 3e-4 }), unfolded = siluCost(n, f, { tol: 3e-4 });
    for (const p of [0, 1] as const) expect(parties.ctx[p].ledger.get('siluMul')).toMatchObject({ rounds: 2, bytesSent: 32 * n });
    expect(parties.ctx[0].ledger.get('siluMul').offlineBytes + parties.ctx[1].ledger.get('siluMul').offlineBytes).toBe(cost.offlineBytes);
    expect([cost.rounds, cost.bytesSent]).toEqual([unfolded.rounds + beaverMulCost(n).rounds - 1, unfolded.bytesSent + beaverMulCost(n).bytesSent]);
  });

  it('agrees with silu then beaverMul on the same shares (each within tol of SiLU(x)·q)', async () => {
    const n = 512, f = 12;
    const xs = shareReals(randomReals(testPrg('silumul-same-x'), n, -10, 10), [n]), qs = shareReals(randomReals(testPrg('silumul-same-q'), n, -3, 3), [n]);
    const parties = localParties();
    const [[a0, b0], [a1, b1]] = await runBoth(parties, async (ctx) => {
      const folded = await siluMul(ctx, xs[ctx.party], qs[ctx.party]);
      const plain = await beaverMul(ctx, await silu(ctx, xs[ctx.party]), qs[ctx.party]);
      return [folded, plain] as const;
    }).then(([p0, p1]) => [[p0[0], p1[0]], [p0[1], p1[1]]]);
    const folded = openReals(a0, b0, 2 * f), plain = openReals(a1, b1, 2 * f), q = openReals(qs[0], qs[1], f);
    // each is (SiLU(x) + ε)·q with |ε| ≤ tol + 1 ulp (its own masks: a knot comparison near a knot,
    // at 1/16 resolution, and the truncation carry may go either way), so they differ by ≤ 2(tol + ulp)·|q|
    const tol = 3e-3;
    for (let i = 0; i < n; i++) expect(Math.abs(folded[i] - plain[i])).toBeLessThanOrEqual(2 * (tol + 2 ** -f) * Math.abs(q[i]) + 2 ** -(2 * f));
  });
});

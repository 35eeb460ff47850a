import { encode } from '@mpcache/mpc-core';
import { localParties, runBoth, type LocalParties } from '@mpcache/protocols';
import { foldedMul, foldedMulCost } from '../src/nonlinear/folded-mul';
import { addPoly, compareInput, openPolyInput, polyInputCost } from '../src/nonlinear/poly-input';
import { dcfKeyBytes } from '../src/fss/dcf-keygen';
import { expectCosts, expectScopeCost } from './cost-helpers';
import { randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const { asUintN, asIntN } = BigInt;
const add = (a: BigUint64Array, b: BigUint64Array) => a.map((v, i) => asUintN(64, v + b[i]));
/** Both parties' whole ledgers (openPolyInput has no scope of its own: it runs in its caller's). */
const totals = (p: LocalParties) => p.ctx.map((c) => c.ledger.snapshot());
/** ⌊x / 2^s⌋ (signed). */
const floorShift = (x: bigint, s: number) => asIntN(64, x) >> BigInt(s);

describe(`openPolyInput / foldedMul (SEED=${TEST_SEED})`, () => {
  const n = 400;
  const xr = randomReals(testPrg('polyin'), n, -3000, 3000);
  xr.set([0, -(2 ** -12), 2 ** -12, 16, -16, 15.999, 47.5, -1000]);
  const X = encode(xr);

  it('exact powers and centred polynomials of x, one round, 8 B/elem; exact cost on both parties', async () => {
    const xs = shareReals(xr, [n]);
    const parties = localParties();
    const K = [5n, -3n, 7n, 2n], c = 1234n;
    const res = await runBoth(parties, async (ctx) => {
      const inp = await openPolyInput(ctx, xs[ctx.party], { shift: 0, degree: 3, k: 0, cmpShift: 0, payload: 1 });
      const out = new BigUint64Array(n);
      addPoly(out, inp.base, inp.A, K, c);
      return out;
    });
    const got = add(res[0], res[1]);
    for (let i = 0; i < n; i++) {
      const u = asIntN(64, X[i]) - c;
      expect(got[i]).toBe(asUintN(64, K[0] + K[1] * u + K[2] * u ** 2n + K[3] * u ** 3n));
    }
    const cost = polyInputCost(n, { shift: 0, degree: 3, k: 0, cmpShift: 0, payload: 1 });
    expect([cost.rounds, cost.bytesSent]).toEqual([1, 8 * n]); // header: 1 round, 8 B/elem
    expectCosts(totals(parties), cost, 'p0'); // no thresholds: every dealer word goes to P0
  });

  for (const shift of [12, 40]) {
    it(`powers of trunc(x, ${shift}) (wrap terms up to W^${Math.floor(63 / (64 - shift))}) and a second truncation`, async () => {
      const big = X.map((v) => asUintN(64, v << 28n)); // x at scale 40: |X| < 2^52
      const [s0, s1] = [{ shape: [n], data: new BigUint64Array(n) }, { shape: [n], data: big }];
      s0.data.set(testPrg(`polyin-${shift}`).words(n));
      s1.data = big.map((v, i) => asUintN(64, v - s0.data[i]));
      const parties = localParties();
      const res = await runBoth(parties, async (ctx) => {
        const inp = await openPolyInput(ctx, ctx.party === 0 ? s0 : s1, { shift, degree: 4, k: 0, cmpShift: 0, payload: 1, shift2: 20 });
        const out = new BigUint64Array(n);
        addPoly(out, inp.base, inp.A, [0n, 0n, 0n, 0n, 1n], 0n);
        const t = new BigUint64Array(n);
        addPoly(t, inp.base, inp.A, [0n, 1n], 0n);
        return { out, t, extra: inp.extra!.data };
      });
      const t = add(res[0].t, res[1].t), t4 = add(res[0].out, res[1].out), t2 = add(res[0].extra, res[1].extra);
      for (let i = 0; i < n; i++) {
        const d = asIntN(64, t[i]) - floorShift(big[i], shift);
        expect(d === 0n || d === 1n).toBe(true);
        expect(t4[i]).toBe(asUintN(64, asIntN(64, t[i]) ** 4n));
        const d2 = asIntN(64, t2[i]) - floorShift(big[i], 20);
        expect(d2 === 0n || d2 === 1n).toBe(true);
      }
      const cost = polyInputCost(n, { shift, degree: 4, k: 0, cmpShift: 0, payload: 1, shift2: 20 });
      expect([cost.rounds, cost.bytesSent]).toEqual([1, 8 * n]);
      expectCosts(totals(parties), cost, 'p0');
    });
  }

  it('comparisons of trunc(x, 8) with payload products b·x^i, exact away from the ±1 carry', async () => {
    const xs = shareReals(xr, [n]);
    const C = [-1000n, 0n, 1n, 47n * 16n]; // at scale 4
    const parties = localParties();
    const prm = { shift: 0, degree: 3, k: 20, cmpShift: 8, payload: 4 };
    const res = await runBoth(parties, async (ctx) => {
      const inp = await openPolyInput(ctx, xs[ctx.party], prm);
      const bits = compareInput(inp, C);
      // b·x² via the payloads, from the public base
      const bx2 = C.map((_, c) => { const o = new BigUint64Array(n); addPoly(o, inp.base, bits[c], [0n, 0n, 1n], 0n); return o; });
      return { bits, bx2 };
    });
    for (let c = 0; c < C.length; c++) {
      const b = add(res[0].bits[c][0], res[1].bits[c][0]), bx2 = add(res[0].bx2[c], res[1].bx2[c]);
      for (let i = 0; i < n; i++) {
        const lo = floorShift(X[i], 8), want = lo >= C[c] ? 1n : lo + 1n < C[c] ? 0n : -1n; // −1: inside the carry
        if (want >= 0n) expect(b[i]).toBe(want);
        else expect(b[i] === 0n || b[i] === 1n).toBe(true);
        expect(bx2[i]).toBe(asUintN(64, b[i] * asIntN(64, X[i]) ** 2n));
      }
    }
    const cost = polyInputCost(n, prm);
    expect([cost.rounds, cost.bytesSent]).toEqual([1, 8 * n]);
    // header: one (k − 1)-bit DCF key with `payload` words to EACH party; the rest to P0
    const key = n * dcfKeyBytes(prm.k - 1, prm.payload);
    expectCosts(totals(parties), cost, [cost.offlineBytes - key, key]);
  });

  it('foldedMul: t = trunc(z) and t·q_k in one round, exact cost', async () => {
    const zs = shareReals(xr, [n], 24), q1 = shareReals(xr.map((v) => v / 1000), [n]), q2 = shareReals(xr.map((v) => -v), [n]);
    const Z = encode(xr, 24), Q1 = encode(xr.map((v) => v / 1000)), Q2 = encode(xr.map((v) => -v));
    const parties = localParties();
    const res = await runBoth(parties, (ctx) => foldedMul(ctx, zs[ctx.party], 12, [q1[ctx.party], q2[ctx.party]]));
    const t = add(res[0].t.data, res[1].t.data), p1 = add(res[0].products[0].data, res[1].products[0].data), p2 = add(res[0].products[1].data, res[1].products[1].data);
    for (let i = 0; i < n; i++) {
      const d = asIntN(64, t[i]) - floorShift(Z[i], 12);
      expect(d === 0n || d === 1n).toBe(true);
      expect(p1[i]).toBe(asUintN(64, t[i] * Q1[i]));
      expect(p2[i]).toBe(asUintN(64, t[i] * Q2[i]));
    }
    const cost = foldedMulCost(n, 12, 2);
    expect([cost.rounds, cost.bytesSent]).toEqual([1, 24 * n]); // header: 1 round, 8·(1 + P) B/elem
    expectScopeCost(parties, 'foldedMul', cost, 'p0');
  });
});

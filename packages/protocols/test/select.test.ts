import { reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import { localParties, runBoth, type LocalParties } from '../src';
import { clearSeedBits } from '../src/fss/fss-prg';
import { dcfGen } from '../src/fss/dcf-keygen';
import { defaultFssPrg } from '../src/fss/dpf-keygen';
import { relu, reluCost, selectCombine, dreluSelectCost, type SelectKeys } from '../src/select/relu';
import { clip, clipCost, maxOf, maxOfCost, minOf, mux, muxCost, selectCompare, selectCompareCost } from '../src/select/mux';
import { testPrg, TEST_SEED } from './helpers';

const ring = (v: bigint) => BigInt.asUintN(64, v);
const sgn = (v: bigint) => BigInt.asIntN(64, v);
const sharedOf = (xs: bigint[]) => share(tensor([xs.length], BigUint64Array.from(xs.map(ring))));
const open = (a: RingTensor, b: RingTensor) => [...reconstruct(a, b).data].map(sgn);

function values(k: number, label: string, n: number): bigint[] {
  const half = 1n << BigInt(k - 1), prg = testPrg(label);
  const xs = [0n, -1n, 1n, -half, half - 1n, 4096n, -4096n].filter((v) => v >= -half && v < half);
  for (const w of prg.words(n)) xs.push(BigInt.asIntN(k, w));
  return xs;
}

function expectCost(parties: LocalParties, scope: string, cost: { rounds: number; bytesSent: number; offlineBytes: number }) {
  const c0 = parties.ctx[0].ledger.get(scope), c1 = parties.ctx[1].ledger.get(scope);
  expect([c0.rounds, c1.rounds]).toEqual([cost.rounds, cost.rounds]);
  expect([c0.bytesSent, c1.bytesSent]).toEqual([cost.bytesSent, cost.bytesSent]);
  expect(c0.offlineBytes + c1.offlineBytes).toBe(cost.offlineBytes);
}

describe(`relu, 1 round (SEED=${TEST_SEED})`, () => {
  for (const k of [16, 40, 64]) {
    it(`k = ${k}: exact, 8 B/elem, exact offline bytes`, async () => {
      const xs = values(k, `relu${k}`, 200);
      const [x0, x1] = sharedOf(xs);
      const parties = localParties();
      const [z0, z1] = await runBoth(parties, (ctx) => relu(ctx, ctx.party === 0 ? x0 : x1, k));
      expect(open(z0, z1)).toEqual(xs.map((v) => (v > 0n ? v : 0n)));
      expectCost(parties, 'relu', reluCost(xs.length, k));
    });
  }
  it('k = 64 offline matches fss.md (2·2032 per element plus [ρ], [ρ·r])', () => {
    expect(reluCost(1, 64)).toEqual({ rounds: 1, bytesSent: 8, offlineBytes: 2 * 2032 + 16 });
    expect(dreluSelectCost(1, 64, 1)).toEqual({ rounds: 1, bytesSent: 16, offlineBytes: 2 * 2544 + 24 });
  });
});

describe('selectCombine with edge masks', () => {
  it('ρ = 0/1, r\' = 0 and 2^(k−1) − 1, with one payload (k = 16, 64)', () => {
    for (const k of [16, 64]) {
      const top = BigInt(k - 1), half = 1n << top;
      const masks = [0n, half - 1n, half, (half << 1n) - 1n, 0xfedcba9876543210n];
      const xs = values(k, `sc-edge${k}`, 6), ds = [5n, -7n, 0n, 1n << 62n];
      const rs: bigint[] = [], cs: bigint[] = [], dl: bigint[] = [];
      for (const r of masks) for (const x of xs) for (const d of ds) { rs.push(ring(r)); cs.push(x); dl.push(d); }
      const N = rs.length, prg = testPrg(`sc-mat${k}`), m = 3;
      const sv = prg.words(N);
      const split = (v: BigUint64Array): [BigUint64Array, BigUint64Array] => {
        const a = prg.words(v.length);
        return [a, v.map((w, i) => BigInt.asUintN(64, w - a[i]))];
      };
      const rv = BigUint64Array.from(rs), rho = rv.map((v) => (v >> top) & 1n);
      const roots0 = clearSeedBits(prg.bytes(16 * N)), roots1 = clearSeedBits(prg.bytes(16 * N));
      const beta = new BigUint64Array(N * m);
      for (let i = 0; i < N; i++) {
        const s = BigInt.asUintN(64, 1n - 2n * rho[i]);
        beta.set([s, BigInt.asUintN(64, s * rv[i]), BigInt.asUintN(64, s * sv[i])], i * m);
      }
      const cws = dcfGen(defaultFssPrg(), k - 1, m, rv.map((v) => v & (half - 1n)), beta, roots0, roots1);
      const [r0, r1] = split(rv), [s0, s1] = split(sv), [p0, p1] = split(rho);
      const [pr0, pr1] = split(rho.map((v, i) => BigInt.asUintN(64, v * rv[i])));
      const [ps0, ps1] = split(rho.map((v, i) => BigInt.asUintN(64, v * sv[i])));
      const mat = (r: BigUint64Array, s: BigUint64Array, p: BigUint64Array, pr: BigUint64Array, ps: BigUint64Array, roots: Uint8Array): SelectKeys =>
        ({ r, s: [s], rho: p, rhoR: pr, rhoS: [ps], keys: { n: k - 1, m, count: N, roots, cws } });
      const cHat = BigUint64Array.from(cs, (c, i) => BigInt.asUintN(64, ring(c) + rv[i]));
      const dHat = BigUint64Array.from(dl, (d, i) => BigInt.asUintN(64, ring(d) + sv[i]));
      const a = selectCombine(0, cHat, [dHat], mat(r0, s0, p0, pr0, ps0, roots0), k);
      const b = selectCombine(1, cHat, [dHat], mat(r1, s1, p1, pr1, ps1, roots1), k);
      for (let i = 0; i < N; i++) {
        const ge = cs[i] >= 0n;
        expect(sgn(a.prod[i] + b.prod[i])).toBe(ge ? cs[i] : 0n);
        expect(sgn(a.sel[0][i] + b.sel[0][i])).toBe(ge ? dl[i] : 0n);
        expect(BigInt.asUintN(64, a.bit[i] + b.bit[i])).toBe(ge ? 1n : 0n);
      }
    }
  });
});

describe('mux, selectCompare, max/min/clip', () => {
  it('mux with a shared bit: 1 round, 16 B/elem', async () => {
    const prg = testPrg('mux');
    const n = 50, cs = Array.from({ length: n }, (_, i) => BigInt(i % 2));
    const xs = [...prg.words(n)].map(sgn), ys = [...prg.words(n)].map(sgn);
    const [c, x, y] = [sharedOf(cs), sharedOf(xs), sharedOf(ys)];
    const parties = localParties();
    const [z0, z1] = await runBoth(parties, (ctx) => mux(ctx, c[ctx.party], x[ctx.party], y[ctx.party]));
    expect(open(z0, z1)).toEqual(cs.map((b, i) => (b ? xs[i] : ys[i])));
    expectCost(parties, 'mux', muxCost(n));
  });

  for (const k of [16, 40, 64]) {
    it(`selectCompare k = ${k}: max and argmax of a pair in one round, ties pick x`, async () => {
      const lim = 1n << BigInt(k - 2);
      const prg = testPrg(`selcmp${k}`);
      const xs: bigint[] = [], ys: bigint[] = [];
      for (let i = 0; i < 120; i++) {
        const a = BigInt.asIntN(k - 1, prg.words(1)[0]);
        xs.push(a >= lim ? lim - 1n : a);
        ys.push(i % 4 === 0 ? xs[i] : BigInt.asIntN(k - 1, prg.words(1)[0]) >> 1n);
      }
      xs.push(lim - 1n, -lim, 0n, -1n);
      ys.push(-lim, lim - 1n, 0n, -1n);
      const n = xs.length;
      const ix = xs.map((_, i) => BigInt(2 * i)), iy = xs.map((_, i) => BigInt(2 * i + 1));
      const [x, y, px, py] = [sharedOf(xs), sharedOf(ys), sharedOf(ix), sharedOf(iy)];
      const parties = localParties();
      const [r0, r1] = await runBoth(parties, (ctx) =>
        selectCompare(ctx, x[ctx.party], y[ctx.party], [[px[ctx.party], py[ctx.party]]], k));
      expect(open(r0.max, r1.max)).toEqual(xs.map((v, i) => (v >= ys[i] ? v : ys[i])));
      expect(open(r0.selected[0], r1.selected[0])).toEqual(xs.map((v, i) => (v >= ys[i] ? ix[i] : iy[i])));
      expect(open(r0.ge, r1.ge)).toEqual(xs.map((v, i) => (v >= ys[i] ? 1n : 0n)));
      expectCost(parties, 'selectCompare', selectCompareCost(n, k, 1));
    });
  }

  it('selectCompare with two payloads (DCF m = 4), 24 B/elem', async () => {
    const prg = testPrg('sc2');
    const n = 40, k = 32;
    const [xs, ys, a1, b1, a2, b2] = [0, 1, 2, 3, 4, 5].map((j) => [...prg.words(n)].map((v) => BigInt.asIntN(j < 2 ? 30 : 64, v)));
    ys[3] = xs[3];
    const sh = [xs, ys, a1, b1, a2, b2].map(sharedOf);
    const parties = localParties();
    const [r0, r1] = await runBoth(parties, (ctx) =>
      selectCompare(ctx, sh[0][ctx.party], sh[1][ctx.party], [[sh[2][ctx.party], sh[3][ctx.party]], [sh[4][ctx.party], sh[5][ctx.party]]], k));
    expect(open(r0.selected[0], r1.selected[0])).toEqual(xs.map((v, i) => (v >= ys[i] ? a1[i] : b1[i])));
    expect(open(r0.selected[1], r1.selected[1])).toEqual(xs.map((v, i) => (v >= ys[i] ? a2[i] : b2[i])));
    expectCost(parties, 'selectCompare', selectCompareCost(n, k, 2));
    expect(selectCompareCost(n, k, 2).bytesSent).toBe(24 * n);
  });

  it('maxOf, minOf (1 round each) and clip with public and shared bounds (2 rounds)', async () => {
    const k = 40, xs = values(k - 2, 'mm', 60), ys = values(k - 2, 'mm2', 60).reverse();
    const [x, y] = [sharedOf(xs), sharedOf(ys)];
    const parties = localParties();
    const lo = -3n << 12n, hi = 5n << 12n;
    const absY = ys.map((v) => (v > 0n ? v : -v)), hiShared = sharedOf(absY);
    const [a, b] = await runBoth(parties, async (ctx) => ({
      mx: await maxOf(ctx, x[ctx.party], y[ctx.party], k),
      mn: await minOf(ctx, x[ctx.party], y[ctx.party], k),
      cl: await clip(ctx, x[ctx.party], lo, hi, k),
      cl2: await clip(ctx, x[ctx.party], y[ctx.party], hiShared[ctx.party], k),
    }));
    expect(open(a.mx, b.mx)).toEqual(xs.map((v, i) => (v > ys[i] ? v : ys[i])));
    expect(open(a.mn, b.mn)).toEqual(xs.map((v, i) => (v < ys[i] ? v : ys[i])));
    expect(open(a.cl, b.cl)).toEqual(xs.map((v) => (v < lo ? lo : v > hi ? hi : v)));
    expect(open(a.cl2, b.cl2)).toEqual(xs.map((v, i) => (v < ys[i] ? ys[i] : v > absY[i] ? absY[i] : v)));
    const n = xs.length;
    expectCost(parties, 'maxOf', maxOfCost(n, k));
    expectCost(parties, 'minOf', maxOfCost(n, k));
    const once = clipCost(n, k); // two clip calls above
    expectCost(parties, 'clip', { rounds: 2 * once.rounds, bytesSent: 2 * once.bytesSent, offlineBytes: 2 * once.offlineBytes });
  });
});

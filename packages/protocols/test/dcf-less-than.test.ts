import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { localParties, runBoth } from '../src';
import { clearSeedBits } from '../src/fss/fss-prg';
import { dcfGen, type DcfKeys } from '../src/fss/dcf-keygen';
import { defaultFssPrg } from '../src/fss/dpf-keygen';
import {
  dcfLessThan, dcfLessThanCost, dcfLessThanZero, dcfLessThanZeroCost, drelu, dreluCost, ltzCombine, type LtzKeys,
} from '../src/fss/dcf-less-than';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

const M64 = (1n << 64n) - 1n;
const signed = (v: bigint, k: number) => BigInt.asIntN(k, v);
/** A signed k-bit value as a ring element. */
const ring = (v: bigint) => BigInt.asUintN(64, v);

/** Edge and random signed k-bit values. */
function edgeValues(k: number, label: string, nRandom: number): bigint[] {
  const half = 1n << BigInt(k - 1);
  const prg = testPrg(label);
  const xs = [0n, -1n, 1n, -half, half - 1n, -half + 1n, half - 2n, 2n, -2n].filter((v) => v >= -half && v < half);
  for (const w of prg.words(nRandom)) xs.push(signed(w, k));
  return xs;
}

async function runLtz(xs: bigint[], k: number, op: 'ltz' | 'drelu') {
  const x = tensor([xs.length], BigUint64Array.from(xs.map(ring)));
  const [x0, x1] = share(x);
  const parties = localParties();
  const [z0, z1] = await runBoth(parties, (ctx) => (op === 'ltz' ? dcfLessThanZero : drelu)(ctx, ctx.party === 0 ? x0 : x1, k));
  return { z: reconstruct(z0, z1), parties };
}

/** Header: per element one (k − 1)-bit DCF key, 24(k − 1) + 8 B, to each party, plus [ρ]'s 8 B to P0. */
const ltzSplit = (n: number, k: number): [number, number] => [n * (24 * (k - 1) + 8 + 8), n * (24 * (k - 1) + 8)];

describe(`dcfLessThanZero (SEED=${TEST_SEED})`, () => {
  for (const k of [2, 16, 40, 64]) {
    it(`k = ${k}: exact on edges and random values, 1 round, ⌈k/8⌉ B, exact offline bytes`, async () => {
      const xs = edgeValues(k, `ltz${k}`, 300);
      const { z, parties } = await runLtz(xs, k, 'ltz');
      xs.forEach((v, i) => expect(z.data[i]).toBe(v < 0n ? 1n : 0n));
      const cost = dcfLessThanZeroCost(xs.length, k);
      const c0 = parties.ctx[0].ledger.get('dcfLessThanZero'), c1 = parties.ctx[1].ledger.get('dcfLessThanZero');
      for (const c of [c0, c1]) {
        expect(c.rounds).toBe(cost.rounds);
        expect(c.bytesSent).toBe(cost.bytesSent);
      }
      expect(c0.offlineBytes + c1.offlineBytes).toBe(cost.offlineBytes);
      expect(c0.offlineBytes - c1.offlineBytes).toBe(8 * xs.length); // [ρ] correction to P0 only
    });
  }

  it('k = 64 cost matches fss.md (1 round, 8 B, 2·1520 + 8 B offline per element)', () => {
    expect(dcfLessThanZeroCost(1, 64)).toEqual({ rounds: 1, bytesSent: 8, offlineBytes: 3048 });
    expect(dcfLessThanZeroCost(1, 40)).toEqual({ rounds: 1, bytesSent: 5, offlineBytes: 1896 });
  });

  it('drelu = 1 − LTZ (k = 40); exact cost on both parties', async () => {
    const xs = edgeValues(40, 'drelu', 50);
    const { z, parties } = await runLtz(xs, 40, 'drelu');
    xs.forEach((v, i) => expect(z.data[i]).toBe(v >= 0n ? 1n : 0n));
    expectScopeCost(parties, 'drelu', dreluCost(xs.length, 40), ltzSplit(xs.length, 40));
  });

  it('dcfLessThan(x, y) on fixed-point-like values with ties (k = 40); exact cost on both parties', async () => {
    const prg = testPrg('lt');
    const n = 200, k = 40, lim = 1n << 37n;
    const xs: bigint[] = [], ys: bigint[] = [];
    for (let i = 0; i < n; i++) {
      const a = signed(prg.words(1)[0], 38), b = i % 5 === 0 ? a : signed(prg.words(1)[0], 38);
      xs.push(a < lim ? a : lim - 1n);
      ys.push(b);
    }
    xs.push(lim - 1n, -lim, 0n);
    ys.push(-lim, lim - 1n, 0n);
    const x = share(tensor([xs.length], BigUint64Array.from(xs.map(ring))));
    const y = share(tensor([ys.length], BigUint64Array.from(ys.map(ring))));
    const parties = localParties();
    const [z0, z1] = await runBoth(parties, (ctx) => dcfLessThan(ctx, x[ctx.party], y[ctx.party], k));
    const z = reconstruct(z0, z1);
    xs.forEach((v, i) => expect(z.data[i]).toBe(v < ys[i] ? 1n : 0n));
    expectScopeCost(parties, 'dcfLessThan', dcfLessThanCost(xs.length, k), ltzSplit(xs.length, k));
  });

  it('empty input: no bytes, one (empty) round', async () => {
    const { z } = await runLtz([], 64, 'ltz');
    expect(z.data.length).toBe(0);
  });

  it('rejects bits outside [2, 64]', async () => {
    const parties = localParties();
    await expect(dcfLessThanZero(parties.ctx[0], tensor([1]), 1)).rejects.toThrow(RangeError);
    await expect(dcfLessThanZero(parties.ctx[0], tensor([1]), 65)).rejects.toThrow(/\[2, 64\]/);
  });
});

/** Dealer material for chosen masks r (test hook: the spec draws r itself). */
function ltzMaterial(r: bigint[], k: number, label: string): [LtzKeys, LtzKeys] {
  const N = r.length, prg = testPrg(label), top = BigInt(k - 1);
  const r0 = prg.words(N), rho0 = prg.words(N);
  const r1 = BigUint64Array.from(r, (v, i) => BigInt.asUintN(64, v - r0[i]));
  const rho1 = BigUint64Array.from(r, (v, i) => BigInt.asUintN(64, ((v >> top) & 1n) - rho0[i]));
  const roots0 = clearSeedBits(prg.bytes(16 * N)), roots1 = clearSeedBits(prg.bytes(16 * N));
  const alpha = BigUint64Array.from(r, (v) => v & ((1n << top) - 1n));
  const beta = BigUint64Array.from(r, (v) => BigInt.asUintN(64, 1n - 2n * ((v >> top) & 1n)));
  const cws = dcfGen(defaultFssPrg(), k - 1, 1, alpha, beta, roots0, roots1);
  const key = (roots: Uint8Array): DcfKeys => ({ n: k - 1, m: 1, count: N, roots, cws });
  return [{ r: r0, rho: rho0, keys: key(roots0) }, { r: r1, rho: rho1, keys: key(roots1) }];
}

describe('LTZ algebra with edge masks (ρ = 0/1, r\' = 0 and 2^(k−1) − 1)', () => {
  for (const k of [2, 16, 40, 64]) {
    it(`k = ${k}`, () => {
      const half = 1n << BigInt(k - 1), modK = k === 64 ? M64 : (1n << BigInt(k)) - 1n;
      const masks = [0n, half - 1n, half, modK, half + 1n, 1n].map((v) => v & modK);
      const xs = edgeValues(k, `edge${k}`, 10);
      const rs: bigint[] = [], vs: bigint[] = [];
      for (const r of masks) for (const x of xs) { rs.push(r | (k < 64 ? 0xabcn << BigInt(k) : 0n)); vs.push(x); }
      const [m0, m1] = ltzMaterial(rs, k, `edge-mat${k}`);
      const xHat = BigUint64Array.from(vs, (x, i) => BigInt.asUintN(k, ring(x) + rs[i]));
      const z0 = ltzCombine(0, xHat, m0, k), z1 = ltzCombine(1, xHat, m1, k);
      vs.forEach((x, i) => expect(BigInt.asUintN(64, z0[i] + z1[i])).toBe(x < 0n ? 1n : 0n));
    });
  }
});

import { reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import {
  equal,
  localParties,
  lookupTable,
  lookupTableCost,
  dpfKeyBytes,
  oneHot,
  oneHotCost,
  openMaskedIndex,
  runBoth,
  tableOf,
  zeroTest,
  zeroTestCost,
} from '@mpcache/protocols';
import { expectCosts, measureBoth } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

const M64 = (1n << 64n) - 1n;
type Parties = ReturnType<typeof localParties>;

function expectCost(parties: Parties, scope: string, cost: { rounds: number; bytesSent: number; offlineBytes: number }) {
  const c = [0, 1].map((p) => parties.ctx[p].ledger.get(scope));
  for (const s of c) {
    expect(s.rounds).toBe(cost.rounds);
    expect(s.bytesSent).toBe(cost.bytesSent);
  }
  expect(c[0].offlineBytes).toBe(cost.offlineBytes / 2); // symmetric: DPF CWs go to both parties
  expect(c[0].offlineBytes + c[1].offlineBytes).toBe(cost.offlineBytes);
}

describe(`zeroTest / equal (SEED=${TEST_SEED})`, () => {
  for (const k of [1, 2, 8, 16, 40, 63, 64]) {
    it(`k = ${k}: [x ≡ 0 mod 2^k] at 0, ±1, ±2^(k−1), 2^k and random; exact cost`, async () => {
      const prg = testPrg(`zt${k}`);
      const h = 1n << BigInt(k - 1);
      const xs = [0n, 1n, M64, h, -h, 1n << BigInt(k), 3n << BigInt(k), ...prg.words(9)].map((v) => BigInt.asUintN(64, v));
      const x = tensor([xs.length], BigUint64Array.from(xs));
      const sx = share(x, prg);
      const parties = localParties();
      const [a, b] = await runBoth(parties, (ctx) => zeroTest(ctx, sx[ctx.party], k));
      const got = reconstruct(a, b).data;
      xs.forEach((v, i) => expect(got[i]).toBe(BigInt.asUintN(k, v) === 0n ? 1n : 0n));
      expectCost(parties, 'zeroTest', zeroTestCost(xs.length, k));
    });
  }

  it('equal on a 2-D tensor with equal and unequal pairs', async () => {
    const prg = testPrg('eq');
    const xv = prg.words(12), yv = xv.slice();
    for (const i of [1, 4, 7]) yv[i] ^= 1n << BigInt(i * 5);
    const x = tensor([3, 4], xv), y = tensor([3, 4], yv);
    const sx = share(x, prg), sy = share(y, prg);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => equal(ctx, sx[ctx.party], sy[ctx.party]));
    const got = reconstruct(a, b);
    expect(got.shape).toEqual([3, 4]);
    for (let i = 0; i < 12; i++) expect(got.data[i]).toBe([1, 4, 7].includes(i) ? 0n : 1n);
    expectCost(parties, 'equal', zeroTestCost(12));
  });
});

describe(`oneHot (SEED=${TEST_SEED})`, () => {
  for (const C of [1, 2, 3, 8, 13, 1000]) {
    it(`C = ${C}, every index: exact rows, exact cost`, async () => {
      const idx = tensor([C], BigUint64Array.from({ length: C }, (_, i) => BigInt(i)));
      const sidx = share(idx, testPrg(`oh${C}`));
      const parties = localParties();
      const [a, b] = await runBoth(parties, (ctx) => oneHot(ctx, sidx[ctx.party], C));
      const got = reconstruct(a, b);
      expect(got.shape).toEqual([C, C]);
      let bad = 0;
      for (let i = 0; i < C; i++) for (let k = 0; k < C; k++) if (got.data[i * C + k] !== (i === k ? 1n : 0n)) bad++;
      expect(bad).toBe(0);
      expectCost(parties, 'oneHot', oneHotCost(C, C));
    });
  }

  it('rejects C = 0', async () => {
    const parties = localParties();
    await expect(oneHot(parties.ctx[0], tensor([1]), 0)).rejects.toThrow(/C must be/);
  });
});

describe(`lookupTable (SEED=${TEST_SEED})`, () => {
  for (const m of [1, 4, 8, 12]) {
    it(`m = ${m}: two tables on one key, signed and unsigned reading, exact cost`, async () => {
      const prg = testPrg(`lut${m}`);
      const N = 2 ** m;
      const tSquare = tableOf(m, (v) => BigInt(v) * BigInt(v) + 7n, true); // signed index
      const tRand = prg.words(N);
      const vals = [0n, 1n, M64, BigInt(N - 1), BigInt(N), BigInt(N / 2), -BigInt(N / 2), ...prg.words(25)];
      const xv = BigUint64Array.from(vals.map((v) => BigInt.asUintN(64, v)));
      const x: RingTensor = tensor([4, 8], xv);
      const sx = share(x, prg);
      const parties = localParties();
      const [a, b] = await runBoth(parties, (ctx) => lookupTable(ctx, sx[ctx.party], m, [tSquare, tRand]));
      for (let t = 0; t < 2; t++) {
        const got = reconstruct(a[t], b[t]);
        expect(got.shape).toEqual([4, 8]);
        const T = t === 0 ? tSquare : tRand;
        for (let i = 0; i < xv.length; i++) expect(got.data[i]).toBe(T[Number(BigInt.asUintN(m, xv[i]))]);
      }
      // signed reading: x = −3 looks up (−3)² + 7
      if (m >= 4) expect(tSquare[Number(BigInt.asUintN(m, -3n))]).toBe(16n);
      expectCost(parties, 'lookupTable', lookupTableCost(xv.length, m));
    });
  }
  it('m = 8 offline is 144 B per party per element', () => {
    expect(lookupTableCost(1, 8).offlineBytes).toBe(288);
  });
});

describe(`openMaskedIndex, the round zeroTest, oneHot and lookupTable share (SEED=${TEST_SEED})`, () => {
  it.each([[64, 1], [12, 3], [5, 3], [1, 1]])('n = %i, ν = %i: x̂ = (x + r) mod 2^n in one round; exact cost on both parties', async (n, nu) => {
    const count = 9, prg = testPrg(`omi/${n}/${nu}`), x = tensor([count], prg.words(count)), xs = share(x, prg);
    const parties = localParties();
    const { out, used } = await measureBoth(parties, (ctx) => openMaskedIndex(ctx, xs[ctx.party], n, nu));
    const mod = n === 64 ? M64 : (1n << BigInt(n)) - 1n;
    expect(out[0].xHat).toEqual(out[1].xHat);
    const r = reconstruct({ shape: [count], data: out[0].mat.r }, { shape: [count], data: out[1].mat.r }).data;
    for (let i = 0; i < count; i++) expect((out[0].xHat[i] - r[i] - x.data[i]) & mod).toBe(0n);
    // header (masked-dpf.ts): ⌈n/8⌉ B per element per party (n = 1: bits, packed); count·dpfKeyBytes(n, ν) B to EACH party
    const sent = n === 1 ? Math.ceil(count / 8) : count * Math.ceil(n / 8);
    expectCosts(used, { rounds: 1, bytesSent: sent, offlineBytes: 2 * count * dpfKeyBytes(n, nu) }, 'even');
  });
});

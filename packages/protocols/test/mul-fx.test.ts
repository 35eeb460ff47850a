import { ChannelClosedError, encode, reconstruct, ShapeError, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import {
  beaverSquare,
  localParties,
  maskedMatmulFx,
  maskedMatmulFxCost,
  maskOperand,
  matmulFx,
  matmulFxCost,
  mulFx,
  mulFxCost,
  runBoth,
  truncPr,
  truncPrMul,
  truncPrMulAdd,
  truncPrMulAddCost,
  truncPrMulCost,
  truncPrSquare,
  truncPrSquareCost,
  type PartyContext,
} from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { randomReals, testPrg, TEST_SEED } from './helpers';
import { byteChiSquare, CHI2_255_LIMIT, fixedSeeds, p0ErrorWhenPeerCloses } from './linear-helpers';

const F = 12;
const signed = (t: RingTensor) => Array.from(new BigInt64Array(t.data.buffer, t.data.byteOffset, t.data.length));
const fx = (shape: number[], label: string, lo = -100, hi = 100): RingTensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(shape, encode(randomReals(testPrg(label), n, lo, hi), F));
};

/** Each out[i] is t_i·q_i or (t_i + 1)·q_i (the truncation's carry), and the carry shows up somewhere. */
function expectCarriedProducts(out: RingTensor, t: bigint[], q: bigint[]) {
  const o = signed(out);
  let bad = 0, ones = 0;
  o.forEach((v, i) => {
    if (v === BigInt.asIntN(64, (t[i] + 1n) * q[i]) && q[i] !== 0n) ones++;
    else if (v !== BigInt.asIntN(64, t[i] * q[i])) bad++;
  });
  expect(bad).toBe(0);
  expect(ones).toBeGreaterThan(0);
}

/** A folded product's ledger: one round and one message of `bytes` per party, its dealer bytes all to P0. */
function expectOneRoundFold(parties: ReturnType<typeof localParties>, label: string, cost: { offlineBytes: number }, bytes: number) {
  for (const p of [0, 1] as const) {
    const c = parties.ctx[p].ledger.get(label);
    expect(c).toMatchObject({ rounds: 1, bytesSent: bytes, messages: 1 });
    expect(c.offlineBytes).toBe(p === 0 ? cost.offlineBytes : 0);
  }
}

async function both<T extends RingTensor>(body: (ctx: PartyContext, pick: <U>(s: [U, U]) => U) => Promise<T>, parties = localParties()) {
  const [a, b] = await runBoth(parties, (ctx) => body(ctx, (s) => s[ctx.party]));
  return { z: reconstruct(a, b), z0: a, z1: b, parties };
}

/** Every exact value v (BigInt at scale 2f) truncates to ⌊v/2^f⌋ + c with c ∈ {0, 1}. */
function expectTruncOf(got: RingTensor, exact: bigint[], f = F) {
  const g = signed(got);
  let bad = 0;
  exact.forEach((v, i) => {
    const d = g[i] - (BigInt.asIntN(64, v) >> BigInt(f));
    if (d !== 0n && d !== 1n) bad++;
  });
  expect(bad).toBe(0);
}

describe(`fixed-point products (SEED=${TEST_SEED})`, () => {
  for (const shape of [[1], [1, 1], [7, 3], [1000]]) {
    it(`mulFx on ${shape}: within 1 ulp of the exact product, 2 rounds, 24 B/elem`, async () => {
      const x = fx(shape, `mx${shape}`), y = fx(shape, `my${shape}`);
      const xs = share(x), ys = share(y);
      const { z, parties } = await both((ctx, p) => mulFx(ctx, p(xs), p(ys)));
      const exact = signed(x).map((v, i) => v * signed(y)[i]);
      expectTruncOf(z, exact);
      const n = x.data.length;
      for (const p of [0, 1] as const) {
        const c = parties.ctx[p].ledger.get('mulFx');
        expect(c).toMatchObject({ rounds: 2, bytesSent: 24 * n });
        expect(c.offlineBytes).toBe(p === 0 ? mulFxCost(n).offlineBytes : 0);
      }
      expect(mulFxCost(n)).toEqual({ rounds: 2, bytesSent: 24 * n, offlineBytes: 18 * n });
    });
  }

  it('matmulFx and maskedMatmulFx: within 1 ulp of the exact matrix product; exact costs', async () => {
    const x = fx([3, 5], 'ax', -8, 8), w = fx([5, 4], 'aw', -8, 8);
    const xs = share(x), ws = share(w);
    const exact: bigint[] = [];
    const sx = signed(x), sw = signed(w);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) {
      let s = 0n;
      for (let k = 0; k < 5; k++) s += sx[i * 5 + k] * sw[k * 4 + j];
      exact.push(s);
    }
    const plain = await both((ctx, p) => matmulFx(ctx, p(xs), p(ws)));
    expectTruncOf(plain.z, exact);
    // header: 2 rounds, 8·(|X| + |Y| + |Z|) B; the triple's C (8·|Z|) and a truncation mask (8 + ⌈f/8⌉ per output) to P0
    expect(matmulFxCost([3, 5], [5, 4])).toEqual({ rounds: 2, bytesSent: 8 * (15 + 20 + 12), offlineBytes: 8 * 12 + 10 * 12 });
    expectScopeCost(plain.parties, 'matmulFx', matmulFxCost([3, 5], [5, 4]), 'p0');
    const parties = localParties();
    const masked = await both(async (ctx, p) => {
      const op = await maskOperand(ctx, p(ws));
      return maskedMatmulFx(ctx, p(xs), op);
    }, parties);
    expectTruncOf(masked.z, exact);
    const cost = maskedMatmulFxCost([3, 5], [3, 4]);
    expect(cost).toEqual({ rounds: 2, bytesSent: 8 * (15 + 12), offlineBytes: 8 * 12 + 10 * 12 });
    expectScopeCost(parties, 'maskedMatmulFx', cost, 'p0');
  });

  it('truncPrMul: truncPr(z)·q in 1 round, 16 B/elem; result is (⌊z/2^f⌋ + c)·q', async () => {
    const n = 2000;
    const z = fx([n], 'fz', -1000, 1000), q = fx([n], 'fq', -1000, 1000);
    // z at scale 2f: multiply by 2^f, |z| < 2^42
    const z2 = tensor([n], z.data.map((v) => BigInt.asUintN(64, v << BigInt(F))));
    const edge = [0n, -1n, 1n, -(1n << 62n), (1n << 62n) - 1n].map((v) => BigInt.asUintN(64, v));
    z2.data.set(edge);
    const zs = share(z2), qs = share(q);
    const { z: out, parties } = await both((ctx, p) => truncPrMul(ctx, p(zs), p(qs)));
    expectCarriedProducts(out, signed(z2).map((v) => v >> BigInt(F)), signed(q));
    const cost = truncPrMulCost(n);
    expectOneRoundFold(parties, 'truncPrMul', cost, 16 * n);
    expect(cost.offlineBytes).toBe(20 * n);
  });

  it('truncPrMulAdd: (truncPr(z) + w)·q in 1 round, 24 B/elem; result is (⌊z/2^f⌋ + c + w)·q', async () => {
    const n = 2000;
    const z = fx([n], 'fza', -1000, 1000), w = fx([n], 'fwa', -1000, 1000), q = fx([n], 'fqa', -1000, 1000);
    const z2 = tensor([n], z.data.map((v) => BigInt.asUintN(64, v << BigInt(F))));
    z2.data.set([0n, -1n, 1n, -(1n << 62n), (1n << 62n) - 1n].map((v) => BigInt.asUintN(64, v)));
    const zs = share(z2), ws = share(w), qs = share(q);
    const { z: out, parties } = await both((ctx, p) => truncPrMulAdd(ctx, p(zs), p(ws), p(qs)));
    const sw = signed(w);
    expectCarriedProducts(out, signed(z2).map((v, i) => (v >> BigInt(F)) + sw[i]), signed(q));
    const cost = truncPrMulAddCost(n);
    expectOneRoundFold(parties, 'truncPrMulAdd', cost, 24 * n);
    expect(cost).toEqual({ rounds: 1, bytesSent: 24 * n, offlineBytes: 28 * n });
  });

  it('truncPrSquare: x⁴ by square → folded square → truncPr in 3 rounds (4 unfolded); exact cost', async () => {
    const n = 3000;
    const x = fx([n], 'sqx', -6, 6);
    const xs = share(x);
    const { z, parties } = await both(async (ctx, p) => {
      const x2 = await beaverSquare(ctx, p(xs)); // scale 2f, 1 round
      const x4 = await truncPrSquare(ctx, x2); // (x²)² at scale 2f, 1 round
      return truncPr(ctx, x4); // 1 round
    });
    const sx = signed(x), got = signed(z);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const t = (sx[i] * sx[i]) >> BigInt(F); // t = x² at scale f, then t² ∈ {t², (t + 1)²}
      const lo = (t * t) >> BigInt(F), hi = ((t + 1n) * (t + 1n)) >> BigInt(F);
      if (got[i] < lo || got[i] > hi + 1n) bad++;
    }
    expect(bad).toBe(0);
    expect(parties.ctx[0].ledger.total.rounds).toBe(3);
    const cost = truncPrSquareCost(n);
    expect(cost).toEqual({ rounds: 1, bytesSent: 8 * n, offlineBytes: 20 * n }); // header: 8 B/elem, 16 + 2⌈f/8⌉ B/elem to P0
    expectScopeCost(parties, 'truncPrSquare', cost, 'p0');
    // float sanity: x⁴ within a few ulps·|x|³
    const xf = Array.from(sx, (v) => Number(v) / 2 ** F), zf = got.map((v) => Number(v) / 2 ** F);
    xf.forEach((v, i) => expect(Math.abs(zf[i] - v ** 4)).toBeLessThan((4 * Math.abs(v) ** 3 + 4) * 2 ** -F));
  });

  it('two different dealer seeds give different shares and the same result', async () => {
    // integers encoded at scale f: products are multiples of 2^2f, so truncation is exact
    const vals = [3, -7, 12, 0, -1, 5];
    const x = tensor([6], encode(vals, F)), y = tensor([6], encode([...vals].reverse(), F));
    const xs = share(x), ys = share(y);
    const outs = [];
    for (const label of ['a', 'b']) outs.push(await both((ctx, p) => mulFx(ctx, p(xs), p(ys)), localParties({ seeds: fixedSeeds(label) })));
    expect(outs[0].z0.data).not.toEqual(outs[1].z0.data);
    expect(outs[0].z.data).toEqual(outs[1].z.data);
    expect(signed(outs[0].z)).toEqual(vals.map((v, i) => BigInt(v * [...vals].reverse()[i]) << BigInt(F)));
  });

  it("one party's output share of a folded square is uniform", async () => {
    const zs = share(tensor([8192]));
    const { z, z0 } = await both((ctx, p) => truncPrSquare(ctx, p(zs)));
    expect(z.data.every((v) => v === 0n)).toBe(true);
    expect(byteChiSquare(z0.data)).toBeLessThan(CHI2_255_LIMIT);
  });

  it('rejects bad shapes with ShapeError and bad shifts with RangeError, before any message', async () => {
    const ctx = localParties().ctx[0];
    await expect(mulFx(ctx, tensor([3]), tensor([4]))).rejects.toThrow(ShapeError);
    await expect(matmulFx(ctx, tensor([3, 4]), tensor([3, 4]))).rejects.toThrow(ShapeError);
    await expect(truncPrMul(ctx, tensor([2, 3]), tensor([3, 2]))).rejects.toThrow(ShapeError);
    await expect(truncPrSquare(ctx, tensor([3]), 33)).rejects.toThrow(RangeError);
    await expect(truncPrMul(ctx, tensor([3]), tensor([3]), 0)).rejects.toThrow(RangeError);
    expect(ctx.ledger.total.messages).toBe(0);
  });

  it('fails with ChannelClosedError (no hang) when the peer closes mid-protocol', async () => {
    expect(await p0ErrorWhenPeerCloses((ctx) => mulFx(ctx, tensor([4]), tensor([4])))).toBeInstanceOf(ChannelClosedError);
    expect(await p0ErrorWhenPeerCloses((ctx) => truncPrMul(ctx, tensor([4]), tensor([4])))).toBeInstanceOf(ChannelClosedError);
  });
});

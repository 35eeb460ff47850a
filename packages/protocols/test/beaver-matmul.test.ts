import { ChannelClosedError, reconstruct, ShapeError, sizeOf, tensor, share, type RingTensor } from '@mpcache/mpc-core';
import { beaverMatmul, beaverMatmulCost, localParties, runBoth } from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';
import { byteChiSquare, CHI2_255_LIMIT, fixedSeeds, p0ErrorWhenPeerCloses, refMatmul } from './linear-helpers';

const randomTensor = (label: string, shape: number[]): RingTensor => tensor(shape, testPrg(label).words(sizeOf(shape)));

async function run(x: RingTensor, y: RingTensor, parties = localParties()) {
  const xs = share(x), ys = share(y);
  const [z0, z1] = await runBoth(parties, (ctx) => beaverMatmul(ctx, xs[ctx.party], ys[ctx.party]));
  return { z: reconstruct(z0, z1), z0, z1, parties };
}

describe(`beaverMatmul (SEED=${TEST_SEED})`, () => {
  const cases: [number[], number[]][] = [
    [[1, 1], [1, 1]],
    [[3, 5], [5, 7]],
    [[1, 64], [64, 33]],
    [[2, 3, 4], [2, 4, 5]], // batched · batched
    [[4, 3, 2], [2, 6]], // batch of left operands · one right operand
    [[2, 1, 3, 5], [5, 1]], // rank 4 · rank 2
    [[2, 3, 1, 2], [2, 3, 2, 3]],
  ];
  for (const [xs, ys] of cases) {
    it(`(${xs}) · (${ys}): exact in the ring, 1 round, 8·(|X|+|Y|) bytes, 8·|Z| offline to P0`, async () => {
      // full-ring random words: "negative" values (top bit set) are half of all entries
      const x = randomTensor(`x${xs}`, xs), y = randomTensor(`y${ys}`, ys);
      const { z, parties } = await run(x, y);
      expect(z.shape).toEqual([...xs.slice(0, -1), ys[ys.length - 1]]);
      expect(Array.from(z.data)).toEqual(refMatmul(x, y));
      const cost = beaverMatmulCost(xs, ys);
      for (const p of [0, 1] as const) {
        const c = parties.ctx[p].ledger.get('beaverMatmul');
        expect(c).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent, messages: 1 });
        // receives are attributed when the peer's frame lands, so check them on the total
        expect(parties.ctx[p].ledger.total.bytesReceived).toBe(cost.bytesSent);
        expect(c.offlineBytes).toBe(p === 0 ? cost.offlineBytes : 0);
      }
      expect(cost.bytesSent).toBe(8 * (sizeOf(xs) + sizeOf(ys)));
    });
  }

  it('small signed fixed-point values multiply to the float reference', async () => {
    const vals = [-3, 2, 0.5, -1.25, 7, -0.75]; // (2×3)·(3×2), scale 2^24 after the product
    const enc = (v: number) => BigInt.asUintN(64, BigInt(Math.round(v * 4096)));
    const x = tensor([2, 3], BigUint64Array.from(vals.map(enc)));
    const y = tensor([3, 2], BigUint64Array.from([...vals].reverse().map(enc)));
    const { z } = await run(x, y);
    const signed = new BigInt64Array(z.data.buffer);
    const yv = [...vals].reverse();
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      let s = 0;
      for (let p = 0; p < 3; p++) s += vals[i * 3 + p] * yv[p * 2 + j];
      expect(Number(signed[i * 2 + j]) / 2 ** 24).toBeCloseTo(s, 12);
    }
  });

  it('two different dealer seeds give different shares and the same result', async () => {
    const x = randomTensor('sx', [3, 4]), y = randomTensor('sy', [4, 2]);
    const xs = share(x), ys = share(y);
    const outs = [];
    for (const label of ['a', 'b']) {
      const parties = localParties({ seeds: fixedSeeds(label) });
      outs.push(await runBoth(parties, (ctx) => beaverMatmul(ctx, xs[ctx.party], ys[ctx.party])));
    }
    expect(outs[0][0].data).not.toEqual(outs[1][0].data);
    expect(reconstruct(...outs[0]).data).toEqual(reconstruct(...outs[1]).data);
    // the same seeds reproduce the same shares
    const again = await runBoth(localParties({ seeds: fixedSeeds('a') }), (ctx) => beaverMatmul(ctx, xs[ctx.party], ys[ctx.party]));
    expect(again[0].data).toEqual(outs[0][0].data);
  });

  it("one party's output share is uniform (byte chi-square), even for an all-zero product", async () => {
    const x = tensor([64, 16]), y = tensor([16, 64]); // Z = 0
    const { z, z0, z1 } = await run(x, y);
    expect(z.data.every((v) => v === 0n)).toBe(true);
    expect(byteChiSquare(z0.data)).toBeLessThan(CHI2_255_LIMIT);
    expect(byteChiSquare(z1.data)).toBeLessThan(CHI2_255_LIMIT);
  });

  it('rejects wrong shapes with ShapeError before any message', async () => {
    const parties = localParties();
    const ctx = parties.ctx[0];
    const bad: [number[], number[]][] = [[[3, 4], [5, 2]], [[4], [4, 2]], [[2, 3, 4], [3, 4, 5]], [[3, 4], [2, 4, 5]]];
    for (const [xs, ys] of bad) {
      await expect(beaverMatmul(ctx, tensor(xs), tensor(ys))).rejects.toThrow(ShapeError);
    }
    await expect(beaverMatmul(ctx, tensor([3, 4]), tensor([5, 2]))).rejects.toThrow('(3, 4) · (5, 2)');
    expect(ctx.ledger.total.messages).toBe(0);
  });

  it('fails with ChannelClosedError (no hang) when the peer closes mid-protocol', async () => {
    const e = await p0ErrorWhenPeerCloses((ctx) => beaverMatmul(ctx, tensor([2, 3]), tensor([3, 2])));
    expect(e).toBeInstanceOf(ChannelClosedError);
  });
});

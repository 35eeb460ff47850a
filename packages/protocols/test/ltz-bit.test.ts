/**
 * dcfLessThanZeroBit: the two parties' 0/1 words XOR (sum mod 2) to [x < 0] on edges and random
 * signed values of every width used; one round, ⌈k/8⌉ B each, and exactly the header's dealer bytes;
 * material taken in slices (a ComparisonPool's) gives the same bits as one request.
 */
import { share, tensor } from '@mpcache/mpc-core';
import { localParties, runBoth } from '../src';
import { dcfLessThanZeroBit, dcfLessThanZeroBitCost, ltzBitKeys, sliceLtzBitKeys } from '../src/fss/ltz-bit';
import { testPrg, TEST_SEED } from './helpers';

const ring = (v: bigint) => BigInt.asUintN(64, v);

function edgeValues(k: number, label: string, nRandom: number): bigint[] {
  const half = 1n << BigInt(k - 1), xs = [0n, -1n, 1n, -half, half - 1n, -half + 1n, half - 2n, 2n, -2n].filter((v) => v >= -half && v < half);
  for (const w of testPrg(label).words(nRandom)) xs.push(BigInt.asIntN(k, w));
  return xs;
}

async function run(xs: bigint[], k: number, slices?: number[]) {
  const [x0, x1] = share(tensor([xs.length], BigUint64Array.from(xs.map(ring))));
  const parties = localParties();
  const [z0, z1] = await runBoth(parties, async (ctx) => {
    const x = ctx.party === 0 ? x0 : x1;
    if (!slices) return dcfLessThanZeroBit(ctx, x, k);
    const mat = await ctx.dealer.take(ltzBitKeys, { count: xs.length, bits: k });
    return dcfLessThanZeroBit(ctx, x, k, slices.slice(1).map((end, i) => sliceLtzBitKeys(mat, slices[i], end)));
  });
  for (const z of [z0, z1]) expect(z.data.every((w) => w === 0n || w === 1n)).toBe(true); // words of one bit
  return { bits: Array.from(z0.data, (w, i) => Number(w ^ z1.data[i])), parties };
}

describe(`dcfLessThanZeroBit (SEED=${TEST_SEED})`, () => {
  it.each([2, 16, 40, 59, 61, 64])('k = %i: exact on edges and random values, 1 round, ⌈k/8⌉ B, exact offline bytes', async (k) => {
    const xs = edgeValues(k, `ltzbit${k}`, 300);
    const { bits, parties } = await run(xs, k);
    expect(bits).toEqual(xs.map((v) => (v < 0n ? 1 : 0)));
    const cost = dcfLessThanZeroBitCost(xs.length, k);
    const [c0, c1] = parties.ctx.map((c) => c.ledger.get('dcfLessThanZeroBit'));
    for (const c of [c0, c1]) expect([c.rounds, c.bytesSent]).toEqual([cost.rounds, cost.bytesSent]);
    expect(c0.offlineBytes + c1.offlineBytes).toBe(cost.offlineBytes);
    expect(c1.offlineBytes).toBe(xs.length * (16 * Math.max(0, k - 1 - 7) + 16)); // the key (7 bits in the leaf block); P0 also gets [ρ]'s 8 B
    expect(c0.offlineBytes - c1.offlineBytes).toBe(8 * xs.length);
  });

  it('costs against the ring LTZ: 1832 against 3048 B per element at k = 64', () => {
    expect(dcfLessThanZeroBitCost(1, 64)).toEqual({ rounds: 1, bytesSent: 8, offlineBytes: 1832 }); // 2·(16·56 + 16) + 8
    expect(dcfLessThanZeroBitCost(3, 61)).toEqual({ rounds: 1, bytesSent: 24, offlineBytes: 3 * 1736 });
  });

  it('material taken in slices gives the same bits', async () => {
    const xs = edgeValues(40, 'ltzbit-slices', 120);
    const { bits } = await run(xs, 40, [0, 7, 7, 64, xs.length]);
    expect(bits).toEqual(xs.map((v) => (v < 0n ? 1 : 0)));
  });
});

import { ChannelClosedError, reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import { localParties, runBoth, truncPr, truncPrCost } from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';

const { asUintN } = BigInt; // see engine/words.ts: the global lookup is slow under jest
import { byteChiSquare, CHI2_255_LIMIT, fixedSeeds, p0ErrorWhenPeerCloses } from './linear-helpers';

async function truncate(x: RingTensor, f: number, parties = localParties({ fracBits: f })) {
  const xs = share(x);
  const [y0, y1] = await runBoth(parties, (ctx) => truncPr(ctx, xs[ctx.party], f));
  return { y: reconstruct(y0, y1), y0, y1, parties };
}

/** Signed values as ring words. */
const ring = (xs: readonly bigint[]) => BigUint64Array.from(xs.map((v) => BigInt.asUintN(64, v)));

/** y − ⌊x/2^f⌋ per element (BigInt64 views: `>>` on a signed BigInt is floor division). */
function errorsVsFloor(x: BigUint64Array, y: BigUint64Array, f: number): BigInt64Array {
  const xs = new BigInt64Array(x.buffer, x.byteOffset, x.length), ys = new BigInt64Array(y.buffer, y.byteOffset, y.length);
  const out = new BigInt64Array(x.length), s = BigInt(f);
  for (let i = 0; i < x.length; i++) out[i] = ys[i] - (xs[i] >> s);
  return out;
}

describe(`truncPr (SEED=${TEST_SEED})`, () => {
  it('10^6 random products with |x| up to 2^40: error vs floor in {0, 1}, mean error vs x/2^f ≈ 0', async () => {
    const n = 1_000_000, f = 12;
    // x = a·b with a, b uniform in [−2^20, 2^20): fixed-point products at LLM magnitudes
    const w = testPrg('products').words(2 * n);
    const ws = new BigInt64Array(w.buffer);
    const x = new BigUint64Array(n), xs = new BigInt64Array(x.buffer);
    for (let i = 0; i < n; i++) xs[i] = (ws[2 * i] >> 43n) * (ws[2 * i + 1] >> 43n);
    const { y, parties } = await truncate(tensor([n], x), f);
    const err = errorsVsFloor(x, y.data, f);
    // 64-bit accumulators keep the loop on native ops (a BigInt → Number per element costs ~0.3 µs)
    const mask = (1n << BigInt(f)) - 1n;
    let bad = 0n, ones = 0n, fracSum = 0n, big = 0n;
    for (let i = 0; i < n; i++) {
      const e = err[i], v = xs[i];
      bad = asUintN(64, bad + ((e & ~1n) === 0n ? 0n : 1n));
      ones = asUintN(64, ones + (e & 1n));
      fracSum = asUintN(64, fracSum + (asUintN(64, v) & mask)); // x mod 2^f
      big = asUintN(64, big + ((v >> 38n) === 0n || (v >> 38n) === -1n ? 0n : 1n));
    }
    expect(bad).toBe(0n); // max error ≤ 1 ulp, no wrap failure
    expect(big).toBeGreaterThan(1000n); // many |x| ≥ 2^38
    // mean signed error against the exact quotient x/2^f: mean(c) − mean(frac(x/2^f)); σ ≤ 0.5/√n
    const meanErr = (Number(ones) - Number(fracSum) / 2 ** f) / n;
    expect(Math.abs(meanErr)).toBeLessThan(3e-3);
    expect(Number(ones) / n).toBeGreaterThan(0.45); // E[c] = E[frac] ≈ 1/2 here
    expect(Number(ones) / n).toBeLessThan(0.55);
    const cost = truncPrCost(n, f);
    for (const p of [0, 1] as const) {
      const c = parties.ctx[p].ledger.get('truncPr');
      expect(c).toMatchObject({ rounds: 1, bytesSent: 8 * n, messages: 1 });
      expect(c.offlineBytes).toBe(p === 0 ? cost.offlineBytes : 0);
    }
    expect(cost.offlineBytes).toBe(10 * n);
  });

  for (const f of [1, 12, 16, 40]) {
    it(`edge values at f = ${f}: −2^62, 2^62 − 1, −1, 0, 1, 2^f − 1, −2^f, over many masks`, async () => {
      const edges = [-(1n << 62n), (1n << 62n) - 1n, -1n, 0n, 1n, (1n << BigInt(f)) - 1n, -(1n << BigInt(f)), (1n << 61n) + 12345n];
      const reps = 4000;
      const x = ring(Array.from({ length: edges.length * reps }, (_, i) => edges[i % edges.length]));
      const { y, parties } = await truncate(tensor([x.length], x), f);
      const err = errorsVsFloor(x, y.data, f);
      const ones = new Array(edges.length).fill(0);
      let bad = 0;
      for (let i = 0; i < x.length; i++) {
        if (err[i] === 1n) ones[i % edges.length]++;
        else if (err[i] !== 0n) bad++;
      }
      expect(bad).toBe(0);
      // multiples of 2^f truncate exactly; Pr[c = 1] = (x mod 2^f)/2^f otherwise
      edges.forEach((v, j) => {
        const frac = Number(BigInt.asUintN(f, v)) / 2 ** f;
        if (frac === 0) expect(ones[j]).toBe(0);
        else expect(Math.abs(ones[j] / reps - frac)).toBeLessThan(0.04);
      });
      expect(parties.ctx[0].ledger.get('truncPr')).toMatchObject(truncPrCost(x.length, f));
    });
  }

  it('two different dealer seeds give different shares and the same result (exact multiples of 2^f)', async () => {
    const f = 12, n = 64;
    const v = testPrg('seeds').words(n).map((w) => BigInt.asUintN(64, BigInt.asIntN(64, w) >> 30n << 12n));
    const outs = [];
    for (const label of ['a', 'b']) outs.push(await truncate(tensor([n], v), f, localParties({ seeds: fixedSeeds(label) })));
    expect(outs[0].y0.data).not.toEqual(outs[1].y0.data);
    expect(outs[0].y.data).toEqual(outs[1].y.data);
    const vs = new BigInt64Array(v.buffer), ys = new BigInt64Array(outs[0].y.data.buffer);
    for (let i = 0; i < n; i++) expect(ys[i]).toBe(vs[i] >> 12n);
  });

  it("one party's output share is uniform (byte chi-square)", async () => {
    const { y, y0, y1 } = await truncate(tensor([8192]), 12);
    expect(y.data.every((v) => v === 0n)).toBe(true);
    expect(byteChiSquare(y0.data)).toBeLessThan(CHI2_255_LIMIT);
    expect(byteChiSquare(y1.data)).toBeLessThan(CHI2_255_LIMIT);
  });

  it('rejects shifts outside [1, 62] with RangeError before any message', async () => {
    const ctx = localParties().ctx[0];
    for (const f of [0, 63, 1.5, -1]) await expect(truncPr(ctx, tensor([3]), f)).rejects.toThrow(RangeError);
    expect(ctx.ledger.total.messages).toBe(0);
  });

  it('fails with ChannelClosedError (no hang) when the peer closes mid-protocol', async () => {
    expect(await p0ErrorWhenPeerCloses((ctx) => truncPr(ctx, tensor([5])))).toBeInstanceOf(ChannelClosedError);
  });
});

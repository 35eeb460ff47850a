import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import {
  localParties,
  obliviousShuffle,
  obliviousShuffleCost,
  runBoth,
  unshuffle,
  unshuffleCost,
  unshufflePublic,
  unshufflePublicCost,
  drawPermutation,
  type DealGen,
} from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

/** Recovers the row permutation from a shuffled matrix whose first column holds distinct tags. */
function rowSources(x: BigUint64Array, y: BigUint64Array, n: number, w: number): number[] {
  const where = new Map<bigint, number>();
  for (let i = 0; i < n; i++) where.set(x[i * w], i);
  return Array.from({ length: n }, (_, i) => where.get(y[i * w]) as number);
}

describe(`obliviousShuffle (SEED=${TEST_SEED})`, () => {
  for (const [n, w] of [[1, 1], [2, 3], [3, 1], [64, 4]] as const) {
    it(`permutes rows of ${n}×${w} and unshuffles exactly, exact costs`, async () => {
      const prg = testPrg(`shuf${n}x${w}`);
      const data = prg.words(n * w);
      for (let i = 0; i < n; i++) data[i * w] = BigInt(i) * 1000003n + 7n; // distinct row tags
      const x = tensor([n, w], data);
      const xs = share(x, prg);
      const parties = localParties();
      const [r0, r1] = await runBoth(parties, async (ctx) => {
        const { y, handle } = await obliviousShuffle(ctx, xs[ctx.party], { unshuffle: 'full' });
        const back = await unshuffle(ctx, handle, y);
        return { y, back, perm: handle.material.forward[ctx.party].perm as Uint32Array };
      });
      const y = reconstruct(r0.y, r1.y).data;
      // every row of Y is a row of X, and the map is a bijection
      const src = rowSources(x.data, y, n, w);
      expect(new Set(src).size).toBe(n);
      const [pi0, pi1] = [r0.perm, r1.perm];
      for (let i = 0; i < n; i++) expect(src[i]).toBe(pi0[pi1[i]]); // Y[i] = X[π0(π1(i))]
      for (let i = 0; i < n; i++) for (let c = 0; c < w; c++) expect(y[i * w + c]).toBe(x.data[src[i] * w + c]);
      expect(reconstruct(r0.back, r1.back).data).toEqual(x.data);

      const cost = obliviousShuffleCost(n, w, 'full');
      for (const p of [0, 1] as const) {
        const s = parties.ctx[p].ledger.get('obliviousShuffle');
        expect(s.rounds).toBe(cost.rounds);
        expect(s.bytesSent).toBe(cost.bytesSent);
        expect(s.offlineBytes).toBe(cost.offlineBytesPerParty[p]);
        const u = parties.ctx[p].ledger.get('unshuffle');
        expect({ rounds: u.rounds, bytesSent: u.bytesSent, offlineBytes: u.offlineBytes }).toEqual(unshuffleCost(n, w));
      }
    });
  }

  it('composition is X[π0(π1(i))] with a uniform-looking π (all 6 permutations of 3 rows appear)', async () => {
    const seen = new Set<string>();
    const x = tensor([3], new BigUint64Array([10n, 20n, 30n]));
    for (let trial = 0; trial < 60 && seen.size < 6; trial++) {
      const xs = share(x);
      const parties = localParties();
      const [a, b] = await runBoth(parties, async (ctx) => (await obliviousShuffle(ctx, xs[ctx.party])).y);
      seen.add(Array.from(reconstruct(a, b).data).join(','));
    }
    expect(seen.size).toBe(6);
  });

  for (const n of [1, 2, 3, 64]) {
    it(`public unshuffle of one-hot rows, n = ${n}: one message, 8nw' B from P1; exact costs on both parties`, async () => {
      const k = Math.min(n, 3);
      const prg = testPrg(`pub${n}`);
      const x = tensor([n], prg.words(n));
      const xs = share(x, prg);
      const parties = localParties();
      const outs = await runBoth(parties, async (ctx) => {
        const { y, handle } = await obliviousShuffle(ctx, xs[ctx.party], { unshuffle: 'public', unshuffleWidth: k });
        // U[j][l] = 1 for the shuffled positions j = l: column l marks the original row of Y[l]
        const u = tensor([n, k]);
        for (let l = 0; l < k; l++) u.data[l * k + l] = 1n;
        const onehot = await unshufflePublic(ctx, handle, u);
        return { y, onehot };
      });
      const y = reconstruct(outs[0].y, outs[1].y).data;
      const oh = reconstruct(outs[0].onehot, outs[1].onehot).data;
      for (let l = 0; l < k; l++) {
        let hits = 0;
        for (let i = 0; i < n; i++) {
          const v = oh[i * k + l];
          expect(v === 0n || v === 1n).toBe(true);
          if (v === 1n) {
            hits++;
            expect(x.data[i]).toBe(y[l]); // the marked original row is the l-th shuffled item
          }
        }
        expect(hits).toBe(1);
      }
      const c = unshufflePublicCost(n, k);
      const sc = obliviousShuffleCost(n, 1, 'public', k);
      // header: 2 rounds, 8nw B each; one Δ (8nw B) to each party and the public inverse's Δ (8nw' B) to P0
      expect(sc).toEqual({ rounds: 2, bytesSent: 8 * n, offlineBytes: 8 * n * (2 + k), offlineBytesPerParty: [8 * n * (1 + k), 8 * n] });
      expectScopeCost(parties, 'obliviousShuffle', sc, sc.offlineBytesPerParty);
      // unshufflePublic: 1 round, 8nw' B from P1 only, no dealer bytes of its own
      expect(c).toEqual({ rounds: 1, bytesSentPerParty: [0, 8 * n * k], offlineBytes: 0 });
      expectScopeCost(parties, 'unshufflePublic', { ...c, bytesSent: c.bytesSentPerParty });
    });
  }

  it('blocks: each block of rows is permuted within itself, independently; the same costs as one block', async () => {
    const blocks = 3, size = 5, n = blocks * size;
    const x = tensor([n, 2], BigUint64Array.from({ length: 2 * n }, (_, i) => BigInt(i)));
    const xs = share(x);
    const parties = localParties();
    const [a, b] = await runBoth(parties, async (ctx) => {
      const { y, handle } = await obliviousShuffle(ctx, xs[ctx.party], { blocks, unshuffle: 'full' });
      return { y, back: await unshuffle(ctx, handle, y) };
    });
    const y = reconstruct(a.y, b.y).data;
    const src = rowSources(x.data, y, n, 2);
    for (let i = 0; i < n; i++) expect(Math.floor(src[i] / size)).toBe(Math.floor(i / size));
    expect(new Set(src).size).toBe(n);
    expect(reconstruct(a.back, b.back).data).toEqual(x.data);
    expectScopeCost(parties, 'obliviousShuffle', obliviousShuffleCost(n, 2, 'full'));
    expectScopeCost(parties, 'unshuffle', unshuffleCost(n, 2));
    await expect(obliviousShuffle(parties.ctx[0], xs[0], { blocks: 4 })).rejects.toThrow(/do not divide/);
  });

  it('drawPermutation is uniform (n = 3: each of the 6 permutations ≈ 1/6) and valid for n = 1000', () => {
    const prg = testPrg('perm-uniform');
    const g = { own: (_p: number, n: number) => prg.words(n) } as unknown as DealGen;
    const counts = new Map<string, number>();
    const T = 6000;
    for (let t = 0; t < T; t++) {
      const p = drawPermutation(g, 0, 3) as Uint32Array;
      counts.set(p.join(''), (counts.get(p.join('')) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - T / 6)).toBeLessThan(150); // > 4.5 σ
    const big = drawPermutation(g, 1, 1000) as Uint32Array;
    expect([...big].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(drawPermutation({ own: () => undefined } as unknown as DealGen, 1, 5)).toBeUndefined();
  });

  it('rejects a second use of a handle and a wrong shape', async () => {
    const x = tensor([4, 2]);
    const xs = share(x);
    const parties = localParties();
    await runBoth(parties, async (ctx) => {
      const { y, handle } = await obliviousShuffle(ctx, xs[ctx.party], { unshuffle: 'full' });
      await expect(unshuffle(ctx, handle, tensor([4, 3]))).rejects.toThrow(/expected shape \(4, 2\)/);
      await unshuffle(ctx, handle, y);
      await expect(unshuffle(ctx, handle, y)).rejects.toThrow(/already used/);
    });
  });
});

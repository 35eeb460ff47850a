import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost, beaverSquare, beaverSquareCost, fusedCosts, localParties, runBoth, sendWords, sumCosts } from '@mpcache/protocols';
import { fuseRounds } from '../src/engine/fuse-rounds';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

describe(`fuseRounds (SEED=${TEST_SEED})`, () => {
  it('runs independent products in one round with the summed bytes; exact cost = fusedCosts on both parties', async () => {
    const prg = testPrg('fuse');
    const n = 50;
    const x = tensor([n], prg.words(n)), y = tensor([n], prg.words(n)), z = tensor([n], prg.words(n));
    const xs = share(x), ys = share(y), zs = share(z);
    const parties = localParties();
    const [r0, r1] = await runBoth(parties, (ctx) =>
      ctx.ledger.scope('fused', () =>
        fuseRounds(ctx, [
          (c) => beaverMul(c, xs[ctx.party], ys[ctx.party]),
          async (c) => {
            // two sequential rounds in this branch: the total is still 2, not 3
            const sq = await beaverSquare(c, zs[ctx.party]);
            return beaverMul(c, sq, xs[ctx.party]);
          },
        ]),
      ),
    );
    const xy = reconstruct(r0[0], r1[0]), zzx = reconstruct(r0[1], r1[1]);
    for (let i = 0; i < n; i++) {
      expect(xy.data[i]).toBe(BigInt.asUintN(64, x.data[i] * y.data[i]));
      expect(zzx.data[i]).toBe(BigInt.asUintN(64, z.data[i] * z.data[i] * x.data[i]));
    }
    for (const p of [0, 1] as const) {
      const c = parties.ctx[p].ledger.get('fused');
      expect(c.rounds).toBe(2);
      expect(c.messages).toBe(2);
      expect(c.bytesSent).toBe(2 * beaverMulCost(n).bytesSent + 8 * n);
      expect(parties.ctx[p].ledger.total.rounds).toBe(2);
    }
    // header: the most rounds of the branches, the sum of their bytes and of their dealer material
    const want = fusedCosts([beaverMulCost(n), sumCosts([beaverSquareCost(n), beaverMulCost(n)])]);
    expect(want).toEqual({ rounds: 2, bytesSent: 2 * 16 * n + 8 * n, offlineBytes: 3 * 8 * n });
    expectScopeCost(parties, 'fused', want, 'p0');
  });

  it('rejects one-way messages inside a branch', async () => {
    const parties = localParties();
    await expect(
      runBoth(parties, (ctx) => fuseRounds(ctx, [(c) => sendWords(c, new BigUint64Array(1))])),
    ).rejects.toMatchObject({ name: 'ProtocolError' });
  });
});

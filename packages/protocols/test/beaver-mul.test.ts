import { reconstruct, tensor, share } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost, beaverSquare, beaverSquareCost, localParties, runBoth } from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

describe(`beaverMul (SEED=${TEST_SEED})`, () => {
  for (const n of [1, 7, 1000]) {
    it(`multiplies ${n} ring elements exactly, 1 round, 16n bytes`, async () => {
      const prg = testPrg(`mul${n}`);
      const x = tensor([n], prg.words(n)), y = tensor([n], prg.words(n));
      const xs = share(x), ys = share(y);
      const parties = localParties();
      const [z0, z1] = await runBoth(parties, (ctx) => beaverMul(ctx, xs[ctx.party], ys[ctx.party]));
      const z = reconstruct(z0, z1);
      for (let i = 0; i < n; i++) expect(z.data[i]).toBe(BigInt.asUintN(64, x.data[i] * y.data[i]));
      for (const p of [0, 1] as const) {
        const c = parties.ctx[p].ledger.get('beaverMul');
        expect(c.rounds).toBe(beaverMulCost(n).rounds);
        expect(c.bytesSent).toBe(beaverMulCost(n).bytesSent);
      }
      expect(parties.ctx[0].ledger.get('beaverMul').offlineBytes).toBe(beaverMulCost(n).offlineBytes);
      expect(parties.ctx[1].ledger.get('beaverMul').offlineBytes).toBe(0);
    });
  }
  it('squares: exact, 1 round, exact cost on both parties', async () => {
    const prg = testPrg('sq');
    const n = 33;
    const x = tensor([n], prg.words(n));
    const xs = share(x);
    const parties = localParties();
    const [z0, z1] = await runBoth(parties, (ctx) => beaverSquare(ctx, xs[ctx.party]));
    const z = reconstruct(z0, z1);
    for (let i = 0; i < n; i++) expect(z.data[i]).toBe(BigInt.asUintN(64, x.data[i] * x.data[i]));
    // header: 1 round, 8 B/elem per party, the square pair's 8 B/elem correction to P0 only
    expect(beaverSquareCost(n)).toEqual({ rounds: 1, bytesSent: 8 * n, offlineBytes: 8 * n });
    expectScopeCost(parties, 'beaverSquare', beaverSquareCost(n), 'p0');
  });
});

import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { mulBroadcast, mulBroadcastCost } from '../src/nonlinear/mul-broadcast';
import { testPrg, TEST_SEED } from './helpers';

describe(`mulBroadcast (SEED=${TEST_SEED})`, () => {
  const rows = 3, L = 5;
  for (const [hasY, hasZ] of [[true, true], [true, false], [false, true], [false, false]] as const) {
    it(`x·y_row·z_col exactly in the ring (y: ${hasY}, z: ${hasZ}), 1 round`, async () => {
      const prg = testPrg(`bc${hasY}${hasZ}`);
      const x = tensor([rows, L], prg.words(rows * L)), y = tensor([rows], prg.words(rows)), z = tensor([L], prg.words(L));
      const xs = share(x), ys = share(y), zs = share(z);
      const parties = localParties();
      const [o0, o1] = await runBoth(parties, (ctx) =>
        mulBroadcast(ctx, xs[ctx.party], hasY ? ys[ctx.party] : null, hasZ ? zs[ctx.party] : null),
      );
      const out = reconstruct(o0, o1);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < L; j++) {
          const want = x.data[i * L + j] * (hasY ? y.data[i] : 1n) * (hasZ ? z.data[j] : 1n);
          expect(out.data[i * L + j]).toBe(BigInt.asUintN(64, want));
        }
      }
      const cost = mulBroadcastCost(rows, L, hasY, hasZ);
      for (const p of [0, 1] as const) expect(parties.ctx[p].ledger.get('mulBroadcast')).toMatchObject({ rounds: 1, bytesSent: cost.bytesSent });
      expect(parties.ctx[0].ledger.get('mulBroadcast').offlineBytes).toBe(cost.offlineBytes);
      expect(parties.ctx[1].ledger.get('mulBroadcast').offlineBytes).toBe(0);
    });
  }
});

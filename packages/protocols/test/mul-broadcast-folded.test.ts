import { encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { mulBroadcastCost } from '../src/nonlinear/mul-broadcast';
import { mulBroadcastFolded, mulBroadcastFoldedCost } from '../src/nonlinear/mul-broadcast-folded';
import { truncPrCost } from '../src/trunc/trunc-pr';
import { randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

const { asUintN, asIntN } = BigInt;
const add = (a: BigUint64Array, b: BigUint64Array) => a.map((v, i) => asUintN(64, v + b[i]));

describe(`mulBroadcastFolded (SEED=${TEST_SEED})`, () => {
  for (const withZ of [true, false]) {
    it(`x·truncPr(w)·${withZ ? 'z' : '1'} in one round: exact ring product for t = ⌊w/2^s⌋ + {0, 1}, exact cost`, async () => {
      const rows = 6, L = 40, shift = 36;
      const xr = randomReals(testPrg('fold-bx'), rows * L, -50, 50), zr = randomReals(testPrg('fold-bz'), L, -4, 4);
      const wr = randomReals(testPrg('fold-bw'), rows, -(2 ** 20), 2 ** 20);
      wr.set([0, -1, 2 ** -12, -(2 ** 19)]);
      const X = encode(xr), Z = encode(zr), Wv = encode(wr);
      const xs = shareReals(xr, [rows, L]), zs = shareReals(zr, [L]), ws = shareReals(wr, [rows]);
      const parties = localParties();
      const out = await runBoth(parties, (ctx) => mulBroadcastFolded(ctx, xs[ctx.party], ws[ctx.party], shift, withZ ? zs[ctx.party] : null));
      const got = add(out[0].data, out[1].data);
      for (let i = 0; i < rows; i++) {
        const t0 = asIntN(64, Wv[i]) >> BigInt(shift);
        const want = (t: bigint) => Array.from({ length: L }, (_, j) => asUintN(64, asIntN(64, X[i * L + j]) * t * (withZ ? asIntN(64, Z[j]) : 1n)));
        const row = Array.from(got.slice(i * L, (i + 1) * L));
        expect([want(t0), want(t0 + 1n)]).toContainEqual(row); // one t per row
      }
      const cost = mulBroadcastFoldedCost(rows, L, shift, withZ);
      for (const p of [0, 1] as const) expect(parties.ctx[p].ledger.get('mulBroadcastFolded')).toMatchObject({ rounds: 1, bytesSent: cost.bytesSent });
      expect(parties.ctx[0].ledger.get('mulBroadcastFolded').offlineBytes + parties.ctx[1].ledger.get('mulBroadcastFolded').offlineBytes).toBe(cost.offlineBytes);
      // against truncPr then mulBroadcast: one round and one opening per row less
      const twoRounds = [truncPrCost(rows, shift), mulBroadcastCost(rows, L, true, withZ)];
      expect(twoRounds.reduce((a, c) => a + c.bytesSent, 0)).toBe(cost.bytesSent + 8 * rows);
    });
  }
});

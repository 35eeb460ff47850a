import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { localParties, runBoth, truncRound, truncRoundCost } from '@mpcache/protocols';
import { expectScopeCost } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

describe(`truncRound (SEED=${TEST_SEED})`, () => {
  it.each([['round', 12], ['floor', 12], ['round', 16], ['floor', 5]] as const)('%s by %i bits: exact on random and edge values, exact cost', async (mode, f) => {
    const n = 4000, w = testPrg(`tr/${mode}/${f}`).words(n);
    const xs = new BigInt64Array(n);
    for (let i = 0; i < n; i++) xs[i] = BigInt.asIntN(64, w[i]) >> 20n; // |x| < 2^43
    const edges = [0n, 1n, -1n, 2048n, -2048n, 4095n, 4096n, -4096n, (1n << 61n), -(1n << 61n), 2047n, -2049n];
    edges.forEach((e, i) => { xs[i] = e; });
    const x = tensor([n], BigUint64Array.from(xs, (v) => BigInt.asUintN(64, v)));
    const parties = localParties({ fracBits: f });
    const xsh = share(x, testPrg(`tr/share/${mode}/${f}`));
    const [y0, y1] = await runBoth(parties, (ctx) => truncRound(ctx, xsh[ctx.party], f, { mode }));
    const y = new BigInt64Array(reconstruct(y0, y1).data.buffer);
    const s = BigInt(f), half = 1n << BigInt(f - 1);
    for (let i = 0; i < n; i++) {
      const want = mode === 'round' ? (xs[i] + half) >> s : xs[i] >> s;
      if (y[i] !== want) throw new Error(`element ${i}: got ${y[i]}, want ${want} (x = ${xs[i]})`);
    }
    const c = truncRoundCost(n, f);
    expect(parties.ctx[0].ledger.get('truncRound')).toEqual({ rounds: 1, bytesSent: c.bytesSent, bytesReceived: c.bytesSent, messages: 1, offlineBytes: expect.any(Number) });
    // header: truncPr's mask (8 + ⌈f/8⌉ B/elem) to P0, one DCF key on f-bit inputs (24f + 8 B) to each party
    const key = n * (24 * f + 8);
    expectScopeCost(parties, 'truncRound', c, [key + n * (8 + Math.ceil(f / 8)), key]);
  });
});

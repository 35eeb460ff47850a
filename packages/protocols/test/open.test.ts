import { reconstruct, share, tensor } from '@mpcache/mpc-core';
import { localParties, openBytes, openMany, openTensor, recvWords, runBoth, sendWords } from '@mpcache/protocols';
import { expectCosts, measureBoth } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

describe(`engine openings (SEED=${TEST_SEED})`, () => {
  it('openMany: several widths in ONE round, ⌈bits/8⌉ B per element (bits = 1 packed 8 per byte), values mod 2^bits', async () => {
    const n = 13, widths = [64, 40, 16, 1], prg = testPrg('open/many');
    const xs = widths.map(() => share(tensor([n], prg.words(n)), prg));
    const parties = localParties();
    const { out, used } = await measureBoth(parties, (ctx) => openMany(ctx, widths.map((bits, i) => ({ x: xs[i][ctx.party].data, bits }))));
    expect(out[0]).toEqual(out[1]);
    widths.forEach((bits, i) => {
      const x = reconstruct(xs[i][0], xs[i][1]).data;
      for (let j = 0; j < n; j++) expect(out[0][i][j]).toBe(BigInt.asUintN(bits, x[j]));
    });
    // header: 1 round per call; 8 + 5 + 2 B per element at 64, 40, 16 bits, ⌈13/8⌉ B for the 13 bits; nothing offline
    const want = { rounds: 1, bytesSent: 13 * (8 + 5 + 2) + 2, offlineBytes: 0 };
    expect(widths.reduce((a, bits) => a + openBytes(n, bits), 0)).toBe(want.bytesSent);
    expectCosts(used, want);
    expect(used.map((c) => c.bytesReceived)).toEqual([want.bytesSent, want.bytesSent]);
  });

  it('openTensor: 1 round, 8 B per element; an empty opening still takes its round', async () => {
    const prg = testPrg('open/tensor'), x = share(tensor([3, 4], prg.words(12)), prg), empty = share(tensor([0]));
    const parties = localParties();
    const { out, used } = await measureBoth(parties, async (ctx) => [await openTensor(ctx, x[ctx.party]), await openTensor(ctx, empty[ctx.party])]);
    expect(out[0][0]).toEqual(reconstruct(x[0], x[1]));
    expect(out[0][1].data.length).toBe(0);
    expectCosts(used, { rounds: 2, bytesSent: 8 * 12, offlineBytes: 0 });
  });

  it('sendWords / recvWords: one message, 8 B per word from the sender only, 1 round on each side', async () => {
    const words = testPrg('open/send').words(7), parties = localParties();
    const { out, used } = await measureBoth(parties, async (ctx) => (ctx.party === 1 ? (await sendWords(ctx, words), null) : recvWords(ctx, 7)));
    expect(out[0]).toEqual(words);
    expectCosts(used, { rounds: 1, bytesSent: [0, 8 * 7], offlineBytes: 0 });
  });
});

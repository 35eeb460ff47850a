import { reconstruct } from '@mpcache/mpc-core';
import { bytesToP0, defineCorrelation, derivedWork, keyedShareWork, keyedValueWork, KeyedStreams, localParties, NO_DEALER_BYTES, runBoth } from '@mpcache/protocols';

const seed = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);

describe('KeyedStreams', () => {
  it('is random-access: any (offset, n) window equals the same slice of one long draw', () => {
    const ks = new KeyedStreams(seed);
    const all = ks.words('w', 3, 0, 41);
    for (const [off, n] of [[0, 1], [1, 1], [3, 5], [4, 7], [17, 24], [40, 1]]) {
      expect(ks.words('w', 3, off, n)).toEqual(all.slice(off, off + n));
    }
  });
  it('separates lanes and keys, and depends on the root seed', () => {
    const ks = new KeyedStreams(seed);
    const a = ks.words('w', 0, 0, 8);
    expect(ks.words('w', 1, 0, 8)).not.toEqual(a);
    expect(ks.words('v', 0, 0, 8)).not.toEqual(a);
    expect(new KeyedStreams(new Uint8Array(16)).words('w', 0, 0, 8)).not.toEqual(a);
    expect(new KeyedStreams(seed).words('w', 0, 0, 8)).toEqual(a);
  });
  it('gives the parties shares of the value the dealer recomputes in a later correlation', async () => {
    // Correlation 1: shares of keyed words. Correlation 2: the dealer derives 2·value (needs it again).
    const share = defineCorrelation('testKeyed', (p) => p as number, () => NO_DEALER_BYTES, (n) => keyedShareWork(n), (g, n: number) => g.keyed('k', 2, 5, n).share);
    const twice = defineCorrelation('testKeyedTwice', (p) => p as number, (n) => bytesToP0(8 * n), (n) => derivedWork(n) + keyedValueWork(n), (g, n: number) =>
      g.derived(n, () => g.keyed('k', 2, 5, n).value().map((v) => BigInt.asUintN(64, 2n * v))).share,
    );
    const parties = localParties();
    const n = 9;
    const [[s0, t0], [s1, t1]] = await runBoth(parties, async (ctx) => [
      { shape: [n], data: await ctx.dealer.take(share, n) },
      { shape: [n], data: await ctx.dealer.take(twice, n) },
    ]);
    const v = reconstruct(s0, s1).data, w = reconstruct(t0, t1).data;
    for (let i = 0; i < n; i++) expect(w[i]).toBe(BigInt.asUintN(64, 2n * v[i]));
    expect(parties.ctx[0].dealer.taken).toBe(2);
  });
});

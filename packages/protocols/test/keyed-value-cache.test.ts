import { KeyedStreams, KeyedValueCache } from '@mpcache/protocols';

const { asUintN } = BigInt;
const seeds = [1, 2].map((k) => Uint8Array.from({ length: 16 }, (_, i) => i * 13 + k));
const streams = () => [new KeyedStreams(seeds[0]), new KeyedStreams(seeds[1])] as const;

/** The value the dealer computes without a memo: the sum of both parties' keyed shares. */
function direct(key: string, lane: number, offset: number, n: number): BigUint64Array {
  const [a, b] = streams().map((s) => s.words(key, lane, offset, n));
  return a.map((v, i) => asUintN(64, v + b[i]));
}

describe('KeyedValueCache', () => {
  it('equals the direct sum of the two keyed streams for prefixes, growing prefixes and windows', () => {
    const memo = new KeyedValueCache(streams(), 1000);
    expect(memo.value('w', 0, 0, 12)).toEqual(direct('w', 0, 0, 12));
    expect(memo.words).toBe(12);
    expect(memo.value('w', 0, 0, 12)).toEqual(direct('w', 0, 0, 12)); // hit
    expect(memo.value('w', 0, 3, 4)).toEqual(direct('w', 0, 3, 4)); // window inside
    expect(memo.value('w', 0, 0, 15)).toEqual(direct('w', 0, 0, 15)); // K/V-style growth: capacity doubles
    expect(memo.words).toBe(24);
    expect(memo.value('w', 0, 15, 5)).toEqual(direct('w', 0, 15, 5)); // the appended rows only
    expect(memo.words).toBe(24);
    expect(memo.value('w', 1, 0, 6)).toEqual(direct('w', 1, 0, 6)); // lanes are separate entries
    expect(memo.value('v', 0, 0, 6)).toEqual(direct('v', 0, 0, 6)); // keys are separate entries
    expect(memo.words).toBe(36);
  });

  it('computes requests over budget fresh and does not keep them', () => {
    const memo = new KeyedValueCache(streams(), 10);
    expect(memo.value('big', 0, 0, 11)).toEqual(direct('big', 0, 0, 11));
    expect(memo.words).toBe(0);
    expect(memo.value('s', 0, 0, 8)).toEqual(direct('s', 0, 0, 8));
    expect(memo.words).toBe(8);
    expect(memo.value('s', 0, 0, 9)).toEqual(direct('s', 0, 0, 9)); // doubling to 16 would exceed 10
    expect(memo.words).toBe(8);
    expect(memo.value('s', 0, 20, 3)).toEqual(direct('s', 0, 20, 3)); // not a prefix: fresh
    expect(new KeyedValueCache(streams(), 0).value('s', 0, 0, 4)).toEqual(direct('s', 0, 0, 4));
  });

  it('rejects a bad budget', () => {
    expect(() => new KeyedValueCache(streams(), -1)).toThrow(RangeError);
  });
});

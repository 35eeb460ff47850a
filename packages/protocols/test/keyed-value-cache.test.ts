import { panelWordCount, ringArena, toPanels } from '@mpcache/mpc-core';
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

  it('panelValue: an entry that never grew turns into 8-row panels at its second whole read, and back on a row-major read', () => {
    const memo = new KeyedValueCache(streams(), 1000);
    const rows = 10, cols = 3, n = rows * cols;
    expect(memo.panelValue('w', 0, rows, cols)).toBeUndefined(); // nothing held yet
    memo.value('w', 0, 0, n); // the first product
    const p = memo.panelValue('w', 0, rows, cols)!; // the second: converted
    expect(Array.from(p)).toEqual(Array.from(toPanels(direct('w', 0, 0, n), rows, cols)));
    expect(ringArena().holds(p)).toBe(true);
    expect(memo.words).toBe(panelWordCount(rows, cols)); // the row-major block was given up
    const again = memo.panelValue('w', 0, rows, cols)!; // held: the same words, not a copy
    expect([again.buffer === p.buffer, again.byteOffset === p.byteOffset]).toEqual([true, true]);
    expect(memo.panelValue('w', 0, 5, 6)).toBeUndefined(); // another shape of the same words
    expect(memo.value('w', 0, 2, 7)).toEqual(direct('w', 0, 2, 7)); // a row-major read converts back
    expect(memo.words).toBe(n);
    expect(memo.value('w', 0, 0, n + 6)).toEqual(direct('w', 0, 0, n + 6)); // and may grow again
    for (let i = 0; i < 3; i++) expect(memo.panelValue('w', 0, rows + 2, cols)).toBeUndefined(); // never in panels again
  });

  it('panelValue: a growing entry (a K/V cache) stays row-major; a conversion over budget is not made', () => {
    const memo = new KeyedValueCache(streams(), 40);
    for (let rows = 1; rows <= 4; rows++) {
      expect(memo.panelValue('kv', 0, rows, 4)).toBeUndefined();
      expect(memo.value('kv', 0, 0, rows * 4)).toEqual(direct('kv', 0, 0, rows * 4));
    }
    for (let i = 0; i < 3; i++) { // products at one length after it grew: still row-major
      expect(memo.panelValue('kv', 0, 4, 4)).toBeUndefined();
      expect(memo.value('kv', 0, 0, 16)).toEqual(direct('kv', 0, 0, 16));
    }
    const tight = new KeyedValueCache(streams(), 30); // 3 × 9 = 27 words; in panels 8 × 9 = 72
    expect(tight.panelValue('w', 0, 3, 9)).toBeUndefined(); // nothing held yet
    for (let i = 0; i < 3; i++) {
      expect(tight.panelValue('w', 0, 3, 9)).toBeUndefined();
      expect(tight.value('w', 0, 0, 27)).toEqual(direct('w', 0, 0, 27));
    }
    expect(tight.words).toBe(27);
  });

  it('rejects a bad budget', () => {
    expect(() => new KeyedValueCache(streams(), -1)).toThrow(RangeError);
  });
});

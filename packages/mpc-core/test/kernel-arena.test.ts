/**
 * KernelArena: stable views across other allocations and frees, zeroed blocks, reuse and coalescing,
 * scratch below the blocks, exhaustion as LimitError with sizes; and ring products whose operands
 * are arena views (read in place) equal the copying path bit for bit.
 */
import {
  fixedWasmMemory, KernelArena, LimitError, matmulBatchWordsWasm, matmulWords, matmulWordsJs,
  RING_KERNEL_MEMORY_PAGES, ringArena, ringKernels,
} from '@mpcache/mpc-core';
import { __matmulWasmTest } from '../src/ring/matmul-wasm';
import { ringWords } from './ring-words';

const PAGE = 65536;

const words = ringWords;

/** A copy of `src` in a block of `arena`. */
function inArena(arena: KernelArena, src: BigUint64Array): BigUint64Array {
  const v = arena.allocWords(src.length);
  v.set(src);
  return v;
}

describe('KernelArena (own 4-page memory)', () => {
  const small = () => new KernelArena(fixedWasmMemory(4), 1000); // 256 KiB, base 1024

  it('hands out zeroed, 64-byte-aligned blocks from the top that keep their contents across other allocations and frees', () => {
    const a = small();
    const x = a.allocWords(1000), y = a.allocWords(10), z = a.allocWords(3000);
    expect([x, y, z].every((v) => v.byteOffset % 64 === 0 && a.holds(v))).toBe(true);
    expect(x.byteOffset + 8000).toBeLessThanOrEqual(4 * PAGE);
    expect(y.byteOffset + 128).toBeLessThanOrEqual(x.byteOffset);
    x.set(words(1000, 1));
    z.set(words(3000, 3));
    a.free(y);
    const w = a.allocWords(5000);
    w.fill(7n);
    a.scratch(8000);
    expect(x).toEqual(words(1000, 1));
    expect(z).toEqual(words(3000, 3));
    expect(a.holds(new BigUint64Array(4))).toBe(false);
  });

  it('zeroes a reused block, reuses freed space first and coalesces neighbours', () => {
    const a = small();
    const x = a.allocWords(100), y = a.allocWords(100), z = a.allocWords(100);
    x.fill(1n); y.fill(2n); z.fill(3n);
    const held = a.heldBytes, gap = a.gapBytes;
    a.free(x);
    a.free(y);
    expect(a.freeBytes).toBe(2 * 832); // 800 B rounded up to 64, two blocks coalesced
    const big = a.allocWords(200); // fits the coalesced hole: no carving
    expect(a.gapBytes).toBe(gap);
    expect(big.every((v) => v === 0n)).toBe(true);
    expect(a.heldBytes).toBe(held - 2 * 832 + 1600);
    expect(a.freeBytes).toBe(64); // the rest of the hole, just above z
    a.free(z); // the lowest block, with the rest of the hole: back to the gap
    expect([a.freeBytes, a.gapBytes]).toEqual([0, gap + 832 + 64]);
    a.free(big);
    expect([a.heldBytes, a.freeBytes, a.gapBytes]).toEqual([0, 0, 4 * PAGE - 1024]);
    expect(a.allocWords(300).every((v) => v === 0n)).toBe(true); // carved over used memory: zeroed
  });

  it('exhaustion is a LimitError with the sizes; tryAllocWords returns undefined; scratch cannot meet the blocks', () => {
    const a = small();
    a.allocWords(20000); // 160000 B of 261120
    expect(a.tryAllocWords(20000)).toBeUndefined();
    let err: unknown;
    try {
      a.allocWords(20000, 'W̃ of wqkv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitError);
    expect((err as LimitError).code).toBe('MPC_ERR_LIMIT');
    expect((err as Error).message).toMatch(/no room for W̃ of wqkv of 20000 words \(0\.2 MiB\): 0\.2 MiB held in 1 blocks/);
    expect(() => a.scratch(120000)).toThrow(/kernel memory: 0\.1 MiB of scratch do not fit below the operands held/);
    expect(a.scratch(100000)).toBe(1024);
    expect(a.tryAllocWords(20000)).toBeUndefined(); // scratch's high-water mark now bounds the blocks
  });

  it('free rejects views that are not live blocks', () => {
    const a = small();
    const x = a.allocWords(16);
    expect(() => a.free(x.subarray(1))).toThrow(RangeError);
    expect(() => a.free(new BigUint64Array(16))).toThrow(RangeError);
    a.free(x);
    expect(() => a.free(x)).toThrow(RangeError);
  });
});

describe('ring kernel memory', () => {
  it('is fixed at RING_KERNEL_MEMORY_PAGES and costs RSS only where touched', () => {
    const before = process.memoryUsage().rss;
    const kx = ringKernels();
    expect(kx.memory.buffer.byteLength).toBe(RING_KERNEL_MEMORY_PAGES * PAGE);
    const v = ringArena().allocWords(2 ** 20); // 8 MiB at the top, untouched
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 2 ** 20);
    ringArena().free(v);
  });

  it('products with arena operands (a, b or both) equal the copying path bit for bit', () => {
    const ar = ringArena();
    const shapes: [number, number, number][] = [[1, 300, 70], [1, 1, 1], [5, 17, 9], [130, 260, 3], [2, 513, 33]];
    for (const [m, k, n] of shapes) {
      const a = words(m * k, m + k), b = words(k * n, n + 7 * k);
      const want = matmulWords(a, b, m, k, n);
      expect(matmulWordsJs(a, b, m, k, n)).toEqual(want);
      const aA = inArena(ar, a), bA = inArena(ar, b);
      expect(matmulWords(a, bA, m, k, n)).toEqual(want);
      expect(matmulWords(aA, b, m, k, n)).toEqual(want);
      expect(matmulWords(aA, bA, m, k, n)).toEqual(want);
      // sub-views (a lane of a masked operand) are read in place too
      const pad = ar.allocWords(3 * k * n);
      pad.set(b, k * n);
      expect(matmulWords(a, pad.subarray(k * n, 2 * k * n), m, k, n)).toEqual(want);
      for (const v of [aA, bA, pad]) ar.free(v);
    }
  });

  it('the m-split of large products and batched products read arena operands in place', () => {
    const ar = ringArena();
    const m = 37, k = 41, n = 23;
    const a = words(m * k, 11), b = words(k * n, 12), want = matmulWordsJs(a, b, m, k, n);
    const aA = inArena(ar, a), bA = inArena(ar, b);
    try {
      __matmulWasmTest.setChunkLimits(2048, 1);
      expect(matmulWords(aA, b, m, k, n)).toEqual(want);
      expect(matmulWords(a, bA, m, k, n)).toEqual(want);
    } finally {
      __matmulWasmTest.setChunkLimits();
    }
    const count = 5, ab = words(count * 3 * 8, 13), bb = words(count * 8 * 6, 14);
    const wantB = matmulBatchWordsWasm(ab, bb, count, 3, 8, 6);
    const abA = inArena(ar, ab), bbA = inArena(ar, bb);
    expect(matmulBatchWordsWasm(abA, bb, count, 3, 8, 6)).toEqual(wantB);
    expect(matmulBatchWordsWasm(ab, bbA, count, 3, 8, 6)).toEqual(wantB);
    expect(matmulBatchWordsWasm(abA, bbA, count, 3, 8, 6)).toEqual(wantB);
    expect(Array.from(wantB.subarray(0, 18))).toEqual(Array.from(matmulWordsJs(ab.subarray(0, 24), bb.subarray(0, 48), 3, 8, 6)));
    for (const v of [aA, bA, abA, bbA]) ar.free(v);
  });
});

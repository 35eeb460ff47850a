/**
 * The wasm ring matmul against an independent BigInt reference (plain BigInt sums, reduced once at
 * the end), on odd shapes, shapes that cross the kernel's blocking (k > 256, m > 128), batched
 * products, the m-split of large products, and values spread over the whole u64 range.
 */
import { ShapeError, tensor, matmul, matmulWords, matmulWordsJs, type RingTensor } from '@mpcache/mpc-core';
import { __matmulWasmTest, matmulBatchWordsWasm } from '../src/ring/matmul-wasm';
import { ringWords } from './ring-words';

const MASK = (1n << 64n) - 1n;

/** Deterministic u64 words (ringWords); every 7th is an edge value (0, 1, 2^63, 2^64−1, …). */
function words(len: number, seed: number): BigUint64Array {
  const edges = [0n, 1n, MASK, 1n << 63n, MASK - 1n, (1n << 32n) - 1n, 1n << 32n];
  const out = ringWords(len, seed);
  for (let i = 3; i < len; i += 7) out[i] = edges[(i + seed) % edges.length];
  return out;
}

/** Row i of a·b mod 2^64, computed with unbounded BigInts. */
function refRow(a: BigUint64Array, b: BigUint64Array, i: number, k: number, n: number): bigint[] {
  const row: bigint[] = [];
  for (let j = 0; j < n; j++) {
    let s = 0n;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    row.push(s & MASK);
  }
  return row;
}

function expectRows(out: BigUint64Array, a: BigUint64Array, b: BigUint64Array, k: number, n: number, rows: number[]): void {
  for (const i of rows) expect(Array.from(out.subarray(i * n, (i + 1) * n))).toEqual(refRow(a, b, i, k, n));
}

const allRows = (m: number): number[] => Array.from({ length: m }, (_, i) => i);

describe('matmulWords (wasm i64 kernel)', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 1, 5], [2, 1, 1], [3, 5, 7], [2, 3, 4], [7, 1, 9], [5, 9, 1], [4, 4, 4],
    [1, 64, 1024], [2, 288, 17], [33, 17, 65], [3, 300, 5], [131, 260, 3], [9, 513, 10],
    // vector × matrix and matrix × vector loops: 8 rows at a time plus a remainder of 1–7 rows,
    // 2 words per SIMD step plus a last column when n (vector × matrix) or k (matrix × vector) is odd
    [1, 7, 13], [1, 1031, 9], [1, 4, 2], [6, 7, 1], [1027, 300, 1], [4, 5, 1],
    [1, 8, 1], [1, 8, 2], [1, 9, 3], [1, 16, 768], [1, 17, 769], [1, 15, 2], [1, 24, 1],
    [8, 1, 1], [8, 2, 1], [9, 3, 1], [16, 64, 1], [17, 65, 1], [15, 2, 1], [23, 7, 1],
  ];
  it.each(shapes)('%i×%i · ·×%i matches the BigInt reference', (m, k, n) => {
    const a = words(m * k, m + 31 * k), b = words(k * n, n + 17 * k);
    const out = matmulWords(a, b, m, k, n);
    expect(out.length).toBe(m * n);
    expectRows(out, a, b, k, n, allRows(m));
  });

  it('agrees with the JS reference loop and is repeatable (no state left between calls)', () => {
    const a = words(37 * 41, 5), b = words(41 * 23, 6);
    const first = matmulWords(a, b, 37, 41, 23);
    matmulWords(words(200 * 300, 7), words(300 * 100, 8), 200, 300, 100);
    expect(matmulWords(a, b, 37, 41, 23)).toEqual(first);
    expect(matmulWordsJs(a, b, 37, 41, 23)).toEqual(first);
  });

  it('accepts subarray views and zero-sized dimensions', () => {
    const big = words(100, 9);
    const a = big.subarray(10, 16), b = big.subarray(50, 56); // 2×3 · 3×2
    expectRows(matmulWords(a, b, 2, 3, 2), a, b, 3, 2, [0, 1]);
    expect(matmulWords(new BigUint64Array(0), new BigUint64Array(0), 3, 0, 4)).toEqual(new BigUint64Array(12));
    expect(matmulWords(new BigUint64Array(0), words(20, 1), 0, 4, 5)).toEqual(new BigUint64Array(0));
  });

  it('32000×288 · 288×1 (split along m) is right at the chunk boundary and the ends', () => {
    const m = 32000, k = 288, n = 1;
    const a = words(m * k, 11), b = words(k * n, 12);
    const out = matmulWords(a, b, m, k, n);
    const rows = new Set([0, 1, 2, m - 1, m - 2]);
    for (let i = 0; i < 40; i++) rows.add((i * 7919) % m);
    for (let i = 28990; i < 29060; i++) rows.add(i); // the first chunk ends near row 29023
    expectRows(out, a, b, k, n, [...rows]);
  });

  it('4096×64 · 64×64', () => {
    const a = words(4096 * 64, 13), b = words(64 * 64, 14);
    const out = matmulWords(a, b, 4096, 64, 64);
    expectRows(out, a, b, 64, 64, [0, 1, 127, 128, 129, 2047, 4094, 4095]);
  });

  it('small chunk limits: the m-split and the batch split give the same result', () => {
    const a = words(45 * 13, 15), b = words(13 * 7, 16);
    const whole = matmulWords(a, b, 45, 13, 7);
    const ab = words(10 * 5 * 6, 17), bb = words(10 * 6 * 3, 18);
    const batchWhole = matmulBatchWordsWasm(ab, bb, 10, 5, 6, 3);
    try {
      __matmulWasmTest.setChunkLimits(4096, 1);
      expect(matmulWords(a, b, 45, 13, 7)).toEqual(whole); // ≈ 15 rows per chunk
      __matmulWasmTest.setChunkLimits(1024, 1);
      expect(matmulBatchWordsWasm(ab, bb, 10, 5, 6, 3)).toEqual(batchWhole); // 2 items per chunk
      __matmulWasmTest.setChunkLimits(256, 1);
      expect(matmulBatchWordsWasm(ab, bb, 10, 5, 6, 3)).toEqual(batchWhole); // one product at a time
    } finally {
      __matmulWasmTest.setChunkLimits();
    }
    expectRows(whole, a, b, 13, 7, allRows(45));
  });

  it('throws ShapeError on wrong lengths or sizes', () => {
    expect(() => matmulWords(words(6, 1), words(12, 2), 2, 3, 5)).toThrow(ShapeError);
    expect(() => matmulWords(words(5, 1), words(15, 2), 2, 3, 5)).toThrow(/a has 5 words, expected 6/);
    expect(() => matmulWords(words(6, 1), words(15, 2), 2, 3.5, 5)).toThrow(ShapeError);
    expect(() => matmulBatchWordsWasm(words(12, 1), words(30, 2), 2, 2, 3, 4)).toThrow(ShapeError);
  });
});

describe('matmul on ring tensors', () => {
  /** Reference for a stack of products: slice t of a (and of b unless b is 2-D). */
  function refBatched(a: RingTensor, b: RingTensor): bigint[] {
    const [m, k] = a.shape.slice(-2), n = b.shape[b.shape.length - 1];
    const count = a.data.length / (m * k), bShared = b.shape.length === 2;
    const rows: bigint[] = [];
    for (let t = 0; t < count; t++) {
      const at = a.data.subarray(t * m * k, (t + 1) * m * k);
      const bt = bShared ? b.data : b.data.subarray(t * k * n, (t + 1) * k * n);
      for (let i = 0; i < m; i++) rows.push(...refRow(at, bt, i, k, n));
    }
    return rows;
  }
  const t = (shape: number[], seed: number): RingTensor => tensor(shape, words(shape.reduce((x, y) => x * y, 1), seed));

  it.each([
    [[3, 5], [5, 7]],
    [[1, 64], [64, 1024]],
    [[3, 4, 5], [3, 5, 6]],
    [[6, 1, 8], [6, 8, 33]],
    [[4, 3, 5], [5, 7]],
    [[2, 3, 4, 5], [2, 3, 5, 2]],
    [[2, 3, 3, 5], [5, 1]],
  ])('%j · %j matches the BigInt reference', (sa, sb) => {
    const a = t(sa, sa.length * 100 + sa[0]), b = t(sb, sb.length * 100 + sb[0] + 1);
    const c = matmul(a, b);
    expect(c.shape).toEqual([...sa.slice(0, -1), sb[sb.length - 1]]);
    expect(Array.from(c.data)).toEqual(refBatched(a, b));
  });

  it('throws ShapeError on mismatched shapes', () => {
    expect(() => matmul(t([2, 3], 1), t([4, 5], 2))).toThrow(ShapeError);
    expect(() => matmul(t([2, 3], 1), t([4, 5], 2))).toThrow(/inner dimensions differ, \(2, 3\) · \(4, 5\)/);
    expect(() => matmul(t([2, 3, 4], 1), t([3, 4, 5], 2))).toThrow(/batch dimensions differ/);
    expect(() => matmul(t([3, 4], 1), t([2, 4, 5], 2))).toThrow(ShapeError);
    expect(() => matmul(t([4], 1), t([4, 5], 2))).toThrow(/rank ≥ 2/);
  });
});

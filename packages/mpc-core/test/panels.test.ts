/**
 * Matrices in 8-row panels (panels.ts): the layout round-trips, and both products agree with the
 * plain BigUint64Array loop on the row-major matrix, for operands in the kernel arena (read in
 * place) and on the JS heap (copied), on shapes with partial panels, odd widths and k > 256 (the
 * GEMM's k blocking).
 */
import {
  fromPanels, matmulWordsJs, matmulWordsPanels, matvecWordsPanels, panelWordCount, ringArena, ShapeError, toPanels,
} from '@mpcache/mpc-core';
import { ringWords } from './ring-words';

const words = ringWords;

/** The panels of `x`, in the kernel arena (`arena`) or on the JS heap. */
function panelsOf(x: BigUint64Array, rows: number, cols: number, arena: boolean): BigUint64Array {
  const p = arena ? ringArena().allocWords(panelWordCount(rows, cols)) : new BigUint64Array(panelWordCount(rows, cols));
  return toPanels(x, rows, cols, p);
}

describe('matrices in 8-row panels', () => {
  it('lays rows out in groups of 8, column by column, zero padded, and back', () => {
    const x = BigUint64Array.from({ length: 10 * 3 }, (_, i) => BigInt(i + 1)); // 10 × 3, x[r][j] = 3r + j + 1
    const p = toPanels(x, 10, 3);
    expect(p.length).toBe(16 * 3);
    // panel 0: column 0 holds rows 0..7 of column 0
    expect([...p.subarray(0, 8)]).toEqual([1n, 4n, 7n, 10n, 13n, 16n, 19n, 22n]);
    expect([...p.subarray(8, 16)]).toEqual([2n, 5n, 8n, 11n, 14n, 17n, 20n, 23n]);
    // panel 1: rows 8, 9 then six zero rows, per column
    expect([...p.subarray(24, 32)]).toEqual([25n, 28n, 0n, 0n, 0n, 0n, 0n, 0n]);
    expect(fromPanels(p, 10, 3)).toEqual(x);
    expect(() => toPanels(x, 10, 4)).toThrow(ShapeError);
    expect(() => fromPanels(p, 17, 3)).toThrow(ShapeError); // 17 rows take three panels
  });

  const shapes: [number, number, number][] = [
    [1, 1, 1], [1, 8, 2], [1, 9, 3], [1, 17, 768], [1, 768, 5], [1, 1031, 9],
    [2, 7, 3], [3, 300, 5], [5, 513, 2], [131, 260, 3], [4, 16, 1],
  ];
  for (const arena of [true, false]) {
    it.each(shapes)(`a (%i×%i) · B (·×%i) in panels equals the row-major product (${arena ? 'in the arena' : 'copied in'})`, (m, k, n) => {
      const a = words(m * k, m + 7 * k), b = words(k * n, n + 13 * k);
      const bp = panelsOf(b, k, n, arena);
      expect(matmulWordsPanels(a, bp, m, k, n)).toEqual(matmulWordsJs(a, b, m, k, n));
      if (arena) ringArena().free(bp);
    });

    it.each([[1, 5], [7, 3], [8, 64], [9, 65], [23, 7], [1027, 300]])(
      `A (%i×%i) in panels · x equals the row-major product (${arena ? 'in the arena' : 'copied in'})`, (m, k) => {
        const a = words(m * k, 3 * m + k), x = words(k, k + 1);
        const ap = panelsOf(a, m, k, arena);
        expect(matvecWordsPanels(ap, x, m, k)).toEqual(matmulWordsJs(a, x, m, k, 1));
        if (arena) ringArena().free(ap);
      });
  }

  it('throws ShapeError on operands of the wrong size', () => {
    expect(matmulWordsPanels(new BigUint64Array(6), new BigUint64Array(8 * 4), 2, 3, 4)).toEqual(new BigUint64Array(8)); // 3 rows: one panel
    expect(() => matmulWordsPanels(new BigUint64Array(7), new BigUint64Array(8 * 4), 2, 3, 4)).toThrow(ShapeError);
    expect(() => matmulWordsPanels(new BigUint64Array(6), new BigUint64Array(3 * 4), 2, 3, 4)).toThrow(ShapeError);
    expect(() => matvecWordsPanels(new BigUint64Array(8 * 3), new BigUint64Array(2), 5, 3)).toThrow(ShapeError);
  });
});

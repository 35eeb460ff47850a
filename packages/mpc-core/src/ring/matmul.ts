/**
 * Matrix products mod 2^64 on ring tensors: (m×k)·(k×n), batched (B×m×k)·(B×k×n), and a batch of
 * left operands against one right operand (B×m×k)·(k×n).
 *
 * The inner kernel `matmulWords` is the hot spot of the whole system (weights, attention); it runs on
 * the WebAssembly i64 kernel (matmul-wasm.ts, ≈2–3 G multiply-adds/s on one core). `matmulWordsJs` is
 * the plain BigUint64Array loop (≈0.3 G/s), kept as an independent reference for tests.
 */
import { ShapeError } from '../errors';
import { shapeStr, type RingTensor } from './ring-tensor';
import { matmulBatchWordsWasm, matmulWordsWasm } from './matmul-wasm';

/** out[m×n] = a[m×k] · b[k×n] mod 2^64 (row-major, contiguous). */
export function matmulWords(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  return matmulWordsWasm(a, b, m, k, n);
}

/** Reference: the same product as a plain BigUint64Array loop (slow; for tests). */
export function matmulWordsJs(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  const out = new BigUint64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      if (av === 0n) continue;
      const bo = p * n, oo = i * n;
      for (let j = 0; j < n; j++) out[oo + j] = BigInt.asUintN(64, out[oo + j] + av * b[bo + j]);
    }
  }
  return out;
}

/** Ring matrix product with numpy-style leading batch dims (b may be 2-D and shared by the batch). */
export function matmul(a: RingTensor, b: RingTensor): RingTensor {
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || rb < 2) throw new ShapeError(`matmul needs rank ≥ 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const m = a.shape[ra - 2], k = a.shape[ra - 1], k2 = b.shape[rb - 2], n = b.shape[rb - 1];
  if (k !== k2) throw new ShapeError(`matmul: inner dimensions differ, ${shapeStr(a.shape)} · ${shapeStr(b.shape)}`);
  const batchA = a.shape.slice(0, ra - 2), batchB = b.shape.slice(0, rb - 2);
  const nbA = batchA.reduce((x, y) => x * y, 1);
  if (rb > 2 && (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i]))) {
    throw new ShapeError(`matmul: batch dimensions differ, ${shapeStr(a.shape)} · ${shapeStr(b.shape)}`);
  }
  if (rb === 2) {
    // A batch of left operands against one right operand is one (nbA·m × k)·(k × n) product.
    return { shape: [...batchA, m, n], data: matmulWords(a.data, b.data, nbA * m, k, n) };
  }
  return { shape: [...batchA, m, n], data: matmulBatchWordsWasm(a.data, b.data, nbA, m, k, n) };
}

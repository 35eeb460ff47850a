/**
 * Loader and typed wrapper for the WebAssembly i64 ring kernel (source: assembly/ring-kernels.ts,
 * compiled by `npm run build` / `npm run build:wasm` to build/ring.wasm, which is git-ignored).
 *
 * The module is loaded synchronously on first use (wasm-module.ts) from `../../build/ring.wasm`
 * relative to this file, a path that is the same from src/ring (jest) and dist/ring (built). It
 * imports one fixed-size memory (RING_KERNEL_MEMORY_PAGES, never grown) laid out by a KernelArena
 * (`ringArena()`): long-lived operands are blocks at the top, read IN PLACE by the kernel; every
 * call lays its temporaries out in the arena's scratch at the bottom:
 *   [ kernel scratch | b | a-rows | out-rows ]   (batched: [ kernel scratch | a-items | b-items | out-items ])
 * where an operand that is already a view of the kernel memory (`ringArena().holds(x)`: a block or
 * a sub-view of one) is not copied, and only the others are. Products whose copied operands would
 * need more than CHUNK_BYTES are split along m (rows of a and out), so scratch stays bounded by
 * max(CHUNK_BYTES, k·n·8 + a few rows).
 *
 * Speed, 128×768 · 768×768 mod 2^64 on one core (`benchRing`, median of 5 reps, three runs):
 * 1.9–2.6 G multiply-adds/s for this kernel, copies in/out included, vs 0.27–0.31 G/s for a plain
 * Float64Array triple loop and ≈0.3 G/s for the BigUint64Array loop `matmulWordsJs`
 * (measured 2026-11-26, Node v20.20.2, 2-core AMD EPYC VM; the spread is noise from the host).
 * The kernel is bound by x64 `imul` throughput (≈1 per cycle); i64x2 SIMD and larger register tiles
 * (2×4, 4×4, 4×8) measured no faster under V8. The first call also pays compilation (≈20 ms).
 * Vector × matrix (m = 1, decoding) is memory-bound: there copying b in cost about as much as the
 * product, which is why the masked weights live in the arena (masked-operand.ts).
 */
import * as path from 'node:path';
import { ShapeError } from '../errors';
import { RING_KERNEL_MEMORY_PAGES } from '../limits';
import { KernelArena } from './kernel-arena';
import { alignWasm64 as align64, fixedWasmMemory, wasmKernelLoader, type WasmKernelBase } from './wasm-module';

/** Above this many bytes of operands+result, a product is split along m. */
const CHUNK_BYTES = 64 * 1024 * 1024;
const MIN_CHUNK_ROWS = 64;
let chunkBytes = CHUNK_BYTES, minChunkRows = MIN_CHUNK_ROWS;

export interface RingKernelExports extends WasmKernelBase {
  scratchBytes(): number;
  matmul(a: number, b: number, out: number, m: number, k: number, n: number, scratch: number): void;
  matmulBatch(a: number, b: number, out: number, count: number, m: number, k: number, n: number, scratch: number): void;
  /** Products with a matrix in 8-row panels (panels.ts); matmulPanels takes scratchBytes() of scratch. */
  matmulPanels(a: number, b: number, out: number, m: number, k: number, n: number, scratch: number): void;
  matvecPanels(a: number, b: number, out: number, m: number, k: number): void;
}

/** Where the kernel is looked for. */
export const RING_WASM_PATH = path.join(__dirname, '../../build/ring.wasm');

/** The instantiated kernel module (loaded once, synchronously). Throws if build/ring.wasm is missing. */
export const ringKernels: () => RingKernelExports = wasmKernelLoader<RingKernelExports>(
  RING_WASM_PATH, 'ring', () => fixedWasmMemory(RING_KERNEL_MEMORY_PAGES),
);

let arena: KernelArena | undefined;

/** The ring kernel's memory as an arena: long-lived operands allocated here are multiplied in place. */
export function ringArena(): KernelArena {
  if (arena) return arena;
  const kx = ringKernels();
  return (arena = new KernelArena(kx.memory, kx.heapBase()));
}

function checkDims(what: string, dims: Record<string, number>): void {
  for (const [name, d] of Object.entries(dims)) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: ${name} = ${d} is not a size`);
  }
}

function checkLength(what: string, name: string, arr: BigUint64Array, want: number): void {
  if (arr.length !== want) throw new ShapeError(`${what}: ${name} has ${arr.length} words, expected ${want}`);
}

/** out[m×n] = a[m×k] · b[k×n] mod 2^64 on the wasm kernel (row-major, contiguous). */
export function matmulWordsWasm(a: BigUint64Array, b: BigUint64Array, m: number, k: number, n: number): BigUint64Array {
  checkDims('matmulWords', { m, k, n });
  checkLength('matmulWords', 'a', a, m * k);
  checkLength('matmulWords', 'b', b, k * n);
  const out = new BigUint64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return out;
  const kx = ringKernels(), ar = ringArena();
  // operands already in the kernel memory are read in place; the others are copied into scratch
  const aIn = ar.holds(a), bIn = ar.holds(b);
  const bBytes = bIn ? 0 : align64(k * n * 8);
  const rowBytes = (aIn ? 0 : k * 8) + n * 8;
  const fixedBytes = align64(kx.scratchBytes()) + bBytes;
  // At least minChunkRows rows per call so a huge b is still read packed, not once per row.
  const rows = Math.min(m, Math.max(minChunkRows, Math.floor((chunkBytes - fixedBytes) / rowBytes)));
  const aBytes = aIn ? 0 : align64(rows * k * 8);
  const scratch = ar.scratch(fixedBytes + aBytes + rows * n * 8);
  const bPtr = bIn ? b.byteOffset : scratch + align64(kx.scratchBytes());
  const aBuf = scratch + fixedBytes, oPtr = aBuf + aBytes;
  const buf = kx.memory.buffer;
  if (!bIn) new BigUint64Array(buf, bPtr, k * n).set(b);
  for (let i0 = 0; i0 < m; i0 += rows) {
    const r = Math.min(rows, m - i0);
    let aPtr = aBuf;
    if (aIn) aPtr = a.byteOffset + i0 * k * 8;
    else new BigUint64Array(buf, aPtr, r * k).set(a.subarray(i0 * k, (i0 + r) * k));
    kx.matmul(aPtr, bPtr, oPtr, r, k, n, scratch);
    out.set(new BigUint64Array(buf, oPtr, r * n), i0 * n);
  }
  return out;
}

/**
 * count independent products out[t] = a[t] · b[t], with a (count×m×k), b (count×k×n) contiguous;
 * returns (count×m×n). Many small products (attention heads) go in one call per chunk.
 */
export function matmulBatchWordsWasm(
  a: BigUint64Array, b: BigUint64Array, count: number, m: number, k: number, n: number,
): BigUint64Array {
  checkDims('matmulBatchWords', { count, m, k, n });
  checkLength('matmulBatchWords', 'a', a, count * m * k);
  checkLength('matmulBatchWords', 'b', b, count * k * n);
  const out = new BigUint64Array(count * m * n);
  if (count === 0 || m === 0 || n === 0 || k === 0) return out;
  const sa = m * k, sb = k * n, so = m * n;
  const itemBytes = (sa + sb + so) * 8;
  if (itemBytes > chunkBytes / 2) {
    for (let t = 0; t < count; t++) {
      out.set(matmulWordsWasm(a.subarray(t * sa, (t + 1) * sa), b.subarray(t * sb, (t + 1) * sb), m, k, n), t * so);
    }
    return out;
  }
  const kx = ringKernels(), ar = ringArena();
  const aIn = ar.holds(a), bIn = ar.holds(b);
  const per = Math.max(1, Math.min(count, Math.floor(chunkBytes / itemBytes)));
  const aBytes = aIn ? 0 : align64(per * sa * 8), bBytes = bIn ? 0 : align64(per * sb * 8);
  const scratch = ar.scratch(align64(kx.scratchBytes()) + aBytes + bBytes + per * so * 8);
  const aBuf = scratch + align64(kx.scratchBytes()), bBuf = aBuf + aBytes, oPtr = bBuf + bBytes;
  const buf = kx.memory.buffer;
  for (let t0 = 0; t0 < count; t0 += per) {
    const c = Math.min(per, count - t0);
    let aPtr = aBuf, bPtr = bBuf;
    if (aIn) aPtr = a.byteOffset + t0 * sa * 8;
    else new BigUint64Array(buf, aPtr, c * sa).set(a.subarray(t0 * sa, (t0 + c) * sa));
    if (bIn) bPtr = b.byteOffset + t0 * sb * 8;
    else new BigUint64Array(buf, bPtr, c * sb).set(b.subarray(t0 * sb, (t0 + c) * sb));
    kx.matmulBatch(aPtr, bPtr, oPtr, c, m, k, n, scratch);
    out.set(new BigUint64Array(buf, oPtr, c * so), t0 * so);
  }
  return out;
}

/** For tests only: shrink the chunk limits so that splitting is exercised on small operands. */
export const __matmulWasmTest = {
  setChunkLimits(bytes = CHUNK_BYTES, minRows = MIN_CHUNK_ROWS): void {
    chunkBytes = bytes;
    minChunkRows = minRows;
  },
};

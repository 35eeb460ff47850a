/**
 * WebAssembly ring kernels (AssemblyScript, compiled by `npm run build:wasm` to build/ring.wasm).
 *
 * Arithmetic is mod 2^64 for free: wasm i64 mul/add wrap. Matrices are row-major u64, addressed by
 * byte pointers into the one exported memory; the JS side (src/ring/matmul-wasm.ts) owns the layout
 * and grows the memory. No runtime, no allocator (`--runtime stub`).
 *
 * matmul: out[m×n] = a[m×k] · b[k×n]. Blocked GotoBLAS-style:
 *   k is cut into blocks of KC, m into blocks of MC (an a-block, MC×KC×8 B = 256 KiB, stays in L2);
 *   for each 2-column panel of b (packed to kc×2 contiguous words, 4 KiB, stays in L1) the 2×2
 *   register tile walks down the a-block. The tile keeps 4 i64 accumulators in registers and does
 *   4 multiply-adds per 4 loads. On x64 the kernel is bound by `imul` throughput (≈1/cycle).
 *   For m ≤ 2 (vector × matrix) packing would cost as much as the product, so b is read in place.
 * Edges (odd m, odd n) use 1×2, 2×1 and 1×1 tiles.
 */

const KC: i32 = 256;
const MC: i32 = 128;

/** First 64-byte-aligned address after the module's static data; the JS side lays out from here. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Bytes of scratch the caller must reserve at `scratch` for `matmul`. */
export function scratchBytes(): i32 {
  return KC * 2 * 8;
}

// Copy a kc×2 block of b (row stride ldb bytes) into kc×2 contiguous words.
function packPanel(src: usize, ldb: usize, dst: usize, kc: i32): void {
  for (let p = 0; p < kc; p++) {
    store<u64>(dst, load<u64>(src));
    store<u64>(dst, load<u64>(src, 8), 8);
    src += ldb;
    dst += 16;
  }
}

// c[2×2] += a[2×kc] · b[kc×2]
function tile22(ap: usize, lda: usize, bp: usize, ldb: usize, cp: usize, ldc: usize, kc: i32): void {
  let c00: u64 = 0, c01: u64 = 0, c10: u64 = 0, c11: u64 = 0;
  const end = ap + (<usize>kc << 3);
  while (ap < end) {
    const b0 = load<u64>(bp), b1 = load<u64>(bp, 8);
    const x0 = load<u64>(ap), x1 = load<u64>(ap + lda);
    c00 += x0 * b0; c01 += x0 * b1;
    c10 += x1 * b0; c11 += x1 * b1;
    ap += 8;
    bp += ldb;
  }
  store<u64>(cp, load<u64>(cp) + c00);
  store<u64>(cp, load<u64>(cp, 8) + c01, 8);
  cp += ldc;
  store<u64>(cp, load<u64>(cp) + c10);
  store<u64>(cp, load<u64>(cp, 8) + c11, 8);
}

// c[1×2] += a[1×kc] · b[kc×2]
function tile12(ap: usize, bp: usize, ldb: usize, cp: usize, kc: i32): void {
  let c0: u64 = 0, c1: u64 = 0;
  const end = ap + (<usize>kc << 3);
  while (ap < end) {
    const x = load<u64>(ap);
    c0 += x * load<u64>(bp);
    c1 += x * load<u64>(bp, 8);
    ap += 8;
    bp += ldb;
  }
  store<u64>(cp, load<u64>(cp) + c0);
  store<u64>(cp, load<u64>(cp, 8) + c1, 8);
}

// c[2×1] += a[2×kc] · b[kc×1]
function tile21(ap: usize, lda: usize, bp: usize, ldb: usize, cp: usize, ldc: usize, kc: i32): void {
  let c0: u64 = 0, c1: u64 = 0;
  const end = ap + (<usize>kc << 3);
  while (ap < end) {
    const y = load<u64>(bp);
    c0 += load<u64>(ap) * y;
    c1 += load<u64>(ap + lda) * y;
    ap += 8;
    bp += ldb;
  }
  store<u64>(cp, load<u64>(cp) + c0);
  store<u64>(cp + ldc, load<u64>(cp + ldc) + c1);
}

// c[1×1] += a[1×kc] · b[kc×1]
function tile11(ap: usize, bp: usize, ldb: usize, cp: usize, kc: i32): void {
  let c0: u64 = 0;
  const end = ap + (<usize>kc << 3);
  while (ap < end) {
    c0 += load<u64>(ap) * load<u64>(bp);
    ap += 8;
    bp += ldb;
  }
  store<u64>(cp, load<u64>(cp) + c0);
}

/** out[m×n] = a[m×k] · b[k×n] mod 2^64; `scratch` holds scratchBytes() bytes. out must not alias a or b. */
export function matmul(a: usize, b: usize, out: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  const lda = <usize>k << 3, ldc = <usize>n << 3;
  memory.fill(out, 0, <usize>m * ldc);
  const pack = m > 2;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = min(KC, k - k0);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = min(MC, m - i0);
      const ab = a + <usize>i0 * lda + (<usize>k0 << 3);
      const cb = out + <usize>i0 * ldc;
      let j0 = 0;
      for (; j0 + 2 <= n; j0 += 2) {
        let bp = b + <usize>k0 * ldc + (<usize>j0 << 3), ldb = ldc;
        if (pack) {
          packPanel(bp, ldb, scratch, kc);
          bp = scratch;
          ldb = 16;
        }
        const cp = cb + (<usize>j0 << 3);
        let i = 0;
        for (; i + 2 <= mc; i += 2) tile22(ab + <usize>i * lda, lda, bp, ldb, cp + <usize>i * ldc, ldc, kc);
        if (i < mc) tile12(ab + <usize>i * lda, bp, ldb, cp + <usize>i * ldc, kc);
      }
      if (j0 < n) {
        const bp = b + <usize>k0 * ldc + (<usize>j0 << 3);
        const cp = cb + (<usize>j0 << 3);
        let i = 0;
        for (; i + 2 <= mc; i += 2) tile21(ab + <usize>i * lda, lda, bp, ldc, cp + <usize>i * ldc, ldc, kc);
        if (i < mc) tile11(ab + <usize>i * lda, bp, ldc, cp + <usize>i * ldc, kc);
      }
    }
  }
}

/** count independent products: out[t] = a[t] · b[t] for t < count (each operand contiguous). */
export function matmulBatch(a: usize, b: usize, out: usize, count: i32, m: i32, k: i32, n: i32, scratch: usize): void {
  const sa = <usize>m * k << 3, sb = <usize>k * n << 3, so = <usize>m * n << 3;
  for (let t = 0; t < count; t++) {
    matmul(a, b, out, m, k, n, scratch);
    a += sa;
    b += sb;
    out += so;
  }
}

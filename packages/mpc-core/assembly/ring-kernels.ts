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
 *   For m = 2 packing would cost as much as the product, so b is read in place.
 * Edges (odd m, odd n) use 1×2, 2×1 and 1×1 tiles.
 *
 * Vector × matrix (m = 1, every weight product of a decoding step) and matrix × vector (n = 1: the
 * tied classifier and q·Kᵀ, computed as (K·qᵀ)ᵀ) are memory-bound, so they get loops that stream the
 * matrix once, sequentially: `vecmat` adds 4 rows of b at a time into out (which stays in L1/L2),
 * `matvec` takes 4 dot products at a time against b (in L1). The 2-column tiles read b down its
 * columns with a stride of 8·n bytes instead. Measured in place, one core, interleaved runs on a
 * loaded 2-core VM (2026-11-27, Node v20.20.2): 1×768·768×3072 7–8 ms → 3.0–3.3 ms, 1×768·768×2304
 * 3.0–3.6 → 2.4–2.5 ms, 50257×768·768×1 58–115 → 25–35 ms, 1×50257·50257×768 47 → 40–46 ms.
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

// out[1×n] = a[1×k] · b[k×n]: b streamed row by row, 4 rows at a time (out stays in L1/L2).
function vecmat(a: usize, b: usize, out: usize, k: i32, n: i32): void {
  const ldb = <usize>n << 3;
  let p = 0;
  for (; p + 4 <= k; p += 4) {
    const ap = a + (<usize>p << 3);
    const a0 = load<u64>(ap), a1 = load<u64>(ap, 8), a2 = load<u64>(ap, 16), a3 = load<u64>(ap, 24);
    let b0 = b + <usize>p * ldb;
    const b1 = ldb, b2 = 2 * ldb, b3 = 3 * ldb;
    let o = out;
    const end = out + ldb;
    while (o < end) {
      store<u64>(o, load<u64>(o) + a0 * load<u64>(b0) + a1 * load<u64>(b0 + b1) + a2 * load<u64>(b0 + b2) + a3 * load<u64>(b0 + b3));
      o += 8;
      b0 += 8;
    }
  }
  for (; p < k; p++) {
    const x = load<u64>(a + (<usize>p << 3));
    let b0 = b + <usize>p * ldb;
    let o = out;
    const end = out + ldb;
    while (o < end) {
      store<u64>(o, load<u64>(o) + x * load<u64>(b0));
      o += 8;
      b0 += 8;
    }
  }
}

// out[m×1] = a[m×k] · b[k×1]: each row of a streamed once, 4 rows at a time, b stays in L1.
function matvec(a: usize, b: usize, out: usize, m: i32, k: i32): void {
  const lda = <usize>k << 3;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    let a0 = a + <usize>i * lda;
    const a1 = lda, a2 = 2 * lda, a3 = 3 * lda;
    let c0: u64 = 0, c1: u64 = 0, c2: u64 = 0, c3: u64 = 0;
    let bp = b;
    const end = b + lda;
    while (bp < end) {
      const y = load<u64>(bp);
      c0 += load<u64>(a0) * y;
      c1 += load<u64>(a0 + a1) * y;
      c2 += load<u64>(a0 + a2) * y;
      c3 += load<u64>(a0 + a3) * y;
      a0 += 8;
      bp += 8;
    }
    const cp = out + (<usize>i << 3);
    store<u64>(cp, c0);
    store<u64>(cp, c1, 8);
    store<u64>(cp, c2, 16);
    store<u64>(cp, c3, 24);
  }
  for (; i < m; i++) {
    let ap = a + <usize>i * lda;
    let c0: u64 = 0;
    let bp = b;
    const end = b + lda;
    while (bp < end) {
      c0 += load<u64>(ap) * load<u64>(bp);
      ap += 8;
      bp += 8;
    }
    store<u64>(out + (<usize>i << 3), c0);
  }
}

/** out[m×n] = a[m×k] · b[k×n] mod 2^64; `scratch` holds scratchBytes() bytes. out must not alias a or b. */
export function matmul(a: usize, b: usize, out: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  const lda = <usize>k << 3, ldc = <usize>n << 3;
  memory.fill(out, 0, <usize>m * ldc);
  if (m == 1) return vecmat(a, b, out, k, n);
  if (n == 1) return matvec(a, b, out, m, k);
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

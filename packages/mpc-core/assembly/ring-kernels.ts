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
 * tied classifier and q·Kᵀ, computed as (K·qᵀ)ᵀ) stream the matrix once, sequentially: `vecmat`
 * adds 8 rows of b at a time into out (which stays in L1/L2), `matvec` takes 8 dot products at a
 * time against b (in L1), both 2 words per step in wasm SIMD i64x2 lanes. They are bound by how
 * fast one core streams memory, not by `imul` (measured: ≈ 0.3 ns per scalar multiply, 0.54 ns
 * per multiply-add of the 4-row loops out of cache; i64x2.mul has no x64 instruction, V8 emulates
 * it at ≈ 0.6 ns per lane, so SIMD pays for its loads and adds, not its multiplies): 8 concurrent
 * row streams and half the instructions per word are what help. Measured on 309 MB (50,257 × 768,
 * the embedding table), one core, out of cache, Node v20.20.2, 2026-11-29: 1×50257·50257×768
 * 28 ms (4 rows, scalar) → 19 ms; 50257×768·768×1 28 → 19 ms; two processes at once run as fast
 * (not bound by the shared memory bus). The 2-column tiles read b down its columns with a stride
 * of 8·n bytes instead.
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
// @ts-ignore: decorator (inlined into matmul and matmulPanels alike: called from both, Binaryen would not)
@inline
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
// @ts-ignore: decorator (inlined into matmul and matmulPanels alike: called from both, Binaryen would not)
@inline
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
// @ts-ignore: decorator (inlined into matmul and matmulPanels alike: called from both, Binaryen would not)
@inline
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
// @ts-ignore: decorator (inlined into matmul and matmulPanels alike: called from both, Binaryen would not)
@inline
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

// out[1×n] += x · b[p, 0..n) for one row p (the tail rows of vecmat).
function axpyRow(x: u64, row: usize, out: usize, n: i32): void {
  let o = out;
  const end = out + (<usize>n << 3);
  while (o < end) {
    store<u64>(o, load<u64>(o) + x * load<u64>(row));
    o += 8;
    row += 8;
  }
}

// out[1×n] = a[1×k] · b[k×n]: b streamed 8 rows at a time (8 sequential streams), 2 columns per
// i64x2 lane pair; out (n words) stays in L1/L2 and is read and written once per 8 rows.
function vecmat(a: usize, b: usize, out: usize, k: i32, n: i32): void {
  const ldb = <usize>n << 3, pairs = <usize>(n & ~1) << 3;
  let p = 0;
  for (; p + 8 <= k; p += 8) {
    const ap = a + (<usize>p << 3);
    const x0 = load<i64>(ap), x1 = load<i64>(ap, 8), x2 = load<i64>(ap, 16), x3 = load<i64>(ap, 24);
    const x4 = load<i64>(ap, 32), x5 = load<i64>(ap, 40), x6 = load<i64>(ap, 48), x7 = load<i64>(ap, 56);
    const a0 = i64x2.splat(x0), a1 = i64x2.splat(x1), a2 = i64x2.splat(x2), a3 = i64x2.splat(x3);
    const a4 = i64x2.splat(x4), a5 = i64x2.splat(x5), a6 = i64x2.splat(x6), a7 = i64x2.splat(x7);
    const row = b + <usize>p * ldb;
    let b0 = row, o = out;
    const end = out + pairs;
    while (o < end) {
      let acc = madd(v128.load(o), b0, a0);
      acc = madd(acc, b0 + ldb, a1); acc = madd(acc, b0 + 2 * ldb, a2); acc = madd(acc, b0 + 3 * ldb, a3);
      acc = madd(acc, b0 + 4 * ldb, a4); acc = madd(acc, b0 + 5 * ldb, a5); acc = madd(acc, b0 + 6 * ldb, a6);
      acc = madd(acc, b0 + 7 * ldb, a7);
      v128.store(o, acc);
      o += 16;
      b0 += 16;
    }
    if (n & 1) {
      // the last column
      let q = row + pairs, s = load<i64>(end);
      s += x0 * load<i64>(q); q += ldb;
      s += x1 * load<i64>(q); q += ldb;
      s += x2 * load<i64>(q); q += ldb;
      s += x3 * load<i64>(q); q += ldb;
      s += x4 * load<i64>(q); q += ldb;
      s += x5 * load<i64>(q); q += ldb;
      s += x6 * load<i64>(q); q += ldb;
      s += x7 * load<i64>(q);
      store<i64>(end, s);
    }
  }
  for (; p < k; p++) axpyRow(load<u64>(a + (<usize>p << 3)), b + <usize>p * ldb, out, n);
}

// Σ of a v128's two i64 lanes.
// @ts-ignore: decorator
@inline
function lanes(v: v128): i64 {
  return i64x2.extract_lane(v, 0) + i64x2.extract_lane(v, 1);
}

// c + (the two words at p) · y, lane by lane.
// @ts-ignore: decorator
@inline
function madd(c: v128, p: usize, y: v128): v128 {
  return i64x2.add(c, i64x2.mul(v128.load(p), y));
}

// a[row, 0..k) · b[0..k): one dot product (the tail rows of matvec).
function dotRow(row: usize, b: usize, k: i32): u64 {
  let c: u64 = 0;
  const end = b + (<usize>k << 3);
  while (b < end) {
    c += load<u64>(row) * load<u64>(b);
    row += 8;
    b += 8;
  }
  return c;
}

// out[m×1] = a[m×k] · b[k×1]: 8 rows of a streamed at once (8 dot products, 2 words per i64x2
// step), b stays in L1.
function matvec(a: usize, b: usize, out: usize, m: i32, k: i32): void {
  const lda = <usize>k << 3, pairs = <usize>(k & ~1) << 3;
  let i = 0;
  for (; i + 8 <= m; i += 8) {
    const row = a + <usize>i * lda;
    let c0 = i64x2.splat(0), c1 = i64x2.splat(0), c2 = i64x2.splat(0), c3 = i64x2.splat(0);
    let c4 = i64x2.splat(0), c5 = i64x2.splat(0), c6 = i64x2.splat(0), c7 = i64x2.splat(0);
    let a0 = row, bp = b;
    const end = b + pairs;
    while (bp < end) {
      const y = v128.load(bp), q = a0;
      c0 = madd(c0, q, y); c1 = madd(c1, q + lda, y); c2 = madd(c2, q + 2 * lda, y); c3 = madd(c3, q + 3 * lda, y);
      c4 = madd(c4, q + 4 * lda, y); c5 = madd(c5, q + 5 * lda, y); c6 = madd(c6, q + 6 * lda, y); c7 = madd(c7, q + 7 * lda, y);
      a0 += 16;
      bp += 16;
    }
    const cp = out + (<usize>i << 3);
    store<i64>(cp, lanes(c0));
    store<i64>(cp, lanes(c1), 8);
    store<i64>(cp, lanes(c2), 16);
    store<i64>(cp, lanes(c3), 24);
    store<i64>(cp, lanes(c4), 32);
    store<i64>(cp, lanes(c5), 40);
    store<i64>(cp, lanes(c6), 48);
    store<i64>(cp, lanes(c7), 56);
    if (k & 1) {
      // the last column of each row
      const y = load<u64>(end);
      for (let r = 0; r < 8; r++) {
        const c = cp + (<usize>r << 3);
        store<u64>(c, load<u64>(c) + load<u64>(row + <usize>r * lda + pairs) * y);
      }
    }
  }
  for (; i < m; i++) store<u64>(out + (<usize>i << 3), dotRow(a + <usize>i * lda, b, k));
}

/** out[m×n] = a[m×k] · b[k×n] mod 2^64; `scratch` holds scratchBytes() bytes. out must not alias a or b. */
export function matmul(a: usize, b: usize, out: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  memory.fill(out, 0, <usize>m * n << 3);
  if (m == 1) return vecmat(a, b, out, k, n);
  if (n == 1) return matvec(a, b, out, m, k);
  blocked(a, b, false, out, m, k, n, scratch);
}

// The blocked product (header) for m ≥ 2 into a zeroed out. b row-major: its 2-column panels are
// packed when m > 2 (read in place for m = 2, and its odd last column always); b in panels
// (`panels`): every panel and the last column are packed from that layout (packFromPanels).
function blocked(a: usize, b: usize, panels: bool, out: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  const lda = <usize>k << 3, ldc = <usize>n << 3;
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
        if (panels) packFromPanels(b, n, k0, kc, j0, true, scratch);
        else if (pack) packPanel(bp, ldb, scratch, kc);
        if (panels || pack) {
          bp = scratch;
          ldb = 16;
        }
        const cp = cb + (<usize>j0 << 3);
        let i = 0;
        for (; i + 2 <= mc; i += 2) tile22(ab + <usize>i * lda, lda, bp, ldb, cp + <usize>i * ldc, ldc, kc);
        if (i < mc) tile12(ab + <usize>i * lda, bp, ldb, cp + <usize>i * ldc, kc);
      }
      if (j0 < n) {
        let bp = b + <usize>k0 * ldc + (<usize>j0 << 3), ldb = ldc;
        if (panels) {
          packFromPanels(b, n, k0, kc, j0, false, scratch);
          bp = scratch;
          ldb = 8;
        }
        const cp = cb + (<usize>j0 << 3);
        let i = 0;
        for (; i + 2 <= mc; i += 2) tile21(ab + <usize>i * lda, lda, bp, ldb, cp + <usize>i * ldc, ldc, kc);
        if (i < mc) tile11(ab + <usize>i * lda, bp, ldb, cp + <usize>i * ldc, kc);
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

// ------------------------------------------------------------------ 8-row panel layout
// A matrix (rows × cols) "in panels" stores rows in groups of 8: panel q (rows 8q … 8q+7) is
// cols × 8 words, column j's 8 words contiguous (row r at word (q·cols + j)·8 + r%8), the last
// panel padded with zero rows. Streaming such a matrix against a vector is ONE sequential read
// (row-major with 8 rows at a time is 8 streams): 309 MB (50,257 × 768) in 11–13 ms on one core
// against 19 ms row-major (measured as in the header). The masked weights are stored this way.

/** out[1×n] = a[1×k] · b[k×n], b in panels. */
function vecmatPanels(a: usize, b: usize, out: usize, k: i32, n: i32): void {
  const ldo = <usize>n << 3;
  let q = b, p = 0;
  for (; p + 8 <= k; p += 8) {
    const ap = a + (<usize>p << 3);
    const a0 = load<u64>(ap), a1 = load<u64>(ap, 8), a2 = load<u64>(ap, 16), a3 = load<u64>(ap, 24);
    const a4 = load<u64>(ap, 32), a5 = load<u64>(ap, 40), a6 = load<u64>(ap, 48), a7 = load<u64>(ap, 56);
    let o = out;
    const end = out + ldo;
    while (o < end) {
      store<u64>(o, load<u64>(o) + a0 * load<u64>(q) + a1 * load<u64>(q, 8) + a2 * load<u64>(q, 16) + a3 * load<u64>(q, 24)
        + a4 * load<u64>(q, 32) + a5 * load<u64>(q, 40) + a6 * load<u64>(q, 48) + a7 * load<u64>(q, 56));
      o += 8;
      q += 64;
    }
  }
  if (p < k) {
    // the last, partial panel: k − p real rows
    const r = k - p;
    let o = out;
    const end = out + ldo;
    while (o < end) {
      let s = load<u64>(o);
      for (let t = 0; t < r; t++) s += load<u64>(a + (<usize>(p + t) << 3)) * load<u64>(q + (<usize>t << 3));
      store<u64>(o, s);
      o += 8;
      q += 64;
    }
  }
}

/** out[m×1] = a[m×k] · b[k×1], a in panels: 8 dot products per panel, one sequential read. */
export function matvecPanels(a: usize, b: usize, out: usize, m: i32, k: i32): void {
  let q = a;
  const bEnd = b + (<usize>k << 3);
  for (let i = 0; i < m; i += 8) {
    let c0: u64 = 0, c1: u64 = 0, c2: u64 = 0, c3: u64 = 0, c4: u64 = 0, c5: u64 = 0, c6: u64 = 0, c7: u64 = 0;
    for (let bp = b; bp < bEnd; bp += 8) {
      const y = load<u64>(bp);
      c0 += load<u64>(q) * y;
      c1 += load<u64>(q, 8) * y;
      c2 += load<u64>(q, 16) * y;
      c3 += load<u64>(q, 24) * y;
      c4 += load<u64>(q, 32) * y;
      c5 += load<u64>(q, 40) * y;
      c6 += load<u64>(q, 48) * y;
      c7 += load<u64>(q, 56) * y;
      q += 64;
    }
    const cp = out + (<usize>i << 3);
    if (i + 8 <= m) {
      store<u64>(cp, c0); store<u64>(cp, c1, 8); store<u64>(cp, c2, 16); store<u64>(cp, c3, 24);
      store<u64>(cp, c4, 32); store<u64>(cp, c5, 40); store<u64>(cp, c6, 48); store<u64>(cp, c7, 56);
    } else {
      // the last, partial panel: r = m − i < 8 real rows (the padding rows' sums are dropped)
      const r = m - i;
      store<u64>(cp, c0);
      if (r > 1) store<u64>(cp, c1, 8);
      if (r > 2) store<u64>(cp, c2, 16);
      if (r > 3) store<u64>(cp, c3, 24);
      if (r > 4) store<u64>(cp, c4, 32);
      if (r > 5) store<u64>(cp, c5, 40);
      if (r > 6) store<u64>(cp, c6, 48);
    }
  }
}

// Copy rows k0 … k0+kc (k0 a multiple of 8) of columns j0 (and j0+1 when two) of a matrix in
// panels into kc × w contiguous words (w = 1 or 2): the packed panel the 2-column tiles read.
function packFromPanels(b: usize, n: i32, k0: i32, kc: i32, j0: i32, two: bool, dst: usize): void {
  const step = <usize>n << 6;
  let src = b + ((<usize>(k0 >> 3) * n + j0) << 6);
  for (let p = k0, end = k0 + kc; p < end; p += 8) {
    const rows = min(8, end - p);
    if (two) {
      for (let t = 0; t < rows; t++) {
        const o = <usize>t << 3;
        store<u64>(dst, load<u64>(src + o));
        store<u64>(dst, load<u64>(src + 64 + o), 8);
        dst += 16;
      }
    } else {
      for (let t = 0; t < rows; t++) {
        store<u64>(dst, load<u64>(src + (<usize>t << 3)));
        dst += 8;
      }
    }
    src += step;
  }
}

/**
 * out[m×n] = a[m×k] · b[k×n] mod 2^64 with b in panels (m = 1: one sequential read of b; else
 * every 2-column panel of b is packed, as `matmul` packs it, from the panel layout); `scratch`
 * holds scratchBytes() bytes.
 */
export function matmulPanels(a: usize, b: usize, out: usize, m: i32, k: i32, n: i32, scratch: usize): void {
  memory.fill(out, 0, <usize>m * n << 3);
  if (m == 1) return vecmatPanels(a, b, out, k, n);
  blocked(a, b, true, out, m, k, n, scratch);
}

/**
 * Shared-prefix DCF evaluation (src/fss/dcf-eval.ts `dcfEvalShared`): one key evaluated at t points
 * (a piecewise activation's knots, poly-input.ts) walks the same tree path for the points' common
 * leading bits, so the lanes of one key are evaluated as a trie: a lane joins at the level where
 * its point leaves the path of the point before it (in sorted order), with that lane's state.
 *
 *   Sorted points x_0 ≤ … ≤ x_{t−1} (mod 2^n) of one key, ℓ_s = lcp(x_{s−1}, x_s) (leading bits
 *   in common, n for equal points). Lane s ≥ 1 with ℓ_s ≥ 1 copies its state from its PARENT, the
 *   nearest r < s with ℓ_r ≤ ℓ_s (ℓ_0 = 0): lcp(x_r, x_s) = ℓ_s, and the parent joined earlier.
 *   It joins at level ℓ_s + 1 (level i reads input bit n − i, MSB first), where the two differ:
 *   the parent holds 0 there, the lane 1, so the lane's IN is the parent's with bit 0 flipped. A
 *   lane with ℓ_s = 0 is evaluated from the root (joins at level 1); an equal point (ℓ_s = n)
 *   joins at the leaf with the parent's state unchanged.
 * Lanes are renumbered by the level they join at (stable), so the lanes live at level i are a
 * prefix [0, A_i) of the chunk: the AES calls and the level kernel run over that prefix only.
 * Memory: every region is laid out by the JS side (FssLayout); u32 indices, u64 points.
 */

/** parent[j] of a lane that starts at the root (no parent). */
const NONE: u32 = 0xffffffff;

/**
 * Plan for E keys × t points, point c of key e at x[c·E + e] (copy-major, as dcfEval's ranges).
 * Writes, for the renumbered lanes j < E·t: point[j] (its virtual index c·E + e), keyOf[j] = e,
 * xs[j] = its point, parent[j] (renumbered, NONE when it starts at the root); join[i] (u32, i = 0..n+1)
 * = lanes that have joined by level i (A_i; join[n + 1] = E·t: the leaf).
 * Scratch: lvl (E·t bytes), par and pos (E·t u32 each), order (t u32).
 */
export function dcfSharedPlan(
  E: i32, t: i32, n: i32, x: usize, point: usize, keyOf: usize, xs: usize, parent: usize, join: usize,
  lvl: usize, par: usize, pos: usize, order: usize,
): void {
  const N = <usize>E * <usize>t, mask: u64 = n >= 64 ? <u64>-1 : ((<u64>1 << <u64>n) - 1);
  // 1. per key: sort its points, join levels and parents (lanes key-major: q = e·t + s)
  for (let e: usize = 0; e < <usize>E; e++) {
    for (let s: usize = 0; s < <usize>t; s++) {
      // insertion sort of point indices by x mod 2^n (ties keep copy order)
      const v = load<u64>(x + ((s * <usize>E + e) << 3)) & mask;
      let r = s;
      while (r > 0) {
        const c = <usize>load<u32>(order + ((r - 1) << 2));
        if ((load<u64>(x + ((c * <usize>E + e) << 3)) & mask) <= v) break;
        store<u32>(order + (r << 2), <u32>c);
        r--;
      }
      store<u32>(order + (r << 2), <u32>s);
    }
    const q0 = e * <usize>t;
    let prev: u64 = 0;
    for (let s: usize = 0; s < <usize>t; s++) {
      const c = <usize>load<u32>(order + (s << 2)), v = load<u64>(x + ((c * <usize>E + e) << 3)) & mask, q = q0 + s;
      // point index of lane q, kept in pos until renumbering
      store<u32>(pos + (q << 2), <u32>(c * <usize>E + e));
      let l: i32 = 0;
      if (s > 0) l = prev == v ? n : n - (64 - <i32>clz(prev ^ v));
      store<u8>(lvl + q, <u8>(l == 0 ? 1 : l + 1));
      let p: u32 = NONE;
      if (l > 0) {
        // nearest earlier lane r with ℓ_r ≤ ℓ_s: join level ≤ ℓ_s + 1, or the first lane
        for (let r = s; r-- > 0; ) {
          const lr = <i32>load<u8>(lvl + q0 + r);
          if (r == 0 || lr <= l + 1) { p = <u32>(q0 + r); break; }
        }
      }
      store<u32>(par + (q << 2), p);
      prev = v;
    }
  }
  // 2. counts per join level (1..n+1), then stable renumbering by join level
  memory.fill(join, 0, <usize>(n + 2) << 2);
  for (let q: usize = 0; q < N; q++) {
    const a = join + (<usize>load<u8>(lvl + q) << 2);
    store<u32>(a, load<u32>(a) + 1);
  }
  let acc: u32 = 0;
  for (let i: usize = 0; i <= <usize>(n + 1); i++) {
    const a = join + (i << 2), c = load<u32>(a);
    store<u32>(a, acc); // start of level i's lanes for now
    acc += c;
  }
  for (let q: usize = 0; q < N; q++) {
    const a = join + (<usize>load<u8>(lvl + q) << 2), j = load<u32>(a);
    store<u32>(a, j + 1);
    const v = <usize>load<u32>(pos + (q << 2));
    store<u32>(point + (<usize>j << 2), <u32>v);
    store<u32>(keyOf + (<usize>j << 2), <u32>(q / <usize>t));
    store<u64>(xs + (<usize>j << 3), load<u64>(x + (v << 3)));
    store<u32>(pos + (q << 2), j); // pos now maps key-major lane → renumbered lane
  }
  // join[i] = end of level i's lanes = lanes joined by level i (the fill above left exactly that)
  for (let q: usize = 0; q < N; q++) {
    const p = load<u32>(par + (q << 2)), j = <usize>load<u32>(pos + (q << 2));
    store<u32>(parent + (j << 2), p == NONE ? NONE : load<u32>(pos + (<usize>p << 2)));
  }
}

/**
 * Lanes [from, to) join: state (IN, INJ when m ≥ 3, t, the m value words) from their parent; IN's
 * direction bit flipped (flip = 1) at a tree level, kept (flip = 0) at the leaf (equal points).
 */
export function dcfSharedJoin(from: i32, to: i32, m: i32, flip: i32, parent: usize, inp: usize, inpJ: usize, t: usize, acc: usize): void {
  const f = i64x2(<i64>flip, 0), stride = <usize>m << 3;
  for (let j = <usize>from; j < <usize>to; j++) {
    const p = <usize>load<u32>(parent + (j << 2));
    v128.store(inp + (j << 4), v128.xor(v128.load(inp + (p << 4)), f));
    if (m > 2) v128.store(inpJ + (j << 4), v128.xor(v128.load(inpJ + (p << 4)), f));
    store<u8>(t + j, load<u8>(t + p));
    memory.copy(acc + j * stride, acc + p * stride, stride);
  }
}

/** dst[j] = src[keyOf[j]] for j < count (16-byte blocks: the lanes' root seeds). */
export function gatherBlocks(count: i32, keyOf: usize, src: usize, dst: usize): void {
  for (let j: usize = 0; j < <usize>count; j++) {
    v128.store(dst + (j << 4), v128.load(src + (<usize>load<u32>(keyOf + (j << 2)) << 4)));
  }
}

/** dst[point[j]] = src[j] for j < count, rows of `words` u64 (the lanes' outputs back in point order). */
export function scatterRows(count: i32, words: i32, point: usize, src: usize, dst: usize): void {
  const w = <usize>words << 3;
  for (let j: usize = 0; j < <usize>count; j++) memory.copy(dst + <usize>load<u32>(point + (j << 2)) * w, src + j * w, w);
}

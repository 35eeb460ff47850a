/**
 * DPF kernels (fss.md §2): leaf correction words of Gen_DPF, and point and full-domain Eval_DPF,
 * one call per level over a chunk (the per-level Gen pass is dcf-kernels.ts `genLevel` with m = 0).
 * Same conventions as dcf-kernels.ts: the JS side runs the raw AES over the IN regions and copies the
 * outputs in; these kernels add the feed-forward (H = AES ⊕ IN), correct, and write the next IN.
 * The leaf of a DPF with early termination ν holds M = 2^ν words, nb = M/2 blocks (τ = 2 + 4j).
 */

/**
 * LCW[j] = sgn(t1)·([j = α mod M]·β − W_0[j] + W_1[j]), W_b = Words(s_b, 2, M); leaf inputs and
 * their RAW AES_V hold 2·nb blocks per key (party b's nb blocks after party 0's).
 */
export function dpfGenLeaf(C: i32, nu: i32, alpha: usize, beta: usize, leafIn: usize, leafOut: usize, t: usize, lcwOut: usize): void {
  const M = 1 << nu, nb = <usize>(M >> 1), mask = <u64>(M - 1);
  for (let j: usize = 0; j < <usize>C; j++) {
    const t1 = <u64>load<u8>(t + (j << 1), 1), base = j * nb << 5, o = lcwOut + j * (<usize>M << 3);
    const p = <i32>(load<u64>(alpha + (j << 3)) & mask), bj = load<u64>(beta + (j << 3));
    for (let k = 0; k < M; k++) {
      const w = base + (<usize>k << 3), w1 = w + (nb << 4); // block k >> 1, half k & 1
      const v = (k == p ? bj : 0) - (load<u64>(leafOut + w) ^ load<u64>(leafIn + w)) + (load<u64>(leafOut + w1) ^ load<u64>(leafIn + w1));
      store<u64>(o + (<usize>k << 3), (v ^ (0 - t1)) + t1);
    }
  }
}

// ---------------------------------------------------------------- point evaluation

// IN tweak for the level reading bit p, or, once p < ν, the leaf block holding slot x mod M.
@inline function pointTweak(xj: u64, p: i32, nu: i32): u64 {
  return p >= nu ? (xj >> <u64>p) & 1 : 2 + 4 * ((xj & <u64>((1 << nu) - 1)) >> 1);
}

/** IN (the roots, copied in) ⊕= first tweak (bit n − 1 of x, or the leaf tweak when n = ν); t = party. */
export function dpfPointInit(C: i32, n: i32, nu: i32, inp: usize, x: usize, t: usize, party: i32): void {
  for (let j: usize = 0; j < <usize>C; j++) {
    store<u64>(inp + (j << 4), load<u64>(inp + (j << 4)) ^ pointTweak(load<u64>(x + (j << 3)), n - 1, nu));
  }
  memory.fill(t, <u8>party, <usize>C);
}

/** One level at bit p: (s', t') = Expand(s, d), corrected by CW when t; next IN = s' ⊕ next tweak. */
export function dpfPointLevel(C: i32, p: i32, nu: i32, inp: usize, hs: usize, cw: usize, x: usize, t: usize): void {
  const pd = <u64>p, clr = i64x2(~3, -1);
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4, tj = <u64>load<u8>(t + j), xj = load<u64>(x + (j << 3));
    const h = v128.xor(v128.load(hs + b), v128.load(inp + b)), c = v128.load(cw + b);
    store<u8>(t + j, <u8>((<u64>i64x2.extract_lane(h, 0) ^ (tj & (<u64>i64x2.extract_lane(c, 0) >> ((xj >> pd) & 1)))) & 1));
    const s = v128.and(v128.xor(h, v128.and(c, i64x2.splat(0 - tj))), clr);
    v128.store(inp + b, v128.xor(s, i64x2(pointTweak(xj, p - 1, nu), 0)));
  }
}

/** out = sgn(b)·(W[slot] + t·LCW[slot]), slot = x mod M; hv = RAW AES_V of IN (one block per key). */
export function dpfPointLeaf(C: i32, nu: i32, inp: usize, hv: usize, lcw: usize, x: usize, t: usize, out: usize, party: i32): void {
  const M = <usize>1 << <usize>nu, mask = <u64>(M - 1), sg = <u64>party;
  for (let j: usize = 0; j < <usize>C; j++) {
    const slot = <usize>(load<u64>(x + (j << 3)) & mask), w = (j << 4) + ((slot & 1) << 3);
    const tj = <u64>load<u8>(t + j);
    const v = (load<u64>(hv + w) ^ load<u64>(inp + w)) + (load<u64>(lcw + ((j * M + slot) << 3)) & (0 - tj));
    store<u64>(out + (j << 3), (v ^ (0 - sg)) + sg);
  }
}

// ---------------------------------------------------------------- full-domain evaluation

// Inputs for node c with seed s: two children blocks s, s ⊕ 1 (leafNb = 0) or leafNb leaf blocks.
@inline function writeNode(next: usize, c: usize, leafNb: i32, s: v128): void {
  if (leafNb == 0) {
    const o = next + (c << 5);
    v128.store(o, s);
    v128.store(o, v128.xor(s, i64x2(1, 0)), 16);
  } else {
    const o = next + (c * <usize>leafNb << 4);
    for (let jb = 0; jb < leafNb; jb++) v128.store(o + (<usize>jb << 4), v128.xor(s, i64x2(2 + 4 * <i64>jb, 0)));
  }
}

/** Roots (C blocks) → depth-1 inputs (or leaf inputs when depth = 0); t = party. */
export function dpfFullInit(C: i32, roots: usize, next: usize, leafNb: i32, t: usize, party: i32): void {
  for (let c: usize = 0; c < <usize>C; c++) writeNode(next, c, leafNb, v128.load(roots + (c << 4)));
  memory.fill(t, <u8>party, <usize>C);
}

/**
 * One breadth-first level over `nodes` parents (2·nodes children, natural order; the key of child c
 * is c >> sh): child seeds and control bits from H_S (RAW y ⊕ IN), corrected by the key's CW when the
 * parent's t is set, then written as the next level's (or the leaf's) inputs into `next`.
 */
export function dpfFullLevel(nodes: i32, sh: i32, inp: usize, y: usize, cw: usize, tIn: usize, tOut: usize, next: usize, leafNb: i32): void {
  const clr = i64x2(~3, -1), kids = <usize>nodes << 1;
  for (let c: usize = 0; c < kids; c++) {
    const b = c << 4;
    const c0 = v128.and(v128.load(cw + ((c >> <usize>sh) << 4)), i64x2.splat(0 - <u64>load<u8>(tIn + (c >> 1))));
    const h = v128.xor(v128.load(y + b), v128.load(inp + b));
    store<u8>(tOut + c, <u8>((<u64>i64x2.extract_lane(h, 0) ^ (<u64>i64x2.extract_lane(c0, 0) >> <u64>(c & 1))) & 1));
    writeNode(next, c, leafNb, v128.and(v128.xor(h, c0), clr));
  }
}

/**
 * Leaves → outputs: leaf L (key L >> depth, path L mod 2^depth) gives slots y = path·M + j with value
 * sgn(b)·(W[j] + t·LCW[key][j]); written to out[key·width + u], u = (h_key − y) & mask when rotated
 * (shift ≠ 0) else u = y; slots with u ≥ width are dropped. A leaf whose M slots land inside [0, width)
 * without wrapping (the common case) is written with 128-bit lanes: ascending pairs in natural order,
 * lane-swapped descending pairs when rotated.
 */
export function dpfFullLeaves(
  leaves: i32, depth: i32, nu: i32, inp: usize, y: usize, t: usize, lcw: usize,
  shift: usize, mask: u32, width: u32, out: usize, party: i32,
): void {
  const M = <u32>1 << <u32>nu, nb = <usize>(M >> 1), pathMask = (<u32>1 << <u32>depth) - 1;
  const sg = <u64>party, ng = i64x2.splat(0 - sg), gg = i64x2.splat(sg);
  for (let L: usize = 0; L < <usize>leaves; L++) {
    const key = L >> <usize>depth, y0 = (<u32>L & pathMask) * M;
    const tl = <u64>load<u8>(t + L), mv = i64x2.splat(0 - tl);
    const lk = lcw + (key * <usize>M << 3), ob = out + (key * <usize>width << 3), base = L * nb << 4;
    const hk = shift != 0 ? <u32>load<u64>(shift + (key << 3)) : 0;
    const u0 = shift != 0 ? (hk - y0) & mask : y0; // slot of word j = 0
    if (shift == 0 ? y0 + M <= width : u0 >= M - 1 && u0 < width) {
      for (let jb: usize = 0; jb < nb; jb++) {
        const o = jb << 4;
        let w = v128.xor(v128.load(y + base + o), v128.load(inp + base + o));
        w = i64x2.add(v128.xor(i64x2.add(w, v128.and(v128.load(lk + o), mv)), ng), gg);
        if (shift == 0) v128.store(ob + (<usize>y0 << 3) + o, w);
        else v128.store(ob + (<usize>(u0 - 1) << 3) - o, v128.shuffle<i64>(w, w, 1, 0)); // words 2jb, 2jb+1 → u0 − 2jb, u0 − 2jb − 1
      }
      continue;
    }
    for (let j: u32 = 0; j < M; j++) {
      const u = shift != 0 ? (u0 - j) & mask : y0 + j;
      if (u >= width) continue;
      const w = base + (<usize>j << 3);
      const v = (load<u64>(y + w) ^ load<u64>(inp + w)) + (load<u64>(lk + (<usize>j << 3)) & (0 - tl));
      store<u64>(ob + (<usize>u << 3), (v ^ (0 - sg)) + sg);
    }
  }
}

/**
 * DCF kernels (fss.md §3): the non-AES part of every level of Gen_DCF and Eval_DCF, one call per
 * level over a chunk of C keys. The JS side (src/fss/fss-wasm.ts) lays the regions out in this
 * module's memory, runs the raw AES (node:crypto, AES-NI) over the IN regions and copies the raw
 * outputs back in; these kernels add the Matyas–Meyer–Oseas feed-forward (H = AES ⊕ IN), read the
 * control bits, apply the correction words, accumulate the value words mod 2^64 (wasm i64 wraps) and
 * write the NEXT level's IN, so a level is: 2–3 AES calls, a few copies, one kernel call.
 *
 * Layouts (all little-endian; a block is 16 bytes, lo = bytes 0–7, hi = bytes 8–15):
 *   Eval: IN = C blocks (s ⊕ τ); INJ = IN ⊕ 4 (m ≥ 3, the second value block); t = C bytes;
 *         x = C words; CW = C blocks; VCW/LCW/out = C×m words (key-major).
 *   Gen:  IN = 4 blocks per key in the order (b, d) = (0,0), (0,1), (1,0), (1,1): s_b ⊕ d;
 *         t = 2 bytes per key (t0, t1); Vα = C×m words; leaf IN = 2·nb blocks per key (b, j).
 * sgn(t)·v is computed as (v ⊕ −t) + t (conditional negation), never as a product.
 */

/** sgn(t)·v = (−1)^t · v mod 2^64 for t ∈ {0, 1}. */
@inline function neg(t: u64, v: u64): u64 {
  return (v ^ (0 - t)) + t;
}

// ---------------------------------------------------------------- evaluation

/**
 * Level-1 input (or, for n = 0, the leaf input) from the roots already copied into IN:
 * IN ⊕= bit p of x (p ≥ 0) or the leaf tweak 2 (p < 0); t = party; out = 0.
 */
export function dcfEvalInit(C: i32, m: i32, p: i32, inp: usize, inpJ: usize, x: usize, t: usize, out: usize, party: i32): void {
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4;
    const tw: u64 = p >= 0 ? (load<u64>(x + (j << 3)) >> <u64>p) & 1 : 2;
    const lo = load<u64>(inp + b) ^ tw;
    store<u64>(inp + b, lo);
    if (m > 2) {
      store<u64>(inpJ + b, lo ^ 4);
      store<u64>(inpJ + b, load<u64>(inp + b, 8), 8);
    }
  }
  memory.fill(t, <u8>party, <usize>C);
  memory.fill(out, 0, <usize>C * <usize>m << 3);
}

/** The key of evaluation lane j: lane j itself, or keyOf[j] (u32) when lanes share keys (dcf-shared-kernels.ts). */
@inline function keyIndex(keyOf: usize, j: usize): usize {
  return keyOf == 0 ? j : <usize>load<u32>(keyOf + (j << 2));
}

// V[0..m) += H_V words of the parent + t·VCW[0..m): words 0, 1 from block w0, words 2, 3 from w1
// (i64x2 lanes; m = 1 and m = 3 add a single lane).
@inline function accumulate(m: i32, o: usize, v: usize, mv: v128, w0: v128, w1: v128): void {
  if (m == 1) {
    store<u64>(o, load<u64>(o) + i64x2.extract_lane(w0, 0) + (load<u64>(v) & i64x2.extract_lane(mv, 0)));
    return;
  }
  v128.store(o, i64x2.add(v128.load(o), i64x2.add(w0, v128.and(v128.load(v), mv))));
  if (m == 3) store<u64>(o, load<u64>(o, 16) + i64x2.extract_lane(w1, 0) + (load<u64>(v, 16) & i64x2.extract_lane(mv, 0)), 16);
  if (m == 4) v128.store(o, i64x2.add(v128.load(o, 16), i64x2.add(w1, v128.and(v128.load(v, 16), mv))), 16);
}

/**
 * One level of Eval_DCF at input bit p (MSB-first level i = n − p):
 *   V += w + t·VCW (w from the parent seed, parent t);  (s', t') = Expand(s, d) corrected by CW when t;
 *   next IN = s' ⊕ bit_{p−1}(x), or s' ⊕ 2 (the leaf tweak) after the last level (p = 0).
 * hs/hv0/hv1 hold the RAW AES outputs of IN (and INJ). 128-bit lanes (wasm SIMD) for the blocks.
 */
export function dcfEvalLevel(
  C: i32, m: i32, p: i32, inp: usize, inpJ: usize, hs: usize, hv0: usize, hv1: usize,
  cw: usize, vcw: usize, x: usize, t: usize, out: usize, keyOf: usize,
): void {
  const pd = <u64>p, pn = <u64>(p > 0 ? p - 1 : 0), lastTweak: u64 = p > 0 ? 0 : 2;
  const stride = <usize>m << 3, clr = i64x2(~3, -1), two = m > 2;
  let o = out;
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4, key = keyIndex(keyOf, j);
    const tj = <u64>load<u8>(t + j), mv = i64x2.splat(0 - tj);
    const xj = load<u64>(x + (j << 3)), iv = v128.load(inp + b);
    // 1. V += w + t·VCW_i
    const w1 = two ? v128.xor(v128.load(hv1 + b), v128.load(inpJ + b)) : iv;
    accumulate(m, o, vcw + key * stride, mv, v128.xor(v128.load(hv0 + b), iv), w1);
    o += stride;
    // 2. Expand(s, d) = H_S(s ⊕ d); if t: s' ^= CW (low bits cleared), t' ^= bit_d(CW.lo)
    const h = v128.xor(v128.load(hs + b), iv), c = v128.load(cw + (key << 4));
    const d = (xj >> pd) & 1;
    store<u8>(t + j, <u8>((i64x2.extract_lane(h, 0) ^ (tj & (i64x2.extract_lane(c, 0) >> d))) & 1));
    // 3. next level's IN = s' ⊕ next tweak (INJ = IN ⊕ 4)
    const nd = p > 0 ? (xj >> pn) & 1 : lastTweak;
    const s = v128.xor(v128.and(v128.xor(h, v128.and(c, mv)), clr), i64x2(nd, 0));
    v128.store(inp + b, s);
    if (two) v128.store(inpJ + b, v128.xor(s, i64x2(4, 0)));
  }
}

/** Leaf: V += C + t·LCW with C = Words(s, 2, m) (IN already carries τ = 2); then sgn(b)·V. */
export function dcfEvalLeaf(C: i32, m: i32, inp: usize, inpJ: usize, hv0: usize, hv1: usize, lcw: usize, t: usize, out: usize, party: i32, keyOf: usize): void {
  const stride = <usize>m << 3, two = m > 2;
  let o = out;
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4, mv = i64x2.splat(0 - <u64>load<u8>(t + j)), iv = v128.load(inp + b);
    const w1 = two ? v128.xor(v128.load(hv1 + b), v128.load(inpJ + b)) : iv;
    accumulate(m, o, lcw + keyIndex(keyOf, j) * stride, mv, v128.xor(v128.load(hv0 + b), iv), w1);
    o += stride;
  }
  if (party != 0) {
    const end = out + <usize>C * stride;
    for (let q = out; q < end; q += 8) store<u64>(q, 0 - load<u64>(q));
  }
}

// ---------------------------------------------------------------- key generation

// Children inputs of both parties' seeds: (b, d) = s_b ⊕ d; INJ = IN ⊕ 4 when m ≥ 3.
@inline export function writeChildren(q: usize, qJ: usize, s0: v128, s1: v128): void {
  const one = i64x2(1, 0);
  v128.store(q, s0);
  v128.store(q, v128.xor(s0, one), 16);
  v128.store(q, s1, 32);
  v128.store(q, v128.xor(s1, one), 48);
  if (qJ != 0) {
    const four = i64x2(4, 0), five = i64x2(5, 0);
    v128.store(qJ, v128.xor(s0, four));
    v128.store(qJ, v128.xor(s0, five), 16);
    v128.store(qJ, v128.xor(s1, four), 32);
    v128.store(qJ, v128.xor(s1, five), 48);
  }
}

// Leaf inputs of both parties' seeds: block (b, jb) = s_b ⊕ (2 + 4·jb), jb < nb (2·nb blocks per key).
@inline export function writeLeaf(q: usize, nb: i32, s0: v128, s1: v128): void {
  const q1 = q + (<usize>nb << 4);
  for (let jb = 0; jb < nb; jb++) {
    const tw = i64x2(2 + 4 * <i64>jb, 0), o = <usize>jb << 4;
    v128.store(q + o, v128.xor(s0, tw));
    v128.store(q1 + o, v128.xor(s1, tw));
  }
}

/**
 * Gen start for DCF and DPF: roots r0, r1 (C blocks each) → level-1 children inputs, or, when there
 * are no levels (leafNb > 0), the leaf inputs; t = (0, 1) per key.
 */
export function genInit(C: i32, r0: usize, r1: usize, inp: usize, inpJ: usize, leaf: usize, leafNb: i32, t: usize): void {
  for (let j: usize = 0; j < <usize>C; j++) {
    const s0 = v128.load(r0 + (j << 4)), s1 = v128.load(r1 + (j << 4));
    if (leafNb > 0) writeLeaf(leaf + (j * <usize>leafNb << 5), leafNb, s0, s1);
    else writeChildren(inp + (j << 6), inpJ != 0 ? inpJ + (j << 6) : 0, s0, s1);
    store<u16>(t + (j << 1), 0x100); // t0 = 0, t1 = 1
  }
}

// sgn(t)·v lane-wise: (v ⊕ −t) + t, with nt = splat(−t), tt = splat(t)
@inline function negv(nt: v128, tt: v128, v: v128): v128 {
  return i64x2.add(v128.xor(v, nt), tt);
}

/**
 * One level of Gen (DCF when m > 0, DPF when m = 0) at α's bit p: writes CW_i (C blocks) and, for a
 * DCF, VCW_i (C×m words), updates Vα and (s_b, t_b) along α's path, and writes the next level's
 * children inputs (nextLeafNb = 0) or the leaf inputs (nextLeafNb = blocks per party at the leaf).
 * betaBit: β joins the lose side when α[i] = betaBit (1 for 'lt'/'le', 0 for 'gt').
 */
export function genLevel(
  C: i32, m: i32, p: i32, betaBit: i32, alpha: usize, beta: usize, inp: usize, inpJ: usize,
  hs: usize, hv0: usize, hv1: usize, t: usize, va: usize, cwOut: usize, vcwOut: usize, leaf: usize, nextLeafNb: i32,
): void {
  const pd = <u64>p, clr = i64x2(~3, -1), stride = <usize>m << 3;
  for (let j: usize = 0; j < <usize>C; j++) {
    const q = inp + (j << 6), h = hs + (j << 6);
    const a = (load<u64>(alpha + (j << 3)) >> pd) & 1;
    const keep = <usize>a << 4, lose = <usize>16 - keep; // byte offset of direction d within party b's pair
    const t0 = <u64>load<u8>(t + (j << 1)), t1 = <u64>load<u8>(t + (j << 1), 1);
    // H_S of the keep/lose children of both parties (feed-forward ⊕ IN); control bits = lsb
    const YL0 = v128.xor(v128.load(h + lose), v128.load(q + lose)), YL1 = v128.xor(v128.load(h + lose + 32), v128.load(q + lose + 32));
    const YK0 = v128.xor(v128.load(h + keep), v128.load(q + keep)), YK1 = v128.xor(v128.load(h + keep + 32), v128.load(q + keep + 32));
    const k0 = <u64>i64x2.extract_lane(YK0, 0), k1 = <u64>i64x2.extract_lane(YK1, 0);
    // tCW of the keep side = T[0][keep] ⊕ T[1][keep] ⊕ 1, of the lose side T[0][lose] ⊕ T[1][lose]
    // (tCW_L = T00 ⊕ T10 ⊕ a ⊕ 1, tCW_R = T01 ⊕ T11 ⊕ a); bit d of the CW is tCW for direction d
    const tKeep = (k0 ^ k1 ^ 1) & 1, tLose = (<u64>i64x2.extract_lane(v128.xor(YL0, YL1), 0)) & 1;
    const sc = v128.and(v128.xor(YL0, YL1), clr);
    v128.store(cwOut + (j << 4), v128.or(sc, i64x2((tKeep << a) | (tLose << (1 - a)), 0)));
    if (m > 0) {
      // VCW_i = σ·(v[1][lose] − v[0][lose] − Vα + β·[a = betaBit]);  Vα += v[0][keep] − v[1][keep] + σ·VCW_i
      const nt = i64x2.splat(0 - t1), tt = i64x2.splat(t1), hb = i64x2.splat(0 - <u64>(a == <u64>betaBit));
      const vj = va + j * stride, bj = beta + j * stride, oj = vcwOut + j * stride;
      for (let k = 0; k < m; k += 2) {
        const hv = k < 2 ? hv0 + (j << 6) : hv1 + (j << 6), qq = k < 2 ? q : inpJ + (j << 6), ko = <usize>k << 3;
        const v0l = v128.xor(v128.load(hv + lose), v128.load(qq + lose)), v1l = v128.xor(v128.load(hv + lose + 32), v128.load(qq + lose + 32));
        const v0k = v128.xor(v128.load(hv + keep), v128.load(qq + keep)), v1k = v128.xor(v128.load(hv + keep + 32), v128.load(qq + keep + 32));
        if (k + 1 < m) {
          const vk = v128.load(vj + ko);
          const vcw = negv(nt, tt, i64x2.add(i64x2.sub(i64x2.sub(v1l, v0l), vk), v128.and(v128.load(bj + ko), hb)));
          v128.store(oj + ko, vcw);
          v128.store(vj + ko, i64x2.add(i64x2.add(i64x2.sub(vk, v1k), v0k), negv(nt, tt, vcw)));
        } else {
          // last odd word: lane 0 only (the neighbouring key's words must not be touched)
          const vk = load<u64>(vj + ko), bk = load<u64>(bj + ko) & (0 - <u64>(a == <u64>betaBit));
          const d = <u64>i64x2.extract_lane(v1l, 0) - <u64>i64x2.extract_lane(v0l, 0) - vk + bk;
          const vcw = (d ^ (0 - t1)) + t1;
          store<u64>(oj + ko, vcw);
          store<u64>(vj + ko, vk - <u64>i64x2.extract_lane(v1k, 0) + <u64>i64x2.extract_lane(v0k, 0) + ((vcw ^ (0 - t1)) + t1));
        }
      }
    }
    // advance: s_b = S[b][keep] ⊕ t_b·sCW;  t_b = T[b][keep] ⊕ (t_b & tCW_keep)   (old t_b)
    const s0 = v128.xor(v128.and(YK0, clr), v128.and(sc, i64x2.splat(0 - t0)));
    const s1 = v128.xor(v128.and(YK1, clr), v128.and(sc, i64x2.splat(0 - t1)));
    store<u8>(t + (j << 1), <u8>((k0 & 1) ^ (t0 & tKeep)));
    store<u8>(t + (j << 1), <u8>((k1 & 1) ^ (t1 & tKeep)), 1);
    if (nextLeafNb > 0) writeLeaf(leaf + (j * <usize>nextLeafNb << 5), nextLeafNb, s0, s1);
    else writeChildren(q, inpJ != 0 ? inpJ + (j << 6) : 0, s0, s1);
  }
}

/**
 * DCF leaf CW: LCW[k] = sgn(t1)·(C_1[k] − C_0[k] − Vα[k] (+ β[k] for 'le')), C_b = Words(s_b, 2, m);
 * leafIn / leafOut: the leaf inputs and their RAW AES_V (2·nb blocks per key).
 */
export function dcfGenLeaf(C: i32, m: i32, le: i32, beta: usize, leafIn: usize, leafOut: usize, t: usize, va: usize, lcwOut: usize): void {
  const nb = (m + 1) >> 1, stride = <usize>m << 3;
  for (let j: usize = 0; j < <usize>C; j++) {
    const t1 = <u64>load<u8>(t + (j << 1), 1), base = j * <usize>nb << 5;
    for (let k = 0; k < m; k++) {
      const w = base + (<usize>(k >> 1) << 4) + (<usize>(k & 1) << 3), w1 = w + (<usize>nb << 4);
      const c0 = load<u64>(leafOut + w) ^ load<u64>(leafIn + w), c1 = load<u64>(leafOut + w1) ^ load<u64>(leafIn + w1);
      const ko = j * stride + (<usize>k << 3);
      store<u64>(lcwOut + ko, neg(t1, c1 - c0 - load<u64>(va + ko) + (le != 0 ? load<u64>(beta + ko) : 0)));
    }
  }
}

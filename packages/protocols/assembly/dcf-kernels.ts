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

// out[k] += (H_V words of the parent) + t·VCW[k], H = raw ⊕ IN (block 0: hv0/inp, block 1: hv1/inpJ)
@inline function accumulate(m: i32, o: usize, v: usize, b: usize, msk: u64, inp: usize, inpJ: usize, hv0: usize, hv1: usize): void {
  store<u64>(o, load<u64>(o) + (load<u64>(hv0 + b) ^ load<u64>(inp + b)) + (load<u64>(v) & msk));
  if (m > 1) store<u64>(o, load<u64>(o, 8) + (load<u64>(hv0 + b, 8) ^ load<u64>(inp + b, 8)) + (load<u64>(v, 8) & msk), 8);
  if (m > 2) store<u64>(o, load<u64>(o, 16) + (load<u64>(hv1 + b) ^ load<u64>(inpJ + b)) + (load<u64>(v, 16) & msk), 16);
  if (m > 3) store<u64>(o, load<u64>(o, 24) + (load<u64>(hv1 + b, 8) ^ load<u64>(inpJ + b, 8)) + (load<u64>(v, 24) & msk), 24);
}

/**
 * One level of Eval_DCF at input bit p (MSB-first level i = n − p):
 *   V += w + t·VCW (w from the parent seed, parent t);  (s', t') = Expand(s, d) corrected by CW when t;
 *   next IN = s' ⊕ bit_{p−1}(x), or s' ⊕ 2 (the leaf tweak) after the last level (p = 0).
 * hs/hv0/hv1 hold the RAW AES outputs of IN (and INJ).
 */
export function dcfEvalLevel(
  C: i32, m: i32, p: i32, inp: usize, inpJ: usize, hs: usize, hv0: usize, hv1: usize,
  cw: usize, vcw: usize, x: usize, t: usize, out: usize,
): void {
  const pd = <u64>p, pn = <u64>(p > 0 ? p - 1 : 0), lastTweak: u64 = p > 0 ? 0 : 2;
  const stride = <usize>m << 3;
  let o = out, v = vcw;
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4;
    const tj = <u64>load<u8>(t + j), msk = 0 - tj;
    const xj = load<u64>(x + (j << 3));
    // 1. V += w + t·VCW_i
    accumulate(m, o, v, b, msk, inp, inpJ, hv0, hv1);
    o += stride;
    v += stride;
    // 2. Expand(s, d) = H_S(s ⊕ d); if t: s' ^= CW (low bits cleared), t' ^= bit_d(CW.lo)
    const h0 = load<u64>(hs + b) ^ load<u64>(inp + b), h1 = load<u64>(hs + b, 8) ^ load<u64>(inp + b, 8);
    const cw0 = load<u64>(cw + b), cw1 = load<u64>(cw + b, 8);
    const d = (xj >> pd) & 1;
    store<u8>(t + j, <u8>((h0 ^ (tj & (cw0 >> d))) & 1));
    // 3. next level's IN
    const nd = p > 0 ? (xj >> pn) & 1 : lastTweak;
    const s0 = ((h0 ^ (msk & cw0)) & ~(<u64>3)) ^ nd, s1 = h1 ^ (msk & cw1);
    store<u64>(inp + b, s0);
    store<u64>(inp + b, s1, 8);
    if (m > 2) {
      store<u64>(inpJ + b, s0 ^ 4);
      store<u64>(inpJ + b, s1, 8);
    }
  }
}

/** Leaf: V += C + t·LCW with C = Words(s, 2, m) (IN already carries τ = 2); then sgn(b)·V. */
export function dcfEvalLeaf(C: i32, m: i32, inp: usize, inpJ: usize, hv0: usize, hv1: usize, lcw: usize, t: usize, out: usize, party: i32): void {
  const stride = <usize>m << 3;
  let o = out, v = lcw;
  for (let j: usize = 0; j < <usize>C; j++) {
    accumulate(m, o, v, j << 4, 0 - <u64>load<u8>(t + j), inp, inpJ, hv0, hv1);
    o += stride;
    v += stride;
  }
  if (party != 0) {
    const end = out + <usize>C * stride;
    for (let q = out; q < end; q += 8) store<u64>(q, 0 - load<u64>(q));
  }
}

// ---------------------------------------------------------------- key generation

// Children inputs of both parties' seeds: (b, d) = s_b ⊕ d; INJ = IN ⊕ 4 when m ≥ 3.
@inline function writeChildren(q: usize, qJ: usize, a0: u64, a1: u64, b0: u64, b1: u64): void {
  store<u64>(q, a0);
  store<u64>(q, a1, 8);
  store<u64>(q, a0 ^ 1, 16);
  store<u64>(q, a1, 24);
  store<u64>(q, b0, 32);
  store<u64>(q, b1, 40);
  store<u64>(q, b0 ^ 1, 48);
  store<u64>(q, b1, 56);
  if (qJ != 0) {
    store<u64>(qJ, a0 ^ 4);
    store<u64>(qJ, a1, 8);
    store<u64>(qJ, a0 ^ 5, 16);
    store<u64>(qJ, a1, 24);
    store<u64>(qJ, b0 ^ 4, 32);
    store<u64>(qJ, b1, 40);
    store<u64>(qJ, b0 ^ 5, 48);
    store<u64>(qJ, b1, 56);
  }
}

// Leaf inputs of both parties' seeds: block (b, jb) = s_b ⊕ (2 + 4·jb), jb < nb (2·nb blocks per key).
@inline function writeLeaf(q: usize, nb: i32, a0: u64, a1: u64, b0: u64, b1: u64): void {
  for (let jb = 0; jb < nb; jb++) {
    const tw = 2 + 4 * <u64>jb, o = q + (<usize>jb << 4), o1 = o + (<usize>nb << 4);
    store<u64>(o, a0 ^ tw);
    store<u64>(o, a1, 8);
    store<u64>(o1, b0 ^ tw);
    store<u64>(o1, b1, 8);
  }
}

/**
 * Gen start for DCF and DPF: roots r0, r1 (C blocks each) → level-1 children inputs, or, when there
 * are no levels (leafNb > 0), the leaf inputs; t = (0, 1) per key.
 */
export function genInit(C: i32, r0: usize, r1: usize, inp: usize, inpJ: usize, leaf: usize, leafNb: i32, t: usize): void {
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4;
    const a0 = load<u64>(r0 + b), a1 = load<u64>(r0 + b, 8), b0 = load<u64>(r1 + b), b1 = load<u64>(r1 + b, 8);
    if (leafNb > 0) writeLeaf(leaf + (j * <usize>leafNb << 5), leafNb, a0, a1, b0, b1);
    else writeChildren(inp + (j << 6), inpJ != 0 ? inpJ + (j << 6) : 0, a0, a1, b0, b1);
    store<u16>(t + (j << 1), 0x100); // t0 = 0, t1 = 1
  }
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
  const pd = <u64>p, clr = ~(<u64>3), stride = <usize>m << 3;
  for (let j: usize = 0; j < <usize>C; j++) {
    const q = inp + (j << 6), h = hs + (j << 6);
    const a = (load<u64>(alpha + (j << 3)) >> pd) & 1;
    const keep = <usize>a << 4, lose = <usize>16 - keep;
    const t0 = <u64>load<u8>(t + (j << 1)), t1 = <u64>load<u8>(t + (j << 1), 1);
    // H_S of the four children inputs (feed-forward ⊕ IN); control bits = lsb
    const T00 = (load<u64>(h) ^ load<u64>(q)) & 1, T01 = (load<u64>(h, 16) ^ load<u64>(q, 16)) & 1;
    const T10 = (load<u64>(h, 32) ^ load<u64>(q, 32)) & 1, T11 = (load<u64>(h, 48) ^ load<u64>(q, 48)) & 1;
    const tCwL = T00 ^ T10 ^ a ^ 1, tCwR = T01 ^ T11 ^ a;
    const L0 = lose, L1 = lose + 32, K0 = keep, K1 = keep + 32;
    const sc0 = (load<u64>(h + L0) ^ load<u64>(q + L0) ^ load<u64>(h + L1) ^ load<u64>(q + L1)) & clr;
    const sc1 = load<u64>(h + L0, 8) ^ load<u64>(q + L0, 8) ^ load<u64>(h + L1, 8) ^ load<u64>(q + L1, 8);
    const cwp = cwOut + (j << 4);
    store<u64>(cwp, sc0 | tCwL | (tCwR << 1));
    store<u64>(cwp, sc1, 8);
    if (m > 0) {
      // VCW_i[k] = σ·(v[1][lose] − v[0][lose] − Vα + β·[a = betaBit]);  Vα += v[0][keep] − v[1][keep] + σ·VCW_i
      const hb = a == <u64>betaBit;
      const vj = va + j * stride, bj = beta + j * stride, oj = vcwOut + j * stride;
      for (let k = 0; k < m; k++) {
        const hv = k < 2 ? hv0 : hv1, qq = k < 2 ? q : inpJ + (j << 6), half = <usize>(k & 1) << 3;
        const hh = hv + (j << 6) + half, qh = qq + half;
        const v0l = load<u64>(hh + L0) ^ load<u64>(qh + L0), v1l = load<u64>(hh + L1) ^ load<u64>(qh + L1);
        const v0k = load<u64>(hh + K0) ^ load<u64>(qh + K0), v1k = load<u64>(hh + K1) ^ load<u64>(qh + K1);
        const ko = <usize>k << 3, vk = load<u64>(vj + ko);
        const vcw = neg(t1, v1l - v0l - vk + (hb ? load<u64>(bj + ko) : 0));
        store<u64>(oj + ko, vcw);
        store<u64>(vj + ko, vk - v1k + v0k + neg(t1, vcw));
      }
    }
    // advance: s_b = S[b][keep] ⊕ t_b·sCW;  t_b = T[b][keep] ⊕ (t_b & tCW_keep)   (old t_b)
    const tKeep = a != 0 ? tCwR : tCwL, m0 = 0 - t0, m1 = 0 - t1;
    const y0 = load<u64>(h + K0) ^ load<u64>(q + K0), y1 = load<u64>(h + K1) ^ load<u64>(q + K1);
    const a0 = (y0 & clr) ^ (m0 & sc0), a1 = load<u64>(h + K0, 8) ^ load<u64>(q + K0, 8) ^ (m0 & sc1);
    const b0 = (y1 & clr) ^ (m1 & sc0), b1 = load<u64>(h + K1, 8) ^ load<u64>(q + K1, 8) ^ (m1 & sc1);
    store<u8>(t + (j << 1), <u8>((y0 & 1) ^ (t0 & tKeep)));
    store<u8>(t + (j << 1), <u8>((y1 & 1) ^ (t1 & tKeep)), 1);
    if (nextLeafNb > 0) writeLeaf(leaf + (j * <usize>nextLeafNb << 5), nextLeafNb, a0, a1, b0, b1);
    else writeChildren(q, inpJ != 0 ? inpJ + (j << 6) : 0, a0, a1, b0, b1);
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

/**
 * Kernels of the DCF with output group Z₂ (src/fss/dcf-bit.ts): [x < α] as XOR shares of one bit,
 * one AES block per child and level (no H_V). Same division of labour as dcf-kernels.ts: the JS side
 * runs the raw AES over IN, these kernels add the feed-forward and do the rest of a level.
 *
 * A child block h = AES_S(s ⊕ d) ⊕ (s ⊕ d) gives t = bit 0, the value bit v = bit 1 and the child
 * seed (bits 3–127; bits 0–2 cleared). A CW block carries the seed correction (bits ≥ 3), tCW_L and
 * tCW_R (bits 0, 1) and the value correction VCW (bit 2). Eval per level at input bit d, parent t:
 *   V ^= v_d ⊕ (t ∧ VCW);  t' = t_d ⊕ (t ∧ tCW_d);  s' = (h_d ⊕ (t ? CW : 0)) with bits 0–2 cleared.
 * Early termination: the tree stops ν = min(7, n) levels above the bottom (src/fss/dcf-bit.ts); the
 * leaf block G(s) = H(s ⊕ 2) holds 128 output bits, and the last ν input bits pick one:
 * V ^= bit_{x mod 2^ν} of (G(s) ⊕ (t ? LCW : 0)). Layouts: Eval IN/hs/CW/LCW C blocks, t and V C
 * bytes, x C words; Gen as genLevel's with m = 0 (4 children blocks per key), A C bytes, LCW C blocks.
 */
import { writeChildren, writeLeaf } from './dcf-kernels';

// keep bits 3–127 of a block (the seed part)
@inline function seedBits(): v128 {
  return i64x2(~7, -1);
}

/** IN ⊕= bit p of x (p ≥ 0) or the leaf tweak 2 (p < 0); t = party; V = 0. */
export function dcfBitEvalInit(C: i32, p: i32, inp: usize, x: usize, t: usize, acc: usize, party: i32): void {
  for (let j: usize = 0; j < <usize>C; j++) {
    const tw: u64 = p >= 0 ? (load<u64>(x + (j << 3)) >> <u64>p) & 1 : 2;
    store<u64>(inp + (j << 4), load<u64>(inp + (j << 4)) ^ tw);
  }
  memory.fill(t, <u8>party, <usize>C);
  memory.fill(acc, 0, <usize>C);
}

/** One level at input bit p; hs holds the raw AES of IN; writes the next level's IN (or the leaf's, p = ν). */
export function dcfBitEvalLevel(C: i32, p: i32, nu: i32, inp: usize, hs: usize, cw: usize, x: usize, t: usize, acc: usize): void {
  const pd = <u64>p, pn = <u64>(p > nu ? p - 1 : 0), clr = seedBits();
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4, tj = <u64>load<u8>(t + j), xj = load<u64>(x + (j << 3));
    const h = v128.xor(v128.load(hs + b), v128.load(inp + b)), c = v128.load(cw + b);
    const hlo = <u64>i64x2.extract_lane(h, 0), clo = <u64>i64x2.extract_lane(c, 0), d = (xj >> pd) & 1;
    store<u8>(acc + j, <u8>(load<u8>(acc + j) ^ <u8>(((hlo >> 1) ^ (tj & (clo >> 2))) & 1)));
    store<u8>(t + j, <u8>((hlo ^ (tj & (clo >> d))) & 1));
    const nd: u64 = p > nu ? (xj >> pn) & 1 : 2;
    const s = v128.and(v128.xor(h, v128.and(c, i64x2.splat(0 - tj))), clr);
    v128.store(inp + b, v128.xor(s, i64x2(nd, 0)));
  }
}

/** Leaf: V ^= bit_{x mod 2^ν} of G(s) ⊕ (t ? LCW : 0), G(s) = H(s ⊕ 2) (IN carries the tweak). */
export function dcfBitEvalLeaf(C: i32, nu: i32, inp: usize, hs: usize, lcw: usize, x: usize, t: usize, acc: usize): void {
  const low: u64 = (<u64>1 << <u64>nu) - 1;
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 4, tj = <u64>load<u8>(t + j);
    const g = v128.xor(v128.xor(v128.load(hs + b), v128.load(inp + b)), v128.and(v128.load(lcw + b), i64x2.splat(0 - tj)));
    const i = load<u64>(x + (j << 3)) & low;
    const w = i < 64 ? <u64>i64x2.extract_lane(g, 0) : <u64>i64x2.extract_lane(g, 1);
    store<u8>(acc + j, load<u8>(acc + j) ^ <u8>((w >> (i & 63)) & 1));
  }
}

/**
 * One level of Gen at α's bit p (β = 1, 'lt': the output is 1 where x leaves α's path at a level
 * with α_i = 1): writes CW_i (C blocks), updates A (C bytes: V⁰ ⊕ V¹ along α's path) and (s_b, t_b),
 * and writes the next level's children inputs or, after the last level (last ≠ 0), the leaf inputs
 * (2 blocks per key at `leaf`).
 */
export function dcfBitGenLevel(C: i32, p: i32, alpha: usize, inp: usize, hs: usize, t: usize, va: usize, cwOut: usize, leaf: usize, last: i32): void {
  const pd = <u64>p, clr = seedBits();
  for (let j: usize = 0; j < <usize>C; j++) {
    const q = inp + (j << 6), h = hs + (j << 6);
    const a = (load<u64>(alpha + (j << 3)) >> pd) & 1;
    const keep = <usize>a << 4, lose = <usize>16 - keep;
    const t0 = <u64>load<u8>(t + (j << 1)), t1 = <u64>load<u8>(t + (j << 1), 1);
    const YL0 = v128.xor(v128.load(h + lose), v128.load(q + lose)), YL1 = v128.xor(v128.load(h + lose + 32), v128.load(q + lose + 32));
    const YK0 = v128.xor(v128.load(h + keep), v128.load(q + keep)), YK1 = v128.xor(v128.load(h + keep + 32), v128.load(q + keep + 32));
    const k0 = <u64>i64x2.extract_lane(YK0, 0), k1 = <u64>i64x2.extract_lane(YK1, 0);
    const l01 = <u64>i64x2.extract_lane(v128.xor(YL0, YL1), 0);
    const tKeep = (k0 ^ k1 ^ 1) & 1, tLose = l01 & 1;
    // VCW = v⁰_lose ⊕ v¹_lose ⊕ A ⊕ [α_i = 1];  A ^= v⁰_keep ⊕ v¹_keep ⊕ VCW
    const A = <u64>load<u8>(va + j);
    const vcw = ((l01 >> 1) ^ A ^ a) & 1;
    store<u8>(va + j, <u8>((A ^ ((k0 ^ k1) >> 1) ^ vcw) & 1));
    const sc = v128.and(v128.xor(YL0, YL1), clr);
    v128.store(cwOut + (j << 4), v128.or(sc, i64x2((tKeep << a) | (tLose << (1 - a)) | (vcw << 2), 0)));
    // advance along α: s_b = S[b][keep] ⊕ t_b·sCW;  t_b = T[b][keep] ⊕ (t_b ∧ tCW_keep)
    const s0 = v128.xor(v128.and(YK0, clr), v128.and(sc, i64x2.splat(0 - t0)));
    const s1 = v128.xor(v128.and(YK1, clr), v128.and(sc, i64x2.splat(0 - t1)));
    store<u8>(t + (j << 1), <u8>((k0 & 1) ^ (t0 & tKeep)));
    store<u8>(t + (j << 1), <u8>((k1 & 1) ^ (t1 & tKeep)), 1);
    if (last != 0) writeLeaf(leaf + (j << 5), 1, s0, s1);
    else writeChildren(q, 0, s0, s1);
  }
}

/**
 * Leaf CW (128 bits): LCW = G(s⁰) ⊕ G(s¹) ⊕ M, M bit i = [i < α mod 2^ν] ⊕ A — on α's path
 * (t⁰ ⊕ t¹ = 1, LCW applied once) the two parties' bits then XOR to A ⊕ A ⊕ [x mod 2^ν < α mod 2^ν]
 * = [x < α]; off it G(s⁰) = G(s¹) and the t bits are equal, so everything cancels.
 * leafIn/leafOut: 2 blocks per key.
 */
export function dcfBitGenLeaf(C: i32, nu: i32, alpha: usize, leafIn: usize, leafOut: usize, va: usize, lcwOut: usize): void {
  const low: u64 = (<u64>1 << <u64>nu) - 1;
  for (let j: usize = 0; j < <usize>C; j++) {
    const b = j << 5, a = load<u64>(alpha + (j << 3)) & low, flip = 0 - <u64>load<u8>(va + j);
    const mlo: u64 = a >= 64 ? <u64>-1 : (<u64>1 << a) - 1, mhi: u64 = a > 64 ? (<u64>1 << (a - 64)) - 1 : 0;
    const g = v128.xor(
      v128.xor(v128.load(leafOut + b), v128.load(leafIn + b)),
      v128.xor(v128.load(leafOut + b + 16), v128.load(leafIn + b + 16)),
    );
    v128.store(lcwOut + (j << 4), v128.xor(g, i64x2(<i64>(mlo ^ flip), <i64>(mhi ^ flip))));
  }
}

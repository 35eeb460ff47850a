/**
 * DPF key generation (fss.md §2): keys for f_{α,β}(x) = β·[x = α], n-bit input, Z_2^64 output, with
 * early termination ν (the last ν levels fold into a leaf of 2^ν words), batched over many keys.
 *
 * Gen_DPF(n, ν, α, β):
 *   s0, s1 ← root seeds (low 2 bits cleared);  t0 = 0;  t1 = 1
 *   for i = 1 .. n−ν:  a = α[i] (MSB first);  keep = a;  lose = 1 − a
 *     (S[b][d], T[b][d]) = Expand(s_b, d);   sCW = S[0][lose] ⊕ S[1][lose]
 *     tCW_L = T[0][0] ⊕ T[1][0] ⊕ a ⊕ 1;   tCW_R = T[0][1] ⊕ T[1][1] ⊕ a
 *     CW_i = sCW with lo |= tCW_L | (tCW_R << 1)
 *     s_b = S[b][keep] ⊕ (t_b ? sCW : 0);   t_b = T[b][keep] ⊕ (t_b & tCW_keep)     (old t_b)
 *   W_b = Words(s_b, 2, 2^ν);  p = α mod 2^ν
 *   LCW[j] = sgn(t1) · ((j = p ? β : 0) − W_0[j] + W_1[j])
 *
 * Key per party: root (16 B, from the party's own dealer stream, never sent) + CW_1..CW_{n−ν} (16 B each)
 * + LCW (8·2^ν B); the dealer sends dpfKeyBytes(n, ν) = 16(n − ν) + 8·2^ν B to EACH party (the CWs
 * are identical in both keys). Gen costs 4 AES blocks per level and key plus 2^ν leaf blocks.
 *
 * Wire layout (fss.md §6, level-major): CW level 1 for all keys (count×16), …, CW level n−ν, then
 * LCW (count × 2^ν u64, key-major).
 */
import type { PartyId } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import { hashChildren, u32 } from './dpf-blocks';
import { clearSeedBits, FssPrg } from './fss-prg';

/** One party's keys for a batch of `count` DPFs of the same shape. */
export interface DpfKeys {
  readonly n: number;
  readonly nu: number;
  readonly count: number;
  readonly party: PartyId;
  /** count×16 root seeds. */
  readonly roots: Uint8Array;
  /** (n − ν) × count × 16 correction words, level-major. */
  readonly cw: Uint8Array;
  /** count × 2^ν leaf correction words. */
  readonly lcw: BigUint64Array;
}

/** Bytes the dealer sends to each party per key. */
export const dpfKeyBytes = (n: number, nu: number): number => 16 * (n - nu) + 8 * 2 ** nu;

/** ν for full-domain use (fss.md §2): min(n, 3). */
export const fullDomainNu = (n: number): number => Math.min(n, 3);

let sharedPrg: FssPrg | undefined;
/** The session-independent FSS PRG (empty salt). */
export function defaultFssPrg(): FssPrg {
  return (sharedPrg ??= new FssPrg());
}

export function checkDpfShape(n: number, nu: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new RangeError(`dpf: input bits n must be in [1, 64], got ${n}`);
  if (!Number.isInteger(nu) || nu < 1 || nu > Math.min(n, 16)) {
    throw new RangeError(`dpf: early termination ν must be in [1, min(n, 16)], got ${nu} for n = ${n}`);
  }
}

/** bit_j of word i of a BigUint64Array viewed as little-endian u32 pairs. */
export function bitOfWord(w32: Uint32Array, i: number, j: number): number {
  return j < 32 ? (w32[2 * i] >>> j) & 1 : (w32[2 * i + 1] >>> (j - 32)) & 1;
}

/** Children blocks → seeds (low 2 bits cleared, as u32 words) and control bits t into `t`. */
function splitT(y: Uint8Array, t: Uint8Array): Uint32Array {
  const S = u32(y);
  for (let c = 0; c < t.length; c++) {
    t[c] = S[4 * c] & 1;
    S[4 * c] &= ~3;
  }
  return S;
}

/**
 * Gen_DPF for count = alpha.length keys (β per key). roots_b are count×16 seeds with low bits cleared.
 * Returns the bytes sent to both parties: CWs (level-major) then LCWs.
 */
export function dpfGen(
  prg: FssPrg,
  n: number,
  nu: number,
  alpha: BigUint64Array,
  beta: BigUint64Array,
  roots0: Uint8Array,
  roots1: Uint8Array,
): Uint8Array {
  checkDpfShape(n, nu);
  const count = alpha.length, depth = n - nu, m = 2 ** nu;
  const out = new Uint8Array(16 * depth * count + 8 * m * count);
  const cwAll = new Uint32Array(out.buffer, 0, 4 * depth * count);
  const a32 = new Uint32Array(alpha.buffer, alpha.byteOffset, 2 * count);
  let s0 = roots0.slice(), s1 = roots1.slice();
  let t0 = new Uint8Array(count), t1 = new Uint8Array(count).fill(1);
  const sc = new Uint32Array(4);
  const T0 = new Uint8Array(2 * count), T1 = new Uint8Array(2 * count);
  for (let lvl = 0; lvl < depth; lvl++) {
    const bit = n - 1 - lvl;
    const S0 = splitT(hashChildren(prg, s0), T0), S1 = splitT(hashChildren(prg, s1), T1);
    const n0 = new Uint8Array(16 * count), n1 = new Uint8Array(16 * count);
    const N0 = u32(n0), N1 = u32(n1);
    const nt0 = new Uint8Array(count), nt1 = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const a = bitOfWord(a32, i, bit);
      const lose = 4 * (2 * i + 1 - a), keep = 4 * (2 * i + a);
      for (let q = 0; q < 4; q++) sc[q] = S0[lose + q] ^ S1[lose + q];
      const tL = T0[2 * i] ^ T1[2 * i] ^ a ^ 1;
      const tR = T0[2 * i + 1] ^ T1[2 * i + 1] ^ a;
      const c = 4 * (lvl * count + i);
      cwAll[c] = sc[0] | tL | (tR << 1);
      cwAll[c + 1] = sc[1];
      cwAll[c + 2] = sc[2];
      cwAll[c + 3] = sc[3];
      const tKeep = a ? tR : tL;
      const m0 = t0[i] ? 0xffffffff : 0, m1 = t1[i] ? 0xffffffff : 0;
      for (let q = 0; q < 4; q++) {
        N0[4 * i + q] = S0[keep + q] ^ (sc[q] & m0);
        N1[4 * i + q] = S1[keep + q] ^ (sc[q] & m1);
      }
      nt0[i] = T0[2 * i + a] ^ (t0[i] & tKeep);
      nt1[i] = T1[2 * i + a] ^ (t1[i] & tKeep);
    }
    s0 = n0;
    s1 = n1;
    t0 = nt0;
    t1 = nt1;
  }
  const W0 = prg.words(s0, 2, m), W1 = prg.words(s1, 2, m);
  const lcw = new BigUint64Array(out.buffer, 16 * depth * count, m * count);
  const mask = BigInt(m - 1);
  for (let i = 0; i < count; i++) {
    const p = Number(alpha[i] & mask);
    for (let j = 0; j < m; j++) {
      const k = i * m + j;
      const v = (j === p ? beta[i] : 0n) - W0[k] + W1[k];
      lcw[k] = BigInt.asUintN(64, t1[i] ? -v : v);
    }
  }
  return out;
}

/**
 * Inside a correlation spec: `count` DPF keys of shape (n, ν). Roots come from each party's own
 * stream; `alpha` and `beta` (count words each) are evaluated in dealer mode only.
 * In dealer mode the returned keys are P0's (unused by the framework).
 */
export function dealDpfKeys(
  g: DealGen,
  n: number,
  nu: number,
  count: number,
  alpha: () => BigUint64Array,
  beta: () => BigUint64Array,
  prg: FssPrg = defaultFssPrg(),
): DpfKeys {
  checkDpfShape(n, nu);
  const r0 = g.own(0, 2 * count), r1 = g.own(1, 2 * count);
  const root = (w: BigUint64Array | undefined) => w && clearSeedBits(new Uint8Array(w.buffer, w.byteOffset, 16 * count));
  const roots0 = root(r0), roots1 = root(r1);
  const bytes = g.send('both', count * dpfKeyBytes(n, nu), () =>
    dpfGen(prg, n, nu, alpha(), beta(), roots0 as Uint8Array, roots1 as Uint8Array),
  ) as Uint8Array;
  const party: PartyId = g.mode === 1 ? 1 : 0;
  const cwLen = 16 * (n - nu) * count;
  return {
    n,
    nu,
    count,
    party,
    roots: (party === 0 ? roots0 : roots1) as Uint8Array,
    cw: bytes.subarray(0, cwLen),
    lcw: new BigUint64Array(bytes.buffer, bytes.byteOffset + cwLen, 2 ** nu * count),
  };
}

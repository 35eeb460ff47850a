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
 * are identical in both keys). Gen costs 4 AES blocks per level and key plus 2^ν leaf blocks; all the
 * non-AES work is in the wasm kernels (fss-wasm.ts).
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (shared, load 7–14), bench/fss-bench.js: warm-up,
 * then best of 3, the previous JS version (commit 8aa2957) and this one alternating in the same run;
 * wall ms (process CPU ms):
 *   16384 keys, n = 8, ν = 3 (LUT/one-hot)    42.7 (29.6) → 2.7 (2.8)
 *   65536 keys, n = 64, ν = 1 (equality)      1084 (725)  → 198 (140)
 * Re-measure when Node changes major version.
 *
 * Wire layout (fss.md §6, level-major): CW level 1 for all keys (count×16), …, CW level n−ν, then
 * LCW (count × 2^ν u64, key-major).
 */
import type { PartyId } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import { bytesToBoth, type DealerBytes } from '../dealer/dealer-bytes';
import { drawWork, sendWork, type DealerWork } from '../dealer/dealer-work';
import { drawFssRoots, FssPrg } from './fss-prg';
import { FssLayout, placeGenInputs, wordBytes } from './fss-wasm';

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

/** The dealer's bytes for dealDpfKeys: `count` keys' correction words to each party. */
export const dpfKeysBytes = (n: number, nu: number, count: number): DealerBytes => bytesToBoth(count * dpfKeyBytes(n, nu));

/**
 * The dealer's work for dealDpfKeys (dealer-work.ts), per key: the two parties' root seeds drawn
 * (4 words), α and β computed (2), the FSS PRG expansions as words (2 per AES block: 4 children
 * blocks per level through H_S, 2^ν leaf blocks through H_V), and the correction words sent.
 */
export const dpfKeysWork = (n: number, nu: number, count: number): DealerWork =>
  drawWork(4 * count) + count * (2 + 2 * (4 * (n - nu) + 2 ** nu)) + sendWork(count * dpfKeyBytes(n, nu));

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

/** Keys per chunk of dpfGen: 4 children blocks per key and level (128 KiB per AES call), 2^ν leaf blocks per key. */
const GEN_CHUNK_KEYS = 2048;

/**
 * Gen_DPF for count = alpha.length keys (β per key). roots_b are count×16 seeds with low bits cleared.
 * Returns the bytes sent to both parties: CWs (level-major) then LCWs.
 * Per level and chunk: one raw AES_S call over the 4 children inputs (s_b ⊕ d) of every key, then the
 * wasm kernel `genLevel` (m = 0: no value words) writes CW_i and the next inputs; the leaf words
 * W_b = Words(s_b, 2, 2^ν) of both parties are one AES_V call, LCW the kernel `dpfGenLeaf`.
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
  const count = alpha.length, depth = n - nu, M = 2 ** nu, nb = M / 2;
  const out = new Uint8Array(16 * depth * count + 8 * M * count);
  if (count === 0) return out;
  const C = Math.min(count, Math.max(1, Math.floor((8 * GEN_CHUNK_KEYS) / M)), GEN_CHUNK_KEYS);
  const L = new FssLayout(), kx = L.kx;
  const r0 = L.region(16 * C), r1 = L.region(16 * C), al = L.region(8 * C), be = L.region(8 * C);
  const inp = L.region(64 * C), hs = L.region(64 * C), t = L.region(2 * C), cwOut = L.region(16 * C);
  const leafIn = L.region(16 * M * C), leafOut = L.region(16 * M * C), lcwOut = L.region(8 * M * C);
  const mem = L.commit();
  for (let c0 = 0; c0 < count; c0 += C) {
    const c1 = Math.min(count, c0 + C), cc = c1 - c0;
    placeGenInputs(mem, { r0, r1, alpha: al }, roots0, roots1, alpha, c0, c1);
    mem.set(wordBytes(beta, c0, c1), be);
    kx.genInit(cc, r0, r1, inp, 0, leafIn, depth === 0 ? nb : 0, t); // t0 = 0, t1 = 1
    for (let lvl = 0; lvl < depth; lvl++) {
      prg.encryptSInto(mem, inp, hs, 64 * cc);
      kx.genLevel(cc, 0, n - 1 - lvl, 1, al, be, inp, 0, hs, hs, hs, t, 0, cwOut, 0, leafIn, lvl === depth - 1 ? nb : 0);
      out.set(mem.subarray(cwOut, cwOut + 16 * cc), 16 * (lvl * count + c0));
    }
    // leaf: W_b = Words(s_b, 2, 2^ν);  LCW[j] = sgn(t1)·([j = α mod 2^ν]·β − W_0[j] + W_1[j])
    prg.encryptVInto(mem, leafIn, leafOut, 16 * M * cc);
    kx.dpfGenLeaf(cc, nu, al, be, leafIn, leafOut, t, lcwOut);
    out.set(mem.subarray(lcwOut, lcwOut + 8 * M * cc), 16 * depth * count + 8 * M * c0);
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
  const [roots0, roots1] = drawFssRoots(g, count);
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

/**
 * DCF with output group Z₂ — f(x) = [x < α] as XOR shares of one bit, x and α n-bit unsigned (read
 * mod 2^n, MSB first). The ring DCF (dcf-keygen.ts, dcf-eval.ts) with every sum an XOR and the value
 * bit taken from the same AES block as the child seed (assembly/dcf-bit-kernels.ts): for quick-select,
 * which opens every comparison bit at once and needs no ring shares of it.
 *
 * Early termination (session 24): the tree has n' = n − ν levels, ν = min(7, n); its leaf block
 * G(s) = H(s ⊕ 2) holds 128 output bits and the last ν input bits pick one (x mod 2^ν), with a
 * 128-bit leaf correction LCW = G(s⁰) ⊕ G(s¹) ⊕ M, M bit i = [i < α mod 2^ν] ⊕ A (A the value
 * accumulated on α's path). 7 levels fewer to generate and evaluate, 16 B of LCW instead of 1.
 * Key per party: root seed (16 B, the party's own dealer stream, never sent) plus correction words
 * sent to both: dcfBitKeyBytes(n) = 16n' + 16 B (level i: 16 B per key — seed correction, tCW_L,
 * tCW_R, VCW; then the 16-B LCW), against the ring DCF's 24n + 8 at one payload word: 608 B at
 * n = 44 (topK's comparisons at 4096) instead of 16n + 1 = 705 without early termination.
 * AES blocks: gen 4 per key and level + 2 at the leaf (ring DCF: 8 and 2); eval 1 per level + 1.
 * Wire layout of N keys: for level i = 1..n', CW_i of all keys (N×16); then LCW of all keys (N×16).
 * Correctness: on α's path the two parties' t bits differ and VCW_i fixes the output of every x that
 * leaves the path at level i; off it their seeds and t bits are equal and every later value cancels;
 * below the leaf, M is the comparison of the last ν bits (x and α agree above them on the path).
 */
import { ShapeError, type PartyId } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import { bytesToBoth, type DealerBytes } from '../dealer/dealer-bytes';
import { drawWork, sendWork, type DealerWork } from '../dealer/dealer-work';
import { EVAL_CHUNK_KEYS } from './dcf-eval';
import { GEN_CHUNK_KEYS } from './dcf-keygen';
import { drawFssRoots, type FssPrg } from './fss-prg';
import { FssLayout, placeGenInputs, wordBytes } from './fss-wasm';

/** A batch of N Z₂-output DCF keys of one party. */
export interface DcfBitKeys {
  readonly n: number;
  readonly count: number;
  /** N×16 root seeds, from this party's own dealer stream. */
  readonly roots: Uint8Array;
  /** Correction words in the wire layout above (dcfBitKeyBytes(n)·N bytes). */
  readonly cws: Uint8Array;
}

/** Input bits resolved inside the leaf block (early termination): ν = min(DCF_BIT_LEAF_BITS, n). */
export const DCF_BIT_LEAF_BITS = 7;

/** Tree levels of an n-bit key: n' = n − ν. */
export const dcfBitLevels = (n: number): number => n - Math.min(DCF_BIT_LEAF_BITS, n);

/** Bytes the dealer sends to EACH party per key: 16 per level and the 16-B leaf correction. */
export const dcfBitKeyBytes = (n: number): number => 16 * dcfBitLevels(n) + 16;

/** FSS AES blocks per key: dcfBitGen 4 per level and 2 at the leaf; dcfBitEval 1 per level and 1. */
export const dcfBitGenBlocks = (n: number): number => 4 * dcfBitLevels(n) + 2;

export interface DcfBitDealParams {
  n: number;
  count: number;
}

export const dcfBitKeysBytes = (p: DcfBitDealParams): DealerBytes => bytesToBoth(p.count * dcfBitKeyBytes(p.n));

/** Dealer work per key: the two roots drawn (4 words), α (1), the AES blocks as words (2 each), the bytes sent. */
export const dcfBitKeysWork = (p: DcfBitDealParams): DealerWork =>
  drawWork(4 * p.count) + p.count * (1 + 2 * dcfBitGenBlocks(p.n)) + sendWork(p.count * dcfBitKeyBytes(p.n));

function checkBits(n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new RangeError(`dcfBit: input bits n must be in [0, 64], got ${n}`);
}

/** Correction words of N keys for [x < α_i]; roots: N×16 seeds of P0 and P1. */
export function dcfBitGen(prg: FssPrg, n: number, alpha: BigUint64Array, roots0: Uint8Array, roots1: Uint8Array): Uint8Array {
  checkBits(n);
  const N = alpha.length;
  if (roots0.length !== 16 * N || roots1.length !== 16 * N) throw new ShapeError(`dcfBitGen: roots have ${roots0.length}/${roots1.length} bytes, expected ${N}×16`);
  const out = new Uint8Array(N * dcfBitKeyBytes(n));
  if (N === 0) return out;
  const C = Math.min(N, GEN_CHUNK_KEYS), L = new FssLayout(), kx = L.kx;
  const r0 = L.region(16 * C), r1 = L.region(16 * C), al = L.region(8 * C), inp = L.region(64 * C), hs = L.region(64 * C);
  const t = L.region(2 * C), va = L.region(C), cwOut = L.region(16 * C), leafIn = L.region(32 * C), leafOut = L.region(32 * C), lcw = L.region(16 * C);
  const mem = L.commit(), lv = dcfBitLevels(n), nu = n - lv;
  for (let c0 = 0; c0 < N; c0 += C) {
    const c1 = Math.min(N, c0 + C), cc = c1 - c0;
    placeGenInputs(mem, { r0, r1, alpha: al }, roots0, roots1, alpha, c0, c1);
    mem.fill(0, va, va + cc); // A = 0
    kx.genInit(cc, r0, r1, inp, 0, leafIn, lv === 0 ? 1 : 0, t); // t0 = 0, t1 = 1
    for (let i = 1; i <= lv; i++) {
      prg.encryptSInto(mem, inp, hs, 64 * cc);
      kx.dcfBitGenLevel(cc, n - i, al, inp, hs, t, va, cwOut, leafIn, i === lv ? 1 : 0);
      out.set(mem.subarray(cwOut, cwOut + 16 * cc), (i - 1) * 16 * N + 16 * c0);
    }
    prg.encryptSInto(mem, leafIn, leafOut, 32 * cc);
    kx.dcfBitGenLeaf(cc, nu, al, leafIn, leafOut, va, lcw);
    out.set(mem.subarray(lcw, lcw + 16 * cc), lv * 16 * N + 16 * c0);
  }
  return out;
}

/** This party's XOR shares (0/1 bytes) of [x_i < α_i] for every key i. */
export function dcfBitEval(prg: FssPrg, party: PartyId, keys: DcfBitKeys, x: BigUint64Array): Uint8Array {
  const { n, count: N } = keys;
  checkBits(n);
  if (x.length !== N) throw new ShapeError(`dcfBitEval: ${N} keys but ${x.length} inputs`);
  if (keys.roots.length !== 16 * N || keys.cws.length !== N * dcfBitKeyBytes(n)) {
    throw new ShapeError(`dcfBitEval: key batch of ${N} keys (n=${n}) has wrong byte lengths`);
  }
  const out = new Uint8Array(N);
  if (N === 0) return out;
  const C = Math.min(N, EVAL_CHUNK_KEYS), L = new FssLayout(), kx = L.kx;
  const inp = L.region(16 * C), hs = L.region(16 * C), cw = L.region(16 * C), xs = L.region(8 * C), t = L.region(C), acc = L.region(C), lcw = L.region(16 * C);
  const mem = L.commit(), cws = keys.cws, lv = dcfBitLevels(n), nu = n - lv;
  for (let c0 = 0; c0 < N; c0 += C) {
    const c1 = Math.min(N, c0 + C), cc = c1 - c0, blocks = 16 * cc;
    mem.set(keys.roots.subarray(16 * c0, 16 * c1), inp);
    mem.set(wordBytes(x, c0, c1), xs);
    kx.dcfBitEvalInit(cc, lv > 0 ? n - 1 : -1, inp, xs, t, acc, party); // IN = root ⊕ x's first bit (or the leaf tweak)
    for (let i = 1; i <= lv; i++) {
      prg.encryptSInto(mem, inp, hs, blocks);
      mem.set(cws.subarray((i - 1) * 16 * N + 16 * c0, (i - 1) * 16 * N + 16 * c1), cw);
      kx.dcfBitEvalLevel(cc, n - i, nu, inp, hs, cw, xs, t, acc);
    }
    prg.encryptSInto(mem, inp, hs, blocks);
    mem.set(cws.subarray(lv * 16 * N + 16 * c0, lv * 16 * N + 16 * c1), lcw);
    kx.dcfBitEvalLeaf(cc, nu, inp, hs, lcw, xs, t, acc);
    out.set(mem.subarray(acc, acc + cc), c0);
  }
  return out;
}

/** Keys [from, to) of a batch as a batch of their own (copies the correction words). */
export function sliceDcfBitKeys(keys: DcfBitKeys, from: number, to: number): DcfBitKeys {
  const { n, count: N } = keys;
  if (from === 0 && to === N) return keys;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > N) {
    throw new RangeError(`sliceDcfBitKeys: expected 0 ≤ from ≤ to ≤ ${N}, got [${from}, ${to})`);
  }
  const len = to - from, cws = new Uint8Array(len * dcfBitKeyBytes(n));
  for (let i = 0; i <= dcfBitLevels(n); i++) cws.set(keys.cws.subarray(i * 16 * N + 16 * from, i * 16 * N + 16 * to), i * 16 * len); // levels, then LCW
  return { n, count: len, roots: keys.roots.subarray(16 * from, 16 * to), cws };
}

/**
 * Inside a `defineCorrelation` spec: draw the root seeds (each party's own stream) and send the
 * correction words to both parties; `alpha` runs in dealer mode only. Returns this party's keys.
 */
export function dealDcfBitKeys(g: DealGen, prg: FssPrg, p: DcfBitDealParams, alpha: () => BigUint64Array): DcfBitKeys {
  const { n, count } = p;
  const [r0, r1] = drawFssRoots(g, count);
  const cws = g.send('both', count * dcfBitKeyBytes(n), () => dcfBitGen(prg, n, alpha(), r0!, r1!));
  return { n, count, roots: (g.mode === 1 ? r1 : r0)!, cws: cws! };
}

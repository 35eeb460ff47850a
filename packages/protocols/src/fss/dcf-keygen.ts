/**
 * DCF key generation (dealer side) — BCG+21's distributed comparison function, fss.md §3, batched.
 *
 *   f^<_{α,β}(x) = β if x < α else 0,  x, α n-bit unsigned (read mod 2^n, MSB first),
 *   β a vector of m ring words (1 ≤ m ≤ MAX_DCF_WORDS = 4; this project uses m ≤ 3).
 *   Variants: 'gt' gives β if x > α, 'le' gives β if x ≤ α (fss.md §3 "Variants").
 *
 * Key per party: root seed (16 B, drawn from the party's own dealer stream, never sent) plus the
 * correction words, identical in both keys and sent to BOTH parties: dcfKeyBytes(n, m) =
 * n·(16 + 8m) + 8m bytes per key per party.
 *
 * Wire layout of a batch of N keys (fss.md §6, level-major, raw little-endian, no header: the shape
 * (n, m, N) is part of the correlation's params): for level i = 1..n, CW_i of all keys (N×16) then
 * VCW_i of all keys (N×m×8); then LCW of all keys (N×m×8). Each level of a batched evaluation
 * reads two contiguous arrays.
 *
 * Batching: keys are processed in chunks of GEN_CHUNK_KEYS; per level one H_S call over the 4
 * children inputs (s_0, s_0⊕1, s_1, s_1⊕1) of every key of the chunk and ⌈m/2⌉ H_V calls on the
 * same inputs (⊕ 4j for the j-th extra block), i.e. 4·(1 + ⌈m/2⌉) AES blocks per key per level.
 * Arithmetic: BigUint64Array loops with BigInt.asUintN(64, …) (V8 lowers them to native u64).
 *
 * Pitfalls the tests catch (fss.md §3): value words come from the PARENT seed; every use of t in a
 * level is the parent's t; σ = sgn of P1's parent t; CW low bits are cleared before XOR into a seed.
 */
import { ShapeError } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import { clearSeedBits, type FssPrg } from './fss-prg';

export type DcfVariant = 'lt' | 'gt' | 'le';

/** A batch of N DCF keys of one party (or, in dealer mode, P0's keys; unused there). */
export interface DcfKeys {
  readonly n: number;
  readonly m: number;
  readonly count: number;
  /** N×16 root seeds (low 2 bits clear), from this party's own dealer stream. */
  readonly roots: Uint8Array;
  /** Correction words in the wire layout above (dcfKeyBytes(n, m)·N bytes, 8-byte aligned). */
  readonly cws: Uint8Array;
}

/** Largest payload (words per key) that dcfGen/dcfEval accept: two H_V blocks per level. */
export const MAX_DCF_WORDS = 4;

/** Throws unless 0 ≤ n ≤ 64 and 1 ≤ m ≤ MAX_DCF_WORDS. */
export function checkDcfShape(n: number, m: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new RangeError(`dcf: input bits n must be in [0, 64], got ${n}`);
  if (!Number.isInteger(m) || m < 1 || m > MAX_DCF_WORDS) {
    throw new RangeError(`dcf: payload words m must be in [1, ${MAX_DCF_WORDS}], got ${m}`);
  }
}

/** Bytes the dealer sends to EACH party per DCF key. */
export const dcfKeyBytes = (n: number, m: number): number => n * (16 + 8 * m) + 8 * m;

const GEN_CHUNK_KEYS = 4096; // 4 blocks per key per H_S call → 16K blocks (256 KiB) per call

/**
 * Generates the correction words of N keys. alpha: N words (read mod 2^n); beta: N×m words;
 * roots0/roots1: N×16 root seeds of P0/P1 (low 2 bits clear). Returns the wire bytes.
 */
export function dcfGen(
  prg: FssPrg,
  n: number,
  m: number,
  alpha: BigUint64Array,
  beta: BigUint64Array,
  roots0: Uint8Array,
  roots1: Uint8Array,
  variant: DcfVariant = 'lt',
): Uint8Array {
  checkDcfShape(n, m);
  const N = alpha.length;
  if (beta.length !== N * m) throw new ShapeError(`dcfGen: beta has ${beta.length} words, expected ${N}×${m}`);
  if (roots0.length !== 16 * N || roots1.length !== 16 * N) {
    throw new ShapeError(`dcfGen: roots have ${roots0.length}/${roots1.length} bytes, expected ${N}×16`);
  }
  const out = new Uint8Array(N * dcfKeyBytes(n, m));
  for (let c0 = 0; c0 < N; c0 += GEN_CHUNK_KEYS) {
    genChunk(prg, n, m, alpha, beta, roots0, roots1, variant, c0, Math.min(N, c0 + GEN_CHUNK_KEYS), N, out);
  }
  return out;
}

const SIGN = BigUint64Array.of(1n, (1n << 64n) - 1n); // sgn(t) = (−1)^t as a ring element

function genChunk(
  prg: FssPrg, n: number, m: number, alpha: BigUint64Array, beta: BigUint64Array,
  roots0: Uint8Array, roots1: Uint8Array, variant: DcfVariant,
  c0: number, c1: number, N: number, out: Uint8Array,
): void {
  const C = c1 - c0, nb = (m + 1) >>> 1;
  const alpha32 = new Uint32Array(alpha.buffer, alpha.byteOffset, 2 * alpha.length);
  const out32 = new Uint32Array(out.buffer), out64 = new BigUint64Array(out.buffer);
  const betaBit = variant === 'gt' ? 0 : 1; // β joins the lose side when α[i] = betaBit
  // per key j: s_0 = s[8j..8j+4), s_1 = s[8j+4..8j+8) (u32 words); t_b = t[2j + b]; Vα = va[jm..jm+m)
  const s = new Uint32Array(8 * C);
  new Uint8Array(s.buffer).set(interleave(roots0, roots1, c0, c1));
  const t = new Uint8Array(2 * C);
  for (let j = 0; j < C; j++) t[2 * j + 1] = 1;
  const va = new BigUint64Array(C * m);
  // level buffers: 4 blocks per key in the order (b, d) = (0,0), (0,1), (1,0), (1,1)
  const inp = new Uint32Array(16 * C), inpJ = new Uint32Array(nb > 1 ? 16 * C : 0), hs = new Uint32Array(16 * C);
  const hv: BigUint64Array[] = [];
  for (let jb = 0; jb < nb; jb++) hv.push(new BigUint64Array(8 * C));
  const levelWords = (N * (16 + 8 * m)) / 8; // u64 words per level in the wire layout
  for (let i = 1; i <= n; i++) {
    const p = n - i, aw = p >>> 5, ash = p & 31; // this level's bit of α: bit p
    for (let j = 0; j < C; j++) {
      for (let q = 0; q < 4; q++) {
        inp[16 * j + q] = inp[16 * j + 4 + q] = s[8 * j + q];
        inp[16 * j + 8 + q] = inp[16 * j + 12 + q] = s[8 * j + 4 + q];
      }
      inp[16 * j + 4] ^= 1;
      inp[16 * j + 12] ^= 1;
    }
    prg.hashS(new Uint8Array(inp.buffer), new Uint8Array(hs.buffer));
    prg.hashV(new Uint8Array(inp.buffer), new Uint8Array(hv[0].buffer));
    for (let jb = 1; jb < nb; jb++) {
      inpJ.set(inp);
      for (let q = 0; q < inpJ.length; q += 4) inpJ[q] ^= 4 * jb;
      prg.hashV(new Uint8Array(inpJ.buffer), new Uint8Array(hv[jb].buffer));
    }
    const cwBase = 2 * ((i - 1) * levelWords + 2 * c0); // u32 index
    const vcwBase = (i - 1) * levelWords + 2 * N + m * c0; // u64 index
    for (let j = 0; j < C; j++) {
      const key = c0 + j;
      const a = (alpha32[2 * key + aw] >>> ash) & 1, keep = a, lose = 1 - a;
      const t0 = t[2 * j], t1 = t[2 * j + 1];
      const blk = 16 * j; // u32 index of block (b, d) is blk + 8b + 4d
      // control bits = lsb of each child block; seed CW = XOR of the two lose children (low bits clear)
      const T00 = hs[blk] & 1, T01 = hs[blk + 4] & 1, T10 = hs[blk + 8] & 1, T11 = hs[blk + 12] & 1;
      const tCwL = T00 ^ T10 ^ a ^ 1, tCwR = T01 ^ T11 ^ a;
      const L0 = blk + 4 * lose, L1 = blk + 8 + 4 * lose;
      const ci = cwBase + 4 * j;
      out32[ci] = ((hs[L0] ^ hs[L1]) & ~3) | tCwL | (tCwR << 1);
      for (let q = 1; q < 4; q++) out32[ci + q] = hs[L0 + q] ^ hs[L1 + q];
      // value CWs: σ = sgn(t1 of the parent); words come from the parent seeds (H_V of the same inputs)
      const sigma = SIGN[t1];
      // u64 index of block (b, d) is 8j + 4b + 2d
      const v0l = 8 * j + 2 * lose, v1l = v0l + 4, v0k = 8 * j + 2 * keep, v1k = v0k + 4;
      for (let k = 0; k < m; k++) {
        const h = hv[k >> 1], half = k & 1, vk = j * m + k;
        const bk = a === betaBit ? beta[key * m + k] : 0n;
        const vcw = BigInt.asUintN(64, sigma * BigInt.asUintN(64, h[v1l + half] - h[v0l + half] - va[vk] + bk));
        out64[vcwBase + vk] = vcw;
        va[vk] = BigInt.asUintN(64, va[vk] - h[v1k + half] + h[v0k + half] + sigma * vcw);
      }
      // advance both parties along α's path: s_b = S[b][keep] ⊕ t_b·sCW; t_b = T[b][keep] ⊕ t_b·tCW_keep
      const tCwKeep = keep === 1 ? tCwR : tCwL;
      for (let b = 0; b < 2; b++) {
        const tb = b === 0 ? t0 : t1, msk = -tb, K = blk + 8 * b + 4 * keep;
        s[8 * j + 4 * b] = (hs[K] & ~3) ^ (msk & out32[ci] & ~3);
        for (let q = 1; q < 4; q++) s[8 * j + 4 * b + q] = hs[K + q] ^ (msk & out32[ci + q]);
        t[2 * j + b] = (hs[K] & 1) ^ (tb & tCwKeep);
      }
    }
  }
  // leaf: C_b = Words(s_b, 2, m);  LCW = sgn(t1)·(C_1 − C_0 − Vα (+ β for 'le'))
  const leafIn = new Uint32Array(8 * C * nb);
  for (let j = 0; j < C; j++) {
    for (let b = 0; b < 2; b++) {
      for (let jb = 0; jb < nb; jb++) {
        const o = 4 * ((2 * j + b) * nb + jb);
        for (let q = 0; q < 4; q++) leafIn[o + q] = s[8 * j + 4 * b + q];
        leafIn[o] ^= 2 + 4 * jb;
      }
    }
  }
  const leaf = new BigUint64Array(prg.hashV(new Uint8Array(leafIn.buffer)).buffer);
  const lcwBase = n * levelWords + m * c0;
  for (let j = 0; j < C; j++) {
    const sigma = SIGN[t[2 * j + 1]];
    for (let k = 0; k < m; k++) {
      const w = (b: number) => leaf[2 * ((2 * j + b) * nb + (k >> 1)) + (k & 1)];
      const bk = variant === 'le' ? beta[(c0 + j) * m + k] : 0n;
      out64[lcwBase + j * m + k] = BigInt.asUintN(64, sigma * BigInt.asUintN(64, w(1) - w(0) - va[j * m + k] + bk));
    }
  }
}

/** Root seeds of a chunk as (s0, s1) pairs per key, 32 bytes per key. */
function interleave(r0: Uint8Array, r1: Uint8Array, c0: number, c1: number): Uint8Array {
  const out = new Uint8Array(32 * (c1 - c0));
  for (let j = 0; j < c1 - c0; j++) {
    out.set(r0.subarray(16 * (c0 + j), 16 * (c0 + j) + 16), 32 * j);
    out.set(r1.subarray(16 * (c0 + j), 16 * (c0 + j) + 16), 32 * j + 16);
  }
  return out;
}

export interface DcfDealParams {
  n: number;
  m: number;
  count: number;
  variant?: DcfVariant;
}

/**
 * Inside a `defineCorrelation` spec: draw the root seeds (each party's own stream, 2 words per key,
 * low 2 bits cleared) and send the correction words to both parties. `f` runs in dealer mode only
 * and returns α (N words) and β (N×m words). Returns this party's keys (P0's in dealer mode).
 */
export function dealDcfKeys(
  g: DealGen,
  prg: FssPrg,
  p: DcfDealParams,
  f: () => { alpha: BigUint64Array; beta: BigUint64Array },
): DcfKeys {
  const { n, m, count } = p;
  const w0 = g.own(0, 2 * count), w1 = g.own(1, 2 * count);
  const r0 = w0 && clearSeedBits(new Uint8Array(w0.buffer, w0.byteOffset, 16 * count));
  const r1 = w1 && clearSeedBits(new Uint8Array(w1.buffer, w1.byteOffset, 16 * count));
  const cws = g.send('both', count * dcfKeyBytes(n, m), () => {
    const { alpha, beta } = f();
    return dcfGen(prg, n, m, alpha, beta, r0!, r1!, p.variant ?? 'lt');
  });
  const roots = (g.mode === 1 ? r1 : r0)!;
  return { n, m, count, roots, cws: cws! };
}

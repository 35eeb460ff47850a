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
 * Everything but the AES runs in the wasm kernel `genLevel` (assembly/dcf-kernels.ts, i64 arithmetic,
 * one call per level and chunk; it also writes the next level's inputs), the blocks live in the
 * kernel memory (fss-wasm.ts). No BigInt.
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (Zen 4, AES-NI) shared with other jobs (load
 * 7–14), bench/fss-bench.js: warm-up, then best of 3, the previous JS/BigInt version (commit 8aa2957)
 * and this one alternating in the same run; wall ms (process CPU ms) for 2^16 keys:
 *   n = 63, m = 1   2804 (952)  → 703 (272)        n = 63, m = 3   1926 (1318) → 535 (351)
 *   n = 63, m = 2   1431 (968)  → 312 (256)        n = 15, m = 1    276 (228)  →  59 (65)
 * About half of what remains is AES (8 blocks per key and level for m ≤ 2, node:crypto at ≈ 4 GB/s),
 * then the kernel and the first touch of the ≈ 100 MB output (n = 63, m = 1). 128 KiB per AES call
 * (2048 keys per chunk) measured as good as 64 or 256 KiB.
 * Re-measure when Node changes major version.
 *
 * Pitfalls the tests catch (fss.md §3): value words come from the PARENT seed; every use of t in a
 * level is the parent's t; σ = sgn of P1's parent t; CW low bits are cleared before XOR into a seed.
 */
import { ShapeError } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import { bytesToBoth, type DealerBytes } from '../dealer/dealer-bytes';
import { drawWork, sendWork, type DealerWork } from '../dealer/dealer-work';
import { drawFssRoots, type FssPrg } from './fss-prg';
import { FssLayout, placeGenInputs, wordBytes } from './fss-wasm';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

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

/** The dealer's bytes for dealDcfKeys: `count` keys' correction words to each party. */
export const dcfKeysBytes = (p: DcfDealParams): DealerBytes => bytesToBoth(p.count * dcfKeyBytes(p.n, p.m));

/** FSS AES blocks dcfGen runs per key: per level 4 children inputs through H_S and ⌈m/2⌉ H_V's, then 2⌈m/2⌉ leaf blocks. */
export const dcfGenBlocks = (n: number, m: number): number => 4 * (1 + Math.ceil(m / 2)) * n + 2 * Math.ceil(m / 2);

/**
 * The dealer's work for dealDcfKeys (dealer-work.ts), per key: the two parties' root seeds drawn
 * (4 words), α and β computed (1 + m), the FSS PRG expansions of every level and the leaf as words
 * (2 per AES block, dcfGenBlocks), and the correction words sent (dcfKeyBytes / 8). The kernel's
 * per-level arithmetic on those blocks is covered by the blocks' words.
 */
export const dcfKeysWork = (p: DcfDealParams): DealerWork =>
  drawWork(4 * p.count) + p.count * (1 + p.m + 2 * dcfGenBlocks(p.n, p.m)) + sendWork(p.count * dcfKeyBytes(p.n, p.m));

/**
 * Keys [from, to) of a batch, the range repeated `times` times (copy-major), as a batch of their own
 * in the level-major wire layout (copies the correction words): one correlation serving several
 * batches whose sizes are public (a tree's levels, a pool's slices) or several thresholds per key
 * (threshold-compare.ts).
 */
export function replicateDcfKeys(keys: DcfKeys, from: number, to: number, times: number): DcfKeys {
  const { n, m, count: N } = keys;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > N || !Number.isInteger(times) || times < 1) {
    throw new RangeError(`replicateDcfKeys: expected 0 ≤ from ≤ to ≤ ${N} and times ≥ 1, got [${from}, ${to}) × ${times}`);
  }
  const len = to - from, roots = new Uint8Array(16 * len * times);
  for (let c = 0; c < times; c++) roots.set(keys.roots.subarray(16 * from, 16 * to), 16 * len * c);
  const cws = new Uint8Array(len * times * dcfKeyBytes(n, m)), v = 8 * m;
  // per level: CW_i (16 B per key) then VCW_i (8m B per key); then LCW (8m B per key)
  let src = 0, dst = 0;
  for (let i = 0; i <= 2 * n; i++) {
    const width = i < 2 * n && i % 2 === 0 ? 16 : v;
    dst = replicateRange(cws, dst, keys.cws, src + from * width, len * width, times);
    src += N * width;
  }
  return { n, m, count: len * times, roots, cws };
}

/** `times` copies of src[at, at + bytes) to out from byte dst on; returns the end. */
function replicateRange(out: Uint8Array, dst: number, src: Uint8Array, at: number, bytes: number, times: number): number {
  const part = src.subarray(at, at + bytes);
  for (let c = 0; c < times; c++, dst += bytes) out.set(part, dst);
  return dst;
}

/** Keys [from, to) of a batch (the batch itself when that is all of it). */
export function sliceDcfKeys(keys: DcfKeys, from: number, to: number): DcfKeys {
  return from === 0 && to === keys.count ? keys : replicateDcfKeys(keys, from, to, 1);
}

export const GEN_CHUNK_KEYS = 2048; // 4 blocks per key per AES call → 8K blocks (128 KiB) per call

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
  if (N === 0) return out;
  // regions of one chunk: per key 4 children blocks (b, d), 2 control bits, m words of Vα
  const C = Math.min(N, GEN_CHUNK_KEYS), nb = (m + 1) >>> 1, two = m > 2;
  const L = new FssLayout(), kx = L.kx;
  const r0 = L.region(16 * C), r1 = L.region(16 * C), al = L.region(8 * C), be = L.region(8 * m * C);
  const inp = L.region(64 * C), inpJ = two ? L.region(64 * C) : 0;
  const hs = L.region(64 * C), hv0 = L.region(64 * C), hv1 = two ? L.region(64 * C) : hv0;
  const t = L.region(2 * C), va = L.region(8 * m * C), cwOut = L.region(16 * C), vcwOut = L.region(8 * m * C);
  const leafIn = L.region(32 * nb * C), leafOut = L.region(32 * nb * C);
  const mem = L.commit();
  const betaBit = variant === 'gt' ? 0 : 1; // β joins the lose side when α[i] = betaBit
  const levelBytes = N * (16 + 8 * m);
  for (let c0 = 0; c0 < N; c0 += C) {
    const c1 = Math.min(N, c0 + C), cc = c1 - c0;
    placeGenInputs(mem, { r0, r1, alpha: al }, roots0, roots1, alpha, c0, c1);
    mem.set(wordBytes(beta, m * c0, m * c1), be);
    mem.fill(0, va, va + 8 * m * cc); // Vα = 0
    kx.genInit(cc, r0, r1, inp, inpJ, leafIn, n === 0 ? nb : 0, t); // t0 = 0, t1 = 1
    for (let i = 1; i <= n; i++) {
      // H_S and H_V of the 4 children inputs (s_b ⊕ d) of every key (raw AES; the kernel adds ⊕ IN)
      prg.encryptSInto(mem, inp, hs, 64 * cc);
      prg.encryptVInto(mem, inp, hv0, 64 * cc);
      if (two) prg.encryptVInto(mem, inpJ, hv1, 64 * cc);
      kx.genLevel(cc, m, n - i, betaBit, al, be, inp, inpJ, hs, hv0, hv1, t, va, cwOut, vcwOut, leafIn, i === n ? nb : 0);
      const lb = (i - 1) * levelBytes;
      out.set(mem.subarray(cwOut, cwOut + 16 * cc), lb + 16 * c0);
      out.set(mem.subarray(vcwOut, vcwOut + 8 * m * cc), lb + 16 * N + 8 * m * c0);
    }
    // leaf: C_b = Words(s_b, 2, m);  LCW = sgn(t1)·(C_1 − C_0 − Vα (+ β for 'le'))
    prg.encryptVInto(mem, leafIn, leafOut, 32 * nb * cc);
    kx.dcfGenLeaf(cc, m, variant === 'le' ? 1 : 0, be, leafIn, leafOut, t, va, vcwOut);
    out.set(mem.subarray(vcwOut, vcwOut + 8 * m * cc), n * levelBytes + 8 * m * c0);
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
  const [r0, r1] = drawFssRoots(g, count);
  const cws = g.send('both', count * dcfKeyBytes(n, m), () => {
    const { alpha, beta } = f();
    return dcfGen(prg, n, m, alpha, beta, r0!, r1!, p.variant ?? 'lt');
  });
  const roots = (g.mode === 1 ? r1 : r0)!;
  return { n, m, count, roots, cws: cws! };
}

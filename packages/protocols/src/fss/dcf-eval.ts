/**
 * DCF evaluation (party side), fss.md §3, batched level by level over N keys.
 *
 *   Eval_DCF(b, key_b, x): V0 + V1 = β·[x < α] per payload word (or the key's variant), mod 2^64.
 *   x is read mod 2^n, MSB first. Key layout: see dcf-keygen.ts (level-major wire arrays).
 *
 * Batching (fss.md §6): keys are processed in chunks of EVAL_CHUNK_KEYS; for each level one input
 * buffer IN (C×16 B: the current seed ⊕ that key's direction bit) goes through ONE raw AES_S call
 * and ⌈m/2⌉ AES_V calls (the same IN for m ≤ 2); then one JS pass XORs IN back in (H = AES ⊕ X),
 * accumulates w + t·VCW, applies CW when t = 1 and writes the next level's IN. AES blocks per
 * key: n·(1 + ⌈m/2⌉) + ⌈m/2⌉. The sign sgn(b) is applied once at the end (V is accumulated
 * unsigned, then negated for P1).
 *
 * Hot loop in Uint32Array halves, not BigUint64Array: measured here, the same level pass costs
 * ≈ 200 ms per 16K keys × 63 levels with BigInt locals (V8 does not keep BigInt shifts, products
 * and locals unboxed), ≈ 45 ms with every BigInt op wrapped in asUintN, 6–15 ms with u32 halves
 * (64-bit adds carry by hand). No wasm kernel (optional in fss.md §6): for 2^16 keys the JS pass
 * is ≈ 25–60 ms, comparable to the AES calls.
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (AES-NI), 2^16 LTZ keys (n = 63, m = 1):
 *   dcfEval per party        130–160 ms (AES ≈ 35 ms of it at 4 GB/s) with the machine quiet;
 *                            250–350 ms while other jobs share the 2 cores
 *   m = 3 (argmax payload)   ≈ 2× the m = 1 time
 *   dcfLessThanZero online   ≈ 0.42 s for BOTH parties in one process (open + eval + combine)
 *   dealer dcfGen (offline)  1.3–2.6 s for the batch (8 AES blocks per key and level; BigInt
 *                            value words; not optimised further — dealer side, prefetched)
 * Re-measure when Node changes major version.
 */
import { ShapeError, type PartyId } from '@mpcache/mpc-core';
import type { FssPrg } from './fss-prg';
import { checkDcfShape, dcfKeyBytes, type DcfKeys } from './dcf-keygen';

/** Keys per chunk: one H_S call of 16K blocks (256 KiB), the measured AES sweet spot. */
export const EVAL_CHUNK_KEYS = 16384;

/**
 * Evaluates key i of `keys` at x[i] for every i; returns this party's shares as an N×m
 * element-major BigUint64Array (word k of key i at i·m + k).
 */
export function dcfEval(prg: FssPrg, party: PartyId, keys: DcfKeys, x: BigUint64Array): BigUint64Array {
  const { n, m, count: N } = keys;
  checkDcfShape(n, m);
  if (x.length !== N) throw new ShapeError(`dcfEval: ${N} keys but ${x.length} inputs`);
  if (keys.roots.length !== 16 * N || keys.cws.length !== N * dcfKeyBytes(n, m)) {
    throw new ShapeError(`dcfEval: key batch of ${N} keys (n=${n}, m=${m}) has wrong byte lengths`);
  }
  const out = new BigUint64Array(N * m);
  const out32 = new Uint32Array(out.buffer);
  const cw32 = u32View(keys.cws);
  const x32 = new Uint32Array(x.buffer, x.byteOffset, 2 * N);
  for (let c0 = 0; c0 < N; c0 += EVAL_CHUNK_KEYS) {
    evalChunk(prg, party, keys, cw32, x32, c0, Math.min(N, c0 + EVAL_CHUNK_KEYS), out32);
  }
  if (party === 1) for (let q = 0; q < out.length; q++) out[q] = BigInt.asUintN(64, -out[q]);
  return out;
}

function evalChunk(
  prg: FssPrg, party: PartyId, keys: DcfKeys, cw32: Uint32Array, x32: Uint32Array,
  c0: number, c1: number, out32: Uint32Array,
): void {
  const { n, m, count: N } = keys;
  const C = c1 - c0, nb = (m + 1) >>> 1;
  const levelWords = (N * (16 + 8 * m)) / 4; // u32 words per level in the wire layout
  // IN = s ⊕ d (level 1: root ⊕ x[1]); the root's control bit is t = b
  const inp = new Uint32Array(4 * C);
  new Uint8Array(inp.buffer).set(keys.roots.subarray(16 * c0, 16 * c1));
  const t = new Uint8Array(C).fill(party);
  if (n > 0) {
    const xw = (n - 1) >>> 5, sh = (n - 1) & 31;
    for (let j = 0; j < C; j++) inp[4 * j] ^= (x32[2 * (c0 + j) + xw] >>> sh) & 1;
  }
  const inpJ = nb > 1 ? new Uint32Array(4 * C) : inp;
  const inpBytes = new Uint8Array(inp.buffer);
  for (let i = 1; i <= n; i++) {
    const p = n - i, xw = p >>> 5, sh = p & 31; // this level's input bit: bit p of x
    const pn = p > 0 ? p - 1 : 0, xwn = pn >>> 5, shn = pn & 31, last = i === n ? 0 : 1;
    // raw AES here; the feed-forward ⊕ IN of H = AES ⊕ X is fused into the pass below
    const hs = u32(prg.encryptS(inpBytes));
    const hv0 = hashValues(prg, inp, inpJ, 0), hv1 = nb > 1 ? hashValues(prg, inp, inpJ, 1) : hv0;
    const cwBase = (i - 1) * levelWords + 4 * c0;
    const vcwBase = (i - 1) * levelWords + 4 * N + 2 * m * c0;
    for (let j = 0; j < C; j++) {
      const tj = t[j], msk = -tj; // msk: all ones when t = 1
      const xi = 2 * (c0 + j);
      const d = (x32[xi + xw] >>> sh) & 1;
      // 1. V += w + t·VCW_i   (w = Words(parent s, d, m); parent t)
      for (let k = 0; k < m; k++) {
        const wi = 4 * j + 2 * (k & 1), vi = vcwBase + 2 * (j * m + k), oi = 2 * ((c0 + j) * m + k);
        const h = k < 2 ? hv0 : hv1, x0 = k < 2 ? inp : inpJ;
        const lo = out32[oi] + ((h[wi] ^ x0[wi]) >>> 0) + ((cw32[vi] & msk) >>> 0);
        out32[oi] = lo;
        out32[oi + 1] = out32[oi + 1] + (h[wi + 1] ^ x0[wi + 1]) + (cw32[vi + 1] & msk) + (lo > 0xffffffff ? (lo > 0x1ffffffff ? 2 : 1) : 0);
      }
      // 2. (s', t') = Expand(s, d); if t: s' ^= CW with low bits cleared, t' ^= bit_d(CW.lo)
      const ci = cwBase + 4 * j, cwLo = cw32[ci], h0 = hs[4 * j] ^ inp[4 * j];
      t[j] = (h0 & 1) ^ (tj & (cwLo >>> d));
      // 3. next level's IN = s' ⊕ x[i+1]
      inp[4 * j] = (h0 & ~3) ^ (msk & cwLo & ~3) ^ (last & (x32[xi + xwn] >>> shn));
      inp[4 * j + 1] ^= hs[4 * j + 1] ^ (msk & cw32[ci + 1]);
      inp[4 * j + 2] ^= hs[4 * j + 2] ^ (msk & cw32[ci + 2]);
      inp[4 * j + 3] ^= hs[4 * j + 3] ^ (msk & cw32[ci + 3]);
    }
  }
  // leaf: V += C + t·LCW with C = Words(s, 2, m)
  for (let j = 0; j < C; j++) inp[4 * j] ^= 2;
  const hv0 = hashValues(prg, inp, inpJ, 0), hv1 = nb > 1 ? hashValues(prg, inp, inpJ, 1) : hv0;
  const lcwBase = n * levelWords + 2 * m * c0;
  for (let j = 0; j < C; j++) {
    const msk = -t[j];
    for (let k = 0; k < m; k++) {
      const wi = 4 * j + 2 * (k & 1), vi = lcwBase + 2 * (j * m + k), oi = 2 * ((c0 + j) * m + k);
      const h = k < 2 ? hv0 : hv1, x0 = k < 2 ? inp : inpJ;
      const lo = out32[oi] + ((h[wi] ^ x0[wi]) >>> 0) + ((cw32[vi] & msk) >>> 0);
      out32[oi] = lo;
      out32[oi + 1] = out32[oi + 1] + (h[wi + 1] ^ x0[wi + 1]) + (cw32[vi + 1] & msk) + (lo > 0xffffffff ? (lo > 0x1ffffffff ? 2 : 1) : 0);
    }
  }
}

/** A Uint32Array view of key bytes (copied if the bytes are not 4-byte aligned). */
function u32View(b: Uint8Array): Uint32Array {
  const a = b.byteOffset % 4 === 0 ? b : b.slice();
  return new Uint32Array(a.buffer, a.byteOffset, a.length >>> 2);
}

/**
 * Raw AES_V of IN (extra block jb = 0) or of IN ⊕ 4 (jb = 1, m ≥ 3; written to inpJ); IN already
 * carries the tweak τ. The caller XORs the input back in (inp for jb = 0, inpJ for jb = 1).
 */
function hashValues(prg: FssPrg, inp: Uint32Array, inpJ: Uint32Array, jb: number): Uint32Array {
  if (jb === 0) return u32(prg.encryptV(new Uint8Array(inp.buffer)));
  inpJ.set(inp);
  for (let q = 0; q < inp.length; q += 4) inpJ[q] ^= 4 * jb;
  return u32(prg.encryptV(new Uint8Array(inpJ.buffer)));
}

const u32 = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);

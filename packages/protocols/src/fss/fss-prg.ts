/**
 * FssPrg — the fixed-key AES PRG behind every DPF/DCF in this project (fss.md §1), batched.
 *
 *   K_S = SHA-256("mpcache/fss/seed"  ‖ salt)[0..16)      K_V = SHA-256("mpcache/fss/value" ‖ salt)[0..16)
 *   H_K(X) = AES_K(X) ⊕ X       (Matyas–Meyer–Oseas; the ⊕X is mandatory because the keys are public)
 *   Expand(s, d)  : Y = H_S(s ⊕ d);  t = Y.lo & 1;  s' = Y with lo &= ~3           → (s', t)
 *   Words(s, τ, m): block j = H_V(s ⊕ (τ + 4j)) gives w(2j) = lo, w(2j+1) = hi  (j < ⌈m/2⌉)
 *
 * A seed is a 16-byte block whose two lowest bits (bits 0, 1 of byte 0) are 0. lo = bytes 0–7 as a
 * little-endian u64; tweaks τ are small integers XORed into lo. Child value words use τ = d, leaf
 * words τ = 2 (so H_V inputs never collide for one seed; H_S and H_V use different keys).
 *
 * Batching: all functions take N seeds as one N×16 byte array and run ONE AES pass per call over
 * all of them, chunked to CHUNK_BLOCKS blocks per `update`. Measured (fss.md §1, Node 20, 2-core EPYC
 * with AES-NI): 1 KiB per call 0.37 GB/s, 256 KiB 6.5 GB/s, ≥ 1 MiB 3.3 GB/s — so never one call
 * per seed, and never more than ~16K blocks per call. ECB is stateless: only `update` is called,
 * always with a multiple of 16 bytes, `final` never.
 *
 * The DCF/DPF hot loops (dcf-eval, dcf-keygen, dpf-eval, dpf-keygen) keep their blocks in the wasm
 * kernel memory (fss-wasm.ts) and call `encryptSInto`/`encryptVInto`: raw AES (no ⊕X) of one region
 * into another, the kernel fusing the feed-forward into its pass. `hashS`/`hashV`, `expand`,
 * `expandBoth` and `words` are the convenient batched forms of §1's algebra (tests, references).
 * Output arrays are freshly allocated (or the caller's `out`), 8-byte aligned, so callers may view
 * them as Uint32Array / BigUint64Array (little-endian host assumed, as everywhere in this project).
 */
import { createCipheriv, createHash, type Cipher } from 'node:crypto';
import { ShapeError } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';

/** Blocks per `update` call: 16K blocks = 256 KiB, the measured sweet spot. */
export const FSS_CHUNK_BLOCKS = 16384;

/** AES blocks every FssPrg of this process has hashed or encrypted (the dealer's work meter, dealer-work.ts). */
let aesBlocks = 0;

/**
 * AES blocks every FssPrg of this process has processed so far. The dealer reads it around one
 * synchronous generation to count that generation's FSS PRG words (2 per block).
 */
export const fssAesBlocks = (): number => aesBlocks;

const SEED_LABEL = 'mpcache/fss/seed';
const VALUE_LABEL = 'mpcache/fss/value';

/**
 * The two fixed public AES keys for a salt. They are public by design (fixed-key AES as a public
 * random permutation, as in the usual FSS constructions); every deployment uses the empty salt
 * (defaultFssPrg), and a salt only derives other public keys.
 */
export function fssFixedKeys(salt: Uint8Array = new Uint8Array(0)): { keyS: Uint8Array; keyV: Uint8Array } {
  const derive = (label: string) =>
    new Uint8Array(createHash('sha256').update(Buffer.from(label, 'utf8')).update(salt).digest().subarray(0, 16));
  return { keyS: derive(SEED_LABEL), keyV: derive(VALUE_LABEL) };
}

function ecb(key: Uint8Array): Cipher {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return c;
}

/** H_K over every 16-byte block of `input` into `out` (same length), chunked. */
function hashBlocks(cipher: Cipher, input: Uint8Array, out: Uint8Array): Uint8Array {
  const len = input.length;
  if (len % 16 !== 0) throw new ShapeError(`fss prg: input length ${len} is not a multiple of 16`);
  if (out.length !== len) throw new ShapeError(`fss prg: out length ${out.length}, expected ${len}`);
  const step = FSS_CHUNK_BLOCKS * 16;
  aesBlocks += len >>> 4;
  const aligned = input.byteOffset % 4 === 0 && out.byteOffset % 4 === 0;
  const in32 = aligned ? new Uint32Array(input.buffer, input.byteOffset, len >>> 2) : undefined;
  const out32 = aligned ? new Uint32Array(out.buffer, out.byteOffset, len >>> 2) : undefined;
  for (let off = 0; off < len; off += step) {
    const end = Math.min(len, off + step);
    const y = cipher.update(input.subarray(off, end));
    if (in32 && out32 && y.byteOffset % 4 === 0) {
      // one fused pass: out = AES(X) ⊕ X
      const y32 = new Uint32Array(y.buffer, y.byteOffset, (end - off) >>> 2);
      const base = off >>> 2;
      for (let k = 0; k < y32.length; k++) out32[base + k] = y32[k] ^ in32[base + k];
    } else {
      for (let k = off; k < end; k++) out[k] = y[k - off] ^ input[k];
    }
  }
  return out;
}

/** Raw AES_K of buf[inOff, inOff + bytes) into buf[outOff, …), chunked; one copy per chunk. */
function encryptInto(cipher: Cipher, buf: Uint8Array, inOff: number, outOff: number, bytes: number): void {
  const step = FSS_CHUNK_BLOCKS * 16;
  aesBlocks += bytes >>> 4;
  for (let off = 0; off < bytes; off += step) {
    const len = Math.min(step, bytes - off);
    buf.set(cipher.update(buf.subarray(inOff + off, inOff + off + len)), outOff + off);
  }
}

function checkSeeds(seeds: Uint8Array, what: string): number {
  if (seeds.length % 16 !== 0) throw new ShapeError(`fss prg ${what}: seeds length ${seeds.length} is not N×16`);
  return seeds.length >>> 4;
}

/** Batched fixed-key AES PRG; create once and reuse (its cipher objects are reused). */
export class FssPrg {
  readonly keyS: Uint8Array;
  readonly keyV: Uint8Array;
  private readonly cipherS: Cipher;
  private readonly cipherV: Cipher;

  constructor(salt: Uint8Array = new Uint8Array(0)) {
    const { keyS, keyV } = fssFixedKeys(salt);
    this.keyS = keyS;
    this.keyV = keyV;
    this.cipherS = ecb(keyS);
    this.cipherV = ecb(keyV);
  }

  /** H_S(X) for every block X of `input` (N×16). Returns `out` (allocated if omitted). */
  hashS(input: Uint8Array, out: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    return hashBlocks(this.cipherS, input, out);
  }

  /** H_V(X) for every block X of `input` (N×16). Returns `out` (allocated if omitted). */
  hashV(input: Uint8Array, out: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    return hashBlocks(this.cipherV, input, out);
  }

  /**
   * Raw AES_S (NO ⊕X) of the `bytes` bytes at buf[inOff] written to buf[outOff] (a multiple of 16;
   * regions must not overlap unless equal). For the wasm kernels (fss-wasm.ts): `buf` is a view of the
   * kernel memory, the kernel adds the feed-forward.
   */
  encryptSInto(buf: Uint8Array, inOff: number, outOff: number, bytes: number): void {
    encryptInto(this.cipherS, buf, inOff, outOff, bytes);
  }

  /** Raw AES_V into a buffer region; see encryptSInto. */
  encryptVInto(buf: Uint8Array, inOff: number, outOff: number, bytes: number): void {
    encryptInto(this.cipherV, buf, inOff, outOff, bytes);
  }

  /**
   * Expand(s_i, d_i) for N seeds (N×16) and N directions (0/1 bytes).
   * Returns the child seeds (N×16, low 2 bits cleared) and control bits t (N bytes, 0/1).
   */
  expand(seeds: Uint8Array, dirs: Uint8Array): { seeds: Uint8Array; t: Uint8Array } {
    const n = checkSeeds(seeds, 'expand');
    if (dirs.length !== n) throw new ShapeError(`fss prg expand: ${n} seeds but ${dirs.length} directions`);
    const inp = new Uint8Array(seeds);
    for (let i = 0; i < n; i++) inp[16 * i] ^= dirs[i] & 1;
    return splitControl(this.hashS(inp));
  }

  /**
   * Both children of every seed, breadth-first order: output block 2i + d = Expand(s_i, d).
   * (Key generation and full-domain evaluation; one AES pass over 2N blocks.)
   */
  expandBoth(seeds: Uint8Array): { seeds: Uint8Array; t: Uint8Array } {
    const n = checkSeeds(seeds, 'expandBoth');
    const inp = new Uint8Array(32 * n);
    for (let i = 0; i < n; i++) {
      inp.set(seeds.subarray(16 * i, 16 * i + 16), 32 * i);
      inp.set(seeds.subarray(16 * i, 16 * i + 16), 32 * i + 16);
      inp[32 * i + 16] ^= 1;
    }
    return splitControl(this.hashS(inp));
  }

  /**
   * Words(s_i, τ_i, m) for N seeds: an N×m BigUint64Array (element-major: word k of seed i at
   * i·m + k). `tweak` is one τ for all seeds or a per-seed byte array (e.g. the directions d_i).
   */
  words(seeds: Uint8Array, tweak: number | Uint8Array, m: number): BigUint64Array {
    const n = checkSeeds(seeds, 'words');
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`fss prg words: m must be a positive integer, got ${m}`);
    if (typeof tweak !== 'number' && tweak.length !== n) {
      throw new ShapeError(`fss prg words: ${n} seeds but ${tweak.length} tweaks`);
    }
    const nb = (m + 1) >>> 1;
    const inp = new Uint8Array(16 * n * nb);
    const iv = new Uint32Array(inp.buffer);
    for (let i = 0; i < n; i++) {
      const tau = typeof tweak === 'number' ? tweak : tweak[i];
      for (let j = 0; j < nb; j++) {
        const o = 16 * (i * nb + j);
        inp.set(seeds.subarray(16 * i, 16 * i + 16), o);
        iv[o >>> 2] ^= tau + 4 * j; // XOR into lo (low 32 bits, little-endian)
      }
    }
    const all = new BigUint64Array(this.hashV(inp).buffer); // N × 2nb words
    if (2 * nb === m) return all;
    const out = new BigUint64Array(n * m);
    for (let i = 0; i < n; i++) for (let k = 0; k < m; k++) out[i * m + k] = all[i * 2 * nb + k];
    return out;
  }
}

/** Splits hashed blocks into (seed with lo &= ~3, t = lo & 1), in place on the seed bytes. */
function splitControl(y: Uint8Array): { seeds: Uint8Array; t: Uint8Array } {
  const n = y.length >>> 4;
  const t = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = y[16 * i] & 1;
    y[16 * i] &= 0xfc;
  }
  return { seeds: y, t };
}

/** Clears the two low bits of every 16-byte seed in place (turns random words into seeds). */
export function clearSeedBits(seeds: Uint8Array): Uint8Array {
  for (let i = 0; i < seeds.length; i += 16) seeds[i] &= 0xfc;
  return seeds;
}

/**
 * Inside a `defineCorrelation` spec: both parties' root seeds for `count` FSS keys, each drawn from
 * that party's own dealer stream (2 words per key, low bits cleared); a party gets only its own.
 */
export function drawFssRoots(g: DealGen, count: number): [Uint8Array | undefined, Uint8Array | undefined] {
  const root = (w: BigUint64Array | undefined) => w && clearSeedBits(new Uint8Array(w.buffer, w.byteOffset, 16 * count));
  return [root(g.own(0, 2 * count)), root(g.own(1, 2 * count))];
}

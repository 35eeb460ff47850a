/**
 * DPF evaluation (fss.md §2), batched: point evaluation of many keys at one point each, and
 * full-domain evaluation (breadth-first across the whole batch, depth by depth).
 *
 * Eval_DPF(b, key_b, x):
 *   s = root_b;  t = b
 *   for i = 1 .. n−ν:  d = x[i] (MSB first);  (s', t') = Expand(s, d)
 *     if t:  s' ^= (CW_i with lo &= ~3);  t' ^= bit_d(CW_i.lo)
 *   j = x mod 2^ν;  W = Words(s, 2, 2^ν)
 *   return sgn(b) · (W[j] + t · LCW[j])                  (Eval_0 + Eval_1 = β·[x = α])
 *
 * Cost per key: point eval n − ν + 1 AES blocks (only the leaf block holding slot j is hashed);
 * full domain 2·2^{n−ν} − 2 + 2^{n−1} blocks (≈ 0.75·2^n for ν = 3) plus 2^n word additions.
 * Full-domain output index = path bits then slot j, i.e. natural order 0..2^n − 1, key-major.
 * Batches are processed in chunks of keys so that one level holds at most FULL_DOMAIN_CHUNK_NODES
 * nodes (≤ 256 KiB of seeds per AES call, the measured sweet spot of fss.md §1).
 */
import { bitOfWord, defaultFssPrg, type DpfKeys } from './dpf-keygen';
import { hashChildren, leafWords32, u32 } from './dpf-blocks';
import type { FssPrg } from './fss-prg';

export const FULL_DOMAIN_CHUNK_NODES = 16384;

/** Eval_DPF(b, key_i, x_i) for every key i of the batch (x.length = keys.count). */
export function dpfEvalPoint(keys: DpfKeys, x: BigUint64Array, prg: FssPrg = defaultFssPrg()): BigUint64Array {
  const { n, nu, count, party } = keys;
  if (x.length !== count) throw new RangeError(`dpfEvalPoint: ${count} keys but ${x.length} points`);
  const depth = n - nu, m = 2 ** nu;
  const x32 = new Uint32Array(x.buffer, x.byteOffset, 2 * count);
  const cw = u32(keys.cw);
  let s: Uint8Array = keys.roots.slice();
  let t: Uint8Array = new Uint8Array(count).fill(party);
  const dirs = new Uint8Array(count);
  for (let lvl = 0; lvl < depth; lvl++) {
    const bit = n - 1 - lvl;
    for (let i = 0; i < count; i++) dirs[i] = bitOfWord(x32, i, bit);
    const e = prg.expand(s, dirs);
    const S = u32(e.seeds), T = e.t;
    for (let i = 0; i < count; i++) {
      if (!t[i]) continue;
      const c = 4 * (lvl * count + i);
      S[4 * i] ^= cw[c] & ~3;
      S[4 * i + 1] ^= cw[c + 1];
      S[4 * i + 2] ^= cw[c + 2];
      S[4 * i + 3] ^= cw[c + 3];
      T[i] ^= (cw[c] >>> dirs[i]) & 1;
    }
    s = e.seeds;
    t = T;
  }
  // leaf: only the block holding slot j: H_V(s ⊕ (2 + 4·⌊j/2⌋)), word j mod 2
  const mask = BigInt(m - 1);
  const slot = new Uint32Array(count);
  const inp = s; // s is ours (copied or freshly produced): tweak it in place
  const I = u32(inp);
  for (let i = 0; i < count; i++) {
    slot[i] = Number(x[i] & mask);
    I[4 * i] ^= 2 + 4 * (slot[i] >>> 1);
  }
  const h = new BigUint64Array(prg.hashV(inp).buffer);
  const out = new BigUint64Array(count);
  for (let i = 0; i < count; i++) {
    const j = slot[i];
    let v = h[2 * i + (j & 1)];
    if (t[i]) v += keys.lcw[i * m + j];
    out[i] = BigInt.asUintN(64, party ? -v : v);
  }
  return out;
}

/**
 * Full-domain evaluation: count × 2^n words, out[i·2^n + y] = Eval_DPF(b, key_i, y).
 * Breadth-first across a chunk of keys: one H_S pass per level over both children of all nodes.
 */
export function dpfEvalFull(keys: DpfKeys, prg: FssPrg = defaultFssPrg()): BigUint64Array {
  return dpfEvalFullRotated(keys, undefined, 2 ** keys.n, prg);
}

/**
 * Full-domain evaluation written in rotated order, as one-hot vectors and lookup tables need it:
 * out[i·width + u] = Eval_DPF(b, key_i, (h_i − u) mod 2^n) for u < width, h_i = shift[i] mod 2^n
 * (no shift: u = y, the natural order). Slots u ≥ width are dropped. Saves a separate rotation pass.
 * With `sink`, the output is handed over chunk by chunk (keys [k0, k0 + cnt), a reused cnt × width
 * buffer) instead of being returned: a lookup table then never holds count × 2^n words (memory traffic,
 * not AES, dominated the full-size version: 2 × 32 MB for 16384 keys with n = 8).
 */
export function dpfEvalFullRotated(
  keys: DpfKeys,
  shift: BigUint64Array | undefined,
  width: number,
  prg: FssPrg = defaultFssPrg(),
  sink?: (k0: number, cnt: number, block: BigUint64Array) => void,
): BigUint64Array {
  const { n, nu, count, party } = keys;
  const depth = n - nu, m = 2 ** nu, dom = 2 ** n, leaves = 2 ** depth, mask = dom - 1;
  if (shift && shift.length !== count) throw new RangeError(`dpfEvalFullRotated: ${count} keys but ${shift.length} shifts`);
  const h = new Int32Array(count);
  if (shift) for (let i = 0; i < count; i++) h[i] = Number(shift[i] & BigInt(mask));
  const sign = shift ? -1 : 1;
  const cw = u32(keys.cw);
  const lcw32 = new Int32Array(keys.lcw.buffer, keys.lcw.byteOffset, 2 * keys.lcw.length);
  const perChunk = Math.max(1, Math.floor(FULL_DOMAIN_CHUNK_NODES / leaves));
  const out = new BigUint64Array((sink ? Math.min(perChunk, count) : count) * width);
  const out32 = new Int32Array(out.buffer);
  for (let k0 = 0; k0 < count; k0 += perChunk) {
    const cnt = Math.min(perChunk, count - k0);
    const kb = sink ? k0 : 0; // with a sink, output rows are chunk-relative
    let s: Uint8Array = keys.roots.slice(16 * k0, 16 * (k0 + cnt));
    let t: Uint8Array = new Uint8Array(cnt).fill(party);
    for (let lvl = 0; lvl < depth; lvl++) {
      const y = hashChildren(prg, s); // child c of node c >> 1 at block c (natural order per key)
      const S = u32(y), T = new Uint8Array(S.length >>> 2);
      const sh = lvl + 1;
      for (let c = 0; c < T.length; c++) {
        const o = 4 * c;
        T[c] = S[o] & 1;
        S[o] &= ~3;
        if (!t[c >>> 1]) continue;
        const w = 4 * (lvl * count + k0 + (c >>> sh));
        S[o] ^= cw[w] & ~3;
        S[o + 1] ^= cw[w + 1];
        S[o + 2] ^= cw[w + 2];
        S[o + 3] ^= cw[w + 3];
        T[c] ^= (cw[w] >>> (c & 1)) & 1;
      }
      s = y;
      t = T;
    }
    const Wu = leafWords32(prg, s, m), W = new Int32Array(Wu.buffer, Wu.byteOffset, Wu.length);
    const neg = party === 1;
    // leaf L = key·leaves + path; slot y = path·m + j goes to u = (h − y) mod 2^n (or u = y).
    // u64 adds on signed i32 halves (stays in small-integer registers; carry by unsigned compare)
    for (let L = 0; L < t.length; L++) {
      const key = k0 + Math.floor(L / leaves), tl = t[L], lb = 2 * key * m;
      const y0 = (L % leaves) * m, hk = h[key], ob = (key - kb) * width;
      for (let j = 0; j < m; j++) {
        const u = (hk + sign * (y0 + j)) & mask;
        if (u >= width) continue;
        const wi = 2 * (L * m + j);
        let lo = W[wi] | 0, hi = W[wi + 1] | 0;
        if (tl) {
          const sum = (lo + lcw32[lb + 2 * j]) | 0;
          hi = (hi + lcw32[lb + 2 * j + 1] + ((sum >>> 0) < (lo >>> 0) ? 1 : 0)) | 0;
          lo = sum;
        }
        if (neg) {
          lo = (~lo + 1) | 0;
          hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
        }
        out32[2 * (ob + u)] = lo;
        out32[2 * (ob + u) + 1] = hi;
      }
    }
    if (sink) sink(k0, cnt, out.subarray(0, cnt * width));
  }
  return sink ? new BigUint64Array(0) : out;
}

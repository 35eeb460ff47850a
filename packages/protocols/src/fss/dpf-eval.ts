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
 * nodes (≤ 256 KiB of seeds per AES call, the measured sweet spot of fss.md §1). The blocks live in
 * the wasm kernel memory; per level one raw AES_S call, then one kernel call (dpfFullLevel /
 * dpfPointLevel) adds the feed-forward, corrects and writes the next level's inputs; the leaf kernel
 * writes the (rotated) output words directly (fss-wasm.ts, assembly/dpf-kernels.ts).
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (shared, load 7–14), bench/fss-bench.js: warm-up,
 * then best of 3, the previous JS version (commit 8aa2957) and this one alternating in the same run;
 * wall ms (process CPU ms), one party:
 *   dpfEvalFull 16384 keys, n = 8, ν = 3 (4.2M outputs)   275 (144) → 85 (51)   ≈ 12 ns CPU per output,
 *                                                         the 32 MB result array's first touch included
 *   dpfEvalFull 1024 keys, n = 12, ν = 3 (4.2M outputs)   249 (156) → 62 (39)
 *   dpfEvalFullRotated + sink, 16384 keys, n = 8          497 (216) → 142 (70)  (the sink's checksum included)
 *   dpfEvalPoint 65536 keys, n = 64, ν = 1                260 (183) → 36 (33)
 *   e2e lookupTable[16384], m = 8, both parties, online   546 (279) → 93 (58)
 * Re-measure when Node changes major version.
 */
import { defaultFssPrg, type DpfKeys } from './dpf-keygen';
import type { FssPrg } from './fss-prg';
import { FssLayout, wordBytes } from './fss-wasm';

export const FULL_DOMAIN_CHUNK_NODES = 16384;

/** Keys per chunk of point evaluation (one AES call of C blocks per level). */
const POINT_CHUNK_KEYS = 8192;

/** Eval_DPF(b, key_i, x_i) for every key i of the batch (x.length = keys.count). */
export function dpfEvalPoint(keys: DpfKeys, x: BigUint64Array, prg: FssPrg = defaultFssPrg()): BigUint64Array {
  const { n, nu, count, party } = keys;
  if (x.length !== count) throw new RangeError(`dpfEvalPoint: ${count} keys but ${x.length} points`);
  const depth = n - nu, M = 2 ** nu;
  const out = new BigUint64Array(count);
  if (count === 0) return out;
  const C = Math.min(count, POINT_CHUNK_KEYS, Math.max(1, Math.floor(2 ** 20 / M))); // LCW region ≤ 8 MiB
  const L = new FssLayout(), kx = L.kx;
  const inp = L.region(16 * C), hs = L.region(16 * C), cw = L.region(16 * C), xs = L.region(8 * C), t = L.region(C);
  const lcw = L.region(8 * M * C), acc = L.region(8 * C);
  const mem = L.commit();
  const outBytes = wordBytes(out, 0, count);
  for (let c0 = 0; c0 < count; c0 += C) {
    const c1 = Math.min(count, c0 + C), cc = c1 - c0;
    mem.set(keys.roots.subarray(16 * c0, 16 * c1), inp);
    mem.set(wordBytes(x, c0, c1), xs);
    kx.dpfPointInit(cc, n, nu, inp, xs, t, party); // IN = root ⊕ x[1] (or the leaf tweak); t = b
    for (let lvl = 0; lvl < depth; lvl++) {
      prg.encryptSInto(mem, inp, hs, 16 * cc);
      mem.set(keys.cw.subarray(16 * (lvl * count + c0), 16 * (lvl * count + c1)), cw);
      kx.dpfPointLevel(cc, n - 1 - lvl, nu, inp, hs, cw, xs, t);
    }
    // leaf: only the block holding slot j = x mod 2^ν: H_V(s ⊕ (2 + 4·⌊j/2⌋)), word j mod 2
    prg.encryptVInto(mem, inp, hs, 16 * cc);
    mem.set(wordBytes(keys.lcw, M * c0, M * c1), lcw);
    kx.dpfPointLeaf(cc, nu, inp, hs, lcw, xs, t, acc, party);
    outBytes.set(mem.subarray(acc, acc + 8 * cc), 8 * c0);
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
  if (n > 31) throw new RangeError(`dpfEvalFullRotated: a full domain of 2^${n} outputs per key is too large`);
  const depth = n - nu, M = 2 ** nu, nb = M / 2, leaves = 2 ** depth, mask = 2 ** n - 1;
  if (shift && shift.length !== count) throw new RangeError(`dpfEvalFullRotated: ${count} keys but ${shift.length} shifts`);
  const perChunk = Math.max(1, Math.floor(FULL_DOMAIN_CHUNK_NODES / leaves));
  const out = new BigUint64Array((sink ? Math.min(perChunk, count) : count) * width);
  if (count === 0) return sink ? new BigUint64Array(0) : out;
  const outBytes = wordBytes(out, 0, out.length);
  // regions: inputs ping-pong between A and B (level ℓ: 2·cnt·2^ℓ blocks; leaf: cnt·leaves·nb blocks)
  const C = Math.min(perChunk, count), inBlocks = C * leaves * Math.max(1, nb);
  const L = new FssLayout(), kx = L.kx;
  const roots = L.region(16 * C), A = L.region(16 * inBlocks), B = L.region(16 * inBlocks), y = L.region(16 * inBlocks);
  const tA = L.region(C * leaves), tB = L.region(C * leaves), cw = L.region(16 * C), lcw = L.region(8 * M * C);
  const sh = L.region(8 * C), o = L.region(8 * C * width);
  let mem = L.commit();
  for (let k0 = 0; k0 < count; k0 += perChunk) {
    const cnt = Math.min(perChunk, count - k0);
    mem.set(keys.roots.subarray(16 * k0, 16 * (k0 + cnt)), roots);
    kx.dpfFullInit(cnt, roots, A, depth === 0 ? nb : 0, tA, party);
    let cur = A, nxt = B, tc = tA, tn = tB, nodes = cnt;
    for (let lvl = 0; lvl < depth; lvl++) {
      // child c of node c >> 1 at block c (natural order per key); key of child c = c >> (lvl + 1)
      prg.encryptSInto(mem, cur, y, 32 * nodes);
      mem.set(keys.cw.subarray(16 * (lvl * count + k0), 16 * (lvl * count + k0 + cnt)), cw);
      kx.dpfFullLevel(nodes, lvl + 1, cur, y, cw, tc, tn, nxt, lvl === depth - 1 ? nb : 0);
      [cur, nxt, tc, tn] = [nxt, cur, tn, tc];
      nodes *= 2;
    }
    // leaves: W = Words(s, 2, 2^ν); slot y = path·2^ν + j goes to u = (h − y) mod 2^n (or u = y)
    prg.encryptVInto(mem, cur, y, 16 * nodes * nb);
    mem.set(wordBytes(keys.lcw, M * k0, M * (k0 + cnt)), lcw);
    if (shift) mem.set(wordBytes(shift, k0, k0 + cnt), sh);
    if (width > mask + 1) mem.fill(0, o, o + 8 * cnt * width); // slots past 2^n stay 0
    kx.dpfFullLeaves(nodes, depth, nu, cur, y, tc, lcw, shift ? sh : 0, mask, width, o, party);
    const bytes = 8 * cnt * width;
    if (!sink) {
      outBytes.set(mem.subarray(o, o + bytes), 8 * k0 * width);
      continue;
    }
    outBytes.set(mem.subarray(o, o + bytes));
    sink(k0, cnt, out.subarray(0, cnt * width));
    mem = L.commit(); // the sink may have run other kernels (a fresh view if the memory grew)
  }
  return sink ? new BigUint64Array(0) : out;
}

/**
 * DCF evaluation (party side), fss.md §3, batched level by level over N keys.
 *
 *   Eval_DCF(b, key_b, x): V0 + V1 = β·[x < α] per payload word (or the key's variant), mod 2^64.
 *   x is read mod 2^n, MSB first. Key layout: see dcf-keygen.ts (level-major wire arrays).
 *
 * Batching (fss.md §6): keys are processed in chunks of EVAL_CHUNK_KEYS, all state in the wasm kernel
 * memory (fss-wasm.ts). Per level: ONE raw AES_S call over IN (C blocks: seed ⊕ that key's direction
 * bit) and ⌈m/2⌉ AES_V calls (IN, and IN ⊕ 4 for m ≥ 3), the chunk's CW_i and VCW_i copied in, then one
 * kernel call (dcfEvalLevel) XORs IN back in (H = AES ⊕ X), accumulates w + t·VCW in i64, applies CW
 * when t = 1 and writes the next level's IN (the last level writes the leaf input s ⊕ 2).
 * AES blocks per key: n·(1 + ⌈m/2⌉) + ⌈m/2⌉. sgn(b) is applied once at the end (in the leaf kernel).
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (Zen 4, AES-NI) shared with other jobs (load
 * 7–14), bench/fss-bench.js: warm-up, then best of 3, the previous pure-JS version (u32 halves,
 * commit 8aa2957) and this one alternating in the same run; wall ms (process CPU ms), 2^16 keys, one party:
 *   n = 63, m = 1 (LTZ)              248 (158)  →  96 (62)
 *   n = 63, m = 2 (ReLU)             314 (218)  →  73 (63)
 *   n = 63, m = 3 (argmax of a pair) 639 (299)  → 161 (82)
 *   n = 15, m = 1                     62 (38)   →  22 (14)
 *   e2e dcfLessThanZero[65536], both parties in one process, online: 492 (336) → 149 (128)
 * Where the time goes now (n = 63, m = 1, CPU profile): node:crypto AES ≈ 55 % (`update` reaches
 * ≈ 4.3 GB/s against raw OpenSSL's ≈ 10 GB/s on this host: it allocates its output, copies it once
 * more, and we copy it into the kernel memory), the level kernel ≈ 30 % (≈ 5 ns per key and level,
 * 128-bit SIMD or plain i64 measured alike), key-material copies ≈ 10 %. Chunks of 2K–16K keys
 * measured equal within the noise; 8K keeps the regions of a chunk (≈ 0.9 MiB) in L2.
 * Next step if needed: split a batch across worker_threads (own cipher objects and kernel instance).
 * Re-measure when Node changes major version.
 * Several points per key (a range with times ≥ 2: a piecewise activation's knots) run as a trie
 * (dcfEvalShared, session 24): points of one key that share leading bits share the levels above
 * their split. Measured (same machine, 36,864 keys, n = 15, m = 4, one party, random keys):
 * GeLU's 5 knots 45 → 28 ms, 11 knots (SiLU-like) 87 → 47 ms.
 */
import { ShapeError, type PartyId } from '@mpcache/mpc-core';
import type { FssPrg } from './fss-prg';
import { checkDcfShape, dcfKeyBytes, type DcfKeys } from './dcf-keygen';
import { FssLayout, wordBytes } from './fss-wasm';

/** Keys per chunk (C blocks per AES call): see the measurements above. */
export const EVAL_CHUNK_KEYS = 8192;

/**
 * Keys [from, to) of a batch, repeated `times` times (copy-major: virtual key k is batch key
 * from + k mod (to − from)), read in place — what replicateDcfKeys builds, without building it
 * (several thresholds per key: poly-input.ts, threshold-compare.ts).
 */
export interface DcfKeyRange {
  readonly from: number;
  readonly to: number;
  readonly times: number;
}

/**
 * Evaluates key i of `keys` (of `range` when given) at x[i] for every i; returns this party's shares as
 * an N×m element-major BigUint64Array (word k of key i at i·m + k).
 */
export function dcfEval(prg: FssPrg, party: PartyId, keys: DcfKeys, x: BigUint64Array, range?: DcfKeyRange): BigUint64Array {
  const { n, m, count: K } = keys;
  checkDcfShape(n, m);
  const { from, to, times } = range ?? { from: 0, to: K, times: 1 };
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > K || !Number.isInteger(times) || times < 1) {
    throw new RangeError(`dcfEval: expected 0 ≤ from ≤ to ≤ ${K} and times ≥ 1, got [${from}, ${to}) × ${times}`);
  }
  const len = to - from, N = len * times;
  if (x.length !== N) throw new ShapeError(`dcfEval: ${N} keys but ${x.length} inputs`);
  if (keys.roots.length !== 16 * K || keys.cws.length !== K * dcfKeyBytes(n, m)) {
    throw new ShapeError(`dcfEval: key batch of ${K} keys (n=${n}, m=${m}) has wrong byte lengths`);
  }
  const out = new BigUint64Array(N * m);
  if (N === 0) return out;
  if (times > 1 && n >= 1) return dcfEvalShared(prg, party, keys, x, from, len, times, out);
  const outBytes = wordBytes(out, 0, N * m);
  const C = Math.min(N, EVAL_CHUNK_KEYS), L = new FssLayout(), r = evalRegions(L, C, C, m);
  const mem = L.commit();
  for (let c0 = 0; c0 < N; c0 += C) {
    const c1 = Math.min(N, c0 + C), cc = c1 - c0;
    placeKeyWords(mem, r.inp, keys.roots, 0, 16, from, len, c0, c1);
    mem.set(wordBytes(x, c0, c1), r.xs);
    L.kx.dcfEvalInit(cc, m, n - 1, r.inp, r.inpJ, r.xs, r.t, r.acc, party); // IN = root ⊕ x[1]; t = b; V = 0
    walkLevels(prg, party, { keys, mem, kx: L.kx, r, lanes: cc, live: null, parent: 0, keyOf: 0, from, len, c0, c1 });
    outBytes.set(mem.subarray(r.acc, r.acc + 8 * m * cc), 8 * m * c0);
  }
  return out;
}

/** Regions of one evaluation chunk: per-lane state for `lanes` lanes, CWs for `slots` keys. */
interface EvalRegions {
  readonly inp: number; readonly inpJ: number; readonly hs: number; readonly hv0: number; readonly hv1: number;
  readonly cw: number; readonly vcw: number; readonly xs: number; readonly t: number; readonly acc: number;
}

function evalRegions(L: FssLayout, lanes: number, slots: number, m: number): EvalRegions {
  const two = m > 2, inp = L.region(16 * lanes), inpJ = two ? L.region(16 * lanes) : 0;
  const hs = L.region(16 * lanes), hv0 = L.region(16 * lanes), hv1 = two ? L.region(16 * lanes) : hv0;
  return {
    inp, inpJ, hs, hv0, hv1, cw: L.region(16 * slots), vcw: L.region(8 * m * slots),
    xs: L.region(8 * lanes), t: L.region(lanes), acc: L.region(8 * m * lanes),
  };
}

/**
 * One chunk's walk from level 1 to the leaf, its lanes' IN, t and V initialized: level i runs over
 * lanes [0, live[i]) (every lane with live = null); a level's CWs are those of the virtual keys
 * [c0, c1) of the key range from + (k mod len) (placeKeyWords), read by lane through keyOf
 * (0: lane = slot); with a join table (`parent` ≠ 0) lanes [live[i − 1], live[i]) join from their
 * parents before level i, and lanes [live[n], lanes) before the leaf (equal points, no flip).
 */
interface Walk {
  readonly keys: DcfKeys;
  readonly mem: Uint8Array;
  readonly kx: FssLayout['kx'];
  readonly r: EvalRegions;
  readonly lanes: number;
  readonly live: readonly number[] | null;
  readonly parent: number;
  readonly keyOf: number;
  readonly from: number;
  readonly len: number;
  readonly c0: number;
  readonly c1: number;
}

function walkLevels(prg: FssPrg, party: PartyId, w: Walk): void {
  const { keys, mem, kx, r, live, from, len, c0, c1 } = w, { n, m, cws } = keys, two = m > 2;
  const levelBytes = keys.count * (16 + 8 * m);
  let before = live ? live[0] : w.lanes; // lanes live at the previous level
  for (let i = 1; i <= n; i++) {
    const now = live ? live[i] : w.lanes;
    if (w.parent && i > 1 && now > before) kx.dcfSharedJoin(before, now, m, 1, w.parent, r.inp, r.inpJ, r.t, r.acc);
    before = now;
    // raw AES; the feed-forward ⊕ IN is fused into the kernel
    const blocks = 16 * now, lb = (i - 1) * levelBytes;
    prg.encryptSInto(mem, r.inp, r.hs, blocks);
    prg.encryptVInto(mem, r.inp, r.hv0, blocks);
    if (two) prg.encryptVInto(mem, r.inpJ, r.hv1, blocks);
    placeKeyWords(mem, r.cw, cws, lb, 16, from, len, c0, c1);
    placeKeyWords(mem, r.vcw, cws, lb + 16 * keys.count, 8 * m, from, len, c0, c1);
    kx.dcfEvalLevel(now, m, n - i, r.inp, r.inpJ, r.hs, r.hv0, r.hv1, r.cw, r.vcw, r.xs, r.t, r.acc, w.keyOf);
  }
  if (w.parent && w.lanes > before) kx.dcfSharedJoin(before, w.lanes, m, 0, w.parent, r.inp, r.inpJ, r.t, r.acc); // equal points: the parent's leaf
  // leaf: V += C + t·LCW with C = Words(s, 2, m); then sgn(b)·V
  prg.encryptVInto(mem, r.inp, r.hv0, 16 * w.lanes);
  if (two) prg.encryptVInto(mem, r.inpJ, r.hv1, 16 * w.lanes);
  placeKeyWords(mem, r.vcw, cws, n * levelBytes, 8 * m, from, len, c0, c1);
  kx.dcfEvalLeaf(w.lanes, m, r.inp, r.inpJ, r.hv0, r.hv1, r.vcw, r.t, r.acc, party, w.keyOf);
}

/**
 * dcfEval over a range with times = t ≥ 2 (t points per key), as a trie per key
 * (assembly/dcf-shared-kernels.ts): lanes that share their points' leading bits share the levels
 * above their split, so a level's AES and kernel run over the lanes live there only. Outputs are
 * identical to the lane-by-lane walk (every lane still ends at its own leaf with its own state).
 * A piecewise activation's knots lie within a few bits of each other: GeLU's 5 points at n = 15
 * (a spread of ≈ 2^7) evaluate ≈ 35 of 75 levels, SiLU's 11 proportionally fewer.
 * Chunks of ⌊EVAL_CHUNK_KEYS / t⌋ keys (all t points of a key in one chunk).
 */
function dcfEvalShared(
  prg: FssPrg, party: PartyId, keys: DcfKeys, x: BigUint64Array, from: number, len: number, t: number, out: BigUint64Array,
): BigUint64Array {
  const { n, m } = keys;
  const E0 = Math.max(1, Math.min(len, Math.floor(EVAL_CHUNK_KEYS / t))), C0 = E0 * t;
  const L = new FssLayout(), kx = L.kx, r = evalRegions(L, C0, E0, m);
  const x0 = L.region(8 * C0), point = L.region(4 * C0), keyOf = L.region(4 * C0), parent = L.region(4 * C0);
  const join = L.region(4 * (n + 2)), lvl = L.region(C0), par = L.region(4 * C0), pos = L.region(4 * C0), order = L.region(4 * t);
  const roots = L.region(16 * E0), res = L.region(8 * m * C0);
  const mem = L.commit(), words = new BigUint64Array(mem.buffer), u32 = new Uint32Array(mem.buffer);
  for (let e0 = 0; e0 < len; e0 += E0) {
    const E = Math.min(E0, len - e0), C = E * t, k0 = from + e0;
    // the chunk's points, copy-major: point c of key e at c·E + e
    for (let c = 0; c < t; c++) words.set(x.subarray(c * len + e0, c * len + e0 + E), x0 / 8 + c * E);
    kx.dcfSharedPlan(E, t, n, x0, point, keyOf, r.xs, parent, join, lvl, par, pos, order);
    const live = Array.from(u32.subarray(join / 4, join / 4 + n + 2)); // live[i]: lanes live at level i (live[n + 1] = C)
    placeKeyWords(mem, roots, keys.roots, 0, 16, k0, E, 0, E);
    kx.gatherBlocks(live[1], keyOf, roots, r.inp);
    kx.dcfEvalInit(live[1], m, n - 1, r.inp, r.inpJ, r.xs, r.t, r.acc, party);
    walkLevels(prg, party, { keys, mem, kx, r, lanes: C, live, parent, keyOf, from: k0, len: E, c0: 0, c1: E });
    kx.scatterRows(C, m, point, r.acc, res);
    for (let c = 0; c < t; c++) out.set(words.subarray(res / 8 + c * E * m, res / 8 + (c + 1) * E * m), (c * len + e0) * m);
  }
  return out;
}

/**
 * The `width` bytes of virtual keys [c0, c1) — key k is key from + (k mod len) of the array of keys
 * at byte `at` of src — to mem at dst. A module function, not a closure made per call: V8 compiles a
 * hot closure again for every new instance (each dcfEval call), ≈ 1.5 ms each.
 */
function placeKeyWords(
  mem: Uint8Array, dst: number, src: Uint8Array, at: number, width: number, from: number, len: number, c0: number, c1: number,
): void {
  for (let k = c0; k < c1; ) {
    const r = k % len, end = Math.min(c1, k - r + len), b = at + width * (from + r);
    mem.set(src.subarray(b, b + width * (end - k)), dst + width * (k - c0));
    k = end;
  }
}

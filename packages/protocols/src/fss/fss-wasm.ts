/**
 * Loader and memory layout for the WebAssembly FSS kernels (source: assembly/fss-kernels.ts,
 * dcf-kernels.ts, dcf-bit-kernels.ts, dpf-kernels.ts, poly-kernels.ts; compiled by `npm run build` / `npm run build:wasm` to
 * build/fss.wasm, git-ignored). Same pattern as mpc-core's ring/matmul-wasm.ts (both use mpc-core's
 * ring/wasm-module.ts): loaded synchronously on first use from `../../build/fss.wasm` relative to
 * this file (same path from src/fss under jest and from dist/fss when built); one exported memory,
 * no allocator.
 *
 * Division of labour per level of a DCF/DPF batch (fss.md §6):
 *   node:crypto AES-128-ECB (AES-NI) over an IN region of the kernel memory, 16K blocks per `update`
 *   (FssPrg.encryptSInto: `update(view)`, then one `set` of the result back into the memory);
 *   then ONE kernel call does all the rest — feed-forward ⊕ IN, control bits, CW corrections, value
 *   words mod 2^64 (i64), and the next level's IN. No per-level allocation.
 * An FssLayout lays the regions of one call out from heapBase() and grows the memory (it never
 * shrinks). Calls are synchronous and never nest, so all callers share the one module.
 *
 * Measured 2026-11-26, Node 20.20.2, 2-core AMD EPYC (shared), bench/fss-bench.js against the previous
 * pure-JS code in the same run: 2.3–7× per call, outputs bit-identical; figures in the headers of
 * dcf-eval.ts, dcf-keygen.ts, dpf-eval.ts, dpf-keygen.ts. AES stays in node:crypto: wasm has no AES
 * instructions, and a table or bitsliced AES in wasm SIMD would be far below OpenSSL's AES-NI.
 */
import * as path from 'node:path';
import { alignWasm64 as align64, ensureWasmMemory, retainShape, wasmKernelLoader, type WasmKernelBase } from '@mpcache/mpc-core';

type Ptr = number;

export interface FssKernelExports extends WasmKernelBase {
  dcfEvalInit(C: number, m: number, p: number, inp: Ptr, inpJ: Ptr, x: Ptr, t: Ptr, out: Ptr, party: number): void;
  dcfEvalLevel(
    C: number, m: number, p: number, inp: Ptr, inpJ: Ptr, hs: Ptr, hv0: Ptr, hv1: Ptr, cw: Ptr, vcw: Ptr, x: Ptr, t: Ptr, out: Ptr, keyOf: Ptr,
  ): void;
  dcfEvalLeaf(C: number, m: number, inp: Ptr, inpJ: Ptr, hv0: Ptr, hv1: Ptr, lcw: Ptr, t: Ptr, out: Ptr, party: number, keyOf: Ptr): void;
  dcfSharedPlan(
    E: number, t: number, n: number, x: Ptr, point: Ptr, keyOf: Ptr, xs: Ptr, parent: Ptr, join: Ptr, lvl: Ptr, par: Ptr, pos: Ptr, order: Ptr,
  ): void;
  dcfSharedJoin(from: number, to: number, m: number, flip: number, parent: Ptr, inp: Ptr, inpJ: Ptr, t: Ptr, acc: Ptr): void;
  gatherBlocks(count: number, keyOf: Ptr, src: Ptr, dst: Ptr): void;
  scatterRows(count: number, words: number, point: Ptr, src: Ptr, dst: Ptr): void;
  genInit(C: number, r0: Ptr, r1: Ptr, inp: Ptr, inpJ: Ptr, leaf: Ptr, leafNb: number, t: Ptr): void;
  genLevel(
    C: number, m: number, p: number, betaBit: number, alpha: Ptr, beta: Ptr, inp: Ptr, inpJ: Ptr, hs: Ptr, hv0: Ptr, hv1: Ptr,
    t: Ptr, va: Ptr, cwOut: Ptr, vcwOut: Ptr, leaf: Ptr, nextLeafNb: number,
  ): void;
  dcfGenLeaf(C: number, m: number, le: number, beta: Ptr, leafIn: Ptr, leafOut: Ptr, t: Ptr, va: Ptr, lcwOut: Ptr): void;
  dcfBitEvalInit(C: number, p: number, inp: Ptr, x: Ptr, t: Ptr, acc: Ptr, party: number): void;
  dcfBitEvalLevel(C: number, p: number, nu: number, inp: Ptr, hs: Ptr, cw: Ptr, x: Ptr, t: Ptr, acc: Ptr): void;
  dcfBitEvalLeaf(C: number, nu: number, inp: Ptr, hs: Ptr, lcw: Ptr, x: Ptr, t: Ptr, acc: Ptr): void;
  dcfBitGenLevel(C: number, p: number, alpha: Ptr, inp: Ptr, hs: Ptr, t: Ptr, va: Ptr, cwOut: Ptr, leaf: Ptr, last: number): void;
  dcfBitGenLeaf(C: number, nu: number, alpha: Ptr, leafIn: Ptr, leafOut: Ptr, va: Ptr, lcwOut: Ptr): void;
  dpfGenLeaf(C: number, nu: number, alpha: Ptr, beta: Ptr, leafIn: Ptr, leafOut: Ptr, t: Ptr, lcwOut: Ptr): void;
  dpfPointInit(C: number, n: number, nu: number, inp: Ptr, x: Ptr, t: Ptr, party: number): void;
  dpfPointLevel(C: number, p: number, nu: number, inp: Ptr, hs: Ptr, cw: Ptr, x: Ptr, t: Ptr): void;
  dpfPointLeaf(C: number, nu: number, inp: Ptr, hv: Ptr, lcw: Ptr, x: Ptr, t: Ptr, out: Ptr, party: number): void;
  dpfFullInit(C: number, roots: Ptr, next: Ptr, leafNb: number, t: Ptr, party: number): void;
  dpfFullLevel(nodes: number, sh: number, inp: Ptr, y: Ptr, cw: Ptr, tIn: Ptr, tOut: Ptr, next: Ptr, leafNb: number): void;
  dpfFullLeaves(
    leaves: number, depth: number, nu: number, inp: Ptr, y: Ptr, t: Ptr, lcw: Ptr, shift: Ptr, mask: number, width: number,
    out: Ptr, party: number,
  ): void;
  payloadProducts(len: number, t: number, m: number, k1: number, pts: Ptr, y: Ptr, rho: Ptr, V: Ptr, out: Ptr): void;
  polyTerms(n: number, terms: number, d: number, base: Ptr, A: Ptr, coef: Ptr, centers: Ptr, out: Ptr): void;
  bitMaskedCombine(lanes: number, k: number, C: number, m: number, transpose: number, hat: Ptr, bb: Ptr, mm: Ptr, xt: Ptr, E: Ptr, y: Ptr): void;
}

/** Where the kernel is looked for. */
export const FSS_WASM_PATH = path.join(__dirname, '../../build/fss.wasm');

/** The instantiated FSS kernel module (loaded once, synchronously). Throws if build/fss.wasm is missing. */
export const fssKernels: () => FssKernelExports = wasmKernelLoader<FssKernelExports>(FSS_WASM_PATH, 'FSS');

/** Regions of one kernel call, bump-allocated from heapBase(); `commit` grows the memory to fit. */
export class FssLayout {
  readonly kx: FssKernelExports;
  private top: number;

  constructor() {
    this.kx = fssKernels();
    this.top = align64(this.kx.heapBase());
    retainLayout(this);
  }

  /** A 64-byte-aligned region of `bytes` bytes (never address 0, so 0 can mean "none"). */
  region(bytes: number): Ptr {
    const at = this.top;
    this.top = align64(at + Math.max(bytes, 8));
    return at;
  }

  /** Grows the memory to hold every region; returns a byte view of the whole memory (valid until the next grow). */
  commit(): Uint8Array {
    ensureWasmMemory(this.kx.memory, this.top);
    return new Uint8Array(this.kx.memory.buffer);
  }
}

// one per FSS batch: its map must outlive them (retain-shape.ts). The first layout is the one kept
// (not one made at load time: the kernels load on first use).
let layoutRetained = false;
function retainLayout(l: FssLayout): void {
  if (layoutRetained) return;
  layoutRetained = true;
  retainShape(l);
}

/** The bytes of words [w0, w1) of a word array (a view, no copy). */
export const wordBytes = (a: BigUint64Array, w0: number, w1: number): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset + 8 * w0, 8 * (w1 - w0));

/** A key-generation chunk's inputs into the kernel memory: both parties' root seeds and α of keys [c0, c1). */
export function placeGenInputs(
  mem: Uint8Array, at: { readonly r0: Ptr; readonly r1: Ptr; readonly alpha: Ptr },
  roots0: Uint8Array, roots1: Uint8Array, alpha: BigUint64Array, c0: number, c1: number,
): void {
  mem.set(roots0.subarray(16 * c0, 16 * c1), at.r0);
  mem.set(roots1.subarray(16 * c0, 16 * c1), at.r1);
  mem.set(wordBytes(alpha, c0, c1), at.alpha);
}

/**
 * The load-and-grow pattern of the project's WebAssembly kernels (ring.wasm: matmul-wasm.ts here;
 * fss.wasm: protocols' fss/fss-wasm.ts). Each kernel module exports one memory and no allocator:
 *
 *   load   synchronously on first use (fs.readFileSync + new WebAssembly.Module/Instance) from a path
 *          that is the same from src/ (jest) and dist/ (built); a missing file says how to build it;
 *          the module's `abort` import throws "<name> kernel aborted".
 *   lay    regions out from heapBase(), 64-byte aligned (`alignWasm64`).
 *   grow   the memory to fit (`ensureWasmMemory`; it never shrinks, and typed-array views taken
 *          on memory.buffer before a grow are invalid after it).
 * The ring kernel is the exception: it imports a fixed-size memory that never grows
 * (`fixedWasmMemory`), laid out by a KernelArena (kernel-arena.ts) so that long-lived operands can
 * live in it and be read in place.
 */
import * as fs from 'node:fs';

// The project's lib (ES2022, no DOM) has no WebAssembly typings; declare the little used here.
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
};

/** What every kernel module exports besides its kernels. */
export interface WasmKernelBase {
  readonly memory: WasmMemory;
  /** First byte after the module's static data: regions start here. */
  heapBase(): number;
}

export const WASM_PAGE_BYTES = 65536;

/** `x` rounded up to a multiple of 64 (a region's alignment). */
export const alignWasm64 = (x: number): number => Math.ceil(x / 64) * 64;

/**
 * A loader of the kernel module at `file` ("ring", "FSS": `name` goes into the errors): the first
 * call instantiates it, every call returns the same exports. Throws if the file is missing.
 * `memory` makes the first call create that memory and give it to a module built with
 * `--importMemory` (as env.memory); the module then exports it as `memory` too.
 */
export function wasmKernelLoader<T extends WasmKernelBase>(file: string, name: string, memory?: () => WasmMemory): () => T {
  let kernels: T | undefined;
  return () => {
    if (kernels) return kernels;
    if (!fs.existsSync(file)) {
      throw new Error(`WebAssembly ${name} kernel not found at ${file}: run "npm run build" (or "npm run build:wasm") first`);
    }
    const module = new WebAssembly.Module(fs.readFileSync(file));
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort: () => { throw new Error(`${name.toLowerCase()} kernel aborted`); },
        ...(memory ? { memory: memory() } : {}),
      },
    });
    kernels = instance.exports as T;
    return kernels;
  };
}

/** A memory of `pages` pages that can never grow (so views on its buffer stay valid for its life). */
export function fixedWasmMemory(pages: number): WasmMemory {
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}

/** Grow `memory` to hold at least `bytes` bytes (it never shrinks; earlier views on its buffer are invalid after a grow). */
export function ensureWasmMemory(memory: WasmMemory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
}

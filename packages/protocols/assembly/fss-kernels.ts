/**
 * WebAssembly FSS kernels (AssemblyScript, compiled by `npm run build:wasm` to build/fss.wasm; loaded by
 * src/fss/fss-wasm.ts). No runtime, no allocator (`--runtime stub`): the JS side owns the memory layout.
 */
export { dcfEvalInit, dcfEvalLevel, dcfEvalLeaf, genInit, genLevel, dcfGenLeaf } from './dcf-kernels';
export { dcfSharedPlan, dcfSharedJoin, gatherBlocks, scatterRows } from './dcf-shared-kernels';
export { dcfBitEvalInit, dcfBitEvalLevel, dcfBitEvalLeaf, dcfBitGenLevel, dcfBitGenLeaf } from './dcf-bit-kernels';
export { dpfGenLeaf, dpfPointInit, dpfPointLevel, dpfPointLeaf, dpfFullInit, dpfFullLevel, dpfFullLeaves } from './dpf-kernels';
export { payloadProducts, polyTerms } from './poly-kernels';
export { bitMaskedCombine } from './bit-masked-kernels';

/** First 64-byte-aligned address after the module's static data; the JS side lays out from here. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

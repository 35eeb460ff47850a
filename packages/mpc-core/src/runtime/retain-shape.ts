/**
 * retainShape — keeps one small instance of a short-lived class alive for the life of the process,
 * so the hidden class (V8 "map") its instances end up with is never collected.
 *
 * Why: optimized code checks the maps of the objects it touches and holds those maps weakly. A class
 * instance reaches its final map through transitions from the constructor's initial map, and V8
 * holds transitions weakly too; with no instance alive at a full GC, the final map dies, every
 * optimized function that checked it is thrown away ("marking dependent code … reason: weak
 * objects" in --trace-deopt) and compiled again when it gets hot. V8 normally keeps such maps for a
 * few GCs (--retain-maps-for-n-gc), but only when it marks incrementally, which our runtime flags
 * turn off (packages/client/src/runtime/node-flags.ts). Measured with --trace-deopt over 7 gpt2-small
 * MPCache tokens at 4096 (both parties, 2026-11-29): QuickSelect's and FssLayout's methods were
 * thrown away this way 61 and 39 times (a quick-select plan and an FSS kernel layout are made per
 * top-k run and per FSS batch); with one instance of each kept, never. Where a dummy instance does
 * not take the real instances' map (the dealer generators: their fields' values decide it), the
 * owner keeps its last real instance instead, emptied (CorrelationSource, DealerSession): that took
 * derivedTopBits' ≈ 90 to none. What remains is Node's own (stream and nextTick internals).
 *
 * Use: `retainShape(new Thing(smallArgs))` right after the class, with arguments of the same kinds
 * as real use (so every field has the representation real instances give it).
 */
const retained: object[] = [];

export function retainShape<T extends object>(instance: T): T {
  retained.push(instance);
  return instance;
}

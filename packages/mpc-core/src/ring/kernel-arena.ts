/**
 * KernelArena — long-lived operands INSIDE a WebAssembly kernel's memory, so the kernel reads them
 * in place instead of copying them in for every call.
 *
 * Why: decoding multiplies a 1-row activation by every weight matrix (vector × matrix): the product
 * is memory-bound, and copying the fixed operand (the masked weights D and W̃, 85 M words per token
 * at GPT-2-small, plus the 38.6 M-word embedding) into the kernel's memory before every product
 * roughly doubled its cost (≈ 0.36 s of copies beside ≈ 0.6 s of kernel per token and party).
 *
 * The memory is fixed-size and never grown: growing a WebAssembly memory detaches every view of the
 * old buffer, and arena views must stay valid for the operand's life. Pages of a fresh memory are
 * committed only when first touched, so RSS follows use, not the size (measured: a 4 GiB memory
 * costs 2 MB of RSS until written; Node v20.20.2, 2026-11-27).
 *
 * Layout (byte addresses):
 *
 *   base ─ scratch ─▶ scratchEnd    ...free...    low ◀─ blocks ─ top
 *
 *   scratch  per-call temporaries of the kernels (`scratch(bytes)`), from `base` up; its high-water
 *            mark only rises (the memory it touched stays committed, as a grown memory did);
 *   blocks   long-lived operands (`allocWords`), carved from `top` down, 64-byte aligned; freed
 *            blocks go to a free list (first fit, neighbours coalesced; a free block at `low` gives
 *            its space back to the gap).
 * The two never overlap: a request that would make them meet throws LimitError with the sizes.
 *
 * Views returned by `allocWords` are BigUint64Arrays over the memory's buffer (recognised by
 * `holds`) and are valid until `free`. A block is zeroed when handed out, like `new BigUint64Array`;
 * memory never handed out before is zero already and is not touched (no RSS until used).
 */
import { LimitError } from '../errors';
import type { WasmMemory } from './wasm-module';

const ALIGN = 64;
const alignUp = (x: number): number => Math.ceil(x / ALIGN) * ALIGN;
const alignDown = (x: number): number => Math.floor(x / ALIGN) * ALIGN;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

interface FreeBlock {
  ptr: number;
  bytes: number;
}

export class KernelArena {
  private readonly base: number;
  private readonly top: number;
  private scratchEnd: number;
  private low: number;
  /** Lowest address ever given to a block: below it (and above scratchEnd) memory is untouched. */
  private lowestEver: number;
  private readonly live = new Map<number, number>(); // ptr → bytes
  private freeList: FreeBlock[] = []; // sorted by ptr, coalesced
  private liveBytes = 0;

  /** @param base first usable byte (the kernel's heap base); @param top one past the last. */
  constructor(
    private readonly memory: WasmMemory,
    base: number,
    top: number = memory.buffer.byteLength,
  ) {
    this.base = alignUp(base);
    this.top = alignDown(Math.min(top, memory.buffer.byteLength));
    if (this.base > this.top) throw new RangeError(`kernel arena: base ${base} above top ${top}`);
    this.scratchEnd = this.base;
    this.low = this.top;
    this.lowestEver = this.top;
  }

  /** True if `view` lies in this arena's memory (a block, a sub-view of one, or scratch). */
  holds(view: ArrayBufferView): boolean {
    return view.buffer === this.memory.buffer;
  }

  /**
   * The start of `bytes` bytes of scratch at the bottom of the memory, for one kernel call: valid
   * until the next call of `scratch`. Throws LimitError if the blocks leave no room.
   */
  scratch(bytes: number): number {
    const end = this.base + alignUp(bytes);
    if (end > this.low) {
      throw new LimitError(
        `kernel memory: ${mib(bytes)} of scratch do not fit below the operands held (${mib(this.liveBytes)} in ` +
        `${this.live.size} blocks, ${mib(this.top - this.low)} span; memory ${mib(this.top - this.base)})`,
      );
    }
    if (end > this.scratchEnd) this.scratchEnd = end;
    return this.base;
  }

  /** A zeroed block of n words that stays put until `free`; throws LimitError when it does not fit. */
  allocWords(n: number, what = 'operand'): BigUint64Array {
    const v = this.tryAllocWords(n);
    if (v) return v;
    throw new LimitError(
      `kernel memory: no room for ${what} of ${n} words (${mib(8 * n)}): ${mib(this.liveBytes)} held in ` +
      `${this.live.size} blocks, ${mib(this.freeBytes)} free, scratch ${mib(this.scratchEnd - this.base)}, ` +
      `memory ${mib(this.top - this.base)}`,
    );
  }

  /** Like allocWords, but undefined when it does not fit (the caller keeps the operand on the JS heap). */
  tryAllocWords(n: number): BigUint64Array | undefined {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`kernel arena: ${n} is not a word count`);
    const bytes = alignUp(Math.max(8 * n, ALIGN));
    const ptr = this.takeFree(bytes) ?? this.carve(bytes);
    if (ptr === undefined) return undefined;
    this.live.set(ptr, bytes);
    this.liveBytes += bytes;
    return new BigUint64Array(this.memory.buffer, ptr, n);
  }

  /** Give back a block returned by allocWords (the view itself, not a sub-view). */
  free(view: BigUint64Array): void {
    const ptr = view.byteOffset, bytes = this.live.get(ptr);
    if (!this.holds(view) || bytes === undefined) throw new RangeError(`kernel arena: free of a view that is not a live block (offset ${ptr})`);
    this.live.delete(ptr);
    this.liveBytes -= bytes;
    this.insertFree(ptr, bytes);
  }

  /** Bytes held by live blocks. */
  get heldBytes(): number {
    return this.liveBytes;
  }

  /** Bytes on the free list (between `low` and `top`, not held). */
  get freeBytes(): number {
    return this.freeList.reduce((s, b) => s + b.bytes, 0);
  }

  /** Bytes between the scratch high-water mark and the lowest block: what a new block can still carve. */
  get gapBytes(): number {
    return this.low - this.scratchEnd;
  }

  private takeFree(bytes: number): number | undefined {
    const i = this.freeList.findIndex((b) => b.bytes >= bytes);
    if (i < 0) return undefined;
    const b = this.freeList[i];
    // the top of the free block: its bottom stays on the list, next to whatever lies below
    const ptr = b.ptr + b.bytes - bytes;
    if (b.bytes === bytes) this.freeList.splice(i, 1);
    else b.bytes -= bytes;
    new Uint8Array(this.memory.buffer, ptr, bytes).fill(0);
    return ptr;
  }

  private carve(bytes: number): number | undefined {
    const ptr = this.low - bytes;
    if (ptr < this.scratchEnd) return undefined;
    // [lowestEver, low) was used before and may hold old words; below lowestEver is untouched zero
    if (this.lowestEver < this.low) new Uint8Array(this.memory.buffer, Math.max(ptr, this.lowestEver), this.low - Math.max(ptr, this.lowestEver)).fill(0);
    this.low = ptr;
    if (ptr < this.lowestEver) this.lowestEver = ptr;
    return ptr;
  }

  private insertFree(ptr: number, bytes: number): void {
    const list = this.freeList;
    let i = 0;
    while (i < list.length && list[i].ptr < ptr) i++;
    list.splice(i, 0, { ptr, bytes });
    // coalesce with the next, then with the previous block
    if (i + 1 < list.length && ptr + bytes === list[i + 1].ptr) {
      list[i].bytes += list[i + 1].bytes;
      list.splice(i + 1, 1);
    }
    if (i > 0 && list[i - 1].ptr + list[i - 1].bytes === ptr) {
      list[i - 1].bytes += list[i].bytes;
      list.splice(i, 1);
      i--;
    }
    // a free block at the bottom of the blocks goes back to the gap
    if (list[i].ptr === this.low) {
      this.low += list[i].bytes;
      list.splice(i, 1);
    }
  }
}

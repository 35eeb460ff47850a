/**
 * KeyedValueCache — the dealer's memo of keyed values B = B_0 + B_1 (keyed-streams.ts), so that a
 * masked operand's mask is expanded from the two keyed streams once per session instead of once per
 * product triple.
 *
 * Why: every maskedMatmul triple (A, A·B) makes the dealer recompute the operand's whole mask B
 * from both parties' keyed streams (2 AES-CTR words and one add per element). A decoding step
 * multiplies by every weight matrix and by the whole K/V cache, so without a memo the dealer
 * expands the entire model (and the cache) every token: stories15M 24 M words per step (the 9.2 M
 * word tokEmb twice: embedding and tied classifier), GPT-2-small ≈ 200 M. With the memo a step
 * expands only the K/V rows appended since the last one.
 *
 * Security: B is the dealer's own randomness; keeping it for the session changes nothing the
 * parties see (the dealer already can recompute it at will from the seeds).
 *
 * Memory: one word per cached element, capped by `maxWords` (DEFAULT_KEYED_CACHE_WORDS = 2^26,
 * 512 MiB; stories15M needs ≈ 15 M words plus 4.6 K words per cached token). Growing keys (K/V
 * caches: lane prefixes [0, rows·cols) that grow as rows are appended) are extended in place with
 * capacity doubling. A request that does not fit the budget is computed fresh and not kept (no
 * eviction: with the weights' cyclic access pattern, evicting would only thrash).
 * Returned arrays are views into the memo: read-only for callers.
 *
 * Storage: entries live in the ring kernel's memory (ringArena(), kernel-arena.ts) when there is
 * room, so the dealer's products c = a·B (maskedProductTriples) read B in place instead of copying
 * it into the kernel per triple; otherwise on the JS heap. Arena blocks are freed when an entry
 * grows (old block) and when the memo is garbage-collected (all of them, FinalizationRegistry).
 * An entry that never grows (a weight's mask) is kept in 8-row panels from its second product on
 * (`panelValue`), so a·B reads it in one sequential pass, as the parties read their weights
 * (masked-operand.ts): the dealer's a·B over GPT-2-small's weights per token 124 → 66 ms
 * (CPU profile of the dealer, MPCache at 4096, 2026-11-29).
 */
import { fromPanels, panelWordCount, ringArena, toPanels } from '@mpcache/mpc-core';
import { keyedValueWork } from './dealer-work';
import type { KeyedStreams } from './keyed-streams';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

/** Default budget of a session's memo, in 8-byte words (512 MiB). */
export const DEFAULT_KEYED_CACHE_WORDS = 2 ** 26;

interface Entry {
  buf: BigUint64Array;
  len: number;
  /** buf holds the first len words as a (rows × cols) matrix in 8-row panels (panelValue). */
  panels?: { readonly rows: number; readonly cols: number };
  /** The length of the last request that read the whole entry (a second one at it makes panels). */
  lastWhole?: number;
  /** Extended after its first request, or turned back from panels: never (again) in panels. */
  rowMajorOnly?: boolean;
}

/** Frees the arena blocks of memos that were garbage-collected. */
const arenaBlocks = new FinalizationRegistry<Set<BigUint64Array>>((blocks) => {
  for (const b of blocks) ringArena().free(b);
});

export class KeyedValueCache {
  private readonly entries = new Map<string, Entry>();
  private usedWords = 0;
  /** Entry buffers that are arena blocks (the registry's held value: it must not refer to `this`). */
  private readonly blocks = new Set<BigUint64Array>();
  /** Word operations spent expanding values so far: keyedValueWork per fresh expansion (dealer-work.ts). */
  expandedWork = 0;

  constructor(
    private readonly streams: readonly [KeyedStreams, KeyedStreams],
    readonly maxWords = DEFAULT_KEYED_CACHE_WORDS,
  ) {
    if (!Number.isSafeInteger(maxWords) || maxWords < 0) throw new RangeError(`keyed cache: maxWords must be a non-negative integer`);
    arenaBlocks.register(this, this.blocks);
  }

  /** Words held in the ring kernel's memory (the rest of `words` is on the JS heap). */
  get kernelWords(): number {
    let n = 0;
    for (const b of this.blocks) n += b.length;
    return n;
  }

  /** Words held (capacity, counted against the budget). */
  get words(): number {
    return this.usedWords;
  }

  /** Words [offset, offset + n) of lane `lane` of the value named `key` (a read-only view when cached). */
  value(key: string, lane: number, offset: number, n: number): BigUint64Array {
    const id = `${key}\u0000${lane}`;
    const e = this.entries.get(id);
    const len = e?.len ?? 0;
    if (e?.panels) this.toRowMajor(e);
    if (e && offset === 0 && n === len) e.lastWhole = len;
    if (e && offset + n <= len) return e.buf.subarray(offset, offset + n);
    // Only a contiguous prefix is kept: a request that starts past the end is computed fresh.
    if (offset <= len && this.reserve(e, offset + n)) {
      const entry = e ?? this.entries.get(id) ?? this.create(id);
      if (len > 0) entry.rowMajorOnly = true; // it grows (a K/V cache)
      this.ensureCapacity(entry, offset + n);
      entry.buf.set(this.fresh(key, lane, len, offset + n - len), len);
      entry.len = offset + n;
      if (offset === 0) entry.lastWhole = n;
      return entry.buf.subarray(offset, offset + n);
    }
    return this.fresh(key, lane, offset, n);
  }

  /**
   * The value's first rows·cols words as a (rows × cols) matrix in 8-row panels (mpc-core
   * panels.ts), for products that stream it (maskedProductTriples' a·B), or undefined: only an
   * entry that never grew and was read whole at exactly that length before (a weight matrix from
   * its second product on; K/V caches grow) is converted, once — in place, its row-major form given
   * up; a later `value` turns it back for good. Nothing is expanded here.
   */
  panelValue(key: string, lane: number, rows: number, cols: number): BigUint64Array | undefined {
    const e = this.entries.get(`${key}\u0000${lane}`), n = rows * cols;
    if (!e || e.len !== n || n === 0 || e.rowMajorOnly) return undefined;
    if (e.panels) return e.panels.rows === rows && e.panels.cols === cols ? e.buf.subarray(0, panelWordCount(rows, cols)) : undefined;
    if (e.lastWhole !== n) {
      e.lastWhole = n;
      return undefined;
    }
    const words = panelWordCount(rows, cols);
    if (this.usedWords - e.buf.length + words > this.maxWords) return undefined;
    this.replaceBuffer(e, toPanels(e.buf.subarray(0, n), rows, cols));
    e.panels = { rows, cols };
    return e.buf.subarray(0, words);
  }

  /** An entry in panels back to row-major (a `value` request). */
  private toRowMajor(e: Entry): void {
    const { rows, cols } = e.panels!;
    e.panels = undefined;
    e.rowMajorOnly = true;
    this.replaceBuffer(e, fromPanels(e.buf.subarray(0, panelWordCount(rows, cols)), rows, cols));
  }

  /**
   * Replace e's buffer by `content`, moved into the arena if there is room once e's old block is
   * freed (a weight's mask is most of the arena's room for it: old and new need not fit together).
   */
  private replaceBuffer(e: Entry, content: BigUint64Array): void {
    const old = e.buf;
    if (this.blocks.delete(old)) ringArena().free(old);
    const block = ringArena().tryAllocWords(content.length);
    if (block) {
      block.set(content);
      this.blocks.add(block);
    }
    this.usedWords += content.length - old.length;
    e.buf = block ?? content;
  }

  /** True if the entry may grow to `want` words within the budget (capacity doubling included). */
  private reserve(e: Entry | undefined, want: number): boolean {
    const cap = e?.buf.length ?? 0;
    if (want <= cap) return true;
    return this.usedWords - cap + nextCapacity(cap, want) <= this.maxWords;
  }

  private create(id: string): Entry {
    const e: Entry = { buf: new BigUint64Array(0), len: 0 };
    this.entries.set(id, e);
    return e;
  }

  private ensureCapacity(e: Entry, want: number): void {
    const cap = e.buf.length;
    if (want <= cap) return;
    const next = nextCapacity(cap, want);
    const block = ringArena().tryAllocWords(next), buf = block ?? new BigUint64Array(next);
    buf.set(e.buf.subarray(0, e.len));
    if (this.blocks.delete(e.buf)) ringArena().free(e.buf);
    if (block) this.blocks.add(block);
    this.usedWords += next - cap;
    e.buf = buf;
  }

  private fresh(key: string, lane: number, offset: number, n: number): BigUint64Array {
    const a = this.streams[0].words(key, lane, offset, n), b = this.streams[1].words(key, lane, offset, n);
    for (let i = 0; i < n; i++) a[i] = asUintN(64, a[i] + b[i]);
    this.expandedWork += keyedValueWork(n);
    return a;
  }
}

/** First capacity: exactly `want` (weights never grow); later growth doubles (K/V caches). */
function nextCapacity(cap: number, want: number): number {
  return cap === 0 ? want : Math.max(want, 2 * cap);
}

/**
 * ComparisonPool — bit-LTZ comparison material (ltz-bit.ts) for a run of batches whose sizes
 * depend on revealed data (quick-select's passes, top-k.ts), drawn from dealer requests of one
 * fixed size C (chunks, labelled 0, 1, …). The requests are then the same from one run to the next
 * but for how many chunks a run needs, so a decoder step's plan (correlation-plans.ts) predicts
 * them; per-pass requests carried data-dependent counts and always went to the dealer on demand.
 *
 * Cost:      the comparisons themselves are unchanged (rounds, online bytes); offline: ⌈Σm / C⌉
 *            chunks of dcfLessThanZeroBitCost(C, bits) — the unused rest of the last chunk (< C
 *            comparisons) is dropped. pooledComparisonsOffline gives it exactly.
 * Security:  every comparison's material is used once (slices never overlap); C and the chunk
 *            labels are functions of public sizes.
 * Chunk size: comparisonChunk(first batch) — a quarter of the first pass (which is data-independent:
 *            the pivots of the whole row), rounded up to 64, so a pass spans a few chunks and the
 *            waste stays under one chunk.
 */
import type { PartyContext } from '../engine/context';
import { dcfLessThanZeroBitCost, ltzBitKeys, sliceLtzBitKeys, type LtzBitKeys } from '../fss/ltz-bit';

const CHUNK_GRANULE = 64;

/** The chunk size for a run whose first batch has `first` comparisons. */
export function comparisonChunk(first: number): number {
  return Math.max(CHUNK_GRANULE, Math.ceil(first / 4 / CHUNK_GRANULE) * CHUNK_GRANULE);
}

/** Dealer bytes (both parties) of a pooled run whose batches had these sizes. */
export function pooledComparisonsOffline(batches: readonly number[], bits: number): number {
  if (batches.length === 0) return 0;
  const C = comparisonChunk(batches[0]), total = batches.reduce((s, m) => s + m, 0);
  return Math.ceil(total / C) * dcfLessThanZeroBitCost(C, bits).offlineBytes;
}

export class ComparisonPool {
  private current: LtzBitKeys | null = null;
  private used = 0;
  private chunks = 0;

  constructor(private readonly ctx: PartyContext, readonly bits: number, readonly chunk: number) {}

  /** Material for the next m comparisons, as consecutive slices (for dcfLessThanZeroBit's `taken`). */
  async take(m: number): Promise<LtzBitKeys[]> {
    const parts: LtzBitKeys[] = [];
    while (m > 0) {
      if (!this.current || this.used === this.chunk) {
        this.current = await this.ctx.dealer.take(ltzBitKeys, { count: this.chunk, bits: this.bits, chunk: this.chunks++ });
        this.used = 0;
      }
      const k = Math.min(m, this.chunk - this.used);
      parts.push(sliceLtzBitKeys(this.current, this.used, this.used + k));
      this.used += k;
      m -= k;
    }
    return parts;
  }
}

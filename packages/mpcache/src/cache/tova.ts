/**
 * TOVA — Token Omission Via Attention (Oren et al., 2024); eviction-baselines.md §4, `tova_cache.py`.
 *
 * Per layer (one kept set shared by all heads): after the attention of query pos, the score of every
 * cached position is the current query's probability summed over heads, σ_j = Σ_h P_h[pos, j] (the
 * code's head mean, without the public 1/H, which does not change the order). Then keep the top
 * budget − 1 positions, the new token itself a candidate (ties: oldest evicted); the next query
 * attends those plus itself. At the prompt's end this is one top-k by the last prompt row; later it
 * is one argmin per step (`tovaEvict`, pure). Nothing is forced.
 *
 * Timing: the eviction decided by row pos is applied at the start of step pos + 1 (before its
 * attention), which is the code's order (attend, then evict) with cache size budget − 1.
 * Fixed point: σ is a sum of grid probabilities, exact.
 */
import { evictToTopK } from './top-k-kept';
import { PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

/** Pure TOVA eviction: keep the top `keep` of the alive positions in [0, len) by `rowScore`. */
export function tovaEvict(rowScore: ArrayLike<number>, alive: Uint8Array, len: number, keep: number): Int32Array {
  return evictToTopK(rowScore, alive, 0, len, keep);
}

export class TovaPolicy implements KVCachePolicy {
  readonly name = 'tova';
  private readonly phase = new PromptPhase();
  private readonly alive: Uint8Array[] = [];    // per layer (seqLen)
  private readonly rowSum: Float64Array[] = []; // per layer (seqLen): Σ_h of the last query's row
  private readonly rowPos: Int32Array;          // per layer: position of the query in rowSum, −1 none

  constructor(private readonly ctx: PolicyContext) {
    const { nLayers, seqLen } = ctx.model;
    for (let l = 0; l < nLayers; l++) { this.alive.push(new Uint8Array(seqLen)); this.rowSum.push(new Float64Array(seqLen)); }
    this.rowPos = new Int32Array(nLayers).fill(-1);
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const l = view.layer, alive = this.alive[l];
    // a chat's turn (beginTurn/endTurn) evicts nothing; the step after it evicts by the turn's last row
    if (view.head === 0 && !this.phase.dense && this.rowPos[l] === view.pos - 1) {
      tovaEvict(this.rowSum[l], alive, view.pos, this.ctx.budget - 1);
    }
    alive[view.pos] = 1;
    if (this.phase.inPrefill) return null;
    return alive.subarray(0, view.pos + 1);
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const l = view.layer, row = this.rowSum[l];
    if (view.head === 0) { row.fill(0, 0, view.pos + 1); this.rowPos[l] = view.pos; }
    for (let j = 0; j <= view.pos; j++) row[j] += probs[j];
  }

  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  beginTurn(): void { this.phase.beginTurn(); }
  endTurn(): void { this.phase.endTurn(); }
  reset(): void {
    this.phase.reset();
    for (const a of this.alive) a.fill(0);
    this.rowPos.fill(-1);
  }
}

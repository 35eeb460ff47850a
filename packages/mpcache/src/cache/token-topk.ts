/**
 * Naive token-level dynamic selection — every decoding step, per head, attend the query itself plus
 * the budget − 1 older positions with the highest exact logits q·k (ties: older loses), over the
 * full, never-evicted cache. The quality ceiling of query-aware selection at a given budget, and
 * the cost strawman of mpcache-algorithm.md ("top-k over n secret scores every step plus a one-hot
 * gather per kept token"), kept for the cost comparison. Prefill is dense.
 * Fixed point: the logit is fxRound(q·k), one truncation as in the decoder's score.
 */
import { topKThenLast } from './top-k-kept';
import { fxRound, PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

/** Exact logits q·k_j of one head for j < len, rounded to the grid: (len). */
export function headLogits(view: AttentionView, len: number, fracBits: number | null): Float64Array {
  const d = view.headDim, off = view.kvHead * d, out = new Float64Array(len);
  for (let j = 0; j < len; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += view.q[i] * view.keyCache[j * view.kvDim + off + i];
    out[j] = fxRound(s, fracBits);
  }
  return out;
}

/** Pure selection: the top `keep` of positions [0, pos) by logit, plus pos; ascending. */
export function tokenTopKSelect(logits: ArrayLike<number>, pos: number, keep: number): Int32Array {
  return topKThenLast(logits, pos, keep);
}

export class TokenTopKPolicy implements KVCachePolicy {
  readonly name = 'token-topk';
  private readonly phase = new PromptPhase();
  private readonly mask: Uint8Array;

  constructor(private readonly ctx: PolicyContext) {
    this.mask = new Uint8Array(ctx.model.seqLen);
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const len = view.pos + 1;
    if (this.phase.dense || len <= this.ctx.budget) return null;
    const kept = tokenTopKSelect(headLogits(view, view.pos, this.ctx.fracBits), view.pos, this.ctx.budget - 1);
    this.mask.fill(0, 0, len);
    for (const p of kept) this.mask[p] = 1;
    return this.mask.subarray(0, len);
  }

  observe(): void {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  beginTurn(): void { this.phase.beginTurn(); }
  endTurn(): void { this.phase.endTurn(); }
  reset(): void { this.phase.reset(); }
}

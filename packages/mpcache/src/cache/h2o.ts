/**
 * H2O — Heavy-Hitter Oracle (Zhang et al., NeurIPS 2023); eviction-baselines.md §3, real-drop code.
 *
 * Per layer and KV head (policy-config.ts kvUnitOf; per query head on a multi-head model): score
 * s_j = Σ_q Σ_{h in the group} P_h[q, j], accumulated over every query that attended j (the prompt's
 * column sums, then each decoding row over the already-evicted cache). The group's first head to
 * reach a step evicts; h2oEvict is then a no-op for the others (the kept set is already down). At the decoding step
 * of query pos the kept set is the recent window [pos − recent + 1, pos] plus the `heavy` best-scored
 * older alive positions; a position once evicted never returns. The first decoding step therefore
 * does the prefill top-k (many evictions), later steps evict exactly one (the argmin over heavy + 1
 * candidates, ties: oldest evicted) — `h2oEvict`, a pure function the secure version mirrors with a
 * tournament argmin and a lazy-deletion alive bit (B2, B6).
 *
 * A chat's later turn (decoder `extend`, beginTurn/endTurn) is taken like a prompt on top of the
 * kept set: its positions attend the alive positions and each other, nothing is evicted during it,
 * their attention joins the scores, and the step after it evicts down to heavy + recent at once.
 *
 * Budget split: heavy = ⌊budget · heavyFraction⌋, recent = budget − heavy (paper: 10 % + 10 %, so 1:1).
 * Fixed point: the scores are sums of grid probabilities, exact; nothing to round.
 */
import { evictToTopK } from './top-k-kept';
import { kvHeadCount, kvUnitOf, PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface H2oOptions {
  /** Share of the budget for heavy hitters; the rest is the recent window. */
  heavyFraction: number;
}

export const H2O_DEFAULTS: H2oOptions = { heavyFraction: 0.5 };

/**
 * Pure H2O eviction before the attention of query `pos`: evict (in place) the lowest-scored alive
 * positions older than the recent window until `heavy` remain. Returns the evicted positions.
 */
export function h2oEvict(scores: ArrayLike<number>, alive: Uint8Array, pos: number, heavy: number, recent: number): Int32Array {
  return evictToTopK(scores, alive, 0, Math.max(0, pos - recent + 1), heavy);
}

/** Heavy/recent split of a budget (recent ≥ 1 so the query's own position is always inside it). */
export function h2oSplit(budget: number, heavyFraction: number): { heavy: number; recent: number } {
  const heavy = Math.min(budget - 1, Math.max(0, Math.floor(budget * heavyFraction)));
  return { heavy, recent: budget - heavy };
}

export class H2oPolicy implements KVCachePolicy {
  readonly name = 'h2o';
  private readonly phase = new PromptPhase();
  private readonly heavy: number;
  private readonly recent: number;
  private readonly scores: Float64Array[] = []; // per (layer, KV head): (seqLen) accumulated attention
  private readonly alive: Uint8Array[] = [];    // per (layer, KV head): (seqLen)

  constructor(private readonly ctx: PolicyContext, readonly opts: H2oOptions = H2O_DEFAULTS) {
    ({ heavy: this.heavy, recent: this.recent } = h2oSplit(ctx.budget, opts.heavyFraction));
    const { nLayers, seqLen } = ctx.model;
    for (let u = 0; u < nLayers * kvHeadCount(ctx.model); u++) {
      this.scores.push(new Float64Array(seqLen));
      this.alive.push(new Uint8Array(seqLen));
    }
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const u = kvUnitOf(this.ctx.model, view.layer, view.head), alive = this.alive[u];
    alive[view.pos] = 1;
    if (this.phase.inPrefill) return null;
    if (this.phase.inTurn) return alive.subarray(0, view.pos + 1); // a turn evicts nothing (header)
    h2oEvict(this.scores[u], alive, view.pos, this.heavy, this.recent);
    return alive.subarray(0, view.pos + 1);
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const s = this.scores[kvUnitOf(this.ctx.model, view.layer, view.head)];
    for (let j = 0; j <= view.pos; j++) s[j] += probs[j];
  }

  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  beginTurn(): void { this.phase.beginTurn(); }
  endTurn(): void { this.phase.endTurn(); }
  reset(): void {
    this.phase.reset();
    for (const s of this.scores) s.fill(0);
    for (const a of this.alive) a.fill(0);
  }
}

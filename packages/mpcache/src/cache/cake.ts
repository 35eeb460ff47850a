/**
 * CAKE — Cascading and Adaptive KV cache Eviction (Qin et al., ICLR 2025); eviction-baselines.md §7.
 *
 * End of prefill, per layer: preference P_ℓ from the last w prompt queries' attention (entropy and
 * variance), layer budgets B_ℓ = adjustBudgets(P_ℓ/ΣP·(budget − w)·L), per head the indicator
 * mean + γ·var (pooled) and keep its top-B_ℓ prefix tokens plus the w-token window
 * (cake-budgets.ts). Decoding, per KV head, per step: the window [pos − w + 1, pos] is protected; the
 * alive older positions are cut back to B_ℓ by the latest query row (pooled with decodePoolKernel
 * over cache order), one argmin per step — applied at the start of the next step, so every query of
 * layer ℓ attends at most B_ℓ + w positions (budget on average over layers).
 *
 * Flagged choices: w = min(window, ⌊budget/2⌋); non-cascading allocation (identical to cascading
 * unless budgets hit the n − w cap, §7.2); decode pooling kernel 1 by default (code: 5 over a
 * score-sorted cache order, which has no meaning after order-free compaction, §7.4); the kept set
 * is per KV head (policy-config.ts kvUnitOf): on a grouped-query model, as CAKE's code, the
 * indicator is the group's mean of its query heads' indicators and the decode score the group's
 * mean latest row (here their sums: the same order); the layer preference reads every query head.
 * Layer budgets: 'adaptive' (the paper's allocation, default), 'uniform' (budget − w everywhere) or
 * an array of calibrated public budgets B_ℓ (fixed offline: no data-dependent allocation). The
 * secure twin (secure-cache/secure-cake.ts) runs 'uniform' or calibrated budgets by default and
 * 'adaptive' only with `revealLayerBudgets` (a documented leak).
 * Fixed point: adaptive budgets are computed in float64 from the grid probabilities; the decode
 * score is the grid probability row (exact); the prefill indicator is ranked by its exact integer
 * form `cakeIndicatorFx` (the secure twin computes the same integers in the ring, γ rounded to an
 * integer).
 */
import { adjustBudgets, cakeIndicator, cakeIndicatorFx, cakePreference } from './cake-budgets';
import { evictToTopK, maskOf, topKPositions } from './top-k-kept';
import { kvHeadCount, kvUnitOf, PromptPhase, type PolicyContext } from './policy-config';
import { pool1d } from './snapkv';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface CakeOptions {
  /** Observation and protected window (code: 32); the policy uses min(window, ⌊budget/2⌋). */
  window: number;
  gamma: number;
  tau1: number;
  tau2: number;
  prefillPoolKernel: number;
  decodePoolKernel: number;
  /** 'adaptive' (default), 'uniform', or calibrated public prefix budgets, one per layer. */
  layerBudgets?: 'adaptive' | 'uniform' | readonly number[];
  /** Secure runs only: allow 'adaptive' by revealing each layer's entropy and variance (a leak). */
  revealLayerBudgets?: boolean;
}

export const CAKE_DEFAULTS: CakeOptions = { window: 32, gamma: 200, tau1: 1, tau2: 1, prefillPoolKernel: 5, decodePoolKernel: 1 };

/** Pure decode eviction: pool the row over the alive candidates in cache order, keep the top `keep`. */
export function cakeDecodeEvict(row: ArrayLike<number>, alive: Uint8Array, windowStart: number, keep: number, kernel: number): Int32Array {
  if (kernel <= 1) return evictToTopK(row, alive, 0, windowStart, keep);
  const cands: number[] = [];
  for (let p = 0; p < windowStart; p++) if (alive[p] === 1) cands.push(p);
  const pooled = pool1d(cands.map((p) => row[p]), cands.length, kernel, 'avg');
  const scores = new Float64Array(windowStart);
  cands.forEach((p, i) => { scores[p] = pooled[i]; });
  return evictToTopK(scores, alive, 0, windowStart, keep);
}

export class CakePolicy implements KVCachePolicy {
  readonly name = 'cake';
  readonly window: number;
  private readonly phase = new PromptPhase();
  private readonly windowRows: Float64Array[] = []; // per (layer, query head): (w, n) window probabilities
  private readonly alive: Uint8Array[] = [];        // per (layer, KV head)
  private readonly lastRow: Float64Array[] = [];    // per (layer, KV head): the group's summed latest row
  private readonly rowPos: Int32Array;              // per (layer, KV head): the position lastRow is of
  private readonly budgets: number[] = [];         // B_ℓ: prefix budget per layer (window excluded)
  private promptWindow = 0;                        // min(window, n) of the current prompt

  constructor(private readonly ctx: PolicyContext, readonly opts: CakeOptions = CAKE_DEFAULTS) {
    this.window = Math.max(1, Math.min(opts.window, Math.floor(ctx.budget / 2)));
    const { nLayers, nHeads, seqLen } = ctx.model, units = nLayers * kvHeadCount(ctx.model);
    for (let u = 0; u < units; u++) { this.alive.push(new Uint8Array(seqLen)); this.lastRow.push(new Float64Array(seqLen)); }
    for (let u = 0; u < nLayers * nHeads; u++) this.windowRows.push(new Float64Array(0));
    this.rowPos = new Int32Array(units).fill(-1);
    this.resetBudgets();
  }

  /** B_ℓ, the prefix budget of each layer (decode capacity B_ℓ + window). */
  layerBudgets(): readonly number[] {
    return this.budgets;
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const u = kvUnitOf(this.ctx.model, view.layer, view.head), alive = this.alive[u], pos = view.pos;
    alive[pos] = 1;
    if (this.phase.inPrefill) return null;
    // a chat's turn (beginTurn/endTurn) evicts nothing; the step after it evicts down by the turn's last row
    if (!this.phase.inTurn && this.rowPos[u] === pos - 1) {
      cakeDecodeEvict(this.lastRow[u], alive, Math.max(0, pos - this.window + 1), this.budgets[view.layer], this.opts.decodePoolKernel);
    }
    return alive.subarray(0, pos + 1);
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const u = kvUnitOf(this.ctx.model, view.layer, view.head), n = this.phase.promptLength, row = this.lastRow[u];
    if (this.rowPos[u] !== view.pos) { row.fill(0, 0, view.pos + 1); this.rowPos[u] = view.pos; } // the group's first head at pos
    for (let j = 0; j <= view.pos; j++) row[j] += probs[j];
    const w = this.promptWindow;
    if (this.phase.inPrefill && view.pos >= n - w) this.windowRows[view.layer * this.ctx.model.nHeads + view.head].set(probs, (view.pos - (n - w)) * n);
  }

  beginPrefill(n: number): void {
    this.phase.begin(n);
    const w = (this.promptWindow = Math.min(this.window, n));
    for (let u = 0; u < this.windowRows.length; u++) this.windowRows[u] = new Float64Array(w * n);
  }

  beginTurn(): void { this.phase.beginTurn(); }
  endTurn(): void { this.phase.endTurn(); }

  endPrefill(n: number): void {
    this.phase.end();
    const { nLayers, nHeads } = this.ctx.model, w = this.window, prefix = n - w;
    if (prefix <= 0) return; // the whole prompt is inside the protected window
    const mode = this.opts.layerBudgets ?? 'adaptive';
    if (mode === 'adaptive') {
      const pref = Array.from({ length: nLayers }, (_, l) =>
        cakePreference(this.windowRows.slice(l * nHeads, (l + 1) * nHeads), w, n, prefix, this.opts.tau1, this.opts.tau2));
      this.budgets.splice(0, nLayers, ...cakeAllocate(pref, (this.ctx.budget - w) * nLayers, prefix));
    }
    const f = this.ctx.fracBits, { gamma, prefillPoolKernel: kernel } = this.opts, kv = kvHeadCount(this.ctx.model), g = nHeads / kv;
    const indicator = (A: Float64Array) => (f === null ? cakeIndicator(A, w, n, prefix, gamma, kernel) : cakeIndicatorFx(A, w, n, prefix, gamma, kernel, f));
    for (let l = 0; l < nLayers; l++) {
      for (let k = 0; k < kv; k++) {
        const u = l * kv + k, ind = groupSum(this.windowRows.slice(l * nHeads + k * g, l * nHeads + (k + 1) * g).map(indicator));
        const keep = topKPositions(ind, Int32Array.from({ length: prefix }, (_, j) => j), this.budgets[l]);
        const alive = this.alive[u];
        alive.fill(0, 0, prefix);
        alive.set(maskOf(keep, prefix));
      }
    }
    // the first decoding step protects [n − w + 1, n]: token n − w competes on the last prompt row
    for (let u = 0; u < this.alive.length; u++) this.rowPos[u] = n - 1;
  }

  reset(): void {
    this.phase.reset();
    for (const a of this.alive) a.fill(0);
    this.rowPos.fill(-1);
    this.resetBudgets();
  }

  private resetBudgets(): void {
    this.budgets.length = 0;
    const given = this.opts.layerBudgets, L = this.ctx.model.nLayers;
    if (Array.isArray(given)) {
      if (given.length !== L || !given.every((b) => Number.isInteger(b) && b >= 0)) {
        throw new RangeError(`"cake.layerBudgets" expected ${L} non-negative integers, got ${given.length} entries`);
      }
      this.budgets.push(...given);
    } else {
      for (let l = 0; l < L; l++) this.budgets.push(this.ctx.budget - this.window);
    }
  }
}

/** Element-wise sum of a KV head's group of query-head indicators (the one itself when g = 1). */
function groupSum(rows: readonly Float64Array[]): Float64Array {
  if (rows.length === 1) return rows[0];
  const out = new Float64Array(rows[0].length);
  for (const r of rows) for (let i = 0; i < r.length; i++) out[i] += r[i];
  return out;
}

/** CAKE's allocation: B_ℓ = adjustBudgets(P_ℓ/ΣP·total, total, cap) (uniform if ΣP is 0 or not finite). */
export function cakeAllocate(pref: readonly number[], total: number, cap: number): number[] {
  const sum = pref.reduce((a, b) => a + b, 0), L = pref.length;
  const raw = sum > 0 && Number.isFinite(sum) ? pref.map((p) => (p / sum) * total) : pref.map(() => total / L);
  return adjustBudgets(raw, total, cap);
}

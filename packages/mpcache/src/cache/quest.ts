/**
 * Quest (Tang et al., ICML 2024) — query-aware page selection without eviction; eviction-baselines.md §9.
 *
 * The full cache is kept. At each decoding step, per head, the cache [0, pos] is cut into pages of
 * `pageSize` consecutive tokens; each complete page has per-channel bounds M = max k, m = min k over
 * its keys (post-RoPE). Its criticality is the upper bound
 *     U(q, page) = Σ_i max(q_i·M_i, q_i·m_i) = q·m + ReLU(q)·(M − m)        (§9.2, `pageBoundScores`)
 * The page holding the query is always attended; the top ⌊budget/pageSize⌋ − 1 other pages by U are
 * added (ties: the older page loses). Prefill is dense.
 *
 * Budget mapping (flagged): every layer selects (the code keeps layers 0–1 dense: `denseLayers`),
 * and the page count is ⌊budget/pageSize⌋ (the eval code's max(3, ·) would exceed small budgets).
 * Fixed point: U is one dot product of grid values truncated once — fxRound(q·m + ReLU(q)·(M − m)).
 */
import { topKThenLast } from './top-k-kept';
import { fxRound, PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface QuestOptions {
  /** Tokens per page (paper: 16). */
  pageSize: number;
  /** Layers that attend densely (paper code: [0, 1]; equal-budget default: none). */
  denseLayers: readonly number[];
}

export const QUEST_DEFAULTS: QuestOptions = { pageSize: 16, denseLayers: [] };

/**
 * Per-channel max and min of `nClusters` consecutive runs of `size` rows of one head's keys:
 * row r of the run c is keys[rows(c·size + r)·stride + off + i]. Returns (nClusters, headDim) each.
 */
export function clusterMinMax(keys: Float64Array, stride: number, off: number, headDim: number,
  rowOf: (i: number) => number, size: number, nClusters: number): { max: Float64Array; min: Float64Array } {
  const max = new Float64Array(nClusters * headDim).fill(-Infinity), min = new Float64Array(nClusters * headDim).fill(Infinity);
  for (let c = 0; c < nClusters; c++) {
    for (let r = 0; r < size; r++) {
      const base = rowOf(c * size + r) * stride + off;
      for (let i = 0; i < headDim; i++) {
        const k = keys[base + i];
        if (k > max[c * headDim + i]) max[c * headDim + i] = k;
        if (k < min[c * headDim + i]) min[c * headDim + i] = k;
      }
    }
  }
  return { max, min };
}

/** Quest's exact bound per cluster: fxRound(q·m + ReLU(q)·(M − m)). */
export function pageBoundScores(q: ArrayLike<number>, max: Float64Array, min: Float64Array, nClusters: number,
  headDim: number, fracBits: number | null): Float64Array {
  const out = new Float64Array(nClusters);
  for (let c = 0; c < nClusters; c++) {
    let s = 0;
    for (let i = 0; i < headDim; i++) {
      const M = max[c * headDim + i], m = min[c * headDim + i], qi = q[i];
      s += qi * m + (qi > 0 ? qi : 0) * (M - m);
    }
    out[c] = fxRound(s, fracBits);
  }
  return out;
}

/** Pure Quest selection over pages of [0, len): the selected page indices (ascending), last page included. */
export function questSelectPages(scores: ArrayLike<number>, len: number, pageSize: number, budget: number): Int32Array {
  return topKThenLast(scores, Math.ceil(len / pageSize) - 1, Math.floor(budget / pageSize) - 1);
}

export class QuestPolicy implements KVCachePolicy {
  readonly name = 'quest';
  private readonly phase = new PromptPhase();
  private readonly mask: Uint8Array;
  private readonly dense: Set<number>;

  constructor(private readonly ctx: PolicyContext, readonly opts: QuestOptions = QUEST_DEFAULTS) {
    if (!Number.isInteger(opts.pageSize) || opts.pageSize < 1 || opts.pageSize > ctx.budget) {
      throw new RangeError(`"quest.pageSize" expected an integer in [1, budget = ${ctx.budget}], got ${opts.pageSize}`);
    }
    this.mask = new Uint8Array(ctx.model.seqLen);
    this.dense = new Set(opts.denseLayers.map((l) => (l < 0 ? ctx.model.nLayers + l : l)));
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const len = view.pos + 1, S = this.opts.pageSize;
    if (this.phase.dense || len <= this.ctx.budget || this.dense.has(view.layer)) return null;
    const nComplete = Math.ceil(len / S) - 1, d = view.headDim;
    const { max, min } = clusterMinMax(view.keyCache, view.kvDim, view.kvHead * d, d, (i) => i, S, nComplete);
    const scores = pageBoundScores(view.q, max, min, nComplete, d, this.ctx.fracBits);
    const pages = questSelectPages(scores, len, S, this.ctx.budget);
    this.mask.fill(0, 0, len);
    for (const p of pages) this.mask.fill(1, p * S, Math.min(len, (p + 1) * S));
    return this.mask.subarray(0, len);
  }

  observe(): void {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  beginTurn(): void { this.phase.beginTurn(); }
  endTurn(): void { this.phase.endTurn(); }
  reset(): void { this.phase.reset(); }
}

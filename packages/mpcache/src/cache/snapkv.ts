/**
 * SnapKV (Li et al., NeurIPS 2024) — one-shot window vote at prefill; eviction-baselines.md §5.
 *
 * Per layer and KV head (policy-config.ts kvUnitOf; per query head on a multi-head model), over a
 * prompt of n tokens with observation window w (the last w prompt queries): votes
 * v_j = Σ_{q ∈ window} Σ_{h in the group} P_h[q, j] for prefix positions j < n − w, 1-D pooling along
 * positions (kernel k, stride 1, same padding; max-pool 7 in the paper's runs, avg-pool recommended
 * for the secure version), then keep the top (capacity − w) prefix positions plus the window
 * (`snapkvSelect`, pure). No compression if n ≤ capacity.
 *
 * Budget mapping (flagged): capacity = budget and w = min(window, ⌊budget/2⌋). Decoding in the
 * code appends without eviction ('grow': the cache reaches capacity + t). The default 'window' keeps
 * the equal-budget rule instead: the selected prefix stays fixed and the w-token window slides over
 * the newest tokens, so every decoding query attends at most `budget` positions.
 * Fixed point: votes are sums of grid probabilities; max-pool is exact and avg-pool is computed as
 * a window sum (the public 1/k does not change the order). No rounding.
 */
import { maskOf, topKPositions } from './top-k-kept';
import { kvHeadCount, kvUnitOf, PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface SnapKvOptions {
  /** Observation window (paper: 32); the policy uses min(window, ⌊budget/2⌋). */
  window: number;
  /** Pooling kernel along positions (paper runs: 7). 1 = no pooling. */
  kernel: number;
  pooling: 'max' | 'avg';
  /** 'window' (equal budget, sliding window) or 'grow' (code: append every new token). */
  decode: 'window' | 'grow';
}

export const SNAPKV_DEFAULTS: SnapKvOptions = { window: 32, kernel: 7, pooling: 'max', decode: 'window' };

/** Same-padded 1-D pooling (max with −∞ padding, or sum with zero padding) of v[0, len). */
export function pool1d(v: ArrayLike<number>, len: number, kernel: number, pooling: 'max' | 'avg'): Float64Array {
  const out = new Float64Array(len), half = Math.floor(kernel / 2);
  for (let j = 0; j < len; j++) {
    let acc = pooling === 'max' ? -Infinity : 0;
    for (let i = Math.max(0, j - half); i <= Math.min(len - 1, j - half + kernel - 1); i++) {
      acc = pooling === 'max' ? Math.max(acc, v[i]) : acc + v[i];
    }
    out[j] = acc;
  }
  return out;
}

/** Pure SnapKV selection: kept prompt positions (ascending) from the votes over [0, n − w). */
export function snapkvSelect(votes: ArrayLike<number>, n: number, w: number, capacity: number,
  kernel: number, pooling: 'max' | 'avg'): Int32Array {
  if (n <= capacity) return Int32Array.from({ length: n }, (_, j) => j);
  const prefix = n - w, pooled = pool1d(votes, prefix, kernel, pooling);
  const chosen = topKPositions(pooled, Int32Array.from({ length: prefix }, (_, j) => j), capacity - w);
  const out = new Int32Array(chosen.length + w);
  out.set(chosen);
  for (let i = 0; i < w; i++) out[chosen.length + i] = prefix + i;
  return out;
}

export class SnapKvPolicy implements KVCachePolicy {
  readonly name = 'snapkv';
  private readonly phase = new PromptPhase();
  readonly window: number;
  private readonly votes: Float64Array[] = [];  // per (layer, KV head): (seqLen)
  private readonly kept: Uint8Array[] = [];     // per (layer, KV head): selected prompt positions
  private selected = false;
  private readonly mask: Uint8Array;

  constructor(private readonly ctx: PolicyContext, readonly opts: SnapKvOptions = SNAPKV_DEFAULTS) {
    this.window = Math.max(1, Math.min(opts.window, Math.floor(ctx.budget / 2)));
    const { nLayers, seqLen } = ctx.model;
    for (let u = 0; u < nLayers * kvHeadCount(ctx.model); u++) { this.votes.push(new Float64Array(seqLen)); this.kept.push(new Uint8Array(seqLen)); }
    this.mask = new Uint8Array(seqLen);
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const n = this.phase.promptLength;
    if (this.phase.inPrefill || !this.selected) return null; // no prompt bracket: nothing to select from
    const len = view.pos + 1, kept = this.kept[kvUnitOf(this.ctx.model, view.layer, view.head)];
    if (this.opts.decode === 'grow') {
      this.mask.set(kept.subarray(0, n));
      this.mask.fill(1, n, len);
      return this.mask.subarray(0, len);
    }
    if (n <= this.ctx.budget && len <= this.ctx.budget) return null;
    // fixed selected prefix (outside the window) + a sliding window of the last w positions
    const prefixEnd = Math.max(0, n - this.window), from = Math.max(prefixEnd, len - this.window);
    this.mask.fill(0, 0, len);
    this.mask.set(kept.subarray(0, prefixEnd));
    this.mask.fill(1, from, len);
    return this.mask.subarray(0, len);
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const n = this.phase.promptLength;
    if (!this.phase.inPrefill || view.pos < n - this.window) return;
    const v = this.votes[kvUnitOf(this.ctx.model, view.layer, view.head)];
    for (let j = 0; j < n - this.window; j++) v[j] += probs[j];
  }

  beginPrefill(n: number): void { this.phase.begin(n); }

  endPrefill(n: number): void {
    this.phase.end();
    const { budget } = this.ctx, w = this.window;
    for (let u = 0; u < this.votes.length; u++) {
      this.kept[u].fill(0);
      this.kept[u].set(maskOf(snapkvSelect(this.votes[u], n, w, budget, this.opts.kernel, this.opts.pooling), n));
    }
    this.selected = true;
  }

  reset(): void {
    this.phase.reset();
    this.selected = false;
    for (const v of this.votes) v.fill(0);
  }
}

/**
 * SnapKV and StreamingLLM on shares — the twins of cache/snapkv.ts and cache/streaming-llm.ts.
 *
 * SnapKV (per KV head, as the plaintext; a grouped-query model's query heads vote together): the last
 *   w prompt queries vote (local sums, B1);
 *   1-D pooling along positions — 'avg' is a window sum (local), 'max' a maxTree over the kernel
 *   (⌈log2 k⌉ rounds, k − 1 comparisons per position) with out-of-range entries padded by a public
 *   −PAD; then one compactRows per layer keeps the top capacity − w prefix rows, the w window rows
 *   stay as the public tail. Decoding selects public rows only (free): the kept prefix and a sliding
 *   window of the last w rows ('window'), or every row ('grow'); a chat's turn in one pass gives
 *   each query its own window (prefixWindowBand), the same as step by step.
 * StreamingLLM: sinks + recent window, public positions, free; the full cache up to the budget; a
 *   chat's turn in one pass, each query with its own window (no change of semantics).
 * Cost: the prompt's end, per layer, snapKvPrefillCost (given the compaction's reported steps).
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import { maxTree, maxTreeCost, sumCosts, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import { PromptPhase } from '../cache/policy-config';
import { SNAPKV_DEFAULTS, type SnapKvOptions } from '../cache/snapkv';
import { STREAMING_LLM_DEFAULTS, type StreamingLlmOptions } from '../cache/streaming-llm';
import {
  prefixWindowBand, SecureSinkWindowCache, type SecureAttentionSelection, type SecureAttentionView, type SecureKVCachePolicy,
} from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { compactRows, compactRowsCost, keepZeroRows } from './compact-rows';

const { asUintN } = BigInt;

/** Real-valued padding of max-pool windows (votes are sums of at most w probabilities). */
const POOL_PAD = 1024;

export class SecureSnapKvPolicy implements SecureKVCachePolicy {
  readonly name = 'snapkv';
  /** A chat's later turn in one pass, each query with its decoding window (prefixWindowBand). */
  readonly multiRowSteps = true;
  readonly window: number;
  private readonly phase = new PromptPhase();
  private votes: (BigUint64Array | null)[];
  private caches: (SecureLayerCache | null)[];
  private prefixRows = -1; // kept prefix rows after the prompt (−1: no prompt bracket)
  private warmed = false;
  /** Quick-select steps of each layer's compaction (public). */
  readonly steps: (number[] | null)[];

  constructor(readonly nLayers: number, readonly budget: number, readonly opts: SnapKvOptions = SNAPKV_DEFAULTS) {
    this.window = Math.max(1, Math.min(opts.window, Math.floor(budget / 2)));
    this.votes = new Array(nLayers).fill(null);
    this.caches = new Array(nLayers).fill(null);
    this.steps = new Array(nLayers).fill(null);
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    this.caches[view.layer] = view.cache;
    const n = this.phase.promptLength, len = view.cache.length, w = this.window, P = this.prefixRows;
    if (this.phase.inPrefill || P < 0 || this.opts.decode === 'grow') return null;
    // the kept prefix and the last w rows, every row while the prompt and the cache fit the budget;
    // a chat's turn in one pass gives each query its own window, as its own step would
    return prefixWindowBand(len, view.nQueries, P, w, ctx.fracBits, Math.max(P + w, n <= this.budget ? this.budget : 0));
  }

  /** Only the prompt's own pass reads them (the window votes). */
  needsProbs(): boolean {
    return this.phase.inPrefill;
  }

  async observe(_ctx: PartyContext, view: SecureAttentionView, probs: RingTensor | null): Promise<void> {
    const n = this.phase.promptLength, w = this.window;
    this.caches[view.layer] = view.cache;
    if (!this.phase.inPrefill || view.nQueries !== n || !probs) return;
    const [lanes, rows, L] = probs.shape, p = probs.data, v = (this.votes[view.layer] ??= new BigUint64Array(lanes * n));
    for (let h = 0; h < lanes; h++) {
      for (let r = 0; r < rows; r++) {
        if (r % n < n - w) continue;
        for (let j = 0; j < n - w; j++) v[h * n + j] = asUintN(64, v[h * n + j] + p[(h * rows + r) * L + j]);
      }
    }
  }

  beginPrefill(n: number): void {
    if (this.warmed) return;
    this.phase.begin(n);
    this.votes.fill(null);
  }

  async endPrefill(ctx: PartyContext, n: number): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    const w = this.window, prefix = n - w;
    this.prefixRows = Math.max(0, prefix);
    if (n <= this.budget) return;
    await ctx.ledger.scope('snapkv select', async () => {
      for (let l = 0; l < this.nLayers; l++) {
        const cache = this.caches[l]!, lanes = cache.lanes, v = this.votes[l] ?? new BigUint64Array(lanes * n);
        const pooled = await this.pool(ctx, v, lanes, n, prefix);
        const res = await compactRows(ctx, [cache], { shape: [lanes, prefix], data: pooled }, this.budget - w, { granularity: 'lane', tailFrom: prefix });
        this.steps[l] = res.steps;
      }
    });
    this.prefixRows = this.budget - w;
  }

  /** Benchmarks only (SecureKVCachePolicy.warm): the prompt's selection on zero rows. */
  async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    const n = caches[0].length, w = this.window;
    this.warmed = true;
    this.phase.begin(n);
    this.phase.end();
    this.prefixRows = n <= this.budget ? Math.max(0, n - w) : this.budget - w;
    if (n > this.budget) for (const c of caches) await keepZeroRows(ctx, c, this.budget);
  }

  reset(): void {
    this.warmed = false;
    this.phase.reset();
    this.votes.fill(null);
    this.caches.fill(null);
    this.steps.fill(null);
    this.prefixRows = -1;
  }

  /** Same-padded pooling of each lane's votes over [0, prefix): (lanes, prefix). */
  private async pool(ctx: PartyContext, v: BigUint64Array, lanes: number, n: number, prefix: number): Promise<BigUint64Array> {
    const k = this.opts.kernel, half = Math.floor(k / 2), out = new BigUint64Array(lanes * prefix);
    if (k <= 1) {
      for (let h = 0; h < lanes; h++) out.set(v.subarray(h * n, h * n + prefix), h * prefix);
      return out;
    }
    if (this.opts.pooling === 'avg') {
      for (let h = 0; h < lanes; h++) {
        for (let j = 0; j < prefix; j++) {
          let s = 0n;
          for (let i = Math.max(0, j - half); i <= Math.min(prefix - 1, j - half + k - 1); i++) s += v[h * n + i];
          out[h * prefix + j] = asUintN(64, s);
        }
      }
      return out;
    }
    const pad = ctx.party === 0 ? asUintN(64, -encodeScalar(POOL_PAD, ctx.fracBits)) : 0n, x = new BigUint64Array(lanes * prefix * k);
    for (let h = 0; h < lanes; h++) {
      for (let j = 0; j < prefix; j++) {
        for (let t = 0; t < k; t++) {
          const i = j - half + t;
          x[(h * prefix + j) * k + t] = i >= 0 && i < prefix ? v[h * n + i] : pad;
        }
      }
    }
    return (await maxTree(ctx, { shape: [lanes * prefix, k], data: x }, { bits: ctx.fracBits + 16 })).data;
  }
}

/**
 * Exact cost of one layer's selection at the prompt's end (a prompt of n > budget rows): the pooling
 * ('max': a maxTree over the kernel per prefix position, at f + 16 bits; 'avg' and kernel 1: local),
 * then compactRows keeping budget − w prefix rows per lane, the w window rows as the public tail.
 */
export function snapKvPrefillCost(lanes: number, headDim: number, n: number, budget: number, window: number, opts: SnapKvOptions, fracBits: number, steps: readonly number[]): FormulaCost {
  const prefix = n - window, k = opts.kernel;
  const pool = opts.pooling === 'max' && k > 1 ? [maxTreeCost(lanes * prefix, k, fracBits + 16)] : [];
  const compact = compactRowsCost({ units: lanes, n: prefix, k: budget - window, lanes, headDim, caches: 1, rows: budget, granularity: 'lane' }, { steps });
  return sumCosts([...pool, compact]);
}

export class SecureStreamingLlmPolicy implements SecureKVCachePolicy {
  readonly name = 'streamingllm';
  /**
   * A chat's later turn comes in one pass: each of its queries attends its own sinks + window
   * (SecureSinkWindowCache.windowSelection), exactly what it would as a decoding step.
   */
  readonly multiRowSteps = true;
  private readonly inner: SecureSinkWindowCache;
  private readonly phase = new PromptPhase();

  constructor(readonly budget: number, opts: StreamingLlmOptions = STREAMING_LLM_DEFAULTS) {
    if (opts.prefillMode !== 'compressAfterPrefill') throw new RangeError(`secure StreamingLLM supports prefillMode 'compressAfterPrefill' only, got '${opts.prefillMode}'`);
    const sinks = Math.min(Math.max(0, Math.floor(opts.sinks)), budget - 1);
    this.inner = new SecureSinkWindowCache(sinks, budget - sinks);
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    if (this.phase.inPrefill && view.nQueries > 1) return null; // dense prefill ('compressAfterPrefill')
    return this.inner.windowSelection(view, ctx.fracBits);
  }

  needsProbs(): boolean {
    return false;
  }
  async observe(): Promise<void> {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  async endPrefill(): Promise<void> { this.phase.end(); }
  reset(): void { this.phase.reset(); }
}

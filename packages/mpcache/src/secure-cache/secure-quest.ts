/**
 * Quest and the naive token-level top-k on shares — query-aware selection without eviction, the
 * twins of cache/quest.ts and cache/token-topk.ts. The cache is never evicted, so every row keeps
 * its mask; selection is a gather by one-hot rows (selections.ts BlockGatherSelection).
 *
 * Quest, per layer per step: page bounds once per completed page (cluster-bounds.ts, one level of
 *   `pageSize`, representatives [m, M − m]); scores fxRound(q·m + ReLU(q)·(M − m)) for every page
 *   but the query's (exact bound, secure-cluster-selector.ts); top ⌊budget/S⌋ − 1 pages (ties: the
 *   older page loses) + the query's page (public rows). The first step after a prompt pays the
 *   bounds of every prompt page (≈ 1.5·n·d comparisons per head: minMaxTree); `warm` (benchmarks) takes them as
 *   zeros, as MPCache's does, so measured steps show the steady per-token cost.
 * Token top-k (the strawman of mpcache-algorithm.md): per query head, the top budget − 1 of the
 *   older positions by their logit, every step: a topK over n secret logits with one-hot rows in
 *   original order (public unshuffle, 8·n·k B per head), then the gather by those n-wide one-hots.
 *   It costs MORE than the full cache: the shuffle, the comparisons and the one-hots grow as n·k.
 * Costs (exact, given the quick-select step sizes the run reports in lastSteps): questStepCost,
 * tokenTopKStepCost — a step's selection plus the attention's gather and scatter.
 */
import { indexBits, sumCosts, topK, topKCost, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import type { RingTensor } from '@mpcache/mpc-core';
import { PromptPhase } from '../cache/policy-config';
import { QUEST_DEFAULTS, type QuestOptions } from '../cache/quest';
import {
  PublicRowSelection, type SecureAttentionSelection, type SecureAttentionView, type SecureKVCachePolicy,
} from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { SecureClusterBounds } from './cluster-bounds';
import { clusterBoundsCost, mpcacheStepCost } from './mpcache-step-cost';
import { planLayout, selectClustersOnShares, type ClusterPlan } from './secure-cluster-selector';
import { blockSelection, blockSelectionCost, type BlockLayout } from './selections';

const { asUintN } = BigInt;

export class SecureQuestPolicy implements SecureKVCachePolicy {
  readonly name = 'quest';
  /** A later turn in one pass: several queries select nothing (the twin's beginTurn bracket). */
  readonly multiRowSteps = true;
  private readonly phase = new PromptPhase();
  private bounds: (SecureClusterBounds | null)[];
  private readonly dense: Set<number>;
  /** The last plan and quick-select steps per layer (public). */
  readonly lastPlan: (ClusterPlan | null)[];
  readonly lastSteps: (number[][] | null)[];
  private warmed = false;

  constructor(readonly nLayers: number, readonly budget: number, readonly seqLen: number, readonly opts: QuestOptions = QUEST_DEFAULTS) {
    if (!Number.isInteger(opts.pageSize) || opts.pageSize < 1 || opts.pageSize > budget) {
      throw new RangeError(`"quest.pageSize" expected an integer in [1, budget = ${budget}], got ${opts.pageSize}`);
    }
    this.dense = new Set(opts.denseLayers.map((l) => (l < 0 ? nLayers + l : l)));
    this.bounds = new Array(nLayers).fill(null);
    this.lastPlan = new Array(nLayers).fill(null);
    this.lastSteps = new Array(nLayers).fill(null);
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const len = view.cache.length, S = this.opts.pageSize, l = view.layer;
    if (this.phase.inPrefill || view.nQueries !== 1 || len <= this.budget || this.dense.has(l)) return null;
    const c0 = Math.ceil(len / S) - 1, k = Math.min(Math.floor(this.budget / S) - 1, c0);
    const plan: ClusterPlan = { full: false, nTok: len, firstEnd: 0, tailStart: c0 * S, c0First: 0, c0, counts: [Math.max(0, k)] };
    this.lastPlan[l] = plan;
    const layout = planLayout(plan, [S]);
    if (k <= 0) return new PublicRowSelection(layout.forced, len);
    const b = this.pageBounds(l, view.cache.lanes, view.headDim);
    await ctx.ledger.scope('quest select pages', () => b.update(ctx, view.cache));
    const sel = await ctx.ledger.scope('quest select pages', () => selectClustersOnShares(ctx, b, view.q, plan));
    this.lastSteps[l] = sel.steps;
    return blockSelection(ctx, layout, sel.onehot, len);
  }

  private pageBounds(layer: number, lanes: number, headDim: number): SecureClusterBounds {
    return (this.bounds[layer] ??= new SecureClusterBounds([this.opts.pageSize], lanes, headDim, 'exact', this.seqLen));
  }

  /** Benchmarks only (SecureKVCachePolicy.warm): every complete page of the zero rows gets zero bounds. */
  async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    this.warmed = true;
    for (let l = 0; l < caches.length; l++) {
      if (this.dense.has(l)) continue;
      await this.pageBounds(l, caches[l].lanes, caches[l].headDim).warm(ctx, caches[l].length);
    }
  }

  needsProbs(): boolean {
    return false;
  }
  async observe(): Promise<void> {}
  beginPrefill(n: number): void {
    if (!this.warmed) this.phase.begin(n); // a prompt after warm() is an ordinary batch of queries
  }
  async endPrefill(): Promise<void> { this.phase.end(); }
  reset(): void {
    this.warmed = false;
    this.phase.reset();
    this.bounds.fill(null);
    this.lastPlan.fill(null);
    this.lastSteps.fill(null);
  }
}

export class SecureTokenTopKPolicy implements SecureKVCachePolicy {
  readonly name = 'token-topk';
  /** A later turn in one pass: several queries select nothing (the twin's beginTurn bracket). */
  readonly multiRowSteps = true;
  private readonly phase = new PromptPhase();
  /** Quick-select steps of the last selection per layer (public). */
  readonly lastSteps: (number[] | null)[];

  constructor(readonly nLayers: number, readonly budget: number) {
    this.lastSteps = new Array(nLayers).fill(null);
  }

  async select(ctx: PartyContext, view: SecureAttentionView, logits: RingTensor): Promise<SecureAttentionSelection | null> {
    const len = view.cache.length, pos = len - 1, k = this.budget - 1;
    if (this.phase.inPrefill || view.nQueries !== 1 || len <= this.budget) return null;
    const [lanes, rows] = logits.shape, U = lanes * rows, B = BigInt(indexBits(pos)), p0 = ctx.party === 0;
    const keys = new BigUint64Array(U * pos);
    for (let u = 0; u < U; u++) for (let j = 0; j < pos; j++) keys[u * pos + j] = asUintN(64, (logits.data[u * len + j] << B) + (p0 ? BigInt(j) : 0n));
    const res = await ctx.ledger.scope('token top-k', () => topK(ctx, { shape: [U, pos], data: keys }, k, { oneHot: true }));
    this.lastSteps[view.layer] = res.stepComparisons;
    const layout = { forced: Int32Array.of(pos), regionStart: 0, blockSize: 1, blocks: pos, k };
    return blockSelection(ctx, layout, res.oneHot as RingTensor, len);
  }

  needsProbs(): boolean {
    return false;
  }
  async observe(): Promise<void> {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  async endPrefill(): Promise<void> { this.phase.end(); }
  reset(): void {
    this.phase.reset();
    this.lastSteps.fill(null);
  }
}

/** Public data of one Quest selection (lastPlan / lastSteps) and the pages whose bounds existed before it. */
export interface QuestStepShape {
  readonly lanes: number;
  /** Query heads per lane (decode: groups). */
  readonly rows: number;
  readonly headDim: number;
  readonly fracBits: number;
  readonly pageSize: number;
  readonly plan: ClusterPlan;
  readonly pagesBefore: number;
  readonly steps: readonly (readonly number[])[];
}

/**
 * Exact cost (offline: both parties) of one Quest step: the bounds of the pages completed since the
 * last step, computed before the scores (Quest never defers them, not even the query's own page),
 * their representatives appended in the scores' product, then MPCache's one-level selection with the
 * exact bound (ReLU(q), scores, top-k, one-hot) and the gather and scatter (mpcache-step-cost.ts).
 */
export function questStepCost(s: QuestStepShape): FormulaCost {
  const { lanes, headDim, fracBits, pageSize: S, plan } = s, fresh = Math.floor(plan.nTok / S) - s.pagesBefore, sizes = [S];
  return sumCosts([
    clusterBoundsCost({ lanes, headDim, fracBits, sizes, alpha: 'exact', fresh: [fresh] }),
    // every page's bounds exist once the step scores: as MPCache with the fresh ones pending
    mpcacheStepCost({ lanes, rows: s.rows, headDim, fracBits, sizes, alpha: 'exact', plan, doneBefore: [s.pagesBefore + fresh], steps: s.steps, pendingBefore: fresh }),
  ]);
}

/**
 * Exact cost of one token top-k step over `units` query heads at cache length kvLen: topK (with
 * one-hot rows, so P1 sends the public unshuffle) over the kvLen − 1 older logits, then the gather and
 * scatter by those one-hots. bytesSent differs per party (topKCost).
 */
export function tokenTopKStepCost(units: number, kvLen: number, budget: number, steps: readonly number[]) {
  const pos = kvLen - 1, k = budget - 1, t = topKCost(units, pos, k, steps, { oneHot: true });
  const layout: BlockLayout = { forced: Int32Array.of(pos), regionStart: 0, blockSize: 1, blocks: pos, k };
  const { gather, scatter } = blockSelectionCost(units, layout, true), rest = sumCosts([gather, scatter]);
  return {
    rounds: t.rounds + rest.rounds,
    bytesSentPerParty: [t.bytesSentPerParty[0] + rest.bytesSent, t.bytesSentPerParty[1] + rest.bytesSent] as [number, number],
    offlineBytes: t.offlineBytes + rest.offlineBytes,
  };
}

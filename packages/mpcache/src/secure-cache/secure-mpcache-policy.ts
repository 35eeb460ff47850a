/**
 * SecureMpcachePolicy — MPCache on shares (mpcache-algorithm.md), the twin of cache/mpcache-policy.ts:
 * look-once static eviction at the end of the prefill, query-aware hierarchical cluster selection at
 * every decoding step, cross-layer index sharing. Every count is public and equal to the plaintext
 * policy's; which tokens are kept or chosen stays secret.
 *
 *   prefill        dense. observe: each leading layer sums the window queries' probabilities over
 *                  heads into its static scores (local additions, B1)
 *   end of prefill per leading layer, one compactRows (layer granularity, original order) over
 *                  score + BONUS·forced with the K/V rows of the leader AND its followers as payload:
 *                  the same secret kept set compacts both layers (cross-layer sharing of the static set)
 *   decoding step  the cache is the post-static sequence. A leading layer plans the public counts,
 *                  updates its cluster bounds (clusters completed since its last step, once each;
 *                  when they all lie in the step's forced tail, the usual case, the update waits:
 *                  `takeBackground` hands it to attention, which runs it beside the softmax with
 *                  fuseRounds, ≈ 5 rounds saved per leading layer whenever a cluster completes),
 *                  selects clusters (secure-cluster-selector.ts) and gathers logits by one-hot rows
 *                  (selections.ts BlockGatherSelection); a following layer reuses its leader's masked
 *                  one-hot rows with its own q, K, V (no selection work, and O is not re-opened)
 *   later turn     (Generator.extend, several rows in one pass: multiRowSteps) dense over the
 *                  post-static sequence, as the prefill is over the prompt
 * Without a prefill bracket the whole cache is the post-static sequence (no static stage).
 * `warm(ctx, rows)` (benchmarks after SecureDecoder.warmCache) takes zero-valued bounds for free.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { sessionKey, type PartyContext } from '@mpcache/protocols';
import type { ClusterSelectorParams } from '../cache/cluster-selector';
import { layerLeaders, mpcacheConfig, observationWindow, staticKeepCount, type MpcacheConfig } from '../cache/mpcache-config';
import { STATIC_FORCE_BONUS } from '../cache/static-eviction';
import { PromptPhase } from '../cache/policy-config';
import {
  PublicRowSelection, type BackgroundWork, type SecureAttentionSelection, type SecureAttentionView, type SecureKVCachePolicy,
} from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { SecureClusterBounds } from './cluster-bounds';
import { compactRows, keepZeroRows, type CompactResult } from './compact-rows';
import { clusterPlan, planLayout, selectClustersOnShares, type ClusterPlan } from './secure-cluster-selector';
import { BlockGatherSelection, blockSelection, reuseBlockSelection } from './selections';
import { BlockKvSelection } from './kv-block-selection';
import { encodeScalar } from '@mpcache/mpc-core';

export interface SecurePolicyModel {
  readonly nLayers: number;
  readonly seqLen: number;
}

/** What a leading layer decided at its last step (followers reuse it; tests inspect it). */
export interface LeaderStep {
  readonly startPos: number;
  readonly plan: ClusterPlan;
  readonly selection: BlockGatherSelection | BlockKvSelection | PublicRowSelection | null;
  /** The one-hot rows (units, k, C) (the K/V-block variant's followers gather with them). */
  readonly onehot?: RingTensor;
  /** Chosen finest clusters (units, k) as shares, and quick-select steps per level. */
  readonly fineIndex?: RingTensor;
  readonly steps?: number[][];
}

const { asUintN } = BigInt;

export class SecureMpcachePolicy implements SecureKVCachePolicy {
  readonly name = 'mpcache';
  /**
   * Gathering logits by one-hot rows is linear (O is 0/1), so the attention may hand over its scores
   * untruncated at 2f (no truncation round over the cache); the K/V-block gather recomputes the
   * selected logits at f, so it takes them truncated.
   */
  readonly acceptsWideLogits: boolean;
  /**
   * A chat's later turn comes in one causal pass (Generator.extend): several queries select nothing,
   * so the turn attends the whole post-static sequence, as the plaintext twin's beginTurn bracket.
   * The clusters it completes get their bounds at the next step's selection.
   */
  readonly multiRowSteps = true;
  readonly config: MpcacheConfig;
  readonly leaders: Int32Array;
  readonly params: ClusterSelectorParams;
  private readonly phase = new PromptPhase();
  private window = 0;
  private warmed = false;
  private staticScores: (BigUint64Array | null)[] = [];
  private caches: (SecureLayerCache | null)[] = [];
  private bounds: (SecureClusterBounds | null)[] = [];
  /** Per layer: a bounds update deferred by this step's select, until takeBackground. */
  private deferred: (BackgroundWork | null)[] = [];
  /** Names this sequence's one-hot masks (oneHotKey); set at its first selection. */
  private keyBase: string | null = null;
  /** Per layer: the last leading step (followers read their leader's). */
  readonly lastStep: (LeaderStep | null)[];
  /** Per leading layer: the static compaction's public quick-select steps (cost accounting). */
  readonly staticSteps: (CompactResult | null)[];

  /**
   * @param opts.gather 'logits' (default: gather the attention's logits by one-hot rows) or 'kv'
   *   (gather K blocks and recompute the selected logits; kv-block-selection.ts)
   */
  constructor(private readonly model: SecurePolicyModel, readonly budget: number, overrides: Partial<MpcacheConfig> = {},
    readonly opts: { gather?: 'logits' | 'kv' } = {}) {
    const c = (this.config = mpcacheConfig(overrides)), s0 = c.clusterSizes[0];
    // the plaintext twin's budget rule (cache/mpcache-policy.ts)
    const minBudget = Math.max((c.forcedFirstClusters + c.forcedTailClusters) * s0, (c.minCoarseClusters - 1) * s0);
    if (c.selection === 'budget' && budget < minBudget) {
      throw new RangeError(`"budget" ${budget} < ${minBudget}: MPCache with coarse clusters of ${s0} needs room for its forced clusters`);
    }
    this.leaders = layerLeaders(model.nLayers, c.layerSharing);
    this.params = {
      sizes: c.clusterSizes, ratios: c.levelRatios, alpha: c.alpha, forcedFirst: c.forcedFirstClusters,
      forcedTail: c.forcedTailClusters, minCoarse: c.minCoarseClusters, budget: c.selection === 'budget' ? budget : null, fracBits: null,
    };
    this.acceptsWideLogits = opts.gather !== 'kv';
    this.lastStep = new Array(model.nLayers).fill(null);
    this.staticSteps = new Array(model.nLayers).fill(null);
    this.reset();
  }

  /**
   * Leading and following layers ask the dealer for different things (decoder plan keys), and a
   * leader whose step completes clusters (every finest-cluster-size rows) also asks for their
   * bounds: those steps are their own plan family ("+c<new clusters per level>"), so they are
   * predicted from the previous such step and do not disturb the ordinary steps' predictions.
   */
  planKey(layer: number, newRows = 1): string {
    const lead = this.leaders[layer] === layer, base = `${this.name} ${lead ? 'lead' : 'follow'}`;
    const bounds = lead ? this.bounds[layer] : null, cache = this.caches[layer];
    if (!bounds || !cache) return base;
    const fresh = bounds.completing(cache.length + newRows), pending = bounds.pendingRepRows;
    return `${base}${fresh.some((c) => c > 0) ? ` +c${fresh.join('.')}` : ''}${pending > 0 ? ` +a${pending}` : ''}`;
  }

  /**
   * A leader's representatives operand and the one-hot rows it will mask at `startPos`; a
   * follower's: its leader's one-hot rows at `startPos` (decoder plans). The one-hot key is known
   * before the leader selects, so a follower's gather and scatter material goes ahead with its plan
   * even when the decoder asks during the leader's layer.
   */
  planOperandKeys(layer: number, startPos: number): string[] {
    const lead = this.leaders[layer];
    if (lead === layer) return [this.bounds[layer]?.operandKey ?? '', this.oneHotKey(layer, startPos)];
    return [this.oneHotKey(lead, startPos)];
  }

  /**
   * The dealer key of the one-hot rows layer l selects at `startPos` ('' before the sequence's
   * first selection). Session-unique: the base is the take count at the sequence's first selection,
   * and a sequence selects once per (layer, position).
   */
  private oneHotKey(layer: number, startPos: number): string {
    return this.keyBase === null ? '' : `${this.keyBase}.oh${layer}.${startPos}`;
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const l = view.layer, lead = this.leaders[l], kvLen = view.cache.length;
    this.caches[l] = view.cache;
    if (this.phase.inPrefill || view.nQueries !== 1) return null;
    const prev = this.lastStep[lead];
    if (lead !== l && prev && prev.startPos === view.startPos) return this.follow(prev, view, kvLen);
    // a leading layer (or a follower whose leader did not run at this step) selects
    const plan = clusterPlan(kvLen, this.params), layout = planLayout(plan, this.params.sizes);
    if (plan.full) {
      this.record(l, { startPos: view.startPos, plan, selection: null });
      return null;
    }
    const bounds = (this.bounds[l] ??= new SecureClusterBounds(this.params.sizes, view.cache.lanes, view.headDim, this.params.alpha, this.model.seqLen));
    this.keyBase ??= sessionKey(ctx.dealer.taken);
    const update = (c: PartyContext) => c.ledger.scope('mpcache select clusters', () => bounds.update(c, view.cache, kvLen));
    this.deferred[l] = bounds.deferrable(kvLen, plan.tailStart) ? update : null;
    if (!this.deferred[l]) await update(ctx);
    if (layout.k === 0) return this.record(l, { startPos: view.startPos, plan, selection: new PublicRowSelection(layout.forced, kvLen) }).selection;
    const sel = await ctx.ledger.scope('mpcache select clusters', () => selectClustersOnShares(ctx, bounds, view.q, plan));
    const gather = this.opts.gather === 'kv' ? new BlockKvSelection(layout, sel.onehot, view, kvLen)
      : await blockSelection(ctx, layout, sel.onehot, kvLen, this.oneHotKey(l, view.startPos));
    return this.record(l, { startPos: view.startPos, plan, selection: gather, onehot: sel.onehot, fineIndex: sel.fineIndex, steps: sel.steps }).selection;
  }

  /**
   * The bounds update this layer's select deferred (or null), handed over once: attention runs it
   * beside the softmax. If nobody takes it, the next step's update computes those clusters too.
   */
  takeBackground(layer: number): BackgroundWork | null {
    const w = this.deferred[layer];
    this.deferred[layer] = null;
    return w;
  }

  /** Only the prompt's own pass reads them (the static scores). */
  needsProbs(): boolean {
    return this.phase.inPrefill;
  }

  async observe(_ctx: PartyContext, view: SecureAttentionView, probs: RingTensor | null): Promise<void> {
    const l = view.layer, n = this.phase.promptLength;
    this.caches[l] = view.cache;
    if (!this.phase.inPrefill || this.leaders[l] !== l || view.nQueries !== n || !probs) return;
    // static scores: Σ over heads and the last w prompt queries (local)
    const s = (this.staticScores[l] ??= new BigUint64Array(n)), [lanes, rows, kvLen] = probs.shape, p = probs.data;
    for (let h = 0; h < lanes; h++) {
      for (let r = 0; r < rows; r++) {
        if (r % n < n - this.window) continue;
        const base = (h * rows + r) * kvLen;
        for (let j = 0; j < n; j++) s[j] = asUintN(64, s[j] + p[base + j]);
      }
    }
  }

  beginPrefill(n: number): void {
    if (this.warmed) return; // a prompt after warm() is an ordinary batch of queries
    this.phase.begin(n);
    this.window = observationWindow(n, this.config);
    this.staticScores.fill(null);
  }

  async endPrefill(ctx: PartyContext, n: number): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    const c = this.config, nKeep = staticKeepCount(n, this.budget, c);
    if (nKeep >= n) return;
    await ctx.ledger.scope('mpcache static eviction', async () => {
      const bonus = encodeScalar(STATIC_FORCE_BONUS, ctx.fracBits), p0 = ctx.party === 0;
      for (let l = 0; l < this.leaders.length; l++) {
        if (this.leaders[l] !== l) continue;
        const s = this.staticScores[l] ?? new BigUint64Array(n), boosted = new BigUint64Array(n);
        for (let j = 0; j < n; j++) boosted[j] = asUintN(64, s[j] + (p0 && (j < c.forcedSinks || j >= n - c.forcedRecent) ? bonus : 0n));
        const group = this.caches.filter((_, m) => this.leaders[m] === l) as SecureLayerCache[];
        this.staticSteps[l] = await compactRows(ctx, group, { shape: [1, n], data: boosted }, nKeep, { granularity: 'layer', originalOrder: true });
      }
    });
  }

  /** Benchmarks only (SecureKVCachePolicy.warm): static stage to ⌈ρ_s·n⌉ zero rows, zero bounds. */
  async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    this.warmed = true;
    const nKeep = staticKeepCount(caches[0].length, this.budget, this.config);
    for (let l = 0; l < caches.length; l++) {
      this.caches[l] = caches[l];
      await keepZeroRows(ctx, caches[l], nKeep);
      if (this.leaders[l] !== l) continue;
      const b = (this.bounds[l] ??= new SecureClusterBounds(this.params.sizes, caches[l].lanes, caches[l].headDim, this.params.alpha, this.model.seqLen));
      await b.warm(ctx, caches[l].length);
    }
  }

  reset(): void {
    const L = this.model.nLayers;
    this.warmed = false;
    this.phase.reset();
    this.window = 0;
    this.staticScores = new Array(L).fill(null);
    this.caches = new Array(L).fill(null);
    this.bounds = new Array(L).fill(null);
    this.deferred = new Array(L).fill(null);
    this.keyBase = null;
    this.lastStep.fill(null);
    this.staticSteps.fill(null);
  }

  /** Bytes of MPCache's own state across layers (bounds, representatives, static scores). */
  stateBytes(): number {
    let b = 0;
    for (const x of this.bounds) if (x) b += x.stateBytes();
    for (const s of this.staticScores) if (s) b += s.byteLength;
    return b;
  }

  /** The bounds state of a leading layer (tests, memory accounting). */
  layerBounds(layer: number): SecureClusterBounds | null {
    return this.bounds[layer];
  }

  private record(l: number, step: LeaderStep): LeaderStep {
    this.lastStep[l] = step;
    return step;
  }

  private follow(prev: LeaderStep, view: SecureAttentionView, kvLen: number): SecureAttentionSelection | null {
    const s = prev.selection;
    if (s === null || s instanceof PublicRowSelection) return s;
    if (s instanceof BlockKvSelection) return new BlockKvSelection(planLayout(prev.plan, this.params.sizes), prev.onehot!, view, kvLen);
    return reuseBlockSelection(planLayout(prev.plan, this.params.sizes), s.operand, kvLen);
  }
}

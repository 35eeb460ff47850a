/**
 * MpcachePolicy — MPCache as a KVCachePolicy (mpcache-algorithm.md): look-once static eviction at
 * the end of the prefill, query-aware hierarchical cluster selection at every decoding step, and
 * cross-layer index sharing. The selection logic lives in pure functions the secure version
 * mirrors: `staticEvictionKeep` (static-eviction.ts) and `selectClusters` (cluster-selector.ts).
 *
 *   prefill            dense; during the last w = ⌈0.2·n⌉ prompt queries, each leading layer sums
 *                      the probabilities over heads into its static scores
 *   end of prefill     per leading layer: kept = staticEvictionKeep(scores, n, n_keep, sinks, recent);
 *                      following layers take their leader's kept set
 *   decoding step pos  post-static sequence = kept prompt tokens, then generated tokens n..pos;
 *                      a leading layer selects clusters per head (selectClusters) and records the
 *                      position mask; a following layer (2m + 1) reuses layer 2m's mask for the
 *                      same head at the same step (its own q, K, V still do the attention)
 *   later turn         (extend: beginTurn/endTurn) dense over the post-static sequence, like the
 *                      prefill over the prompt; the turn's rows join it as generated tokens do
 * Without a prefill bracket the whole sequence counts as generated (no static stage).
 */
import { layerLeaders, mpcacheConfig, observationWindow, staticKeepCount, type MpcacheConfig } from './mpcache-config';
import { selectClusters, type ClusterSelection, type ClusterSelectorParams } from './cluster-selector';
import { accumulateStaticScores, staticEvictionKeep } from './static-eviction';
import { PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

/**
 * The smallest budget for which budget mode never attends more than `budget` positions: the forced
 * clusters, and the "fewer than minCoarse coarse clusters: attend all" case, must fit in it. Below
 * it MPCache still runs (the forced clusters win) and may attend up to this many positions.
 */
export function mpcacheMinBudget(c: MpcacheConfig): number {
  const s0 = c.clusterSizes[0];
  return Math.max((c.forcedFirstClusters + c.forcedTailClusters) * s0, (c.minCoarseClusters - 1) * s0);
}

export class MpcachePolicy implements KVCachePolicy {
  readonly name = 'mpcache';
  readonly config: MpcacheConfig;
  /** leaderOf[l] (mpcache-config.ts `layerLeaders`). */
  readonly leaders: Int32Array;
  private readonly phase = new PromptPhase();
  private readonly params: ClusterSelectorParams;
  private readonly staticScores: Float64Array[] = []; // per layer (seqLen)
  private readonly staticKept: Int32Array[] = [];     // per layer: kept prompt positions, ascending
  private readonly masks: Uint8Array[] = [];          // per (layer, head): last position mask
  private readonly maskPos: Int32Array;               // per (layer, head): its query position
  private readonly turnMask: Uint8Array;              // a turn's post-static mask (seqLen)
  private window = 0;
  /** The last selection per (layer, head) of a leading layer, for inspection and tests. */
  readonly lastSelection: (ClusterSelection | null)[];

  constructor(private readonly ctx: PolicyContext, overrides: Partial<MpcacheConfig> = {}) {
    const c = (this.config = mpcacheConfig(overrides));
    const { nLayers, nHeads, seqLen } = ctx.model;
    this.leaders = layerLeaders(nLayers, c.layerSharing);
    this.params = {
      sizes: c.clusterSizes, ratios: c.levelRatios, alpha: c.alpha, forcedFirst: c.forcedFirstClusters,
      forcedTail: c.forcedTailClusters, minCoarse: c.minCoarseClusters,
      budget: c.selection === 'budget' ? ctx.budget : null, fracBits: ctx.fracBits,
    };
    for (let l = 0; l < nLayers; l++) { this.staticScores.push(new Float64Array(seqLen)); this.staticKept.push(new Int32Array(0)); }
    for (let u = 0; u < nLayers * nHeads; u++) this.masks.push(new Uint8Array(seqLen));
    this.maskPos = new Int32Array(nLayers * nHeads).fill(-1);
    this.turnMask = new Uint8Array(seqLen);
    this.lastSelection = new Array(nLayers * nHeads).fill(null);
  }

  /** The static kept prompt positions of `layer` (empty before the end of a prefill). */
  staticKeptPositions(layer: number): Int32Array {
    return this.staticKept[layer];
  }

  attendMask(view: AttentionView): Uint8Array | null {
    if (this.phase.inPrefill) return null;
    if (this.phase.inTurn) return this.postStaticMask(view.layer, view.pos);
    const H = this.ctx.model.nHeads, l = view.layer, lead = this.leaders[l], pos = view.pos;
    const u = l * H + view.head, uLead = lead * H + view.head;
    if (lead !== l && this.maskPos[uLead] === pos) return this.masks[uLead].subarray(0, pos + 1);
    // leading layer (or a follower whose leader did not run at this step): select
    const kept = this.staticKept[l], n = this.phase.promptLength, nKeep = kept.length;
    const nTok = nKeep + (pos - n + 1);
    const rowOf = (i: number) => (i < nKeep ? kept[i] : n + (i - nKeep));
    const d = view.headDim;
    const sel = selectClusters(view.q, view.keyCache, view.kvDim, view.kvHead * d, d, rowOf, nTok, this.params);
    this.lastSelection[u] = sel;
    const mask = this.masks[u];
    mask.fill(0, 0, pos + 1);
    for (let i = 0; i < nTok; i++) if (sel.keep[i] === 1) mask[rowOf(i)] = 1;
    this.maskPos[u] = pos;
    return mask.subarray(0, pos + 1);
  }

  /** The post-static sequence up to pos (kept prompt positions, then n..pos), or null for all. */
  private postStaticMask(layer: number, pos: number): Uint8Array | null {
    const kept = this.staticKept[layer], n = this.phase.promptLength;
    if (kept.length === n) return null;
    const mask = this.turnMask;
    mask.fill(0, 0, n);
    mask.fill(1, n, pos + 1);
    for (const p of kept) mask[p] = 1;
    return mask.subarray(0, pos + 1);
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const n = this.phase.promptLength;
    if (!this.phase.inPrefill || view.pos < n - this.window || this.leaders[view.layer] !== view.layer) return;
    accumulateStaticScores(this.staticScores[view.layer], probs, view.pos);
  }

  beginPrefill(n: number): void {
    this.phase.begin(n);
    this.window = observationWindow(n, this.config);
  }

  endPrefill(n: number): void {
    this.phase.end();
    const c = this.config, nKeep = staticKeepCount(n, this.ctx.budget, c);
    for (let l = 0; l < this.leaders.length; l++) {
      if (this.leaders[l] === l) this.staticKept[l] = staticEvictionKeep(this.staticScores[l], n, nKeep, c.forcedSinks, c.forcedRecent);
    }
    for (let l = 0; l < this.leaders.length; l++) this.staticKept[l] = this.staticKept[this.leaders[l]];
  }

  beginTurn(): void {
    this.phase.beginTurn();
  }

  endTurn(): void {
    this.phase.endTurn();
  }

  reset(): void {
    this.phase.reset();
    this.window = 0;
    for (const s of this.staticScores) s.fill(0);
    this.staticKept.fill(new Int32Array(0));
    this.maskPos.fill(-1);
    this.lastSelection.fill(null);
  }
}

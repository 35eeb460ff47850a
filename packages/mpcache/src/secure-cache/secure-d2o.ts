import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { h2oSplit } from '../cache/h2o';
import { d2oCapacitiesFromVariances, D2O_DEFAULTS, type D2oOptions } from '../cache/d2o';
import type { SecureAttentionSelection, SecureAttentionView } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { d2oRevealVariances } from './secure-d2o-budgets';
import { MergeMatrix, MergedDeadSlotSelection } from './d2o-merge-matrix';
import { d2oMergeStep, type D2oMergeState } from './secure-d2o-merge';
import { SecureH2oPolicy } from './secure-h2o';

const { asUintN } = BigInt;

/**
 * D2O on shares: H2O's eviction with the first `sinks` positions forced by the public bonus
 * D2O_SINK_BONUS_SECURE, which P0 adds to a sink row's score when the row is first observed (local):
 * the bonus then travels with the row's score through every compaction, as the plaintext's follows
 * positions, so any number of heavy-hitter slots works (fewer than sinks: the sinks compete among
 * themselves by score, as in the plaintext). Layer capacities (public: they fix shapes, B8):
 *   'uniform'   the budget everywhere (makeSecurePolicy's default): nothing leaks
 *   'adaptive'  D2O's variance-based allocation (cache/d2o.ts): every head's density variance (the
 *               scores without the bonus) is computed exactly on shares and OPENED at the prompt's
 *               end (secure-d2o-budgets.ts), a documented leak of L·H reals per prompt, refused
 *               unless `revealLayerBudgets: true`
 * Merge (`merge: true`, mergeScope 'full'): every decoding step's victim merges into its most
 * similar alive key (secure-d2o-merge.ts), recorded in a per-layer MergeMatrix M (K_eff = M·K,
 * V_eff = M·V, d2o-merge-matrix.ts): the attention runs through M (gather M·z, scatter Mᵀ·p), no
 * cached row is rewritten. The prompt's eviction (the prefill compaction) merges nothing: the
 * plaintext twin with `promptMerge: false`. Each compaction (compactEvery ≥ 1 required, public)
 * first folds M into the rows (re-masked) and restarts M at I; τ persists.
 * A chat's turn in one pass (multiRowSteps, as H2O's): nothing is evicted or merged during it, its
 * queries attend the effective rows (M leaves the turn's rows, past its capacity, alone); at the end
 * of the turn's call M is folded into the rows and restarts, sized for the longer cache, at the next
 * merge. The step after the turn evicts down at once and, as after the prompt, merges nothing.
 */
export class SecureD2oPolicy extends SecureH2oPolicy {
  override readonly name: string = 'd2o';
  private readonly skip: Set<number>;
  private splits: ({ heavy: number; recent: number } | null)[];
  private merges: (D2oMergeState | null)[];
  private mergeTau: (bigint | null)[];
  private mergedSel: (MergedDeadSlotSelection | null)[];
  /** The opened per-head density variances of each layer (adaptive capacities; [] for skipped layers; null before a prompt). */
  variances: number[][] | null = null;

  constructor(nLayers: number, budget: number, readonly opts: D2oOptions = { ...D2O_DEFAULTS, layerBudgets: 'uniform', merge: false }) {
    super(nLayers, budget, { heavyFraction: opts.heavyFraction });
    if (opts.merge && opts.mergeScope !== 'full') throw new RangeError(`secure D2O merges with mergeScope 'full', got a local window`);
    if (opts.layerBudgets === 'adaptive' && !opts.revealLayerBudgets) {
      throw new RangeError(`secure D2O: layerBudgets 'adaptive' reveals every head's attention-density variance; set revealLayerBudgets: true to accept, or use 'uniform'`);
    }
    this.skip = new Set(opts.skipLayers.map((l) => (l < 0 ? nLayers + l : l)));
    this.splits = new Array(nLayers).fill(null);
    this.merges = new Array(nLayers).fill(null);
    this.mergeTau = new Array(nLayers).fill(null);
    this.mergedSel = new Array(nLayers).fill(null);
  }

  /** Merges are folded at compactions: with `merge`, compactEvery 0 (never) is refused here, before any prompt runs. */
  override get compactEvery(): number {
    return super.compactEvery;
  }

  override set compactEvery(every: number) {
    if (this.opts.merge && every === 0) throw new RangeError(`secure D2O with merge needs compactEvery ≥ 1 (merges are folded at compactions), got 0`);
    super.compactEvery = every;
  }

  /** The layer's merge matrix (tests: the effective rows); null before the first merge. */
  mergeMatrix(layer: number): MergeMatrix | null {
    return this.merges[layer]?.m ?? null;
  }

  /** Heavy/recent split of each layer (after an adaptive prompt: the revealed capacities). */
  layerSplit(layer: number): { heavy: number; recent: number } {
    return this.splitOf(layer);
  }

  protected override splitOf(layer: number): { heavy: number; recent: number } {
    return this.splits[layer] ?? super.splitOf(layer);
  }

  override reset(): void {
    super.reset();
    this.splits.fill(null);
    this.merges.fill(null);
    this.mergeTau.fill(null);
    this.mergedSel.fill(null);
    this.variances = null;
  }

  override async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const l = view.layer;
    if (this.skip.has(l)) return null;
    const sel = await super.select(ctx, view);
    if (!this.opts.merge || this.phase.inPrefill) return sel;
    const st = this.states[l]!, kvLen = view.cache.length, rec = view.nQueries === 1 ? this.lastEviction[l] : null; // a turn evicted nothing
    if (rec?.victim) {
      const ms = (this.merges[l] ??= {
        m: await MergeMatrix.identity(ctx, view.cache.lanes, kvLen + this.compactEvery), norms: new BigUint64Array(0), normRows: 0, tauS: this.mergeTau[l],
      });
      await ctx.ledger.scope('d2o merge', () => d2oMergeStep(ctx, ms, view.cache, rec.victim!, rec.end, st.table('alive', kvLen),
        { alpha: this.opts.emaAlpha, beta: this.opts.emaBeta }));
      this.mergeTau[l] = ms.tauS;
    }
    const m = this.merges[l]?.m;
    if (!m || m.merges === 0) return sel;
    return (this.mergedSel[l] = new MergedDeadSlotSelection(m, st.table('alive', kvLen), st.units, kvLen));
  }

  /** With merges, the scores take the softmax over the slots (what the plaintext observes), not Mᵀ·p. */
  override async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    const sel = this.mergedSel[view.layer];
    this.mergedSel[view.layer] = null;
    await super.observe(ctx, view, sel?.probs ?? probs);
    // after a turn's pass the cache outgrew M's capacity: fold M into the rows (header)
    if (view.nQueries > 1 && !this.phase.inPrefill) await this.beforeCompaction(ctx, view);
  }

  protected override async beforeCompaction(ctx: PartyContext, view: SecureAttentionView): Promise<void> {
    const ms = this.merges[view.layer];
    if (!ms) return;
    await ctx.ledger.scope('d2o merge fold', () => ms.m.fold(ctx, view.cache));
    this.merges[view.layer] = null;
  }

  override async endPrefill(ctx: PartyContext, n: number): Promise<void> {
    if (this.phase.inPrefill && this.opts.layerBudgets === 'adaptive') {
      const keep = Array.from({ length: this.nLayers }, (_, l) => l).filter((l) => !this.skip.has(l));
      const H = this.states[keep[0]]?.units ?? 0, density = new BigUint64Array(keep.length * H * n);
      keep.forEach((l, i) => density.set(this.states[l]!.table('score', n), i * H * n));
      if (ctx.party === 0) addSinkBonus(density, keep.length * H, n, 0, 0, this.opts.sinks, ctx.fracBits, -1n); // densities without the bonus
      const vars = await ctx.ledger.scope('d2o budgets (revealed)', () => d2oRevealVariances(ctx, density, keep.length * H, n));
      const perLayer: number[][] = Array.from({ length: this.nLayers }, () => []);
      keep.forEach((l, i) => { perLayer[l] = vars.slice(i * H, (i + 1) * H); });
      this.variances = perLayer;
      d2oCapacitiesFromVariances(perLayer, n, this.budget, this.skip).forEach((cap, l) => {
        if (cap === null) return;
        this.splits[l] = h2oSplit(cap, this.opts.heavyFraction);
      });
    }
    return super.endPrefill(ctx, n, (l) => !this.skip.has(l));
  }

  protected override compactsLayer(l: number): boolean {
    return !this.skip.has(l);
  }

  /** P0 adds the sink bonus to the scores of new rows at positions < sinks: it travels with them through compactions. */
  protected override observedScores(ctx: PartyContext, view: SecureAttentionView, sums: BigUint64Array): BigUint64Array {
    if (ctx.party === 0) addSinkBonus(sums, this.states[view.layer]!.units, view.cache.length, view.cache.length - view.nQueries, view.startPos, this.opts.sinks, ctx.fracBits);
    return sums;
  }

  /** Benchmarks only: the warmed rows are positions 0… in their slots, so the sinks take their bonus there. */
  override async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    await super.warm(ctx, caches);
    if (ctx.party !== 0) return;
    this.states.forEach((st, l) => {
      if (!st || !this.compactsLayer(l)) return;
      const rows = caches[l].length, bonus = new BigUint64Array(st.units * rows);
      addSinkBonus(bonus, st.units, rows, 0, 0, this.opts.sinks, ctx.fracBits);
      st.addScores(bonus, rows);
    });
  }
}

/**
 * Add (sign −1: remove) the public sink bonus to (units, kvLen) score entries of the slots from
 * `firstSlot` on, which hold positions startPos, startPos + 1, …: those below `sinks` take it (P0's share only).
 */
function addSinkBonus(scores: BigUint64Array, units: number, kvLen: number, firstSlot: number, startPos: number, sinks: number, fracBits: number, sign: 1n | -1n = 1n): void {
  const bonus = sign * encodeScalar(D2O_SINK_BONUS_SECURE, fracBits), last = Math.min(kvLen, firstSlot + sinks - startPos);
  for (let u = 0; u < units; u++) for (let j = firstSlot; j < last; j++) scores[u * kvLen + j] = asUintN(64, scores[u * kvLen + j] + bonus);
}

/** The sink bonus on shares: above any accumulated score (≤ the number of queries), below the rank headroom. */
const D2O_SINK_BONUS_SECURE = 2 ** 16;

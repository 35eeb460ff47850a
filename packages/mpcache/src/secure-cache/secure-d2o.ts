import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { h2oSplit } from '../cache/h2o';
import { d2oCapacitiesFromVariances, D2O_DEFAULTS, type D2oOptions } from '../cache/d2o';
import type { SecureAttentionSelection, SecureAttentionView } from '../secure/secure-kv-cache-policy';
import type { DeadSlotState } from './dead-slot-state';
import { d2oRevealVariances } from './secure-d2o-budgets';
import { MergeMatrix, MergedDeadSlotSelection } from './d2o-merge-matrix';
import { d2oMergeStep, type D2oMergeState } from './secure-d2o-merge';
import { SecureH2oPolicy } from './secure-h2o';

const { asUintN } = BigInt;

/**
 * D2O on shares: H2O's eviction with the first `sinks` positions forced by the public bonus
 * D2O_SINK_BONUS (P0 adds it to their rank, local). Sinks stay the first slots: compactions keep
 * original order and the bonus keeps them, provided every sink fits among the heavy hitters (heavy
 * ≥ sinks, checked: otherwise the refused configuration of checkSinksFit). Layer capacities (public: they fix shapes, B8):
 *   'uniform'   the budget everywhere (makeSecurePolicy's default): nothing leaks
 *   'adaptive'  D2O's variance-based allocation (cache/d2o.ts): every head's density variance is
 *               computed exactly on shares and OPENED at the prompt's end (secure-d2o-budgets.ts), a
 *               documented leak of L·H reals per prompt, refused unless `revealLayerBudgets: true`
 * Merge (`merge: true`, mergeScope 'full'): every decoding step's victim merges into its most
 * similar alive key (secure-d2o-merge.ts), recorded in a per-layer MergeMatrix M (K_eff = M·K,
 * V_eff = M·V, d2o-merge-matrix.ts): the attention runs through M (gather M·z, scatter Mᵀ·p), no
 * cached row is rewritten. The prompt's eviction (the prefill compaction) merges nothing: the
 * plaintext twin with `promptMerge: false`. Each compaction (compactEvery ≥ 1 required, public)
 * first folds M into the rows (re-masked) and restarts M at I; τ persists.
 */
export class SecureD2oPolicy extends SecureH2oPolicy {
  override readonly name: string = 'd2o';
  private readonly skip: Set<number>;
  private splits: ({ heavy: number; recent: number } | null)[];
  private merges: (D2oMergeState | null)[];
  private mergeTau: (bigint | null)[];
  private mergedSel: (MergedDeadSlotSelection | null)[];

  constructor(nLayers: number, budget: number, readonly opts: D2oOptions = { ...D2O_DEFAULTS, layerBudgets: 'uniform', merge: false }) {
    super(nLayers, budget, { heavyFraction: opts.heavyFraction });
    if (opts.merge && opts.mergeScope !== 'full') throw new RangeError(`secure D2O merges with mergeScope 'full', got a local window`);
    checkSinksFit(h2oSplit(budget, opts.heavyFraction).heavy, opts.sinks, `budget ${budget}`);
    if (opts.layerBudgets === 'adaptive' && !opts.revealLayerBudgets) {
      throw new RangeError(`secure D2O: layerBudgets 'adaptive' reveals every head's attention-density variance; set revealLayerBudgets: true to accept, or use 'uniform'`);
    }
    this.skip = new Set(opts.skipLayers.map((l) => (l < 0 ? nLayers + l : l)));
    this.splits = new Array(nLayers).fill(null);
    this.merges = new Array(nLayers).fill(null);
    this.mergeTau = new Array(nLayers).fill(null);
    this.mergedSel = new Array(nLayers).fill(null);
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
  }

  override async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const l = view.layer;
    if (this.skip.has(l)) return null;
    const sel = await super.select(ctx, view);
    if (!this.opts.merge || this.phase.inPrefill) return sel;
    if (this.compactEvery === 0) throw new RangeError(`secure D2O with merge needs compactEvery ≥ 1 (merges are folded at compactions)`);
    const st = this.states[l]!, kvLen = view.cache.length, rec = this.lastEviction[l];
    if (rec?.kind === 'argmin' && rec.victim) {
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
    return super.observe(ctx, view, sel?.probs ?? probs);
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
      const vars = await ctx.ledger.scope('d2o budgets (revealed)', () => d2oRevealVariances(ctx, density, keep.length * H, n));
      const perLayer: number[][] = Array.from({ length: this.nLayers }, () => []);
      keep.forEach((l, i) => { perLayer[l] = vars.slice(i * H, (i + 1) * H); });
      d2oCapacitiesFromVariances(perLayer, n, this.budget, this.skip).forEach((cap, l) => {
        if (cap === null) return;
        this.splits[l] = h2oSplit(cap, this.opts.heavyFraction);
        checkSinksFit(this.splits[l]!.heavy, this.opts.sinks, `layer ${l}'s revealed capacity ${cap}`);
      });
    }
    return super.endPrefill(ctx, n, (l) => !this.skip.has(l));
  }

  protected override compactsLayer(l: number): boolean {
    return !this.skip.has(l);
  }

  protected override rank(st: DeadSlotState, end: number, party: 0 | 1, fracBits: number): BigUint64Array {
    const r = st.table('score', end), bonus = party === 0 ? encodeScalar(D2O_SINK_BONUS_SECURE, fracBits) : 0n;
    const sinks = Math.min(this.opts.sinks, end);
    for (let u = 0; u < st.units; u++) for (let j = 0; j < sinks; j++) r[u * end + j] = asUintN(64, r[u * end + j] + bonus);
    return r;
  }
}

/**
 * The sink bonus follows SLOTS (the first `sinks`), which hold the sink positions only while every
 * sink fits among the heavy hitters: with fewer heavy slots some sinks are evicted, a compaction
 * moves later positions into their slots, and those would take the bonus (the plaintext's follows
 * positions). Such a configuration is refused.
 */
function checkSinksFit(heavy: number, sinks: number, what: string): void {
  if (heavy < sinks) {
    throw new RangeError(`d2o on shares needs at least as many heavy-hitter slots as sinks: ${what} × heavyFraction gives ${heavy} < sinks ${sinks} (raise the budget or heavyFraction, or lower sinks)`);
  }
}

/** The sink bonus on shares: above any accumulated score (≤ the number of queries), below the rank headroom. */
const D2O_SINK_BONUS_SECURE = 2 ** 16;

/**
 * H2O and TOVA on shares — the twins of cache/h2o.ts and cache/tova.ts, with the same public
 * schedule and the same kept sets (ties: the oldest is evicted).
 *
 * H2O (per KV head; the models here are MHA, so per query head as the plaintext):
 *   observe    scores += Σ over the lane's query rows of the probabilities (local, B1)
 *   endPrefill one compactRows per layer (lane granularity, original order) keeping the `heavy`
 *              best of [0, n − recent + 1) with their scores as payload; the last recent − 1 prompt
 *              rows stay as the public tail — the plaintext's first decoding step
 *   select     candidates [0, kvLen − recent); one victim per step once steady (evictDown: argmin +
 *              DPF one-hot), lazy deletion; the attention masks dead slots (DeadSlotSelection)
 * TOVA (one set per layer): the score is the latest query's probability row summed over heads (not
 *   accumulated); the victim of the next step is chosen among every slot but the newest, keeping
 *   budget − 1; the prompt's end is one compactRows by the last prompt row.
 * Without a prefill bracket the first step evicts many at once (topK mask, no compaction).
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { h2oSplit, H2O_DEFAULTS, type H2oOptions } from '../cache/h2o';
import { d2oCapacitiesFromVariances, D2O_DEFAULTS, type D2oOptions } from '../cache/d2o';
import { PromptPhase } from '../cache/policy-config';
import type { SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { compactRows, keepZeroRows } from './compact-rows';
import { DeadSlotState, evictDown, type EvictionRecord } from './dead-slot-state';
import { DeadSlotSelection } from './selections';
import { d2oRevealVariances } from './secure-d2o-budgets';

const { asUintN } = BigInt;

/** Σ over each lane's rows of probs (lanes, rows, kvLen), restricted to rows r with keepRow(r): (lanes, kvLen). */
export function laneColumnSums(probs: RingTensor, keepRow: (r: number) => boolean = () => true, units: 'lane' | 'layer' = 'lane'): BigUint64Array {
  const [lanes, rows, n] = probs.shape, p = probs.data, out = new BigUint64Array((units === 'lane' ? lanes : 1) * n);
  for (let h = 0; h < lanes; h++) {
    const o = units === 'lane' ? h * n : 0;
    for (let r = 0; r < rows; r++) {
      if (!keepRow(r)) continue;
      const base = (h * rows + r) * n;
      for (let j = 0; j < n; j++) out[o + j] = asUintN(64, out[o + j] + p[base + j]);
    }
  }
  return out;
}

/** Shared plumbing: per-layer dead-slot state and caches, the prompt bracket. */
export abstract class DeadSlotPolicy implements SecureKVCachePolicy {
  abstract readonly name: string;
  protected readonly phase = new PromptPhase();
  protected states: (DeadSlotState | null)[];
  protected caches: (SecureLayerCache | null)[];
  /** The last eviction per layer (public; tests and cost accounting). */
  readonly lastEviction: (EvictionRecord | null)[];

  constructor(readonly nLayers: number, protected readonly perLane: boolean) {
    this.states = new Array(nLayers).fill(null);
    this.caches = new Array(nLayers).fill(null);
    this.lastEviction = new Array(nLayers).fill(null);
  }

  protected state(ctx: PartyContext, view: SecureAttentionView): DeadSlotState {
    this.caches[view.layer] = view.cache;
    const st = (this.states[view.layer] ??= new DeadSlotState(this.perLane ? view.cache.lanes : 1, ctx.party));
    st.grow(view.cache.length);
    return st;
  }

  protected selection(st: DeadSlotState, kvLen: number): SecureAttentionSelection | null {
    return st.dead === 0 ? null : new DeadSlotSelection(st.table('alive', kvLen), st.units, kvLen);
  }

  abstract select(ctx: PartyContext, view: SecureAttentionView, logits: RingTensor): Promise<SecureAttentionSelection | null>;
  abstract observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void>;

  protected warmed = false;

  beginPrefill(n: number): void {
    if (!this.warmed) this.phase.begin(n);
  }

  /** Rows a prompt of n tokens leaves in the cache (benchmarks' warm). */
  protected abstract keptAfterPrompt(n: number): number;

  /** Benchmarks only (SecureKVCachePolicy.warm): the prompt's compaction on zero rows. */
  async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    this.warmed = true;
    for (let l = 0; l < caches.length; l++) {
      const keep = this.keptAfterPrompt(caches[l].length);
      this.caches[l] = caches[l];
      if (!this.compactsLayer(l)) continue;
      await keepZeroRows(ctx, caches[l], keep);
      const st = (this.states[l] ??= new DeadSlotState(this.perLane ? caches[l].lanes : 1, ctx.party));
      st.install(caches[l].length, new BigUint64Array(st.units * caches[l].length));
    }
  }

  protected compactsLayer(_l: number): boolean {
    return true;
  }

  reset(): void {
    this.warmed = false;
    this.phase.reset();
    this.states.fill(null);
    this.caches.fill(null);
    this.lastEviction.fill(null);
  }
}

export class SecureH2oPolicy extends DeadSlotPolicy {
  readonly name: string = 'h2o';
  readonly heavy: number;
  readonly recent: number;

  constructor(nLayers: number, readonly budget: number, opts: H2oOptions = H2O_DEFAULTS) {
    super(nLayers, true);
    ({ heavy: this.heavy, recent: this.recent } = h2oSplit(budget, opts.heavyFraction));
  }

  /** Heavy/recent split of a layer (D2O's adaptive capacities override it). */
  protected splitOf(_layer: number): { heavy: number; recent: number } {
    return { heavy: this.heavy, recent: this.recent };
  }

  /** Rank scores of candidate slots [0, end) (D2O adds its sink bonus here). */
  protected rank(st: DeadSlotState, end: number, _party: 0 | 1, _fracBits: number): BigUint64Array {
    return st.table('score', end);
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const st = this.state(ctx, view), kvLen = view.cache.length;
    if (this.phase.inPrefill) return null;
    const { heavy, recent } = this.splitOf(view.layer), end = Math.max(0, kvLen - recent);
    this.lastEviction[view.layer] = await ctx.ledger.scope('h2o evict', () => evictDown(ctx, st, this.rank(st, end, ctx.party, ctx.fracBits), end, heavy));
    return this.selection(st, kvLen);
  }

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    this.state(ctx, view).addScores(laneColumnSums(probs), view.cache.length);
  }

  protected keptAfterPrompt(n: number): number {
    return Math.min(n, this.heavy + this.recent - 1);
  }

  async endPrefill(ctx: PartyContext, n: number, compacts: (layer: number) => boolean = () => true): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    await ctx.ledger.scope('h2o evict', async () => {
      for (let l = 0; l < this.nLayers; l++) {
        const { heavy, recent } = this.splitOf(l), end = Math.max(0, n + 1 - recent);
        if (!compacts(l) || end <= heavy) continue;
        const st = this.states[l]!, cache = this.caches[l]!, U = st.units;
        const extra = { shape: [U, end, 1], data: st.table('score', end) };
        const res = await compactRows(ctx, [cache], { shape: [U, end], data: this.rank(st, end, ctx.party, ctx.fracBits) }, heavy,
          { granularity: 'lane', originalOrder: true, tailFrom: end, extra });
        const rows = cache.length, tail = rows - heavy, scores = new BigUint64Array(U * rows), old = st.table('score', n);
        for (let u = 0; u < U; u++) {
          scores.set(res.extra!.data.subarray(u * heavy, (u + 1) * heavy), u * rows);
          scores.set(old.subarray(u * n + end, u * n + end + tail), u * rows + heavy);
        }
        st.install(rows, scores);
        this.lastEviction[l] = { kind: 'topk', end, steps: res.steps };
      }
    });
  }
}

export class SecureTovaPolicy extends DeadSlotPolicy {
  readonly name = 'tova';
  private lastRow: (BigUint64Array | null)[];
  private rowPos: Int32Array;

  constructor(nLayers: number, readonly budget: number) {
    super(nLayers, false);
    this.lastRow = new Array(nLayers).fill(null);
    this.rowPos = new Int32Array(nLayers).fill(-1);
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const st = this.state(ctx, view), l = view.layer, kvLen = view.cache.length, row = this.lastRow[l];
    if (this.phase.inPrefill) return null;
    if (row && this.rowPos[l] === view.startPos - 1) {
      const end = kvLen - 1;
      this.lastEviction[l] = await ctx.ledger.scope('tova evict', () => evictDown(ctx, st, row.subarray(0, end), end, this.budget - 1));
    }
    return this.selection(st, kvLen);
  }

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    this.state(ctx, view);
    const n = view.nQueries; // the latest query's row of every head: rows r with r % n = n − 1
    this.lastRow[view.layer] = laneColumnSums(probs, (r) => r % n === n - 1, 'layer');
    this.rowPos[view.layer] = view.startPos + n - 1;
  }

  protected keptAfterPrompt(n: number): number {
    return Math.min(n, this.budget - 1);
  }

  async endPrefill(ctx: PartyContext, n: number): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    const keep = this.budget - 1;
    if (n <= keep) return;
    await ctx.ledger.scope('tova evict', async () => {
      for (let l = 0; l < this.nLayers; l++) {
        const res = await compactRows(ctx, [this.caches[l]!], { shape: [1, n], data: this.lastRow[l]!.subarray(0, n) }, keep,
          { granularity: 'layer', originalOrder: true });
        this.states[l]!.install(keep, new BigUint64Array(keep));
        this.rowPos[l] = -1; // the prompt row is spent
        this.lastEviction[l] = { kind: 'topk', end: n, steps: res.steps };
      }
    });
  }

  override reset(): void {
    super.reset();
    this.lastRow.fill(null);
    this.rowPos.fill(-1);
  }
}

/**
 * D2O on shares: H2O's eviction with the first `sinks` positions forced by the public bonus
 * D2O_SINK_BONUS (P0 adds it to their rank, local). Sinks stay the first slots: compactions keep
 * original order and the bonus keeps them. Layer capacities (public: they fix shapes, B8):
 *   'uniform'   the budget everywhere (makeSecurePolicy's default): nothing leaks
 *   'adaptive'  D2O's variance-based allocation (cache/d2o.ts): every head's density variance is
 *               computed exactly on shares and OPENED at the prompt's end (secure-d2o-budgets.ts), a
 *               documented leak of L·H reals per prompt, refused unless `revealLayerBudgets: true`
 * Not ported: the merge of evicted tokens into their most similar kept token (`merge: false` only;
 * README lists what it needs).
 */
export class SecureD2oPolicy extends SecureH2oPolicy {
  override readonly name: string = 'd2o';
  private readonly skip: Set<number>;
  private splits: ({ heavy: number; recent: number } | null)[];

  constructor(nLayers: number, budget: number, readonly opts: D2oOptions = { ...D2O_DEFAULTS, layerBudgets: 'uniform', merge: false }) {
    super(nLayers, budget, { heavyFraction: opts.heavyFraction });
    if (opts.merge) throw new RangeError(`secure D2O supports merge false (the merge is not ported), got ${opts.merge}`);
    if (opts.layerBudgets === 'adaptive' && !opts.revealLayerBudgets) {
      throw new RangeError(`secure D2O: layerBudgets 'adaptive' reveals every head's attention-density variance; set revealLayerBudgets: true to accept, or use 'uniform'`);
    }
    this.skip = new Set(opts.skipLayers.map((l) => (l < 0 ? nLayers + l : l)));
    this.splits = new Array(nLayers).fill(null);
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
  }

  override async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    if (this.skip.has(view.layer)) return null;
    return super.select(ctx, view);
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
        if (cap !== null) this.splits[l] = h2oSplit(cap, this.opts.heavyFraction);
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

/** The sink bonus on shares: above any accumulated score (≤ the number of queries), below the rank headroom. */
const D2O_SINK_BONUS_SECURE = 2 ** 16;

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
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { h2oSplit, H2O_DEFAULTS, type H2oOptions } from '../cache/h2o';
import { PromptPhase } from '../cache/policy-config';
import type { SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { compactRows, keepZeroRows } from './compact-rows';
import { DeadSlotState, evictDown, type EvictionRecord } from './dead-slot-state';
import { DeadSlotSelection } from './selections';
import { checkCompactEvery, compactDeadSlots, DEFAULT_COMPACT_EVERY, type CompactionRecord } from './dead-slot-compaction';

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

/**
 * Shared plumbing: per-layer dead-slot state and caches, the prompt bracket, and the periodic
 * compaction: every `compactEvery` decoding calls of a layer (public schedule; 0 = never) its dead
 * rows are dropped at the end of `observe` (dead-slot-compaction.ts), carrying `carriedTables`.
 */
export abstract class DeadSlotPolicy implements SecureKVCachePolicy {
  abstract readonly name: string;
  protected readonly phase = new PromptPhase();
  protected states: (DeadSlotState | null)[];
  protected caches: (SecureLayerCache | null)[];
  /** The last eviction per layer (public; tests and cost accounting). */
  readonly lastEviction: (EvictionRecord | null)[];
  /** The last compaction per layer (public). */
  readonly lastCompaction: (CompactionRecord | null)[];
  private compactPeriod = DEFAULT_COMPACT_EVERY;
  private decodeCalls: Int32Array;

  constructor(readonly nLayers: number, protected readonly perLane: boolean) {
    this.states = new Array(nLayers).fill(null);
    this.caches = new Array(nLayers).fill(null);
    this.lastEviction = new Array(nLayers).fill(null);
    this.lastCompaction = new Array(nLayers).fill(null);
    this.decodeCalls = new Int32Array(nLayers);
  }

  /** Decoding steps between dead-slot compactions (public; 0 = never; default DEFAULT_COMPACT_EVERY). */
  get compactEvery(): number {
    return this.compactPeriod;
  }

  set compactEvery(every: number) {
    this.compactPeriod = checkCompactEvery(every);
  }

  /** Per-slot secret tables (units, kvLen) a compaction carries: by default the scores. */
  protected carriedTables(layer: number, kvLen: number): BigUint64Array[] {
    return [this.states[layer]!.table('score', kvLen)];
  }

  /** Install the compacted tables (units, rows): by default the scores. */
  protected installCarried(layer: number, rows: number, tables: BigUint64Array[]): void {
    this.states[layer]!.install(rows, tables[0]);
  }

  /** A compaction is due at this layer (D2O folds its merges into the rows here). */
  protected async beforeCompaction(_ctx: PartyContext, _view: SecureAttentionView): Promise<void> {}

  /** End of a decoding call's observe: compact the layer's dead slots if the schedule says so. */
  protected async compactIfDue(ctx: PartyContext, view: SecureAttentionView): Promise<void> {
    if (this.phase.inPrefill) return;
    const l = view.layer, calls = ++this.decodeCalls[l];
    if (this.compactPeriod === 0 || calls % this.compactPeriod !== 0) return;
    await this.beforeCompaction(ctx, view);
    const st = this.states[l];
    if (!st || st.dead === 0) return;
    const res = await ctx.ledger.scope('dead slot compaction', () => compactDeadSlots(ctx, view.cache, st, this.carriedTables(l, view.cache.length)));
    if (!res) return;
    this.installCarried(l, res.record.rows, res.tables);
    this.lastCompaction[l] = res.record;
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
    this.lastCompaction.fill(null);
    this.decodeCalls.fill(0);
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
    await this.compactIfDue(ctx, view);
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
    await this.compactIfDue(ctx, view);
  }

  protected override carriedTables(layer: number): BigUint64Array[] {
    return [this.lastRow[layer]!];
  }

  protected override installCarried(layer: number, rows: number, tables: BigUint64Array[]): void {
    this.states[layer]!.install(rows, new BigUint64Array(rows));
    this.lastRow[layer] = tables[0];
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

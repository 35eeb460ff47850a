/**
 * DeadSlotPolicy — the shared plumbing of the per-step eviction policies on shares (H2O, TOVA, D2O,
 * CAKE): per-layer lazy-deletion state (dead-slot-state.ts) and caches, the prompt bracket, the
 * benchmarks' warm, and the periodic dead-slot compaction (dead-slot-compaction.ts) at the end of a
 * decoding call's observe. laneColumnSums: the local score sums of the probabilities (B1).
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { PromptPhase } from '../cache/policy-config';
import type { SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { warmDeadSlots } from './compact-rows';
import { CompactionSchedule, type CompactionRecord } from './dead-slot-compaction';
import { DeadSlotState, type EvictionRecord } from './dead-slot-state';
import { DeadSlotSelection } from './selections';

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
  private readonly schedule: CompactionSchedule;

  constructor(readonly nLayers: number, protected readonly perLane: boolean) {
    this.states = new Array(nLayers).fill(null);
    this.caches = new Array(nLayers).fill(null);
    this.lastEviction = new Array(nLayers).fill(null);
    this.schedule = new CompactionSchedule(nLayers);
  }

  /** The last compaction per layer (public). */
  get lastCompaction(): readonly (CompactionRecord | null)[] {
    return this.schedule.last;
  }

  /** Decoding steps between dead-slot compactions (public; 0 = never; default DEFAULT_COMPACT_EVERY). */
  get compactEvery(): number {
    return this.schedule.every;
  }

  set compactEvery(every: number) {
    this.schedule.every = every;
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
    const l = view.layer;
    if (!this.schedule.tick(l)) return;
    await this.beforeCompaction(ctx, view);
    const st = this.states[l];
    if (!st || st.dead === 0) return;
    const res = await this.schedule.run(ctx, l, view.cache, st, this.carriedTables(l, view.cache.length));
    if (res) this.installCarried(l, res.rows, res.tables);
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
      await warmDeadSlots(ctx, caches[l], keep, (this.states[l] ??= new DeadSlotState(this.perLane ? caches[l].lanes : 1, ctx.party)));
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
    this.schedule.reset();
  }
}

/**
 * H2O and TOVA on shares — the twins of cache/h2o.ts and cache/tova.ts, with the same public
 * schedule and the same kept sets (ties: the oldest is evicted).
 *
 * H2O (per KV head, as the plaintext: a grouped-query model's query heads sum into their KV head's scores):
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
 * A chat's turn in one pass (multiRowSteps, H2O and TOVA; the twins' beginTurn bracket): no
 * eviction during it, the queries attend the alive slots (and each other, causally), H2O's scores
 * take all their rows; the step after it evicts down to the budget at once (topK mask).
 * No heavy-hitter slot (budget × heavyFraction < 1): every candidate goes, publicly — the prompt's
 * compaction keeps only its tail and each step's candidate dies without a ranking (a recent window).
 */import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { h2oSplit, H2O_DEFAULTS, type H2oOptions } from '../cache/h2o';
import type { SecureAttentionSelection, SecureAttentionView } from '../secure/secure-kv-cache-policy';
import { compactRows } from './compact-rows';
import { evictDown, type DeadSlotState } from './dead-slot-state';
import { compactPromptByScore } from './dead-slot-compaction';
import { DeadSlotPolicy, laneColumnSums } from './dead-slot-policy';

export class SecureH2oPolicy extends DeadSlotPolicy {
  readonly name: string = 'h2o';
  /** A chat's turn in one pass, evicting nothing (header). */
  readonly multiRowSteps = true;
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

  /** What `observe` adds to the slots' scores, (units, kvLen): the probabilities' column sums (D2O adds its sink bonus). */
  protected observedScores(_ctx: PartyContext, _view: SecureAttentionView, sums: BigUint64Array): BigUint64Array {
    return sums;
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const st = this.state(ctx, view), kvLen = view.cache.length;
    if (this.phase.inPrefill) return null;
    if (view.nQueries > 1) return this.selection(st, kvLen); // a turn: no eviction (header)
    const { heavy, recent } = this.splitOf(view.layer), end = Math.max(0, kvLen - recent);
    this.lastEviction[view.layer] = await ctx.ledger.scope('h2o evict', () => evictDown(ctx, st, st.table('score', end), end, heavy));
    return this.selection(st, kvLen);
  }

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    this.state(ctx, view).addScores(this.observedScores(ctx, view, laneColumnSums(probs)), view.cache.length);
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
        const res = await compactPromptByScore(ctx, this.caches[l]!, this.states[l]!, end, heavy);
        this.lastEviction[l] = { kind: 'topk', end, steps: res.steps, orderSteps: res.orderSteps };
      }
    });
  }
}

export class SecureTovaPolicy extends DeadSlotPolicy {
  readonly name = 'tova';
  /** A chat's turn in one pass, evicting nothing; the next step evicts by the turn's last row (header). */
  readonly multiRowSteps = true;
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
    if (view.nQueries > 1) return this.selection(st, kvLen); // a turn: no eviction (header)
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
        this.lastEviction[l] = { kind: 'topk', end: n, steps: res.steps, orderSteps: res.orderSteps };
      }
    });
  }

  override reset(): void {
    super.reset();
    this.lastRow.fill(null);
    this.rowPos.fill(-1);
  }
}

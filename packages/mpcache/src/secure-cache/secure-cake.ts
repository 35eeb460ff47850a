/**
 * CAKE on shares — the twin of cache/cake.ts (eviction-baselines.md §7.6), same public schedule,
 * same kept sets on the same fixed-point probabilities (ties: the oldest is evicted).
 *
 * Layer budgets B_ℓ fix tensor shapes, so they are public. Modes (CakeOptions.layerBudgets):
 *   'uniform'      budget − w for every layer (makeSecurePolicy's default): nothing leaks
 *   number[]       calibrated budgets fixed offline from public data: nothing leaks
 *   'adaptive'     CAKE's allocation from each layer's window entropy and variance, computed on
 *                  shares and OPENED (secure-cake-scores.ts cakeRevealPreferences): a policy-
 *                  specific leak of 2 reals per layer and prompt; refused unless
 *                  `revealLayerBudgets: true` (README, security model)
 * Per KV head, as the plaintext (a grouped-query model's g query heads per KV head: CAKE's code
 * takes the group mean of the per-head indicators and of the decode rows; here their sums, same order):
 *   observe    the last w prompt queries' probabilities over the prefix are kept per query head
 *              (lanes·g, w, prefix); every call keeps the latest query's row summed over each lane's
 *              query heads (lanes, kvLen): the decode score
 *   endPrefill one squaring round for every layer (cakeWindowStats), the exact integer indicator
 *              per query head, summed over each lane's group (local), then one compactRows per layer keeping the top B_ℓ prefix rows in original
 *              order with the last prompt row as payload; the w window rows stay as the public tail
 *   select     if the previous query's row is known: candidates = every slot but the last w (the
 *              protected window), keep B_ℓ by that row: one argmin + DPF one-hot per step
 *              (evictDown), lazy deletion; attention masks dead slots (DeadSlotSelection); a chat's
 *              turn in one pass evicts nothing, the step after it evicts down to B_ℓ at once
 * Supported on shares: decodePoolKernel 1 (pooling over a secret alive set in cache order has no
 * public neighbourhood; kernel 1 is the doc's recommended flagged deviation). Indicators whose
 * worst-case range exceeds compactRows' headroom (long prompts: n ≳ 256 at w = 32, f = 12) are
 * truncated first (truncPr), which makes near-ties approximate; `truncatedBits` reports it.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { indexBits, truncPr, type PartyContext } from '@mpcache/protocols';
import { CAKE_DEFAULTS, cakeAllocate, type CakeOptions } from '../cache/cake';
import type { SecureAttentionSelection, SecureAttentionView } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { compactRows, warmDeadSlots } from './compact-rows';
import { DeadSlotState, evictDown } from './dead-slot-state';
import { cakeIndicatorBits, cakeIndicatorShares, cakeRevealPreferences, cakeWindowStats } from './secure-cake-scores';
import { DeadSlotPolicy, laneColumnSums } from './dead-slot-policy';

const { asUintN } = BigInt;

export class SecureCakePolicy extends DeadSlotPolicy {
  readonly name = 'cake';
  /** A chat's turn in one pass, evicting nothing; the next step evicts down by the turn's last row. */
  readonly multiRowSteps = true;
  readonly window: number;
  private readonly budgets: number[] = [];
  private wins: (BigUint64Array | null)[];
  private lastRow: (BigUint64Array | null)[];
  private lastPos: Int32Array;
  /** Query heads per KV head (read from the prompt's probabilities). */
  private groups = 1;
  /** Bits the prefill indicator was truncated by (0: exact). */
  truncatedBits = 0;

  constructor(nLayers: number, readonly budget: number, readonly opts: CakeOptions = { ...CAKE_DEFAULTS, layerBudgets: 'uniform' }) {
    super(nLayers, true);
    this.window = Math.max(1, Math.min(opts.window, Math.floor(budget / 2)));
    if (opts.decodePoolKernel > 1) throw new RangeError(`secure CAKE supports decodePoolKernel 1, got ${opts.decodePoolKernel}`);
    if ((opts.layerBudgets ?? 'adaptive') === 'adaptive' && !opts.revealLayerBudgets) {
      throw new RangeError(`secure CAKE: layerBudgets 'adaptive' reveals each layer's attention entropy and variance; set revealLayerBudgets: true to accept, or use 'uniform' or calibrated budgets`);
    }
    this.wins = new Array(nLayers).fill(null);
    this.lastRow = new Array(nLayers).fill(null);
    this.lastPos = new Int32Array(nLayers).fill(-1);
    this.resetBudgets();
  }

  /** B_ℓ, the prefix budget of each layer (public; decode capacity B_ℓ + window). */
  layerBudgets(): readonly number[] {
    return this.budgets;
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    const st = this.state(ctx, view), l = view.layer, kvLen = view.cache.length, row = this.lastRow[l];
    if (this.phase.inPrefill) return null;
    if (view.nQueries > 1) return this.selection(st, kvLen); // a turn: no eviction (header)
    if (row && this.lastPos[l] === view.startPos - 1) {
      const end = Math.max(0, kvLen - this.window), U = st.units, prev = row.length / U, rank = new BigUint64Array(U * end);
      for (let u = 0; u < U; u++) rank.set(row.subarray(u * prev, u * prev + end), u * end);
      this.lastEviction[l] = await ctx.ledger.scope('cake evict', () => evictDown(ctx, st, rank, end, this.budgets[l]));
    }
    return this.selection(st, kvLen);
  }

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    this.state(ctx, view);
    const nq = view.nQueries, l = view.layer, n = this.phase.promptLength, w = this.window;
    this.lastRow[l] = laneColumnSums(probs, (r) => r % nq === nq - 1);
    this.lastPos[l] = view.startPos + nq - 1;
    if (!this.phase.inPrefill) return this.compactIfDue(ctx, view);
    if (nq !== n || n <= w) return;
    // rows r = g·n + t of lane h: query head unit h·groups + g
    const [lanes, rows, kvLen] = probs.shape, prefix = n - w, win = new BigUint64Array(lanes * rows / n * w * prefix), p = probs.data;
    this.groups = rows / n;
    for (let h = 0; h < lanes; h++) {
      for (let r = 0; r < rows; r++) {
        const t = r % n, unit = h * this.groups + Math.floor(r / n);
        if (t < prefix) continue;
        win.set(p.subarray((h * rows + r) * kvLen, (h * rows + r) * kvLen + prefix), (unit * w + t - prefix) * prefix);
      }
    }
    this.wins[l] = win;
  }

  override beginPrefill(n: number): void {
    super.beginPrefill(n);
    this.wins.fill(null);
  }

  async endPrefill(ctx: PartyContext, n: number): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    const w = this.window, prefix = n - w, L = this.nLayers, o = this.opts;
    if (prefix <= 0) return;
    await ctx.ledger.scope('cake prefill', async () => {
      const lanes = this.caches[0]!.lanes, G = this.groups, heads = lanes * G, wins = this.wins.map((x) => x!);
      const { S, D } = await ctx.ledger.scope('cake indicator', () => cakeWindowStats(ctx, wins, heads, w, prefix));
      if ((o.layerBudgets ?? 'adaptive') === 'adaptive') {
        const pref = await ctx.ledger.scope('cake budgets (revealed)', () => cakeRevealPreferences(ctx, wins, D, w, o.tau1, o.tau2));
        this.budgets.splice(0, L, ...cakeAllocate(pref, (this.budget - w) * L, prefix));
      }
      const over = cakeIndicatorBits(ctx.fracBits, w, o.gamma, o.prefillPoolKernel, G) - (61 - 2 * indexBits(prefix));
      this.truncatedBits = Math.max(0, over);
      for (let l = 0; l < L; l++) {
        const B = this.budgets[l], st = this.states[l]!, cache = this.caches[l]!, row = this.lastRow[l]!;
        if (prefix <= B) continue;
        const perHead = cakeIndicatorShares(ctx.fracBits, S[l], D[l], heads, prefix, w, o.gamma, o.prefillPoolKernel);
        let ind: RingTensor = { shape: [lanes, prefix], data: sumGroups(perHead, lanes, G, prefix) };
        if (this.truncatedBits > 0) ind = await truncPr(ctx, ind, this.truncatedBits);
        const extra = { shape: [lanes, prefix, 1], data: new BigUint64Array(lanes * prefix) };
        for (let h = 0; h < lanes; h++) extra.data.set(row.subarray(h * n, h * n + prefix), h * prefix);
        const res = await compactRows(ctx, [cache], ind, B, { granularity: 'lane', originalOrder: true, tailFrom: prefix, extra });
        const rows = B + w, newRow = new BigUint64Array(lanes * rows);
        for (let h = 0; h < lanes; h++) {
          newRow.set(res.extra!.data.subarray(h * B, (h + 1) * B), h * rows);
          newRow.set(row.subarray(h * n + prefix, (h + 1) * n), h * rows + B);
        }
        this.lastRow[l] = newRow;
        st.install(rows, new BigUint64Array(lanes * rows));
        this.lastEviction[l] = { kind: 'topk', end: prefix, steps: res.steps };
      }
    });
    this.wins.fill(null);
  }

  protected keptAfterPrompt(n: number): number {
    return n;
  }

  /** Benchmarks only: each layer compacted to B_ℓ + w zero rows, a zero last row (scores do not change costs). */
  override async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    this.warmed = true;
    for (let l = 0; l < caches.length; l++) {
      const c = caches[l], n = c.length, rows = Math.min(n, this.budgets[l] + this.window);
      this.caches[l] = c;
      await warmDeadSlots(ctx, c, rows, (this.states[l] ??= new DeadSlotState(c.lanes, ctx.party)));
      this.lastRow[l] = new BigUint64Array(c.lanes * c.length);
      this.lastPos[l] = n - 1;
    }
  }

  protected override carriedTables(layer: number): BigUint64Array[] {
    return [this.lastRow[layer]!];
  }

  protected override installCarried(layer: number, rows: number, tables: BigUint64Array[]): void {
    this.states[layer]!.install(rows, new BigUint64Array(this.states[layer]!.units * rows));
    this.lastRow[layer] = tables[0];
  }

  override reset(): void {
    super.reset();
    this.wins.fill(null);
    this.lastRow.fill(null);
    this.lastPos.fill(-1);
    this.truncatedBits = 0;
    this.resetBudgets();
  }

  private resetBudgets(): void {
    const given = this.opts.layerBudgets;
    this.budgets.length = 0;
    if (Array.isArray(given)) {
      if (given.length !== this.nLayers || !given.every((b) => Number.isInteger(b) && b >= 0)) {
        throw new RangeError(`"cake.layerBudgets" expected ${this.nLayers} non-negative integers, got ${given.length} entries`);
      }
      this.budgets.push(...given);
    } else {
      for (let l = 0; l < this.nLayers; l++) this.budgets.push(this.budget - this.window);
    }
  }
}

/** Σ over each lane's g consecutive query-head rows of x (lanes·g, len): (lanes, len); x itself when g = 1. */
function sumGroups(x: BigUint64Array, lanes: number, g: number, len: number): BigUint64Array {
  if (g === 1) return x;
  const out = new BigUint64Array(lanes * len);
  for (let h = 0; h < lanes; h++) {
    for (let k = 0; k < g; k++) {
      const src = (h * g + k) * len;
      for (let j = 0; j < len; j++) out[h * len + j] = asUintN(64, out[h * len + j] + x[src + j]);
    }
  }
  return out;
}

/**
 * Attention-Gate on shares — the twin of cache/attention-gate.ts (eviction-baselines.md §8.4): the
 * gate's keep logits are computed on shares from the layer's secret normed input (gate-shares.ts,
 * via the decoder's `observeInput` hook), every keep/evict decision is a secret bit, and evicted
 * slots are dead by a secret bit (B6), so every cached row's mask stays valid. 'threshold': the
 * counts stay secret, so there is no saving in attention (masking only; the paper's saving would
 * need the per-head kept counts revealed, which is not done). 'topk': the counts are public, so the
 * cache is compacted as H2O's (session 17): at the prompt's end to the first step's kept set (top
 * keep + recent window: budget − 1 rows), then every `compactEvery` decoding calls its dead rows are
 * dropped (dead-slot-compaction.ts, the gate logits carried as the slots' scores), and attention
 * runs over ≈ the budget — on a model with one query head per KV head (a grouped-query model's
 * heads keep different sets: masking only there), and not with compactEvery 0.
 *
 * 'threshold' (the trained behaviour): flag_j = [g_j > threshold], one comparison per token and head
 *   when the token arrives; query P attends the older j with flag 1 and itself (GateMaskSelection).
 * 'topk' (makePolicy's equal-budget default): query P attends its recent window [split, P) (public)
 *   and the top (budget − r) older tokens by gate logit (ties: the older loses), where r =
 *   max(1, min(⌊budget·recentFraction⌋, budget)) and split = P − r + 1; the full cache while
 *   P + 1 ≤ budget. Decoding keeps the running top-k as alive bits: the first step after a prompt
 *   is one topK mask over [0, split) (none after the prompt's compaction), every later step one
 *   argmin + DPF one-hot (evictDown). Slots hold positions in order; slot j is position j + removed.
 *   A masked prefill needs a different top-k for every prompt row: all pairwise comparisons
 *   c_ab = [key_a > key_b] (lanes·N(N − 1)/2 CMP at 64 bits, N = the largest split), local rank
 *   counts, then one 32-bit comparison [count < k] per (row, candidate) — 2 rounds, exact.
 *   A chat's later turn (several rows in one pass, multiRowSteps) also needs a top-k per row, but
 *   the running state already holds the top-k of the older candidates: with fixed logits, row P's
 *   top-k of [0, split(P)) is the top-k of the slots alive before the turn and the turn's new
 *   candidates, so the alive ones are compacted once and ranked against the new ones
 *   (gate-turn-top-k.ts: topK + 3 rounds), exactly as R steps would, and the last row's kept set
 *   becomes the running state.
 * Keys are g·2^⌈log2 N⌉ + position (distinct; ties: newer wins), as top-k-kept.ts `ranksAbove`.
 * Gate weights: given as this party's GateShares (a deployment: each party gets its share from the
 * model owner, and `opts.weights` is absent), as both parties' GateShares, or as the plaintext
 * AttentionGateWeights, split in-process with `shareSeed` (tests and benchmarks, where both parties
 * are handed the weights anyway).
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import { dcfLessThanZero, indexBits, type PartyContext } from '@mpcache/protocols';
import { keptBits, pairwiseRanks } from './pairwise-ranks';
import type { AttentionGateOptions } from '../cache/attention-gate';
import { PromptPhase, type PolicyModel } from '../cache/policy-config';
import type { SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { warmDeadSlots } from './compact-rows';
import { CompactionSchedule, compactPromptByScore, type CompactionRecord } from './dead-slot-compaction';
import { DeadSlotState, evictDown, type EvictionRecord } from './dead-slot-state';
import { turnTopKMasks } from './gate-turn-top-k';
import { SecureGate, shareAttentionGateWeights, type GateShares } from './gate-shares';
import { addAliveGap, DEAD_LOGIT_GAP, DeadSlotSelection } from './selections';

const { asUintN } = BigInt;

/**
 * Per-row secret 0/1 masks (query heads, nQueries, kvLen) over the rows OLDER than each row's query
 * (local). A grouped-query model's logits come as (KV heads, groups·nQueries, kvLen): row g·nQueries + t
 * of KV head h is query t of query head h·groups + g (secure-kv-cache-policy.ts), which reads its own mask.
 */
export class GateMaskSelection implements SecureAttentionSelection {
  readonly kept: number;
  constructor(private readonly mask: BigUint64Array, private readonly startPos: number, private readonly nQueries: number, readonly kvLen: number, private readonly groups = 1) {
    this.kept = kvLen;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, gap = encodeScalar(DEAD_LOGIT_GAP, ctx.fracBits);
    const out = BigUint64Array.from(logits.data), nq = this.nQueries, G = this.groups;
    for (let h = 0; h < lanes; h++) {
      for (let r = 0; r < rows; r++) {
        const t = r % nq, u = h * G + Math.floor(r / nq), own = Math.min(this.startPos + t, n);
        addAliveGap(ctx, out, (h * rows + r) * n, this.mask, (u * nq + t) * n, own, gap);
      }
    }
    return { shape: [lanes, rows, n], data: out };
  }

  async scatter(_ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    return probs;
  }
}

/** The plaintext options; `weights` only when the policy is not given gate shares. */
export type SecureAttentionGateOptions = Omit<AttentionGateOptions, 'weights'> & { readonly weights?: AttentionGateOptions['weights'] };

export class SecureAttentionGatePolicy implements SecureKVCachePolicy {
  readonly name = 'attention-gate';
  private readonly phase = new PromptPhase();
  private gate: SecureGate | null = null;
  private readonly logits: BigUint64Array[] = []; // per layer (nHeads, seqLen) at scale f
  private readonly flags: BigUint64Array[] = [];  // threshold mode, per layer (nHeads, seqLen)
  private states: (DeadSlotState | null)[];
  private readonly caches: (SecureLayerCache | null)[];
  private readonly schedule: CompactionSchedule;
  private warmed = false;
  /** The last decoding eviction per layer (topk mode; public). */
  readonly lastEviction: (EvictionRecord | null)[];
  /** Every decoding eviction of layer 0 since the last reset (public; exact cost accounting). */
  readonly evictionLog: EvictionRecord[] = [];

  /**
   * A chat's turn in one pass, with the same kept sets as step by step: 'threshold' decides each
   * token's flag when it arrives, and each query of the pass attends the older flagged rows and itself
   * (GateMaskSelection); 'topk' gives each query its running top-k (gate-turn-top-k.ts) and leaves
   * the state the steps would.
   */
  readonly multiRowSteps = true;

  constructor(readonly model: PolicyModel, readonly budget: number, readonly opts: SecureAttentionGateOptions,
    private readonly gateShares: readonly [GateShares, GateShares] | GateShares | null = null, private readonly shareSeed = new Uint8Array(16)) {
    const { nLayers, nHeads, seqLen } = model;
    if (!gateShares && !opts.weights) throw new RangeError('SecureAttentionGatePolicy needs gate shares or "weights"');
    const own = gateShares && !isSharePair(gateShares) ? gateShares : null;
    if (own && (own.layers.length !== nLayers || own.nHeads !== nHeads)) {
      throw new RangeError(`attention-gate shares expected ${nLayers} layers × ${nHeads} heads, got ${own.layers.length} × ${own.nHeads}`);
    }
    for (let l = 0; l < nLayers; l++) { this.logits.push(new BigUint64Array(nHeads * seqLen)); this.flags.push(new BigUint64Array(nHeads * seqLen)); }
    this.states = new Array(nLayers).fill(null);
    this.caches = new Array(nLayers).fill(null);
    this.lastEviction = new Array(nLayers).fill(null);
    this.schedule = new CompactionSchedule(nLayers);
  }

  /**
   * 'topk' on a model with one query head per KV head: decoding calls between dead-slot compactions
   * (public; 0 = never, and then the prompt is not compacted either: masking only). Default
   * DEFAULT_COMPACT_EVERY.
   */
  get compactEvery(): number {
    return this.schedule.every;
  }

  set compactEvery(every: number) {
    this.schedule.every = every;
  }

  /** The last compaction per layer (public). */
  get lastCompaction(): readonly (CompactionRecord | null)[] {
    return this.schedule.last;
  }

  /**
   * Whether the running top-k drops its dead rows physically: 'topk' (public counts), one query head
   * per KV head (a row dies for one head only: a grouped-query model's group could not drop it), and
   * compaction not switched off.
   */
  private get compacts(): boolean {
    return this.opts.countMode === 'topk' && (this.model.nKvHeads ?? this.model.nHeads) === this.model.nHeads && this.schedule.every > 0;
  }

  /** Shares of the gate logits of (layer, head) for positions < rows seen (tests). */
  gateLogitShares(layer: number, head: number, rows: number): BigUint64Array {
    const S = this.model.seqLen;
    return this.logits[layer].slice(head * S, head * S + rows);
  }

  async observeInput(ctx: PartyContext, layer: number, startPos: number, xb: RingTensor): Promise<void> {
    await ctx.ledger.scope('attention gate', async () => {
      const gate = (this.gate ??= new SecureGate(this.partyShares(ctx)));
      const g = await gate.logits(ctx, layer, startPos, xb), n = xb.shape[0], H = this.model.nHeads, S = this.model.seqLen;
      for (let t = 0; t < n; t++) for (let h = 0; h < H; h++) this.logits[layer][h * S + startPos + t] = g.data[t * H + h];
      if (this.opts.countMode !== 'threshold') return;
      // flag = [g > threshold] = [threshold − g < 0]
      const thr = ctx.party === 0 ? encodeScalar(this.opts.threshold, ctx.fracBits) : 0n;
      const b = await dcfLessThanZero(ctx, { shape: [n * H], data: g.data.map((x) => asUintN(64, thr - x)) });
      for (let t = 0; t < n; t++) for (let h = 0; h < H; h++) this.flags[layer][h * S + startPos + t] = b.data[t * H + h];
    });
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    // one unit per QUERY head (the plaintext twin selects per query head, also on a grouped-query model)
    const kvLen = view.cache.length, P0 = view.startPos, nq = view.nQueries, G = view.groups, lanes = view.cache.lanes * G, l = view.layer, S = this.model.seqLen;
    if (this.opts.countMode === 'threshold') {
      if (this.phase.inPrefill && !this.opts.maskPrefill) return null;
      const m = new BigUint64Array(lanes * nq * kvLen);
      for (let h = 0; h < lanes; h++) for (let t = 0; t < nq; t++) m.set(this.flags[l].subarray(h * S, h * S + Math.min(P0 + t, kvLen)), (h * nq + t) * kvLen);
      return new GateMaskSelection(m, P0, nq, kvLen, G);
    }
    const { st, removed } = this.slots(ctx, view, lanes);
    if (this.phase.inPrefill && !this.opts.maskPrefill) return null;
    if (P0 + nq <= this.budget) return null; // every query attends at most `budget` positions
    if (nq > 1 && this.phase.inPrefill) return ctx.ledger.scope('attention gate', async () => new GateMaskSelection(await this.prefillTopKMasks(ctx, l, lanes, P0, nq, kvLen), P0, nq, kvLen, G));
    if (nq > 1) return ctx.ledger.scope('attention gate evict', async () => new GateMaskSelection(await this.turnMasks(ctx, st, l, removed, P0, nq, kvLen), kvLen - nq, nq, kvLen, G));
    const { split, keep } = this.window(P0), end = split - removed;
    const ev = (this.lastEviction[l] = await ctx.ledger.scope('attention gate evict', () => evictDown(ctx, st, st.table('score', end), end, keep)));
    if (l === 0 && ev.kind !== 'none') this.evictionLog.push(ev);
    return st.dead === 0 ? null : new DeadSlotSelection(st.table('alive', kvLen), lanes, kvLen, G);
  }

  /**
   * 'topk': the layer's slot state, its new slots scored by their positions' gate logits. Slot j
   * holds position j + removed (removed: the rows compactions dropped, public; the recent window is
   * never dropped, so the newest slots are the newest positions).
   */
  private slots(ctx: PartyContext, view: SecureAttentionView, units: number): { st: DeadSlotState; removed: number } {
    const l = view.layer, kvLen = view.cache.length, removed = view.startPos + view.nQueries - kvLen, S = this.model.seqLen;
    this.caches[l] = view.cache;
    const st = (this.states[l] ??= new DeadSlotState(units, ctx.party)), from = st.rows;
    st.grow(kvLen);
    st.setScores(from, kvLen, (u, j) => this.logits[l][u * S + j + removed]);
    return { st, removed };
  }

  needsProbs(): boolean {
    return false;
  }
  /** After a decoding call's attention: the periodic compaction of the dead rows, when due. */
  async observe(ctx: PartyContext, view: SecureAttentionView): Promise<void> {
    const l = view.layer, st = this.states[l];
    if (this.phase.inPrefill || !this.compacts || !this.schedule.tick(l) || !st) return;
    const res = await this.schedule.run(ctx, l, view.cache, st, [st.table('score', view.cache.length)]);
    if (res) st.install(res.rows, res.tables[0]);
  }

  beginPrefill(n: number): void {
    if (!this.warmed) this.phase.begin(n);
  }

  /**
   * The prompt's end: with compaction, each layer keeps the top `keep` of the next query's candidates
   * [0, split(n)) by gate logit and the recent window after them (compactRows, original order) — the
   * kept set of the first decoding step, so it evicts nothing and later ones one slot each.
   */
  async endPrefill(ctx?: PartyContext, n?: number): Promise<void> {
    if (!this.phase.inPrefill) return;
    this.phase.end();
    if (!ctx || n === undefined || !this.compacts) return;
    const { split: end, keep } = this.window(n);
    if (end <= keep) return;
    await ctx.ledger.scope('attention gate evict', async () => {
      for (let l = 0; l < this.model.nLayers; l++) {
        const st = this.states[l], cache = this.caches[l];
        if (st && cache && cache.length === n) await compactPromptByScore(ctx, cache, st, end, keep);
      }
    });
  }

  /** Benchmarks only: zero gate rows and logits for the warmed positions (flags public: [0 > threshold]). */
  async warm(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void> {
    this.warmed = true;
    const rows = caches[0].length, S = this.model.seqLen, bit = ctx.party === 0 && this.opts.threshold < 0 ? 1n : 0n;
    this.gate ??= new SecureGate(this.partyShares(ctx));
    await ctx.ledger.scope('attention gate', () => this.gate!.warm(ctx, rows));
    for (let l = 0; l < caches.length; l++) for (let h = 0; h < this.model.nHeads; h++) this.flags[l].fill(bit, h * S, h * S + rows);
    if (!this.compacts) return;
    // the prompt's compaction on zero rows: budget − 1 rows stay (the top keep and the recent window)
    for (let l = 0; l < caches.length; l++) {
      await warmDeadSlots(ctx, caches[l], Math.min(rows, this.budget - 1), (this.states[l] = new DeadSlotState(this.model.nHeads, ctx.party)));
      this.caches[l] = caches[l];
    }
  }

  reset(): void {
    this.warmed = false;
    this.phase.reset();
    this.gate?.reset();
    for (const x of this.logits) x.fill(0n);
    for (const x of this.flags) x.fill(0n);
    this.states.fill(null);
    this.caches.fill(null);
    this.schedule.reset();
    this.lastEviction.fill(null);
    this.evictionLog.length = 0;
  }

  /** This party's gate shares: given, or split here from the plaintext weights (tests, benchmarks). */
  private partyShares(ctx: PartyContext): GateShares {
    const g = this.gateShares;
    const mine = g === null ? shareAttentionGateWeights(this.opts.weights!, ctx.fracBits, this.shareSeed)[ctx.party] : isSharePair(g) ? g[ctx.party] : g;
    if (mine.fracBits !== undefined && mine.fracBits !== ctx.fracBits) throw new RangeError(`attention-gate shares at ${mine.fracBits} fractional bits, the session runs at ${ctx.fracBits}`);
    return mine;
  }

  /** Recent window and top-k count of the query at position P (public): candidates [0, split). */
  private window(P: number): { split: number; keep: number } {
    const keep = this.budget - 1, r = Math.max(1, Math.min(Math.floor(this.budget * this.opts.recentFraction), keep + 1));
    const split = Math.max(0, P - r + 1);
    return { split, keep: keep - (P - split) };
  }

  /**
   * Masks (lanes, nq, kvLen) of a later turn's rows P0..P0+nq−1 (slots kvLen − nq …): the rows up to
   * the budget attend everything older, each evicting row (P + 1 > budget, the rest of the pass) its
   * running top-k of its candidates (gate-turn-top-k.ts) and its recent window; the state ends as the
   * steps leave it.
   */
  private async turnMasks(ctx: PartyContext, st: DeadSlotState, l: number, removed: number, P0: number, nq: number, kvLen: number): Promise<BigUint64Array> {
    const U = st.units, one = ctx.party === 0 ? 1n : 0n, mask = new BigUint64Array(U * nq * kvLen), s0 = kvLen - nq;
    for (let t = 0; t < nq; t++) for (let h = 0; h < U; h++) mask.fill(one, (h * nq + t) * kvLen, (h * nq + t) * kvLen + s0 + t);
    const first = Math.max(P0, this.budget), R = P0 + nq - first; // evicting rows first … P0 + nq − 1
    if (R <= 0) return mask;
    const { split, keep } = this.window(first), N0 = split - removed - 1, N = N0 + R, score = st.table('score', N);
    const { kept, record } = await turnTopKMasks(ctx, st, { N0, R, keep, logit: (h, j) => score[h * N + j] });
    for (let t = 0; t < R; t++) {
      for (let h = 0; h < U; h++) mask.set(kept.subarray((h * R + t) * N, (h * R + t) * N + N0 + t + 1), (h * nq + first - P0 + t) * kvLen);
    }
    this.lastEviction[l] = record;
    if (l === 0) this.evictionLog.push(record);
    return mask;
  }

  /** Running top-k masks of the prompt rows P0..P0+nq−1 (lanes, nq, kvLen): pairwise ranks (pairwise-ranks.ts), 2 rounds. */
  private async prefillTopKMasks(ctx: PartyContext, l: number, lanes: number, P0: number, nq: number, kvLen: number): Promise<BigUint64Array> {
    const S = this.model.seqLen, p0 = ctx.party === 0, one = p0 ? 1n : 0n, mask = new BigUint64Array(lanes * nq * kvLen);
    const rowsTopK = Array.from({ length: nq }, (_, t) => P0 + t).filter((P) => P + 1 > this.budget);
    const N = Math.max(0, ...rowsTopK.map((P) => this.window(P).split)), B = BigInt(indexBits(Math.max(N, 2)));
    const key = (h: number, j: number) => asUintN(64, (this.logits[l][h * S + j] << B) + (p0 ? BigInt(j) : 0n));
    // 1. every pair of the N candidates compared once; 2. per top-k row and candidate j: kept = [rank_j < keep] among [0, split)
    const rank = await pairwiseRanks(ctx, lanes, N, key), ranks: bigint[] = [], keeps: number[] = [];
    for (const P of rowsTopK) {
      const { split, keep } = this.window(P);
      for (let h = 0; h < lanes; h++) for (let j = 0; j < split; j++) { ranks.push(rank(h, j, split)); keeps.push(keep); }
    }
    const kept = await keptBits(ctx, ranks, (i) => keeps[i]);
    // 3. masks: full rows, then the top-k rows (candidates: kept bits; recent window: 1)
    let o = 0;
    for (let t = 0; t < nq; t++) {
      const P = P0 + t, top = P + 1 > this.budget, { split } = this.window(P);
      for (let h = 0; h < lanes; h++) {
        const base = (h * nq + t) * kvLen;
        for (let j = 0; j < Math.min(P, kvLen); j++) mask[base + j] = top && j < split ? kept[o + j] : one;
        if (top) o += split;
      }
    }
    return mask;
  }
}

function isSharePair(g: readonly [GateShares, GateShares] | GateShares): g is readonly [GateShares, GateShares] {
  return Array.isArray(g);
}

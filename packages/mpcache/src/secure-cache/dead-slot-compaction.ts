/**
 * compactDeadSlots — periodic physical removal of the dead slots of a lazy-deletion cache
 * (eviction-baselines.md B6, "compact only when dead slots pile up"). Per-step eviction policies
 * (H2O, TOVA, D2O, CAKE) mark evicted slots dead with a secret alive bit; attention still pays the
 * softmax of every dead row. Every `compactEvery` decoding steps (public schedule) the dead rows are
 * dropped by the order-preserving shuffle compaction (compact-rows.ts, the prefill's B4), so the
 * cache returns to its live size and the attention cost stops growing.
 *
 * What is public: the candidate span (the largest eviction range since the last compaction; all
 * dead slots lie in it), the dead count, hence the compacted size kvLen − dead. Which slots die
 * stays secret: the shuffle hides positions, and the revealed comparison bits are those of
 * distinct keys alive·2^B + slot on a uniform permutation (topK's argument).
 *
 * Rounds:    topK over U units × span (2 shuffle + 2 per quick-select step + the ordering pass)
 *            + 2 (K and V re-masked: SecureLayerCache.replace)
 * Online:    shuffle 8·U·span·(2 + W) B per party, W = 2d per lane unit (2·lanes·d per layer unit)
 *            + e carried per-slot tables; comparisons; replace 16·lanes·(kvLen − dead)·d B
 * Offline:   topK's (shuffle correlation, DCF keys); replace none
 * Accuracy:  exact: rows, their masks and carried tables move unchanged; the alive slots keep their
 *            relative order (originalOrder), so slot order is still position order and ties
 *            (oldest evicted) and public recent windows mean what they meant
 * Opens:     topK's comparison bits on shuffled distinct keys; the re-masked rows (D = W − B)
 * Steps:     1. scores = alive bits of [0, span), k = span − dead, the tables' entries as payload
 *            2. compactRows(…, originalOrder, tailFrom = span): kept rows, then rows [span, kvLen)
 *            3. the tables: kept entries, then the tail's entries; alive ← 1 everywhere
 * Cost model (B6): one compaction ≈ SHUF(k + m, 2d + 2) + 2kd words against m/2 dead rows of
 * softmax per step on average; compactEvery is public and configurable (0 = never).
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { FormulaCost, PartyContext } from '@mpcache/protocols';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { compactRows, compactRowsCost, type CompactResult } from './compact-rows';
import type { DeadSlotState } from './dead-slot-state';

/** Decoding steps between compactions when none is configured. */
export const DEFAULT_COMPACT_EVERY = 64;

/** What a compaction did (public). */
export interface CompactionRecord {
  readonly span: number;
  readonly dead: number;
  /** Rows before and after. */
  readonly kvLen: number;
  readonly rows: number;
  readonly steps: number[];
  readonly orderSteps: number[];
}

/** Throws unless `every` is a non-negative integer (0 disables compaction). */
export function checkCompactEvery(every: number): number {
  if (!Number.isInteger(every) || every < 0) throw new RangeError(`"compactEvery" expected an integer ≥ 0, got ${every}`);
  return every;
}

/**
 * The periodic compaction's public schedule, per layer: every `every` decoding calls of a layer
 * (0 = never) its dead slots are dropped, carrying the policy's per-slot tables. Shared by the
 * lazy-deletion policies (dead-slot-policy.ts) and Attention-Gate's running top-k.
 */
export class CompactionSchedule {
  private period = DEFAULT_COMPACT_EVERY;
  private readonly calls: Int32Array;
  /** The last compaction per layer (public). */
  readonly last: (CompactionRecord | null)[];

  constructor(nLayers: number) {
    this.calls = new Int32Array(nLayers);
    this.last = new Array(nLayers).fill(null);
  }

  get every(): number {
    return this.period;
  }

  set every(every: number) {
    this.period = checkCompactEvery(every);
  }

  /** Count a decoding call of `layer`; true when its compaction is due. */
  tick(layer: number): boolean {
    const calls = ++this.calls[layer];
    return this.period !== 0 && calls % this.period === 0;
  }

  /** Compact `cache` now (nothing if no slot is dead): the carried tables, compacted to (units, rows). */
  async run(ctx: PartyContext, layer: number, cache: SecureLayerCache, st: DeadSlotState, tables: readonly BigUint64Array[]): Promise<{ rows: number; tables: BigUint64Array[] } | null> {
    if (st.dead === 0) return null;
    const res = await ctx.ledger.scope('dead slot compaction', () => compactDeadSlots(ctx, cache, st, tables));
    if (!res) return null;
    this.last[layer] = res.record;
    return { rows: res.record.rows, tables: res.tables };
  }

  reset(): void {
    this.calls.fill(0);
    this.last.fill(null);
  }
}

/**
 * Drop the dead slots of `cache` (state `st`, units = lanes or 1). `tables` are per-slot secret
 * tables (units, kvLen) carried along; returns them compacted to (units, rows), rows = kvLen − dead
 * (the caller installs them: `st.install(rows, …)`). Null if nothing is dead. A span with no
 * alive slot (H2O with no heavy-hitter slot) drops it whole: no ranking, only the tail re-installed.
 */
export async function compactDeadSlots(
  ctx: PartyContext, cache: SecureLayerCache, st: DeadSlotState, tables: readonly BigUint64Array[],
): Promise<{ tables: BigUint64Array[]; record: CompactionRecord } | null> {
  const U = st.units, span = st.span, dead = st.dead, kvLen = cache.length, keep = span - dead;
  if (dead === 0) return null;
  const e = tables.length, rows = kvLen - dead;
  for (const t of tables) if (t.length !== U * kvLen) throw new RangeError(`compactDeadSlots: table of ${t.length} words for (${U}, ${kvLen})`);
  const extraData = new BigUint64Array(U * span * e);
  for (let u = 0; u < U; u++) for (let j = 0; j < span; j++) for (let c = 0; c < e; c++) extraData[(u * span + j) * e + c] = tables[c][u * kvLen + j];
  const extra: RingTensor | undefined = e > 0 ? { shape: [U, span, e], data: extraData } : undefined;
  const res = await compactRows(ctx, [cache], { shape: [U, span], data: st.table('alive', span) }, keep,
    { granularity: U === 1 ? 'layer' : 'lane', originalOrder: true, tailFrom: span, extra });
  const out = tables.map((t, c) => {
    const o = new BigUint64Array(U * rows);
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < keep; j++) o[u * rows + j] = res.extra!.data[(u * keep + j) * e + c];
      o.set(t.subarray(u * kvLen + span, (u + 1) * kvLen), u * rows + keep);
    }
    return o;
  });
  return { tables: out, record: { span, dead, kvLen, rows, steps: res.steps, orderSteps: res.orderSteps ?? [] } };
}

/**
 * The prompt's bulk eviction of a scored lazy-deletion state (H2O, Attention-Gate's top-k): keep the
 * `keep` best-scored slots of [0, end) and the tail [end, n) in original order (compactRows, lane
 * granularity), the scores moving with their rows; the state is re-installed on the kept rows.
 */
export async function compactPromptByScore(ctx: PartyContext, cache: SecureLayerCache, st: DeadSlotState, end: number, keep: number): Promise<CompactResult> {
  const U = st.units, n = cache.length, score = st.table('score', end), old = st.table('score', n);
  const res = await compactRows(ctx, [cache], { shape: [U, end], data: score }, keep,
    { granularity: 'lane', originalOrder: true, tailFrom: end, extra: { shape: [U, end, 1], data: score } }); // ranked by, and carrying, the scores
  const rows = cache.length, scores = new BigUint64Array(U * rows);
  for (let u = 0; u < U; u++) {
    scores.set(res.extra!.data.subarray(u * keep, (u + 1) * keep), u * rows);
    scores.set(old.subarray(u * n + end, (u + 1) * n), u * rows + keep);
  }
  st.install(rows, scores);
  return res;
}

/**
 * Exact cost of one compaction given its record: U units, `lanes` KV heads of headDim d, e carried
 * tables. bytesSent is per party (equal for both), offlineBytes the dealer's to both.
 */
export function compactDeadSlotsCost(U: number, lanes: number, d: number, e: number, rec: CompactionRecord): FormulaCost {
  return compactRowsCost({
    units: U, n: rec.span, k: rec.span - rec.dead, lanes, headDim: d, caches: 1, rows: rec.rows,
    granularity: U === 1 ? 'layer' : 'lane', originalOrder: true, extraWidth: e,
  }, { steps: rec.steps, orderSteps: rec.orderSteps });
}

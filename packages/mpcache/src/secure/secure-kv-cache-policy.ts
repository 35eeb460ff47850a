/**
 * SecureKVCachePolicy — the KV-cache hook of the secure decoder, the shares-side twin of
 * `cache/kv-cache-policy.ts`. It decides which cached rows attention runs over and sees the
 * attention it produced; every secret stays secret-shared, every count stays public.
 *
 * The secure attention of layer l (secure-attention.ts) calls, once per layer and forward call
 * (all heads at once: the lanes are KV heads):
 *   1. `select(ctx, view, logits)` after the scores z = q·Kᵀ/√headDim over ALL cached rows
 *      (lanes, rows, kvLen) are computed. It returns null (attend every row: the full cache, no
 *      cost) or a selection with a public size `kept`:
 *        gather(z)  → the kept logits (lanes, rows, kept);   the softmax then runs over `kept` only,
 *        scatter(p) → the probabilities back on all rows (lanes, rows, kvLen), 0 where not kept,
 *      so P·V uses the masked V cache unchanged. A selection may use public positions (local
 *      slicing, free), one-hot gather matrices on shares (z_sel = O·blocks(z); scatter = Oᵀ·p), or a
 *      secret 0/1 mask added to the logits as (mask − 1)·BIG (local; no saving, same outputs).
 *      MPCache's query-aware selection is such a selection (mpcache-algorithm.md §2).
 *   2. `observe(ctx, view, probs)` once the layer's attention output is computed, with the
 *      probabilities over all rows (lanes, rows, kvLen). Static eviction scores are local sums of
 *      them (mpcache-algorithm.md §1); because the output is already computed, observe may evict:
 *      `view.cache.replace(ctx, keys, values)` installs compacted rows (masked once, as appends are).
 *
 * Row order inside a lane is (group, query): q head h = lane·groups + g, query t → row g·nQueries + t.
 * Queries of one call sit at public positions startPos .. startPos + nQueries − 1 (prefill: the
 * whole prompt, causally masked; decode: one). The cache's rows need not be positions any more after
 * an eviction: RoPE was applied at the original positions when the rows were appended.
 *
 * Optional bracket (as in the plaintext hook): `beginPrefill(n)` before and `endPrefill(ctx, n)` after
 * the prompt's forward pass, for look-once policies that evict at the end of the prefill.
 *
 * `view` is borrowed: valid during the call (the cache object itself persists across calls).
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { CAUSAL_MASK_LOGIT } from './secure-attention';
import type { SecureLayerCache } from './secure-layer-cache';

export interface SecureAttentionView {
  readonly layer: number;
  readonly startPos: number;
  readonly nQueries: number;
  /** Query heads per KV head (nHeads / nKvHeads). */
  readonly groups: number;
  readonly headDim: number;
  /** Queries after RoPE and the 1/√headDim scale, (nKvHeads, groups·nQueries, headDim), scale f. */
  readonly q: RingTensor;
  /**
   * The layer's masked K/V cache, (nKvHeads, kvLen, headDim). In `select` the keys already hold this
   * call's rows and the values do not yet (they are masked in the P·V round); in `observe` both do.
   */
  readonly cache: SecureLayerCache;
}

export interface SecureAttentionSelection {
  /** Number of kept rows per query (public). */
  readonly kept: number;
  /** The kept logits: (lanes, rows, kvLen) → (lanes, rows, kept). */
  gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor>;
  /** The kept probabilities back on every cached row: (lanes, rows, kept) → (lanes, rows, kvLen). */
  scatter(ctx: PartyContext, probs: RingTensor): Promise<RingTensor>;
}

/** Work of a policy's own that attention runs beside its softmax (symmetric openings only: fuseRounds). */
export type BackgroundWork = (ctx: PartyContext) => Promise<void>;

export interface SecureKVCachePolicy {
  /** Short id used in reports and on the CLI (`full`, `mpcache`, `h2o`, …). */
  readonly name: string;
  /**
   * True if `select` and the selection's `gather` never read the logits' values, so attention may
   * hand them over untruncated at scale 2f (saving the scores' truncation round). Default false.
   */
  readonly acceptsWideLogits?: boolean;
  /**
   * True if rows after the prefill may arrive several per forward pass (a chat's next prompt in one
   * causal pass, Generator.extend); otherwise they come one decoding step at a time. Default false.
   * The full cache, the query-aware selections without eviction state (MPCache, Quest, token top-k:
   * several queries select nothing, so the turn attends every cached row, as their plaintext twins'
   * beginTurn bracket says), StreamingLLM and SnapKV (each query its own window: prefixWindowBand),
   * Attention-Gate (each row its flagged rows or its running top-k), and H2O, TOVA, CAKE and D2O
   * (nothing evicted during the turn): every policy this repository ships.
   */
  readonly multiRowSteps?: boolean;
  /** Rows the queries of this layer attend; null = all of them. */
  select(ctx: PartyContext, view: SecureAttentionView, logits: RingTensor): Promise<SecureAttentionSelection | null>;
  /**
   * Whether `observe` reads the probabilities at this call (default: always). When it does not,
   * attention never forms them: it weighs the values by the softmax numerators and divides each
   * output row once (softmaxWeightedSum: two rounds and 16 B per attended row-element less), and
   * `observe` gets null.
   */
  needsProbs?(view: SecureAttentionView): boolean;
  /**
   * The probabilities over all rows, (lanes, rows, kvLen), after the layer's attention output; null
   * when `needsProbs(view)` said false.
   */
  observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor | null): Promise<void>;
  /** Forget all state: a new sequence starts at position 0. */
  reset(): void;
  /** A prompt of `promptLength` tokens is about to fill an empty cache in one forward pass. */
  beginPrefill?(promptLength: number): void;
  /** The prompt's forward pass is done (every layer observed); decoding steps follow. */
  endPrefill?(ctx: PartyContext, promptLength: number): Promise<void>;
  /**
   * The normed input of layer `layer`'s attention for the call's tokens at startPos.., (n, dModel)
   * at scale f, as shares; called before that layer's `select` (Attention-Gate's gate input).
   */
  observeInput?(ctx: PartyContext, layer: number, startPos: number, xb: RingTensor): Promise<void>;
  /**
   * Benchmarks only: SecureDecoder.warmCache appended rows of shared zeros to every layer cache.
   * The policy installs the state a prompt of that length would leave (compacting the caches to
   * its kept rows, zero-valued bounds) without computing it — costs do not depend on the values.
   * A later prefill bracket on the warmed cache is then an ordinary batch of queries.
   */
  warm?(ctx: PartyContext, caches: readonly SecureLayerCache[]): Promise<void>;
  /**
   * Optional: a public string that, with the cache length and the number of new rows, determines
   * the dealer requests of layer `layer`'s attention under this policy (the decoder's speculative
   * prefetch key, CorrelationSource.planned). Default: the policy's name. A policy whose layers
   * differ (e.g. selecting vs reusing shared indices) says so here; a wrong key only costs
   * wasted dealer work, never correctness.
   */
  planKey?(layer: number, newRows?: number): string;
  /**
   * Optional: keys of the masked operands this policy's selection at `layer` multiplies by and
   * that outlive one step (e.g. cluster representatives, a leader's one-hot rows), in a fixed
   * order, so a plan recorded at one layer serves another (CorrelationSource.planned). '' stands
   * for one that does not exist yet. `startPos`: the position of the step's first new row.
   */
  planOperandKeys?(layer: number, startPos: number): string[];
  /**
   * Optional: work this layer's `select` left for later because nothing before the softmax reads its
   * result (MPCache: the bounds of clusters that complete in the forced tail), handed over once;
   * attention runs it beside the softmax so that its rounds overlap the softmax's. null: none.
   */
  takeBackground?(layer: number): BackgroundWork | null;
}

/** The full cache: every query attends every cached row. The default policy. */
export class SecureFullCache implements SecureKVCachePolicy {
  readonly name = 'full';
  readonly acceptsWideLogits = true;
  readonly multiRowSteps: boolean = true;
  async select(): Promise<null> {
    return null;
  }
  needsProbs(): boolean {
    return false;
  }
  async observe(): Promise<void> {}
  reset(): void {}
}

/**
 * A selection of public rows (the same for every lane and query): gather and scatter are local
 * slicing, no cost. Sinks + a recent window (StreamingLLM) and MPCache's forced clusters are this.
 * Rows must be distinct and < kvLen; causally masked logits stay masked.
 */
export class PublicRowSelection implements SecureAttentionSelection {
  readonly kept: number;
  constructor(private readonly rows: Int32Array, private readonly kvLen: number) {
    this.kept = rows.length;
  }

  async gather(_ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, m, kvLen] = logits.shape, k = this.kept, out = new BigUint64Array(lanes * m * k), d = logits.data;
    for (let r = 0; r < lanes * m; r++) for (let j = 0; j < k; j++) out[r * k + j] = d[r * kvLen + this.rows[j]];
    return { shape: [lanes, m, k], data: out };
  }

  async scatter(_ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    const [lanes, m, k] = probs.shape, n = this.kvLen, out = new BigUint64Array(lanes * m * n), d = probs.data;
    for (let r = 0; r < lanes * m; r++) for (let j = 0; j < k; j++) out[r * n + this.rows[j]] = d[r * k + j];
    return { shape: [lanes, m, n], data: out };
  }
}

/**
 * Several queries of one pass (rows kvLen − n + t, t < n), each under its own public row mask: the
 * union of their rows as a PublicRowSelection, and for the entries a query may not attend P0 adds
 * the filler logit (as attention's causal mask does), which the softmax's exp clips to exactly 0,
 * so the scattered probabilities are 0 there. No cost beyond the public slicing.
 */
export class BandRowSelection extends PublicRowSelection {
  /**
   * @param excludes (t, row): whether query t may not attend cached row `row`
   * @param filler the filler logit at the logits' scale (encodeScalar(CAUSAL_MASK_LOGIT, f))
   */
  constructor(private readonly unionRows: Int32Array, kvLen: number, private readonly nQueries: number, private readonly excludes: (t: number, row: number) => boolean, private readonly filler: bigint) {
    super(unionRows, kvLen);
  }

  override async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const out = await super.gather(ctx, logits);
    if (ctx.party !== 0) return out;
    const [lanes, m, k] = out.shape, d = out.data;
    for (let r = 0; r < lanes * m; r++) {
      const t = r % this.nQueries; // row order (group, query)
      for (let j = 0; j < k; j++) if (this.excludes(t, this.unionRows[j])) d[r * k + j] = BigInt.asUintN(64, d[r * k + j] + this.filler);
    }
    return out;
  }
}

/**
 * n ≥ 1 decoding queries in one pass (query t is row kvLen − n + t, its own length len_t = kvLen − n + t + 1),
 * each attending the public rows [0, prefix) ∪ [len_t − window, len_t) — exactly what it would attend
 * as a decoding step of its own — or every row while len_t ≤ denseUpTo (default prefix + window, where
 * the two coincide): the union of their rows, a PublicRowSelection for one query, masked per query
 * for several (BandRowSelection); null when no query excludes a row. StreamingLLM (prefix = sinks)
 * and SnapKV's decoding window (prefix = its kept prompt rows) select this way, a step or a turn.
 */
export function prefixWindowBand(kvLen: number, n: number, prefix: number, window: number, fracBits: number, denseUpTo = prefix + window): SecureAttentionSelection | null {
  const first = kvLen - n, dense = (t: number) => first + t + 1 <= denseUpTo;
  if (dense(n - 1) || kvLen <= prefix + window) return null;
  const lo = dense(0) ? prefix : Math.max(prefix, first + 1 - window), rows = new Int32Array(prefix + kvLen - lo);
  for (let j = 0; j < prefix; j++) rows[j] = j;
  for (let j = lo; j < kvLen; j++) rows[prefix + j - lo] = j;
  const excludes = (t: number, row: number) => !dense(t) && row >= prefix && row < first + t + 1 - window;
  return n === 1 ? new PublicRowSelection(rows, kvLen) : new BandRowSelection(rows, kvLen, n, excludes, encodeScalar(CAUSAL_MASK_LOGIT, fracBits));
}

/**
 * StreamingLLM on shares: attend the first `sinks` rows and the last `window` rows (public
 * positions, free in MPC); the full cache while kvLen ≤ sinks + window. Rows are never evicted
 * from storage (eviction-by-selection gives the same outputs, eviction-baselines.md).
 * `windowSelection`: decoding queries, one (a step) or several in one pass (a chat's turn), each
 * with its own window.
 */
export class SecureSinkWindowCache implements SecureKVCachePolicy {
  readonly name = 'streaming';
  constructor(readonly sinks: number, readonly window: number) {
    if (!Number.isInteger(sinks) || sinks < 0 || !Number.isInteger(window) || window < 1) {
      throw new RangeError(`"sinks" expected ≥ 0 and "window" ≥ 1, got ${sinks} and ${window}`);
    }
  }

  async select(ctx: PartyContext, view: SecureAttentionView): Promise<SecureAttentionSelection | null> {
    // Prefill queries see a causal triangle; the window is defined for single-query decode steps.
    return view.nQueries === 1 ? this.windowSelection(view, ctx.fracBits) : null;
  }

  /** Decoding queries (a step, or a turn in one pass), each with its own sinks + window (prefixWindowBand). */
  windowSelection(view: SecureAttentionView, fracBits: number): SecureAttentionSelection | null {
    return prefixWindowBand(view.cache.length, view.nQueries, this.sinks, this.window, fracBits);
  }

  needsProbs(): boolean {
    return false;
  }
  async observe(): Promise<void> {}
  reset(): void {}
}

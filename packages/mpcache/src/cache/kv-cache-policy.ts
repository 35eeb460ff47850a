/**
 * KVCachePolicy — the hook through which a KV-cache policy decides, per layer, head and query
 * position, which cached positions attention may use, and sees the attention it produced.
 *
 * The plaintext reference decoder (`model/reference-decoder.ts`) calls, for every layer and head of
 * every forward step, in this order:
 *   1. `attendMask(view)` — a 0/1 byte per cached position 0..pos (1 = attend), or null for all.
 *      Masked positions get logit −∞, hence probability 0: eviction by masking, which gives the same
 *      outputs as removing the rows (attention is order-free over cached (K, V) rows with RoPE applied
 *      at the original positions; eviction-baselines.md B5/B6). The query's own position pos is always
 *      attended, whatever mask[pos] says, so a softmax row is never empty.
 *   2. `observe(view, probs)` — the probabilities over 0..pos (0 where masked), which H2O, TOVA,
 *      SnapKV and MPCache's static scores accumulate.
 * The same interface runs on shares in the secure decoder, where the mask and the probabilities are
 * secret-shared; in plaintext it is the quality simulation.
 *
 * Optional events (a policy that does not define them behaves as before; FullCache defines none):
 *   - `beginPrefill(n)` / `endPrefill(n)`: the decoder's `prefill(tokens)` on an EMPTY cache brackets
 *     the n prompt positions with them. Look-once policies (SnapKV, CAKE, MPCache's static eviction)
 *     use the bracket to know the observation window in advance and to evict once at its end.
 *     Without the bracket (raw `forward` calls) every position is a decoding step.
 *   - `beginTurn(n)` / `endTurn(n)`: the decoder's `extend(tokens)` (a chat's later turn, on a NON-empty
 *     cache) brackets its n positions with them. A policy that defines them gives those positions
 *     what its secure twin's one causal pass gives them (`SecureKVCachePolicy.multiRowSteps`): the
 *     query-aware ones (MPCache, Quest, token top-k) select nothing, so every cached position (MPCache:
 *     of the post-static sequence) is attended, as in a prefill; the evicting ones (H2O, TOVA, D2O
 *     CAKE) evict nothing until the step after the turn. Without them the turn's
 *     positions are decoding steps.
 *   - `observeInput(layer, pos, xb)`: the normed input of layer `layer`'s attention block at `pos`,
 *     (dModel), called once per layer before the heads' `attendMask` (Attention-Gate's gate input).
 *   - `rowOverrides(view)`: rows of this head's cache to replace, for this call only, in both q·Kᵀ
 *     and P·V (D2O merges evicted tokens into kept ones and so changes their K/V). The cache itself
 *     is never written; in the secure decoder a merged row is an appended row plus alive bits.
 * Per layer the order is: observeInput, then per head attendMask, rowOverrides, softmax, observe.
 *
 * `view` and the arrays in it are borrowed: valid only during the call (copy what you keep).
 */
export interface AttentionView {
  readonly layer: number;
  /** Query head; its keys and values are those of kvHead = floor(head / (nHeads / nKvHeads)). */
  readonly head: number;
  readonly kvHead: number;
  /** Position of the query; keys 0..pos are cached (pos + 1 = kvLen). */
  readonly pos: number;
  /** This head's query after RoPE, (headDim). */
  readonly q: Float64Array;
  /** The layer's cached keys (after RoPE), (kvLen, kvDim) row-major; this head's slice starts at kvHead·headDim. */
  readonly keyCache: Float64Array;
  /** The layer's cached values, (kvLen, kvDim) row-major. */
  readonly valueCache: Float64Array;
  readonly headDim: number;
  readonly kvDim: number;
}

/** Replacement cache rows for one (layer, head) call; the first `count` entries are used. */
export interface CacheRowOverrides {
  readonly count: number;
  /** Positions of the replaced rows (each ≤ pos, distinct). */
  readonly positions: Int32Array;
  /** Replacement keys for this head's slice, (count, headDim) row-major. */
  readonly keys: Float64Array;
  /** Replacement values for this head's slice, (count, headDim) row-major. */
  readonly values: Float64Array;
}

export interface KVCachePolicy {
  /** Short id used in reports and on the CLI (`full`, `mpcache`, `h2o`, …). */
  readonly name: string;
  /** Positions 0..pos the query may attend (1 = keep), or null for all of them. */
  attendMask(view: AttentionView): Uint8Array | null;
  /** The attention probabilities just computed for this layer, head and query, (pos + 1). */
  observe(view: AttentionView, probs: Float64Array): void;
  /** Forget all state: a new sequence starts at position 0. */
  reset(): void;
  /** A prompt of `promptLength` positions starts filling an empty cache (decoder `prefill`). */
  beginPrefill?(promptLength: number): void;
  /** The prompt's last position has been processed; decoding steps follow. */
  endPrefill?(promptLength: number): void;
  /** A later turn of `rows` positions starts (decoder `extend`): no per-step selection or eviction until endTurn. */
  beginTurn?(rows: number): void;
  /** The turn's last position has been processed; decoding steps follow. */
  endTurn?(rows: number): void;
  /** The normed input of layer `layer`'s attention at `pos`, (dModel); borrowed like `view`. */
  observeInput?(layer: number, pos: number, xb: Float64Array): void;
  /** Rows to substitute for this call's cached K/V of this head, or null for none. */
  rowOverrides?(view: AttentionView): CacheRowOverrides | null;
}

/** The full cache: every query attends every cached position. The default policy. */
export class FullCache implements KVCachePolicy {
  readonly name = 'full';
  attendMask(): Uint8Array | null {
    return null;
  }
  observe(): void {}
  reset(): void {}
}

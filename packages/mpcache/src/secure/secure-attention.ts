/**
 * secureAttention — one layer's multi-head causal attention on shares with a masked K/V cache, for
 * n new queries at public positions startPos.. (prefill: the prompt; decode: n = 1).
 *
 * Rounds:    1 (scores + key append) + 1 (truncation) + softmax + policy + 1 (P·V + value append)
 *            (− 2 with softmaxWeightedSum, step 6);
 *            no truncation round for a policy that accepts wide logits (full cache, MPCache)
 * Online:    per party 8·(|q| + |k_new|) + 8·|scores| (truncation) + softmax + 8·(|P| + |v_new|) B
 *            (the cached rows are never re-opened: they were masked once, when appended)
 * Offline:   two masked-product triples (8 B per output element to P0) + a truncation pair per score
 *            + the softmax's material. Exact for the full cache (nothing selected): fullCacheAttentionCost
 * Accuracy:  scores within 1 ulp (truncPr) of q·k/√headDim on the encoded inputs; the softmax's bound;
 *            the output P·V is returned UNTRUNCATED at scale 2f (the caller folds its truncation into
 *            the wo product's)
 * Steps:     1. split heads: q → (nKvHeads, groups·n, headDim), k, v → (nKvHeads, n, headDim)
 *            2. scores z = q·Kᵀ over the whole cache, appending k in the same round; truncate by f
 *               (q already carries 1/√headDim, rope-shares.ts) — unless the policy accepts wide
 *               logits: then z stays at 2f and the softmax reads it there (its exp truncates its
 *               input inside its own opening, its row max compares 48-bit values)
 *            3. causal mask: a new query t may not see the new rows after it: P0 adds the public
 *               filler CAUSAL_MASK_LOGIT there (local); the softmax's exp clips it to exactly 0
 *            4. KV-cache policy: select rows (gather the kept logits)
 *            5. softmax over the kept logits (one softmaxRows call for all heads), scatter back;
 *               the policy's background work (takeBackground), if any, runs beside it (fuseRounds:
 *               its rounds overlap the softmax's; its online bytes count in the 'softmax' scope)
 *            6. weighted sum of the values P·V, appending v in the same round
 *               — when the policy does not read P at this call (needsProbs false: the full cache,
 *               MPCache and SnapKV after the prompt, StreamingLLM, Quest, Attention-Gate), 5–6 are
 *               one softmaxWeightedSum: the numerators e are scattered and weighed (e·V) beside the
 *               reciprocal of Σe, and each output row is divided once: two rounds and 16 B per
 *               attended row-element less (the product e·(1/s) and its truncation), 24 B per
 *               output element more
 *            7. policy observes the probabilities, or null (may evict now that the output is computed)
 *            8. merge heads → (n, dModel) at scale 2f
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import { fuseRounds, maskedMatmul, maskedMatmulCost, sumCosts, truncPr, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import type { ModelConfig } from '../model/config';
import { softmaxOnShares, softmaxWeightedSumOnShares, softmaxWeightedSumOnSharesCost } from './secure-nonlinear';
import type { SecureKVCachePolicy, SecureAttentionView } from './secure-kv-cache-policy';
import type { SecureLayerCache } from './secure-layer-cache';
import { mergeHeads, splitHeads } from './rope-shares';

/** Logit given to causally masked entries (real value): far below any softmax's clipping point. */
export const CAUSAL_MASK_LOGIT = -256;

const { asUintN } = BigInt;

export interface AttentionInputs {
  readonly layer: number;
  readonly startPos: number;
  /** (n, dModel) at scale f: after RoPE and the 1/√headDim scale. */
  readonly q: RingTensor;
  /** (n, kvDim) at scale f, after RoPE. */
  readonly k: RingTensor;
  /** (n, kvDim) at scale f. */
  readonly v: RingTensor;
}

/** Attention output (n, dModel) at scale 2f; appends this call's k, v to `cache`. */
export async function secureAttention(
  ctx: PartyContext, c: ModelConfig, cache: SecureLayerCache, policy: SecureKVCachePolicy, inp: AttentionInputs,
): Promise<RingTensor> {
  const n = inp.q.shape[0], lanes = c.nKvHeads, groups = c.nHeads / c.nKvHeads, hs = c.headDim;
  // 1. split heads
  const q = splitHeads(inp.q, 0, lanes, groups, hs);
  const k = splitHeads(inp.k, 0, lanes, 1, hs), v = splitHeads(inp.v, 0, lanes, 1, hs);
  const old = cache.length;

  // 2. attention scores q·k/√headDim over the cache (appends k); at 2f, untruncated, for a policy
  //    that never reads them (softmax's exp truncates its input in its own opening)
  const wide = policy.acceptsWideLogits === true, scoreScale = (wide ? 2 : 1) * ctx.fracBits;
  const scores = await ctx.ledger.scope('attention scores', async () => {
    const z = await maskedMatmul(ctx, q, cache.keys, { transpose: true, append: k });
    return wide ? z : truncPr(ctx, z);
  });
  // 3. causal mask over this call's rows
  if (n > 1) applyCausalMask(ctx, scores, n, old, scoreScale);

  // 4. KV-cache policy: rows to attend
  const view: SecureAttentionView = { layer: inp.layer, startPos: inp.startPos, nQueries: n, groups, headDim: hs, q, cache };
  const sel = await ctx.ledger.scope('kv cache policy', () => policy.select(ctx, view, scores));
  const kept = sel ? await ctx.ledger.scope('kv cache policy', () => sel.gather(ctx, scores)) : scores;

  // 5.–6. softmax and the weighted sum of the values (appends v). A policy that does not read the
  //    probabilities lets the values be weighed by the softmax numerators, scattered back if it
  //    selected, and each output row be divided once (softmaxWeightedSum); otherwise P is formed.
  //    Scatter exactly once: D2O's merged selection is not idempotent (Mᵀ·p) and keeps what it scattered.
  const scatter = async (c: PartyContext, w: RingTensor): Promise<RingTensor> => (sel ? c.ledger.scope('kv cache policy', () => sel.scatter(c, w)) : w);
  const weigh = (c: PartyContext, all: RingTensor): Promise<RingTensor> =>
    c.ledger.scope('weighted sum of values', () => maskedMatmul(c, all, cache.values, { append: v }));
  const background = policy.takeBackground?.(inp.layer) ?? null;
  const softmax = <T>(body: (c: PartyContext) => Promise<T>): Promise<T> => ctx.ledger.scope('softmax', async () =>
    background ? (await fuseRounds(ctx, [body, background]))[0] : body(ctx));
  let out: RingTensor, probs: RingTensor | null = null;
  if (policy.needsProbs?.(view) === false) {
    out = await softmax((c) => softmaxWeightedSumOnShares(c, kept, scoreScale, async (c1, e) => weigh(c1, await scatter(c1, e))));
  } else {
    const pKept = await softmax((c) => softmaxOnShares(c, kept, scoreScale));
    probs = await scatter(ctx, pKept);
    out = await weigh(ctx, probs);
  }

  // 7. the policy sees the probabilities (null if it said it does not need them)
  await ctx.ledger.scope('kv cache policy', () => policy.observe(ctx, view, probs));
  // 8. merge heads
  return mergeHeads(out, n);
}

/**
 * Exact cost (offline: both parties) of secureAttention for n query rows joining a cache of `cached`
 * rows under a policy that selects nothing, takes wide logits and never reads the probabilities
 * (SecureFullCache): q·Kᵀ appending k, then the softmax weighing V (P·V appending v); the causal mask is
 * local. Other policies add their selection's cost to this (and form P when they read it).
 */
export function fullCacheAttentionCost(n: number, c: ModelConfig, fracBits: number, cached: number): FormulaCost {
  const lanes = c.nKvHeads, rows = (c.nHeads / c.nKvHeads) * n, kvLen = cached + n, hs = c.headDim, appended = lanes * n * hs;
  const scores = maskedMatmulCost([lanes, rows, hs], [lanes, rows, kvLen], appended);
  const pv = maskedMatmulCost([lanes, rows, kvLen], [lanes, rows, hs], appended);
  return sumCosts([scores, softmaxWeightedSumOnSharesCost(lanes * rows, kvLen, hs, pv, fracBits, 2 * fracBits)]);
}

/** P0 adds CAUSAL_MASK_LOGIT to score (lane, g·n + t, old + u) for every u > t (local). */
function applyCausalMask(ctx: PartyContext, scores: RingTensor, n: number, old: number, fracBits: number): void {
  if (ctx.party !== 0) return;
  const [lanes, rows, kvLen] = scores.shape, d = scores.data, big = encodeScalar(CAUSAL_MASK_LOGIT, fracBits);
  for (let r = 0; r < lanes * rows; r++) {
    const t = r % n, base = r * kvLen + old;
    for (let u = t + 1; u < n; u++) d[base + u] = asUintN(64, d[base + u] + big);
  }
}

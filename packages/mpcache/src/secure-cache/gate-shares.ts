/**
 * Attention-Gate on shares, the gate itself (cache/attention-gate-weights.ts for the network):
 * the user's gate weights as additive shares, and the keep logits g (nHeads per token) computed on
 * shares from the layer's normed attention input xb, which stays secret.
 *
 * shareAttentionGateWeights — the model owner splits the weights (fixed point f; wq pre-scaled by
 *   1/√gateHeadDim, the score scale; bg at scale 2f) into two shares from a seed (local).
 * gateLogits (per layer and forward call of n tokens):
 *   Rounds:   2 (mask wqkv, then wg: first call per layer only) + 2 (q′k′v′ product, truncation)
 *             + secureAttention's (gate heads over the gate's own K′/V′ cache, full, causal)
 *             + 1 (truncate z) + 2 (wg product, truncation)
 *   Online:   maskedMatmul of (n, D)·(D, 3gd) and (n, gd)·(gd, H), truncations of 3gd, gd, H words
 *             per token, and the gate attention over n + cached rows (secure-attention.ts)
 *   Accuracy: q′, k′, v′, z and g within a few ulps of the fixed-point plaintext (truncPr per
 *             product, the secure softmax's error): gate logits are close, not bit-identical
 *   Opens:    only masked values (the weights once, when masked; products; truncations)
 *   Exact:    gateLogitsCost(n, shares, f, cached, first)
 * The gate attention reuses secureAttention with a gate-shaped config and the full cache, so its
 * costs appear under the usual scope names ('attention scores', 'softmax', …) nested in the
 * policy's 'attention gate' scope.
 */
import { AesCtrPrg, share, type RingTensor } from '@mpcache/mpc-core';
import { maskedMatmul, maskedMatmulCost, maskOperand, maskOperandCost, sumCosts, truncPr, truncPrCost, type FormulaCost, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import type { AttentionGateWeights } from '../cache/attention-gate-weights';
import type { ModelConfig } from '../model/config';
import { encodeWords } from '../secure/shared-weights';
import { fullCacheAttentionCost, secureAttention } from '../secure/secure-attention';
import { SecureFullCache } from '../secure/secure-kv-cache-policy';
import { SecureLayerCache } from '../secure/secure-layer-cache';
import { transposeConcat } from '../secure/secure-weights';

const { asUintN } = BigInt;

/** One party's share of one layer's gate: wqkv (D, 3gd) at f, wg (gd, H) at f, bg (H) at 2f. */
export interface GateLayerShares {
  readonly wqkv: RingTensor;
  readonly wg: RingTensor;
  readonly bg: RingTensor;
}

export interface GateShares {
  /** Fixed-point precision f of the shares (set by shareAttentionGateWeights; must be the session's). */
  readonly fracBits?: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly gateHeads: number;
  readonly gateHeadDim: number;
  readonly layers: readonly GateLayerShares[];
}

/** Both parties' shares of the gate (the model owner's step; `seed` 16 bytes). */
export function shareAttentionGateWeights(w: AttentionGateWeights, fracBits: number, seed: Uint8Array): [GateShares, GateShares] {
  const prg = new AesCtrPrg(seed), gd = w.gateHeads * w.gateHeadDim, D = w.dModel, H = w.nHeads, scale = 1 / Math.sqrt(w.gateHeadDim);
  const sh = (x: Float32Array, shape: number[], f = fracBits) => share({ shape, data: encodeWords(x, f) }, prg);
  const per = w.layers.map((L) => {
    const wq = sh(L.wq.map((x) => x * scale), [gd, D]), wk = sh(L.wk, [gd, D]), wv = sh(L.wv, [gd, D]);
    const wg = sh(L.wg, [H, gd]), bg = sh(L.bg, [H], 2 * fracBits);
    return [0, 1].map((b) => ({ wqkv: transposeConcat([wq[b], wk[b], wv[b]]), wg: transposeConcat([wg[b]]), bg: bg[b] })) as [GateLayerShares, GateLayerShares];
  });
  const mk = (b: 0 | 1): GateShares => ({ fracBits, dModel: D, nHeads: H, gateHeads: w.gateHeads, gateHeadDim: w.gateHeadDim, layers: per.map((p) => p[b]) });
  return [mk(0), mk(1)];
}

/** One party's gate state: masked weights and the gate's K′/V′ cache per layer (created lazily). */
export class SecureGate {
  private readonly ops: ({ wqkv: MaskedOperand; wg: MaskedOperand } | null)[];
  private readonly caches: (SecureLayerCache | null)[];

  constructor(readonly shares: GateShares) {
    this.ops = new Array(shares.layers.length).fill(null);
    this.caches = new Array(shares.layers.length).fill(null);
  }

  /** Gate rows cached in `layer` (= positions seen). */
  rows(layer: number): number {
    return this.caches[layer]?.length ?? 0;
  }

  /** Keep logits (n, nHeads) at scale f of the n tokens whose normed input is xb (n, dModel) at f. */
  async logits(ctx: PartyContext, layer: number, startPos: number, xb: RingTensor): Promise<RingTensor> {
    const s = this.shares, f = ctx.fracBits, gh = s.gateHeads, gdh = s.gateHeadDim, gd = gh * gdh, n = xb.shape[0], L = s.layers[layer];
    const ops = (this.ops[layer] ??= { wqkv: await maskOperand(ctx, L.wqkv), wg: await maskOperand(ctx, L.wg) });
    const cache = (this.caches[layer] ??= await SecureLayerCache.create(ctx, gh, gdh));
    const qkv = await truncPr(ctx, await maskedMatmul(ctx, xb, ops.wqkv)); // (n, 3gd) at f
    const col = (from: number): RingTensor => {
      const out = new BigUint64Array(n * gd);
      for (let t = 0; t < n; t++) out.set(qkv.data.subarray(t * 3 * gd + from, t * 3 * gd + from + gd), t * gd);
      return { shape: [n, gd], data: out };
    };
    const cfg = { nHeads: gh, nKvHeads: gh, headDim: gdh, dModel: gd } as ModelConfig;
    const att = await secureAttention(ctx, cfg, cache, new SecureFullCache(), { layer, startPos, q: col(0), k: col(gd), v: col(2 * gd) });
    const z = await truncPr(ctx, att); // (n, gd) at f
    const g = await maskedMatmul(ctx, z, ops.wg); // (n, H) at 2f
    for (let t = 0; t < n; t++) for (let h = 0; h < s.nHeads; h++) g.data[t * s.nHeads + h] = asUintN(64, g.data[t * s.nHeads + h] + L.bg.data[h]);
    return truncPr(ctx, g);
  }

  /** Benchmarks only: `rows` zero rows in every layer's gate cache (masked as appends are). */
  async warm(ctx: PartyContext, rows: number): Promise<void> {
    const gh = this.shares.gateHeads, gdh = this.shares.gateHeadDim, shape = [gh, rows, gdh];
    for (let l = 0; l < this.caches.length; l++) {
      const c = (this.caches[l] ??= await SecureLayerCache.create(ctx, gh, gdh));
      await c.appendRows(ctx, { shape, data: new BigUint64Array(gh * rows * gdh) }, { shape, data: new BigUint64Array(gh * rows * gdh) });
    }
  }

  reset(): void {
    this.caches.fill(null);
  }
}

/**
 * Exact cost (offline: both parties) of SecureGate.logits for n tokens after `cached` gate rows of the
 * layer; `first`: the layer's first call, which masks its wqkv and wg.
 */
export function gateLogitsCost(n: number, s: Pick<GateShares, 'dModel' | 'nHeads' | 'gateHeads' | 'gateHeadDim'>, fracBits: number, cached: number, first: boolean): FormulaCost {
  const gh = s.gateHeads, gdh = s.gateHeadDim, gd = gh * gdh, D = s.dModel, H = s.nHeads;
  const cfg = { nHeads: gh, nKvHeads: gh, headDim: gdh, dModel: gd } as ModelConfig;
  return sumCosts([
    ...(first ? [maskOperandCost([D, 3 * gd]), maskOperandCost([gd, H])] : []),
    maskedMatmulCost([n, D], [n, 3 * gd]), truncPrCost(n * 3 * gd, fracBits), // q′k′v′
    fullCacheAttentionCost(n, cfg, fracBits, cached), truncPrCost(n * gd, fracBits), // z at f
    maskedMatmulCost([n, gd], [n, H]), truncPrCost(n * H, fracBits), // g = z·wg + bg at f
  ]);
}

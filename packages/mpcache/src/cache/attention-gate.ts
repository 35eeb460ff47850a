/**
 * Attention-Gate (Zeng et al., arXiv 2410.12876) — a learned gate before each attention layer emits
 * a keep logit per token, per head (weights and format: attention-gate-weights.ts); a token's KV is
 * kept for later queries of head h iff its flag is set. The model is trained under this mask, so it
 * applies inside the prefill too (`maskPrefill`), and each new token is gated when it arrives.
 *
 * Counts (eviction-baselines.md §8.4): 'threshold' keeps every token with logit > threshold (the
 * trained behaviour; data-dependent counts, which a secure run must reveal), 'topk' keeps the
 * budget − 1 highest-logit older tokens (ties: older loses) — the equal-budget default; with a fixed
 * logit per token the top-k over a growing set only ever evicts, so it is a cache. The query's own
 * position is always attended; 'topk' may reserve a recent window (`recentFraction`, flagged).
 * Pure selection: `gateKeptPositions`.
 * Fixed point: the gate's matmuls, softmax and logits are rounded once each (fxRound).
 */
import { matvec } from '../model/blocks';
import { topKPositions } from './top-k-kept';
import { fxRound, PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionGateWeights } from './attention-gate-weights';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface AttentionGateOptions {
  weights: AttentionGateWeights;
  countMode: 'topk' | 'threshold';
  /** Logit threshold of 'threshold' mode (σ(g) > 0.5 ⇔ g > 0). */
  threshold: number;
  maskPrefill: boolean;
  /** 'topk' mode: share of the budget reserved for the newest positions (the query's own included);
   *  0 = the gate alone decides. Flagged: whether AG forces a local window is not established (§8.2). */
  recentFraction: number;
}

/**
 * Pure selection for query `pos`: the older positions kept, ascending (pos excluded). 'topk': the
 * `recent` − 1 positions before pos, plus the top (keep − recent + 1) of the rest by gate logit.
 */
export function gateKeptPositions(logits: ArrayLike<number>, pos: number, mode: 'topk' | 'threshold', keep: number,
  threshold: number, recent = 1): Int32Array {
  if (mode === 'threshold') return Int32Array.from({ length: pos }, (_, j) => j).filter((j) => logits[j] > threshold);
  const r = Math.max(1, Math.min(recent, keep + 1)), split = Math.max(0, pos - r + 1);
  const chosen = topKPositions(logits, Int32Array.from({ length: split }, (_, j) => j), keep - (pos - split));
  const out = new Int32Array(chosen.length + pos - split);
  out.set(chosen);
  for (let j = split; j < pos; j++) out[chosen.length + j - split] = j;
  return out;
}

export class AttentionGatePolicy implements KVCachePolicy {
  readonly name = 'attention-gate';
  private readonly phase = new PromptPhase();
  private readonly gk: Float64Array[] = []; // per layer (seqLen, gateHeads·gateHeadDim)
  private readonly gv: Float64Array[] = [];
  private readonly logits: Float64Array[] = []; // per (layer, head): (seqLen)
  private readonly zs: Float64Array[] = [];     // per layer (seqLen, gateHeads·gateHeadDim): MHA′ outputs
  private readonly mask: Uint8Array;
  private readonly tmpQ: Float64Array; private readonly tmpK: Float64Array; private readonly tmpV: Float64Array;
  private readonly z: Float64Array; private readonly g: Float64Array; private readonly att: Float64Array;

  constructor(private readonly ctx: PolicyContext, readonly opts: AttentionGateOptions) {
    const { nLayers, nHeads, seqLen } = ctx.model, w = opts.weights, gd = w.gateHeads * w.gateHeadDim;
    if (w.layers.length !== nLayers || w.nHeads !== nHeads) {
      throw new RangeError(`attention-gate weights expected ${nLayers} layers × ${nHeads} heads, got ${w.layers.length} × ${w.nHeads}`);
    }
    for (let l = 0; l < nLayers; l++) {
      this.gk.push(new Float64Array(seqLen * gd)); this.gv.push(new Float64Array(seqLen * gd)); this.zs.push(new Float64Array(seqLen * gd));
    }
    for (let u = 0; u < nLayers * nHeads; u++) this.logits.push(new Float64Array(seqLen));
    this.mask = new Uint8Array(seqLen);
    this.tmpQ = new Float64Array(gd); this.tmpK = new Float64Array(gd); this.tmpV = new Float64Array(gd);
    this.z = new Float64Array(gd); this.g = new Float64Array(nHeads); this.att = new Float64Array(seqLen);
  }

  /** The gate masks the prefill (trained behaviour): the policy needs its own prefill run. */
  get masksPrefill(): boolean {
    return this.opts.maskPrefill;
  }

  /** The gate's MHA′ outputs z of `layer`, (seqLen, gateHeads·gateHeadDim), row pos valid once seen (gate fitting). */
  gateFeatures(layer: number): Float64Array {
    return this.zs[layer];
  }

  /** Gate logits of (layer, head) for positions 0..pos seen so far. */
  gateLogits(layer: number, head: number): Float64Array {
    return this.logits[layer * this.ctx.model.nHeads + head];
  }

  observeInput(layer: number, pos: number, xb: Float64Array): void {
    const W = this.opts.weights, L = W.layers[layer], D = W.dModel, gh = W.gateHeads, gdh = W.gateHeadDim, gd = gh * gdh;
    const f = this.ctx.fracBits, r = (a: Float64Array) => { for (let i = 0; i < a.length; i++) a[i] = fxRound(a[i], f); };
    matvec(this.tmpQ, xb, L.wq, 0, D, gd); matvec(this.tmpK, xb, L.wk, 0, D, gd); matvec(this.tmpV, xb, L.wv, 0, D, gd);
    r(this.tmpQ); r(this.tmpK); r(this.tmpV);
    this.gk[layer].set(this.tmpK, pos * gd);
    this.gv[layer].set(this.tmpV, pos * gd);
    const K = this.gk[layer], V = this.gv[layer], att = this.att, scale = 1 / Math.sqrt(gdh);
    this.z.fill(0);
    for (let g = 0; g < gh; g++) {
      let max = -Infinity;
      for (let t = 0; t <= pos; t++) {
        let s = 0;
        for (let i = 0; i < gdh; i++) s += this.tmpQ[g * gdh + i] * K[t * gd + g * gdh + i];
        att[t] = fxRound(s * scale, f);
        if (att[t] > max) max = att[t];
      }
      let sum = 0;
      for (let t = 0; t <= pos; t++) { att[t] = Math.exp(att[t] - max); sum += att[t]; }
      for (let t = 0; t <= pos; t++) {
        const p = fxRound(att[t] / sum, f);
        for (let i = 0; i < gdh; i++) this.z[g * gdh + i] += p * V[t * gd + g * gdh + i];
      }
    }
    r(this.z);
    this.zs[layer].set(this.z, pos * gd);
    matvec(this.g, this.z, L.wg, 0, gd, this.ctx.model.nHeads);
    for (let h = 0; h < this.ctx.model.nHeads; h++) this.logits[layer * this.ctx.model.nHeads + h][pos] = fxRound(this.g[h] + L.bg[h], f);
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const pos = view.pos, len = pos + 1;
    if (this.phase.inPrefill && !this.opts.maskPrefill) return null;
    if (this.opts.countMode === 'topk' && len <= this.ctx.budget) return null;
    const recent = Math.floor(this.ctx.budget * this.opts.recentFraction);
    const kept = gateKeptPositions(this.logits[view.layer * this.ctx.model.nHeads + view.head], pos, this.opts.countMode, this.ctx.budget - 1, this.opts.threshold, recent);
    this.mask.fill(0, 0, len);
    for (const j of kept) this.mask[j] = 1;
    this.mask[pos] = 1;
    return this.mask.subarray(0, len);
  }

  observe(): void {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  reset(): void { this.phase.reset(); }
}

/**
 * ReferenceDecoder — the plaintext float64 transformer with a KV cache: run.c `forward` step for
 * step and name for name, for both families of `config.ts`. The secure decoder follows the same
 * section comments in the same order, so the two diff by eye and are tested against each other.
 *
 * Steps of forward(token, pos), per layer l (llama | gpt2 where they differ):
 *   copy the token embedding into x (gpt2: + posEmb[pos])
 *   attention rmsnorm (gpt2: layernorm)     xb = norm(x)
 *   qkv matmuls for this position           q = wq·xb, k = wk·xb, v = wv·xb
 *   RoPE (llama only)                       rotate (i, i+1) pairs of q and k by pos·θ^(−i/headDim)
 *   store k, v in the cache at pos
 *   multihead attention, per head h         att = softmax(q_h·K_hᵀ/√headDim over the policy's
 *                                           positions), xb_h = att·V_h
 *   final matmul of the attention           xb2 = wo·xb;  x += xb2
 *   ffn rmsnorm (gpt2: layernorm)           xb = norm(x)
 *   SwiGLU (gpt2: GeLU MLP)                 hb = silu(w1·xb) ⊙ (w3·xb)  |  hb = gelu(w1·xb)
 *   final matmul of the ffn                 xb = w2·hb;  x += xb
 * then final rmsnorm (gpt2: layernorm) and the tied classifier logits = wcls·x.
 *
 * KV-cache policy: `opts.kvPolicy` (default FullCache) is asked for a mask per layer, head and
 * position and is shown the resulting attention probabilities (cache/kv-cache-policy.ts), plus the
 * optional events there (prefill bracket, attention input, row overrides for merging policies);
 * `attentionProbs(layer, head)` returns the last step's probabilities for inspection.
 *
 * Fixed-point emulation (`opts.fixedPointFracBits = f`): weights and the RoPE cos/sin tables are
 * rounded to the grid 2^−f once, and the output of every matmul, norm, RoPE, score, softmax,
 * nonlinearity and product is rounded to it (round to nearest). Products of grid values summed in
 * float64 are exact at these magnitudes, so the linear parts equal the secure ring arithmetic with
 * exact truncations; the nonlinearities are exact functions rounded once, where the secure ones are
 * approximations. This separates quantisation error (float64 vs emulation) from protocol error
 * (emulation vs secure: TruncPr's ±1 LSB plus the stated approximation error of each nonlinearity).
 *
 * Buffers are reused: the logits returned by forward/prefill are overwritten by the next call.
 */
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { FullCache, type AttentionView, type CacheRowOverrides, type KVCachePolicy } from '../cache/kv-cache-policy';
import { argmax, gelu, layerNorm, matvec, rmsNorm, rope, ropeTable, roundToGrid, silu, softmax } from './blocks';
import { assertFitsContext, kvDim, validateModelConfig, type ModelConfig } from './config';
import { assertWeightsMatchConfig, quantizeWeights, type TransformerWeights } from './weights';

export interface ReferenceDecoderOptions {
  /** Which cached positions attention uses; default: the full cache. */
  kvPolicy?: KVCachePolicy;
  /** Emulate fixed point with this many fractional bits (e.g. 12); default: plain float64. */
  fixedPointFracBits?: number;
}

export class ReferenceDecoder {
  readonly kvPolicy: KVCachePolicy;
  readonly fracBits: number | null;
  private readonly w: TransformerWeights;
  // run state (run.c RunState)
  private readonly x: Float64Array;      // (dModel) residual stream
  private readonly xb: Float64Array;     // (dModel)
  private readonly xb2: Float64Array;    // (dModel)
  private readonly hb: Float64Array;     // (dFf)
  private readonly hb2: Float64Array;    // (dFf)
  private readonly q: Float64Array;      // (dModel)
  private readonly k: Float64Array;      // (kvDim)
  private readonly v: Float64Array;      // (kvDim)
  private readonly att: Float64Array;    // (nLayers, nHeads, seqLen) probabilities of the last step
  private readonly logits: Float64Array; // (vocabSize)
  private readonly ropeCos: Float64Array; // (headDim / 2)
  private readonly ropeSin: Float64Array; // (headDim / 2)
  private readonly keyCache: Float64Array[] = [];   // per layer (capacity, kvDim)
  private readonly valueCache: Float64Array[] = []; // per layer (capacity, kvDim)
  private readonly overrideSlot: Int32Array; // (seqLen) row index in the policy's overrides, or −1
  private capacity = 0;
  private filled = 0;
  private lastPos = -1;

  constructor(weights: TransformerWeights, readonly config: ModelConfig, opts: ReferenceDecoderOptions = {}) {
    validateModelConfig(config);
    assertWeightsMatchConfig(weights, config);
    const f = opts.fixedPointFracBits;
    if (f !== undefined && (!Number.isInteger(f) || f < 1 || f > 24)) {
      throw new RangeError(`"fixedPointFracBits" expected an integer in [1, 24], got ${f}`);
    }
    this.fracBits = f ?? null;
    this.w = f === undefined ? weights : quantizeWeights(weights, config, f);
    this.kvPolicy = opts.kvPolicy ?? new FullCache();
    const c = config, D = c.dModel;
    this.x = new Float64Array(D); this.xb = new Float64Array(D); this.xb2 = new Float64Array(D);
    this.hb = new Float64Array(c.dFf); this.hb2 = new Float64Array(c.dFf);
    this.q = new Float64Array(D); this.k = new Float64Array(kvDim(c)); this.v = new Float64Array(kvDim(c));
    this.att = new Float64Array(c.nLayers * c.nHeads * c.seqLen);
    this.logits = new Float64Array(c.vocabSize);
    this.ropeCos = new Float64Array(c.headDim / 2); this.ropeSin = new Float64Array(c.headDim / 2);
    this.overrideSlot = new Int32Array(c.seqLen).fill(-1);
  }

  /** Number of cached positions. */
  get length(): number {
    return this.filled;
  }

  /** Empty the cache and the policy's state. */
  reset(): void {
    this.filled = 0;
    this.lastPos = -1;
    this.kvPolicy.reset();
  }

  /** Logits after `token` at `pos` (0 ≤ pos ≤ length): run.c `forward`. Rewriting pos < length drops later positions. */
  forward(token: number, pos: number): Float64Array {
    const c = this.config, w = this.w, p = this.kvPolicy;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token id expected in [0, ${c.vocabSize})`);
    if (!Number.isInteger(pos) || pos < 0 || pos > this.filled || pos >= c.seqLen) {
      throw new RangeError(`"pos" expected in [0, ${Math.min(this.filled, c.seqLen - 1)}], got ${pos}`);
    }
    this.ensureCapacity(pos + 1);
    const D = c.dModel, H = c.dFf, kvD = kvDim(c), hs = c.headDim, kvMul = c.nHeads / c.nKvHeads, eps = c.normEps;
    const { x, xb, xb2, hb, hb2, q, k, v, att } = this;
    const llama = c.family === 'llama', g = w.gpt2;
    const scale = 1 / Math.sqrt(hs);

    // copy the token embedding into x
    for (let i = 0; i < D; i++) x[i] = w.tokEmb[token * D + i];
    if (g) for (let i = 0; i < D; i++) x[i] += g.posEmb[pos * D + i];
    if (llama) {
      ropeTable(pos, hs, c.ropeTheta, this.ropeCos, this.ropeSin);
      this.fx(this.ropeCos, 0, hs / 2); this.fx(this.ropeSin, 0, hs / 2);
    }

    for (let l = 0; l < c.nLayers; l++) {
      // attention rmsnorm
      if (g) layerNorm(xb, x, w.rmsAtt, g.attNormBias, l * D, D, eps);
      else rmsNorm(xb, x, w.rmsAtt, l * D, D, eps);
      this.fx(xb, 0, D);
      p.observeInput?.(l, pos, xb);

      // qkv matmuls for this position
      matvec(q, xb, w.wq, l * D * D, D, D);
      matvec(k, xb, w.wk, l * kvD * D, D, kvD);
      matvec(v, xb, w.wv, l * kvD * D, D, kvD);
      this.fx(q, 0, D); this.fx(k, 0, kvD); this.fx(v, 0, kvD);

      // RoPE relative positional encoding: rotate q and k in each head
      if (llama) {
        rope(q, 0, D, hs, this.ropeCos, this.ropeSin);
        rope(k, 0, kvD, hs, this.ropeCos, this.ropeSin);
        this.fx(q, 0, D); this.fx(k, 0, kvD);
      }

      // key and value into the kv cache at pos
      const kc = this.keyCache[l], vc = this.valueCache[l];
      kc.set(k, pos * kvD);
      vc.set(v, pos * kvD);
      const keyCache = kc.subarray(0, (pos + 1) * kvD), valueCache = vc.subarray(0, (pos + 1) * kvD);

      // multihead attention: iterate over all heads
      for (let h = 0; h < c.nHeads; h++) {
        const qOff = h * hs, kvOff = Math.floor(h / kvMul) * hs, a = (l * c.nHeads + h) * c.seqLen;
        const view: AttentionView = {
          layer: l, head: h, kvHead: kvOff / hs, pos, q: q.subarray(qOff, qOff + hs),
          keyCache, valueCache, headDim: hs, kvDim: kvD,
        };
        // KV-cache policy: positions this query may attend
        const mask = p.attendMask(view);
        const ov = p.rowOverrides?.(view) ?? null;
        if (ov !== null) this.markOverrides(ov, pos);
        // attention scores q·k/√headDim over timesteps 0..pos
        for (let t = 0; t <= pos; t++) {
          if (mask !== null && mask[t] === 0 && t !== pos) { att[a + t] = -Infinity; continue; }
          let score = 0;
          const o = ov === null ? -1 : this.overrideSlot[t];
          if (o < 0) for (let i = 0; i < hs; i++) score += q[qOff + i] * kc[t * kvD + kvOff + i];
          else for (let i = 0; i < hs; i++) score += q[qOff + i] * ov!.keys[o * hs + i];
          att[a + t] = score * scale;
        }
        this.fx(att, a, pos + 1);
        // softmax the scores to get attention weights, from 0..pos inclusively
        softmax(att, a, pos + 1);
        this.fx(att, a, pos + 1);
        p.observe(view, att.subarray(a, a + pos + 1));
        // weighted sum of the values, store back into xb
        xb.fill(0, qOff, qOff + hs);
        for (let t = 0; t <= pos; t++) {
          const at = att[a + t];
          if (at === 0) continue;
          const o = ov === null ? -1 : this.overrideSlot[t];
          if (o < 0) for (let i = 0; i < hs; i++) xb[qOff + i] += at * vc[t * kvD + kvOff + i];
          else for (let i = 0; i < hs; i++) xb[qOff + i] += at * ov!.values[o * hs + i];
        }
        if (ov !== null) for (let j = 0; j < ov.count; j++) this.overrideSlot[ov.positions[j]] = -1;
      }
      this.fx(xb, 0, D);

      // final matmul to get the output of the attention
      matvec(xb2, xb, w.wo, l * D * D, D, D);
      this.fx(xb2, 0, D);
      // residual connection back into x
      for (let i = 0; i < D; i++) x[i] += xb2[i];

      // ffn rmsnorm
      if (g) layerNorm(xb, x, w.rmsFfn, g.ffnNormBias, l * D, D, eps);
      else rmsNorm(xb, x, w.rmsFfn, l * D, D, eps);
      this.fx(xb, 0, D);

      if (llama) {
        // SwiGLU: w2(silu(w1(x)) * w3(x)); first w1(x) and w3(x)
        matvec(hb, xb, w.w1, l * D * H, D, H);
        matvec(hb2, xb, w.w3!, l * D * H, D, H);
        this.fx(hb, 0, H); this.fx(hb2, 0, H);
        for (let i = 0; i < H; i++) hb[i] = silu(hb[i]);
        this.fx(hb, 0, H);
        for (let i = 0; i < H; i++) hb[i] *= hb2[i];
        this.fx(hb, 0, H);
      } else {
        // GeLU MLP: w2(gelu(w1(x)))
        matvec(hb, xb, w.w1, l * D * H, D, H);
        this.fx(hb, 0, H);
        for (let i = 0; i < H; i++) hb[i] = gelu(hb[i]);
        this.fx(hb, 0, H);
      }
      // final matmul to get the output of the ffn
      matvec(xb, hb, w.w2, l * D * H, H, D);
      this.fx(xb, 0, D);
      // residual connection
      for (let i = 0; i < D; i++) x[i] += xb[i];
    }

    // final rmsnorm
    if (g) layerNorm(x, x, w.rmsFinal, g.finalNormBias, 0, D, eps);
    else rmsNorm(x, x, w.rmsFinal, 0, D, eps);
    this.fx(x, 0, D);
    // classifier into logits
    matvec(this.logits, x, w.wcls, 0, D, c.vocabSize);
    this.fx(this.logits, 0, c.vocabSize);

    this.filled = pos + 1;
    this.lastPos = pos;
    return this.logits;
  }

  /**
   * Feed `tokens` at positions length, length+1, …; the logits after the last one. On an empty cache
   * the policy's optional beginPrefill/endPrefill events bracket the prompt.
   */
  prefill(tokens: readonly number[]): Float64Array {
    this.checkFeed(tokens);
    const fresh = this.filled === 0;
    if (fresh) this.kvPolicy.beginPrefill?.(tokens.length);
    const logits = this.feed(tokens);
    if (fresh) this.kvPolicy.endPrefill?.(tokens.length);
    return logits;
  }

  /**
   * A chat's later turn: feed `tokens` at positions length, length+1, … of a NON-empty cache; the
   * logits after the last one. The policy's optional beginTurn/endTurn events bracket them (the
   * secure decoder takes such a turn in one causal pass when its policy has `multiRowSteps`); a
   * policy without them sees ordinary decoding steps, as with `forward`.
   */
  extend(tokens: readonly number[]): Float64Array {
    if (this.filled === 0) throw new Error('ReferenceDecoder.extend() on an empty cache: use prefill()');
    this.checkFeed(tokens);
    this.kvPolicy.beginTurn?.(tokens.length);
    try {
      return this.feed(tokens);
    } finally {
      this.kvPolicy.endTurn?.(tokens.length);
    }
  }

  /** At least one token, and room for all of them after the cache. */
  private checkFeed(tokens: readonly number[]): void {
    if (tokens.length === 0) throw new RangeError(`"tokens" expected at least 1 token, got 0`);
    assertFitsContext(this.config, this.filled + tokens.length, 'tokens');
  }

  /** Feed `tokens` at positions length, length+1, …; the logits after the last one. */
  private feed(tokens: readonly number[]): Float64Array {
    let logits = this.logits;
    for (const t of tokens) logits = this.forward(t, this.filled);
    return logits;
  }

  /**
   * Greedy decoding from a fresh cache: the new token ids (prompt excluded), stopping early after a
   * token in `stopTokens` (which is included). Argmax ties go to the lower id.
   */
  generateGreedy(promptIds: readonly number[], maxNewTokens: number, opts: { stopTokens?: readonly number[] } = {}): number[] {
    checkMaxNewTokens(maxNewTokens);
    assertFitsContext(this.config, promptIds.length + maxNewTokens - 1, 'promptIds + maxNewTokens - 1');
    this.reset();
    return this.decodeGreedy(this.prefill(promptIds), maxNewTokens, opts).tokens;
  }

  /**
   * Greedy decoding on from `logits` (what the last prefill or forward returned): each new token is
   * fed back except the last, and stops early after a token in `stopTokens`. `margins[i]` is how far
   * token i's logit leads the runner-up: a test comparing fixed-point or secure tokens with these can
   * tell a clear choice from a near-tie.
   */
  decodeGreedy(logits: Float64Array, maxNewTokens: number, opts: { stopTokens?: readonly number[] } = {}): { tokens: number[]; margins: number[] } {
    checkMaxNewTokens(maxNewTokens);
    assertFitsContext(this.config, this.filled + maxNewTokens - 1, 'the cache + maxNewTokens - 1');
    const stop = new Set(opts.stopTokens ?? []), tokens: number[] = [], margins: number[] = [];
    for (;;) {
      const next = argmax(logits);
      let second = -Infinity;
      logits.forEach((v, j) => { if (j !== next && v > second) second = v; });
      tokens.push(next);
      margins.push(logits[next] - second);
      if (tokens.length === maxNewTokens || stop.has(next)) return { tokens, margins };
      logits = this.forward(next, this.filled);
    }
  }

  /**
   * A decoder with the same weights, options and a copy of this one's KV cache (positions
   * 0..length−1), attending through `kvPolicy` (whose state the caller prepares: the harness feeds one
   * dense prefill to several policies, then forks one decoder per policy).
   */
  fork(kvPolicy: KVCachePolicy): ReferenceDecoder {
    const d = new ReferenceDecoder(this.w, this.config, { kvPolicy, fixedPointFracBits: this.fracBits ?? undefined });
    const n = this.filled, kvD = kvDim(this.config);
    if (n > 0) {
      d.ensureCapacity(n);
      for (let l = 0; l < this.config.nLayers; l++) {
        d.keyCache[l].set(this.keyCache[l].subarray(0, n * kvD));
        d.valueCache[l].set(this.valueCache[l].subarray(0, n * kvD));
      }
    }
    d.filled = n;
    d.lastPos = this.lastPos;
    return d;
  }

  /** Attention probabilities of the last forward step for (layer, head), (lastPos + 1). */
  attentionProbs(layer: number, head: number): Float64Array {
    const c = this.config;
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayers) throw new RangeError(`"layer" expected in [0, ${c.nLayers}), got ${layer}`);
    if (!Number.isInteger(head) || head < 0 || head >= c.nHeads) throw new RangeError(`"head" expected in [0, ${c.nHeads}), got ${head}`);
    const a = (layer * c.nHeads + head) * c.seqLen;
    return this.att.subarray(a, a + this.lastPos + 1);
  }

  /** Point overrideSlot at the policy's replacement rows (validated: the policy is a plug-in). */
  private markOverrides(ov: CacheRowOverrides, pos: number): void {
    const hs = this.config.headDim;
    if (ov.count > ov.positions.length || ov.keys.length < ov.count * hs || ov.values.length < ov.count * hs) {
      throw new RangeError(`rowOverrides: count ${ov.count} exceeds positions ${ov.positions.length} or rows of headDim ${hs}`);
    }
    for (let j = 0; j < ov.count; j++) {
      const t = ov.positions[j];
      if (t < 0 || t > pos || this.overrideSlot[t] >= 0) {
        for (let i = 0; i < j; i++) this.overrideSlot[ov.positions[i]] = -1;
        throw new RangeError(`rowOverrides: position out of [0, ${pos}] or repeated`);
      }
      this.overrideSlot[t] = j;
    }
  }

  /** Round to the fixed-point grid when emulating fixed point; a no-op in float64 mode. */
  private fx(a: Float64Array, off: number, n: number): void {
    if (this.fracBits !== null) roundToGrid(a, off, n, this.fracBits);
  }

  /** Grow the per-layer caches (doubling, capped at seqLen) so that `positions` rows fit. */
  private ensureCapacity(positions: number): void {
    if (positions <= this.capacity) return;
    const c = this.config, kvD = kvDim(c);
    const cap = Math.min(c.seqLen, Math.max(positions, 2 * this.capacity, 64));
    for (let l = 0; l < c.nLayers; l++) {
      const kc = new Float64Array(cap * kvD), vc = new Float64Array(cap * kvD);
      if (this.capacity > 0) { kc.set(this.keyCache[l]); vc.set(this.valueCache[l]); }
      this.keyCache[l] = kc;
      this.valueCache[l] = vc;
    }
    this.capacity = cap;
  }
}

function checkMaxNewTokens(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NEW_TOKENS) throw new RangeError(`"maxNewTokens" expected an integer in [1, ${MAX_NEW_TOKENS}], got ${n}`);
}

/**
 * D2O — Dynamic Discriminative Operations (Wan et al., ICLR 2025); eviction-baselines.md §6 (code).
 *
 * Per KV head throughout (policy-config.ts kvUnitOf; per query head on a multi-head model): a group's
 * query heads share its kept set and sum their attention into its scores; "head" below is a KV head.
 * Layer level (end of prefill): per layer ℓ and head h the density a_h[j] = Σ_q P_h[q, j] (prompt
 * column sums), var_h = Var_j a_h[j] (unbiased), min-max normalised across the layer's heads, σ_ℓ =
 * mean_h; capacity_ℓ = ⌊(n+1)·clamp(softmax_ℓ(−σ)·L_c·ρ, 0.01, 1)⌋ with ρ = budget/(n+1), so the
 * compressed layers keep `budget` rows on average (`d2oLayerCapacities`, pure). Split heavy/recent
 * like H2O. Layers in `skipLayers` keep the full cache (code: {0, 1, L−1}; equal-budget default: none).
 * Token level, per head, every decoding step: H2O eviction (accumulated attention, recent window),
 * with the first `sinks` tokens forced by a public score bonus (`d2oEvict`).
 * Merging, per layer per step: for each evicted e of head h, u_e = max_c cos(k_e, k_c) over the kept
 * rows c (target c* = argmax, ties: newer wins); threshold τ (EMA per layer: first call τ = mean u,
 * then τ = α·τ + β·mean u); the i-th evicted token of every head merges iff mean_h u ≥ τ; merge
 * K_c ← (K_c + Σ_{e→c} u_e·k_e)/(1 + |{e→c}|), V_c likewise with the same weights (code's
 * scatter_reduce 'mean'). Merged rows are served through `rowOverrides` (the secure version appends
 * the merged row and flips alive bits, B6); cosines use the current (possibly merged) keys.
 * Fixed point: u and the merged rows are rounded once each (fxRound); scores are exact sums.
 */
import { evictToTopK, ranksAbove } from './top-k-kept';
import { fxRound, kvHeadCount, kvUnitOf, PromptPhase, type PolicyContext } from './policy-config';
import { h2oSplit } from './h2o';
import type { AttentionView, CacheRowOverrides, KVCachePolicy } from './kv-cache-policy';

export interface D2oOptions {
  heavyFraction: number;
  /** Forced first tokens (code: 4). */
  sinks: number;
  emaAlpha: number;
  emaBeta: number;
  /** Layers never compressed; negative counts from the end (code: [0, 1, -1]). */
  skipLayers: readonly number[];
  /** 'adaptive' (variance-based layer capacities) or 'uniform' (budget everywhere). */
  layerBudgets: 'adaptive' | 'uniform';
  merge: boolean;
  /** Merge candidates: 'full' (every kept row) or a local window |c − e| ≤ W (secure deviation). */
  mergeScope: 'full' | { local: number };
  /**
   * Merge at the bulk evictions: the first decoding step after the prompt and after a chat turn
   * (default true). The secure twin evicts those without merging: false matches it.
   */
  promptMerge?: boolean;
  /** Secure runs only: allow layerBudgets 'adaptive' by opening every head's density variance (a leak). */
  revealLayerBudgets?: boolean;
}

export const D2O_DEFAULTS: D2oOptions = {
  heavyFraction: 0.5, sinks: 4, emaAlpha: 0.5, emaBeta: 0.5, skipLayers: [], layerBudgets: 'adaptive', merge: true, mergeScope: 'full',
};

/** Public bonus that forces the sink tokens into the heavy set. */
export const D2O_SINK_BONUS = 2 ** 20;

/** Pure D2O eviction: H2O's, with positions < sinks boosted by D2O_SINK_BONUS. */
export function d2oEvict(scores: ArrayLike<number>, alive: Uint8Array, pos: number, heavy: number, recent: number, sinks: number): Int32Array {
  const boosted = Float64Array.from({ length: pos + 1 }, (_, j) => scores[j] + (j < sinks ? D2O_SINK_BONUS : 0));
  return evictToTopK(boosted, alive, 0, Math.max(0, pos - recent + 1), heavy);
}

/** Unbiased variance of each head's density over the n prompt positions, per layer ([] for skipped layers). */
export function d2oDensityVariances(density: Float64Array[][], n: number, skip: ReadonlySet<number>): number[][] {
  return density.map((heads, l) => (skip.has(l) ? [] : heads.map((a) => {
    let mean = 0;
    for (let j = 0; j < n; j++) mean += a[j];
    mean /= n;
    let s = 0;
    for (let j = 0; j < n; j++) s += (a[j] - mean) ** 2;
    return n > 1 ? s / (n - 1) : 0;
  })));
}

/** Pure layer allocation: capacities of every layer (null for skipped ones) from per-head densities. */
export function d2oLayerCapacities(density: Float64Array[][], n: number, budget: number, skip: ReadonlySet<number>): (number | null)[] {
  return d2oCapacitiesFromVariances(d2oDensityVariances(density, n, skip), n, budget, skip);
}

/**
 * The allocation from the per-head density variances var_h (unbiased) of each layer (entries of
 * skipped layers are ignored): min-max normalise per layer, σ_ℓ = mean, softmax(−σ)·L_c·ρ clamped
 * to [0.01, 1], capacity ⌊(n+1)·ratio⌋ (at least 2). The secure twin opens var_h (a leak, opt-in).
 */
export function d2oCapacitiesFromVariances(variances: readonly (readonly number[])[], n: number, budget: number, skip: ReadonlySet<number>): (number | null)[] {
  const L = variances.length, sigma: number[] = [], layers: number[] = [];
  for (let l = 0; l < L; l++) {
    if (skip.has(l)) continue;
    const v = variances[l];
    const lo = Math.min(...v), hi = Math.max(...v);
    sigma.push(v.reduce((s, x) => s + (x - lo) / (hi - lo + 1e-6), 0) / v.length);
    layers.push(l);
  }
  const out: (number | null)[] = new Array(L).fill(null);
  const m = Math.max(...sigma.map((s) => -s)), e = sigma.map((s) => Math.exp(-s - m)), z = e.reduce((a, b) => a + b, 0);
  const rho = budget / (n + 1);
  layers.forEach((l, i) => {
    const ratio = Math.min(1, Math.max(0.01, (e[i] / z) * layers.length * rho));
    out[l] = Math.max(2, Math.floor((n + 1) * ratio));
  });
  return out;
}

interface MergedRow { key: Float64Array; value: Float64Array }

export class D2oPolicy implements KVCachePolicy {
  readonly name = 'd2o';
  private readonly phase = new PromptPhase();
  private readonly skip: Set<number>;
  private readonly scores: Float64Array[] = [];
  private readonly alive: Uint8Array[] = [];
  private readonly merged: Map<number, MergedRow>[] = [];       // per (layer, KV head)
  private readonly overrides: (CacheRowOverrides | null)[] = []; // per (layer, KV head), rebuilt when dirty
  /** KV heads per layer (units of the per-head state). */
  private readonly kv: number;
  private readonly split: { heavy: number; recent: number }[] = [];
  /** The prompt's per-head density variances of each layer (adaptive capacities; null before a prompt). */
  variances: number[][] | null = null;
  private readonly tau: Float64Array;
  private readonly stepDone: Int32Array;
  private readonly stepsSeen: Int32Array;

  constructor(private readonly ctx: PolicyContext, readonly opts: D2oOptions = D2O_DEFAULTS) {
    const { nLayers, seqLen } = ctx.model;
    this.kv = kvHeadCount(ctx.model);
    this.skip = new Set(opts.skipLayers.map((l) => (l < 0 ? nLayers + l : l)));
    for (let u = 0; u < nLayers * this.kv; u++) {
      this.scores.push(new Float64Array(seqLen)); this.alive.push(new Uint8Array(seqLen));
      this.merged.push(new Map()); this.overrides.push(null);
    }
    this.tau = new Float64Array(nLayers).fill(NaN);
    this.stepDone = new Int32Array(nLayers).fill(-1);
    this.stepsSeen = new Int32Array(nLayers);
    this.setUniformCapacities();
  }

  /** Heavy/recent split of each layer (after the prefill: the adaptive capacities). */
  layerSplit(layer: number): { heavy: number; recent: number } {
    return this.split[layer];
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const l = view.layer, pos = view.pos, alive = this.alive[kvUnitOf(this.ctx.model, l, view.head)];
    alive[pos] = 1;
    if (this.phase.inPrefill || this.skip.has(l)) return null;
    if (this.phase.inTurn) return alive.subarray(0, pos + 1); // a turn evicts nothing (beginTurn)
    if (this.stepDone[l] !== pos) { this.stepDone[l] = pos; this.layerStep(view); }
    return alive.subarray(0, pos + 1);
  }

  rowOverrides(view: AttentionView): CacheRowOverrides | null {
    const u = kvUnitOf(this.ctx.model, view.layer, view.head), rows = this.merged[u];
    if (rows.size === 0) return null;
    if (this.overrides[u] === null) {
      const d = view.headDim, positions = Int32Array.from(rows.keys()), keys = new Float64Array(rows.size * d), values = new Float64Array(rows.size * d);
      positions.forEach((p, i) => { keys.set(rows.get(p)!.key, i * d); values.set(rows.get(p)!.value, i * d); });
      this.overrides[u] = { count: rows.size, positions, keys, values };
    }
    return this.overrides[u];
  }

  observe(view: AttentionView, probs: Float64Array): void {
    const s = this.scores[kvUnitOf(this.ctx.model, view.layer, view.head)];
    for (let j = 0; j <= view.pos; j++) s[j] += probs[j];
  }

  beginPrefill(n: number): void { this.phase.begin(n); }

  /**
   * A chat's turn is taken as H2O takes it (h2o.ts): nothing evicted or merged during it, the step
   * after it evicts down at once — a bulk eviction, which merges only with `promptMerge`.
   */
  beginTurn(): void {
    this.phase.beginTurn();
  }

  endTurn(): void {
    this.phase.endTurn();
    this.stepsSeen.fill(0);
  }

  endPrefill(n: number): void {
    this.phase.end();
    if (this.opts.layerBudgets === 'uniform') return;
    const { nLayers } = this.ctx.model, H = this.kv;
    const density = Array.from({ length: nLayers }, (_, l) => Array.from({ length: H }, (_, h) => this.scores[l * H + h].subarray(0, n)));
    this.variances = d2oDensityVariances(density, n, this.skip);
    const caps = d2oCapacitiesFromVariances(this.variances, n, this.ctx.budget, this.skip);
    caps.forEach((cap, l) => { if (cap !== null) this.split[l] = h2oSplit(cap, this.opts.heavyFraction); });
  }

  reset(): void {
    this.phase.reset();
    this.variances = null;
    for (const s of this.scores) s.fill(0);
    for (const a of this.alive) a.fill(0);
    for (const m of this.merged) m.clear();
    this.overrides.fill(null);
    this.tau.fill(NaN);
    this.stepDone.fill(-1);
    this.stepsSeen.fill(0);
    this.setUniformCapacities();
  }

  private setUniformCapacities(): void {
    this.split.length = 0;
    for (let l = 0; l < this.ctx.model.nLayers; l++) this.split.push(h2oSplit(this.ctx.budget, this.opts.heavyFraction));
  }

  /** Evict (every KV head of the layer) and merge, before the attention of query `pos`. */
  private layerStep(view: AttentionView): void {
    const H = this.kv, l = view.layer, pos = view.pos, { heavy, recent } = this.split[l];
    const evicted: Int32Array[] = [];
    for (let h = 0; h < H; h++) {
      this.alive[l * H + h][pos] = 1;
      evicted.push(d2oEvict(this.scores[l * H + h], this.alive[l * H + h], pos, heavy, recent, this.opts.sinks));
    }
    const count = Math.min(...evicted.map((e) => e.length));
    if (this.stepsSeen[l]++ === 0 && this.opts.promptMerge === false) return;
    if (!this.opts.merge || count === 0) return;
    // nearest kept row per evicted token and head
    const d = view.headDim, u = evicted.map(() => new Float64Array(count)), target = evicted.map(() => new Int32Array(count));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < count; i++) {
        const e = evicted[h][i], ke = this.keyOf(view, l, h, e);
        let best = -Infinity, bestC = -1;
        for (let c = 0; c <= pos; c++) {
          if (this.alive[l * H + h][c] === 0) continue;
          if (this.opts.mergeScope !== 'full' && Math.abs(c - e) > this.opts.mergeScope.local) continue;
          const sim = fxRound(cosine(ke, this.keyOf(view, l, h, c)), this.ctx.fracBits);
          if (bestC < 0 || ranksAbove(sim, c, best, bestC)) { best = sim; bestC = c; }
        }
        u[h][i] = bestC < 0 ? -Infinity : best;
        target[h][i] = bestC;
      }
    }
    // EMA threshold over this call's similarities, then the per-index head-mean filter
    let sum = 0, cnt = 0;
    for (const row of u) for (const x of row) if (x > -Infinity) { sum += x; cnt++; }
    if (cnt === 0) return;
    const mean = sum / cnt, t = this.tau[l];
    this.tau[l] = Number.isNaN(t) ? mean : this.opts.emaAlpha * t + this.opts.emaBeta * mean;
    const pass = new Uint8Array(count);
    for (let i = 0; i < count; i++) pass[i] = u.reduce((s, row) => s + row[i], 0) / H >= this.tau[l] ? 1 : 0;
    for (let h = 0; h < H; h++) {
      const groups = new Map<number, { k: Float64Array; v: Float64Array; n: number }>();
      for (let i = 0; i < count; i++) {
        const c = target[h][i];
        if (pass[i] === 0 || c < 0) continue;
        const g = groups.get(c) ?? { k: new Float64Array(d), v: new Float64Array(d), n: 0 };
        const ke = this.keyOf(view, l, h, evicted[h][i]), ve = this.valueOf(view, l, h, evicted[h][i]);
        for (let j = 0; j < d; j++) { g.k[j] += u[h][i] * ke[j]; g.v[j] += u[h][i] * ve[j]; }
        g.n++;
        groups.set(c, g);
      }
      // scatter_reduce('mean', include_self): K_c ← (K_c + Σ u_e·k_e)/(1 + count), V alike
      const rows = this.merged[l * H + h];
      for (const [c, g] of groups) {
        const kc = this.keyOf(view, l, h, c), vc = this.valueOf(view, l, h, c);
        rows.set(c, {
          key: Float64Array.from(kc, (x, j) => fxRound((x + g.k[j]) / (1 + g.n), this.ctx.fracBits)),
          value: Float64Array.from(vc, (x, j) => fxRound((x + g.v[j]) / (1 + g.n), this.ctx.fracBits)),
        });
      }
      for (const e of evicted[h]) rows.delete(e); // an evicted row's merged state is no longer served
      this.overrides[l * H + h] = null;
    }
  }

  /** KV head h's key of position p in layer l: its merged row if any, else the cached one. */
  private keyOf(view: AttentionView, l: number, h: number, p: number): Float64Array {
    const m = this.merged[l * this.kv + h].get(p);
    const d = view.headDim, o = p * view.kvDim + h * d;
    return m ? m.key : view.keyCache.subarray(o, o + d);
  }

  private valueOf(view: AttentionView, l: number, h: number, p: number): Float64Array {
    const m = this.merged[l * this.kv + h].get(p);
    const d = view.headDim, o = p * view.kvDim + h * d;
    return m ? m.value : view.valueCache.subarray(o, o + d);
  }
}

function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

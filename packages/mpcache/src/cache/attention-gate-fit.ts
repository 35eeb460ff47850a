/**
 * fitAttentionGate — a cheap trained Attention-Gate for a given model (no backpropagation): fixed
 * random MHA′ projections made to attend mostly to the token itself, and a per-(layer, head) linear
 * readout fitted by ridge regression to the attention each token later receives.
 *
 * Construction (weights in the format of attention-gate-weights.ts):
 *   wq = wk = selfScale · R (R random), so q′_t·k′_t = selfScale²·‖R x_t‖² dominates the cross terms and
 *   z_t ≈ wv·x_t: a random projection of the token's own normed attention input;
 *   target of token j in (ℓ, h): y = log(1e−3 + mean_{q ∈ (j, j + horizon]} P_h[q, j]), the attention it
 *   receives from the next `horizon` queries of the full-cache model (tokens without a full horizon
 *   are not used);
 *   (wg[h], b) = argmin Σ (wg·z + b − y)² + ridge·‖wg‖²; bg[h] = b − median of the fitted logits, so
 *   'threshold' mode keeps about half of the tokens and 'topk' keeps the highest predicted ones.
 * This is a stand-in for the paper's end-to-end training (continual pre-training with an eviction
 * loss, STE), which this project does not reproduce; it learns "which tokens will be attended".
 */
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';
import { AttentionGatePolicy } from './attention-gate';
import { randomAttentionGateWeights, type AttentionGateLayer, type AttentionGateWeights } from './attention-gate-weights';
import { ReferenceDecoder } from '../model/reference-decoder';
import type { ModelConfig } from '../model/config';
import type { TransformerWeights } from '../model/weights';

/** Opening lines of the gate's training text (distinct from the eval prompts' EVAL_PROMPT_SEEDS). */
export const GATE_TRAIN_SEEDS: readonly string[] = [
  'The cat sat on the mat and looked at the rain.', 'Tom and Sue went to the zoo to see the lions.',
  'Once upon a time, a small red car lived in a garage.', 'A girl named Kim had a new pair of shoes.',
  'Grandpa built a little wooden boat for Nick.', 'The wind blew the leaves all over the yard.',
  'Molly the cow wanted to jump over the fence.', 'Two friends found a map to a hidden treasure.',
];

export interface GateFitOptions {
  gateHeads: number;
  gateHeadDim: number;
  selfScale: number;
  horizon: number;
  ridge: number;
  seed: number;
}

export const GATE_FIT_DEFAULTS: GateFitOptions = { gateHeads: 4, gateHeadDim: 16, selfScale: 4, horizon: 32, ridge: 1e-2, seed: 1 };

/** Solve (A + ridge·I') w = b for a symmetric positive system, I' leaving the last (bias) entry free. */
export function ridgeSolve(A: Float64Array, b: Float64Array, n: number, ridge: number): Float64Array {
  const M = Float64Array.from(A), x = Float64Array.from(b);
  for (let i = 0; i < n - 1; i++) M[i * n + i] += ridge;
  for (let k = 0; k < n; k++) { // Gaussian elimination with partial pivoting
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i * n + k]) > Math.abs(M[p * n + k])) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) { const t = M[k * n + j]; M[k * n + j] = M[p * n + j]; M[p * n + j] = t; }
      const t = x[k]; x[k] = x[p]; x[p] = t;
    }
    const piv = M[k * n + k] || 1e-12;
    for (let i = k + 1; i < n; i++) {
      const f = M[i * n + k] / piv;
      if (f === 0) continue;
      for (let j = k; j < n; j++) M[i * n + j] -= f * M[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let s = x[k];
    for (let j = k + 1; j < n; j++) s -= M[k * n + j] * x[j];
    x[k] = s / (M[k * n + k] || 1e-12);
  }
  return x;
}

/** Fit the gate readout on `sequences` (token ids) run through the full-cache model. */
export function fitAttentionGate(weights: TransformerWeights, config: ModelConfig, sequences: readonly (readonly number[])[],
  options: Partial<GateFitOptions> = {}): AttentionGateWeights {
  const o = { ...GATE_FIT_DEFAULTS, ...options }, { nLayers: L, nHeads: H, seqLen } = config;
  const base = randomAttentionGateWeights(config, o.seed, { gateHeads: o.gateHeads, gateHeadDim: o.gateHeadDim });
  const layers0: AttentionGateLayer[] = base.layers.map((l) => {
    const wq = l.wq.map((v) => v * o.selfScale);
    return { ...l, wq, wk: wq };
  });
  const g = o.gateHeads * o.gateHeadDim, n = g + 1;
  const XtX = Array.from({ length: L * H }, () => new Float64Array(n * n)), Xty = Array.from({ length: L * H }, () => new Float64Array(n));
  const preds: number[][] = Array.from({ length: L * H }, () => []);
  const feats: Float64Array[][] = Array.from({ length: L * H }, () => []);
  for (const ids of sequences) {
    const T = Math.min(ids.length, seqLen);
    const gate = new AttentionGatePolicy({ model: config, budget: seqLen, fracBits: null },
      { weights: { ...base, layers: layers0 }, countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0 });
    const probs = Array.from({ length: L * H }, () => new Float64Array(T * T)); // [q][j]
    const recorder: KVCachePolicy = {
      name: 'gate-fit', reset: () => {}, attendMask: () => null,
      observeInput: (l, pos, xb) => gate.observeInput(l, pos, xb),
      observe: (v: AttentionView, p: Float64Array) => probs[v.layer * H + v.head].set(p, v.pos * T),
    };
    const dec = new ReferenceDecoder(weights, config, { kvPolicy: recorder });
    dec.prefill(ids.slice(0, T));
    for (let l = 0; l < L; l++) {
      const z = gate.gateFeatures(l);
      for (let h = 0; h < H; h++) {
        const P = probs[l * H + h], A = XtX[l * H + h], bvec = Xty[l * H + h];
        for (let j = 0; j + o.horizon < T; j++) {
          let a = 0;
          for (let q = j + 1; q <= j + o.horizon; q++) a += P[q * T + j];
          const y = Math.log(1e-3 + a / o.horizon), x = new Float64Array(n);
          x.set(z.subarray(j * g, (j + 1) * g)); x[g] = 1;
          for (let r = 0; r < n; r++) { bvec[r] += x[r] * y; for (let c = 0; c < n; c++) A[r * n + c] += x[r] * x[c]; }
          feats[l * H + h].push(x);
        }
      }
    }
  }
  const layers = layers0.map((layer, l) => {
    const wg = new Float32Array(H * g), bg = new Float32Array(H);
    for (let h = 0; h < H; h++) {
      const u = l * H + h, wv = ridgeSolve(XtX[u], Xty[u], n, o.ridge * feats[u].length);
      for (const x of feats[u]) { let s = 0; for (let i = 0; i < n; i++) s += wv[i] * x[i]; preds[u].push(s); }
      const sorted = [...preds[u]].sort((a, b) => a - b), median = sorted.length ? sorted[sorted.length >> 1] : 0;
      for (let i = 0; i < g; i++) wg[h * g + i] = wv[i];
      bg[h] = wv[g] - median;
    }
    return { ...layer, wg, bg };
  });
  return { ...base, layers };
}

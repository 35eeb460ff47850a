/**
 * Attention-Gate weights — the user-supplied gate of the Attention-Gate baseline (Zeng et al.,
 * arXiv 2410.12876; eviction-baselines.md §8). No public checkpoint exists, so this project fixes
 * its own format; the architecture is the recalled one of §8.2, every size a field.
 *
 * Per layer ℓ the gate reads X, the normed input of the layer's attention (dModel per token), and
 * runs a reduced causal multi-head attention MHA′ with `gateHeads` heads of `gateHeadDim` (no RoPE):
 *   q′ = wq·x, k′ = wk·x, v′ = wv·x                 wq, wk, wv: (gateHeads·gateHeadDim, dModel)
 *   z = concat_g softmax(q′_g·K′_gᵀ/√gateHeadDim)·V′_g  (over positions ≤ the token's own)
 *   g = wg·z + bg                                    wg: (nHeads, gateHeads·gateHeadDim), bg: (nHeads)
 * g[h] is the token's keep logit for head h of the main attention: flag = [g > threshold].
 *
 * JSON file format (all matrices row-major [out, in], flattened number arrays):
 *   { "format": "mpcache-attention-gate/v1", "dModel": 288, "nHeads": 6, "nLayers": 6,
 *     "gateHeads": 2, "gateHeadDim": 16,
 *     "layers": [ { "wq": [...], "wk": [...], "wv": [...], "wg": [...], "bg": [...] }, ... ] }
 * `parseAttentionGateWeights` validates it against the model (a trust boundary: STYLE §6).
 */
import { Xoshiro128 } from '../model/random-weights';

export const ATTENTION_GATE_FORMAT = 'mpcache-attention-gate/v1';

export interface AttentionGateLayer {
  readonly wq: Float32Array;
  readonly wk: Float32Array;
  readonly wv: Float32Array;
  readonly wg: Float32Array;
  readonly bg: Float32Array;
}

export interface AttentionGateWeights {
  readonly dModel: number;
  readonly nHeads: number;
  readonly gateHeads: number;
  readonly gateHeadDim: number;
  readonly layers: readonly AttentionGateLayer[];
}

export interface GateModel { readonly dModel: number; readonly nHeads: number; readonly nLayers: number }

/** Expected element count of each tensor of one layer. */
export function gateTensorSizes(dModel: number, nHeads: number, gateHeads: number, gateHeadDim: number): Record<keyof AttentionGateLayer, number> {
  const g = gateHeads * gateHeadDim;
  return { wq: g * dModel, wk: g * dModel, wv: g * dModel, wg: nHeads * g, bg: nHeads };
}

/** Validate a parsed JSON object (the file format above) against `model`; RangeError naming the field. */
export function parseAttentionGateWeights(json: unknown, model: GateModel): AttentionGateWeights {
  const o = json as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== ATTENTION_GATE_FORMAT) throw new RangeError(`"format" expected "${ATTENTION_GATE_FORMAT}"`);
  for (const [k, want] of [['dModel', model.dModel], ['nHeads', model.nHeads], ['nLayers', model.nLayers]] as const) {
    if (o[k] !== want) throw new RangeError(`"${k}" expected ${want}, got ${String(o[k])}`);
  }
  const gh = o.gateHeads, gd = o.gateHeadDim;
  if (!Number.isInteger(gh) || (gh as number) < 1 || !Number.isInteger(gd) || (gd as number) < 1) throw new RangeError(`"gateHeads"/"gateHeadDim" expected positive integers`);
  if (!Array.isArray(o.layers) || o.layers.length !== model.nLayers) throw new RangeError(`"layers" expected ${model.nLayers} entries`);
  const sizes = gateTensorSizes(model.dModel, model.nHeads, gh as number, gd as number);
  const layers = (o.layers as unknown[]).map((layer, l) => {
    const rec = layer as Record<string, unknown>;
    const out = {} as Record<keyof AttentionGateLayer, Float32Array>;
    for (const name of Object.keys(sizes) as (keyof AttentionGateLayer)[]) {
      const arr = rec?.[name];
      if (!Array.isArray(arr) || arr.length !== sizes[name]) throw new RangeError(`"layers[${l}].${name}" expected ${sizes[name]} numbers, got ${Array.isArray(arr) ? arr.length : typeof arr}`);
      if (!arr.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new RangeError(`"layers[${l}].${name}" expected finite numbers`);
      out[name] = Float32Array.from(arr as number[]);
    }
    return out as AttentionGateLayer;
  });
  return { dModel: model.dModel, nHeads: model.nHeads, gateHeads: gh as number, gateHeadDim: gd as number, layers };
}

/** The JSON object of `w` (inverse of parseAttentionGateWeights). */
export function attentionGateWeightsToJson(w: AttentionGateWeights): Record<string, unknown> {
  return {
    format: ATTENTION_GATE_FORMAT, dModel: w.dModel, nHeads: w.nHeads, nLayers: w.layers.length,
    gateHeads: w.gateHeads, gateHeadDim: w.gateHeadDim,
    layers: w.layers.map((L) => ({ wq: Array.from(L.wq), wk: Array.from(L.wk), wv: Array.from(L.wv), wg: Array.from(L.wg), bg: Array.from(L.bg) })),
  };
}

/** Seeded uniform gate weights (tests and a no-training baseline); std ≈ 1/√fanIn, zero bias. */
export function randomAttentionGateWeights(model: GateModel, seed: number, opts: { gateHeads?: number; gateHeadDim?: number } = {}): AttentionGateWeights {
  const gateHeads = opts.gateHeads ?? 2, gateHeadDim = opts.gateHeadDim ?? 16;
  const sizes = gateTensorSizes(model.dModel, model.nHeads, gateHeads, gateHeadDim);
  const fanIn: Record<keyof AttentionGateLayer, number> = { wq: model.dModel, wk: model.dModel, wv: model.dModel, wg: gateHeads * gateHeadDim, bg: 1 };
  const layers = Array.from({ length: model.nLayers }, (_, l) => {
    const out = {} as Record<keyof AttentionGateLayer, Float32Array>;
    for (const name of Object.keys(sizes) as (keyof AttentionGateLayer)[]) {
      const rng = new Xoshiro128(seed, `gate.${l}.${name}`), a = new Float32Array(sizes[name]);
      const half = name === 'bg' ? 0 : Math.sqrt(3 / fanIn[name]);
      for (let i = 0; i < a.length; i++) a[i] = half * (rng.nextU32() / 2147483648 - 1);
      out[name] = a;
    }
    return out as AttentionGateLayer;
  });
  return { dModel: model.dModel, nHeads: model.nHeads, gateHeads, gateHeadDim, layers };
}

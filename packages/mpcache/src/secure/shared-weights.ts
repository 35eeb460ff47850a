/**
 * Weight shares — the model owner's additive sharing of every weight tensor, with run.c names, in the
 * checkpoint's layout ([out, in], one layer at a time), encoded at `fracBits`.
 *
 * The owner draws P1's share of each tensor from a seed (AES-128-CTR keyed by
 * deriveSeed(seed, "weights/<name>/<layer>")) and gives P0 encode(W) − that stream. Shares are produced
 * one tensor slice at a time, on demand, and dropped by the caller once masked (secure-weights.ts), so
 * no party ever holds a whole-model copy of its share next to the masked operands: at GPT-2-small size
 * (124 M parameters) that saves ≈ 1 GB per party.
 *
 * Trust: P1's object holds only the seed; P0's holds the seed and the plaintext weights, because in a
 * local run the owner computes P0's share on P0's machine. A deployment materialises P0's shares at
 * the owner (`materializeWeightShares`) and ships them; P0 then never sees the weights.
 */
import { randomBytes } from 'node:crypto';
import { AesCtrPrg, deriveSeed, type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { validateModelConfig, type ModelConfig } from '../model/config';
import { assertWeightsMatchConfig, gpt2Layout, numel, tensorOf, weightLayout, type TransformerWeights } from '../model/weights';

// Local aliases: BigInt.asUintN and Math.round through the globals cost ≈ 150–250 ns/elem under
// jest's vm (protocols engine/words.ts); with them P0's share of stories15M took 7.5 s instead of 0.6 s.
const { asUintN } = BigInt;
const { round, floor } = Math;

/** Every weight tensor's run.c name (gpt2 extras included). */
export type WeightName =
  | 'tokEmb' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal'
  | 'posEmb' | 'attNormBias' | 'ffnNormBias' | 'finalNormBias';

const PER_LAYER: ReadonlySet<WeightName> = new Set<WeightName>(
  ['rmsAtt', 'wq', 'wk', 'wv', 'wo', 'rmsFfn', 'w1', 'w2', 'w3', 'attNormBias', 'ffnNormBias'],
);

/** One party's view of the shared weights. */
export interface WeightShares {
  readonly party: PartyId;
  readonly config: ModelConfig;
  readonly fracBits: number;
  /** My share of `name` (layer `layer` of a per-layer tensor), shape without the layer axis. */
  tensor(name: WeightName, layer?: number): RingTensor;
}

/** Shape of one slice of `name` (per-layer tensors lose their leading nLayers axis). */
export function weightSliceShape(config: ModelConfig, name: WeightName): number[] {
  const spec = [...weightLayout(config), ...(config.family === 'gpt2' ? gpt2Layout(config) : [])].find((s) => s.name === name);
  if (!spec) throw new RangeError(`model "${config.name}" has no weight "${name}"`);
  return PER_LAYER.has(name) ? spec.shape.slice(1) : [...spec.shape];
}

class SeededWeightShares implements WeightShares {
  constructor(
    readonly party: PartyId,
    readonly config: ModelConfig,
    readonly fracBits: number,
    private readonly seed: Uint8Array,
    private readonly weights: TransformerWeights | null,
  ) {}

  tensor(name: WeightName, layer?: number): RingTensor {
    const c = this.config, shape = weightSliceShape(c, name), n = numel(shape);
    const perLayer = PER_LAYER.has(name);
    if (perLayer !== (layer !== undefined) || (perLayer && (!Number.isInteger(layer) || layer! < 0 || layer! >= c.nLayers))) {
      throw new RangeError(`weight "${name}": layer expected ${perLayer ? `in [0, ${c.nLayers})` : 'none'}, got ${layer}`);
    }
    // P1's share: the owner's seeded stream for this slice
    const mask = new AesCtrPrg(deriveSeed(this.seed, `weights/${name}/${layer ?? -1}`)).words(n);
    if (this.party === 1) return { shape, data: mask };
    // P0's share: encode(W) − mask
    const off = perLayer ? layer! * n : 0;
    const data = encodeWords(tensorOf(this.weights!, name).subarray(off, off + n), this.fracBits);
    for (let i = 0; i < n; i++) data[i] = asUintN(64, data[i] - mask[i]);
    return { shape, data };
  }
}

/**
 * encode() of mpc-core (round to nearest, ties away from zero) for fp32 inputs, without a BigInt per
 * element: |x|·2^f < 2^53, so the integer's two 32-bit halves are computed in doubles and written
 * through a Uint32Array view (little-endian words). ≈ 10× faster than encode() under jest.
 */
export function encodeWords(src: Float32Array, fracBits: number): BigUint64Array {
  const n = src.length, out = new BigUint64Array(n), u32 = new Uint32Array(out.buffer), scale = 2 ** fracBits;
  for (let i = 0; i < n; i++) {
    const y = src[i] * scale, r = y < 0 ? -round(-y) : round(y);
    u32[2 * i] = r >>> 0;                   // ToUint32 is reduction mod 2^32
    u32[2 * i + 1] = floor(r / 4294967296) >>> 0; // the signed high half, two's complement
  }
  return out;
}

/** Materialised shares (what a deployment ships to a party): a map from "name/layer" to tensors. */
class MaterializedWeightShares implements WeightShares {
  constructor(
    readonly party: PartyId,
    readonly config: ModelConfig,
    readonly fracBits: number,
    private readonly slices: ReadonlyMap<string, RingTensor>,
  ) {}

  tensor(name: WeightName, layer?: number): RingTensor {
    const t = this.slices.get(`${name}/${layer ?? -1}`);
    if (!t) throw new RangeError(`weight shares have no slice "${name}" (layer ${layer ?? 'none'})`);
    return t;
  }
}

/**
 * The owner's sharing of `weights` at `fracBits`: [P0's shares, P1's shares]. Slices are computed on
 * demand (see the module header); the same seed always gives the same shares.
 */
export function shareModelWeights(
  weights: TransformerWeights, config: ModelConfig, fracBits: number, seed: Uint8Array = randomBytes(16),
): [WeightShares, WeightShares] {
  validateModelConfig(config);
  assertWeightsMatchConfig(weights, config);
  if (!Number.isInteger(fracBits) || fracBits < 1 || fracBits > 24) throw new RangeError(`"fracBits" expected an integer in [1, 24], got ${fracBits}`);
  if (seed.length !== 16) throw new RangeError(`"seed" expected 16 bytes, got ${seed.length}`);
  return [
    new SeededWeightShares(0, config, fracBits, seed, weights),
    new SeededWeightShares(1, config, fracBits, seed, null),
  ];
}

/** Every weight slice in the share file's order: the layout's tensors, per-layer ones layer by layer. */
export function weightSliceKeys(config: ModelConfig): { name: WeightName; layer?: number }[] {
  const names = [...weightLayout(config), ...(config.family === 'gpt2' ? gpt2Layout(config) : [])].map((s) => s.name as WeightName);
  return names.flatMap((name) => (PER_LAYER.has(name) ? Array.from({ length: config.nLayers }, (_, layer) => ({ name, layer })) : [{ name }]));
}

/** Every slice of `shares` computed now (for shipping P0's shares, or tests). */
export function materializeWeightShares(shares: WeightShares): WeightShares {
  return weightSharesFromSlices(shares.party, shares.config, shares.fracBits, weightSliceKeys(shares.config).map((k) => shares.tensor(k.name, k.layer)));
}

/** Shares from their slices in weightSliceKeys order (a share file's words). */
export function weightSharesFromSlices(party: PartyId, config: ModelConfig, fracBits: number, slices: readonly RingTensor[]): WeightShares {
  const keys = weightSliceKeys(config);
  if (slices.length !== keys.length) throw new RangeError(`weight shares expected ${keys.length} slices, got ${slices.length}`);
  return new MaterializedWeightShares(party, config, fracBits, new Map(keys.map((k, i) => [`${k.name}/${k.layer ?? -1}`, slices[i]])));
}

/** P1's shares from the owner's 16-byte seed alone: what P1's share file stores. */
export function weightSharesFromSeed(config: ModelConfig, fracBits: number, seed: Uint8Array): WeightShares {
  validateModelConfig(config);
  if (seed.length !== 16) throw new RangeError(`"seed" expected 16 bytes, got ${seed.length}`);
  return new SeededWeightShares(1, config, fracBits, seed, null);
}

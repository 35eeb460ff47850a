/**
 * randomWeights — deterministic, seeded weights for any config (cost measurements at GPT-2-small /
 * Llama-small size, and unit tests on the tiny configs). Cost does not depend on weight values.
 *
 * Scaling follows GPT-2's initialisation so activations stay in a sane range at every width:
 *   - linear layers and token embeddings: uniform with std σ = 0.5/√dModel (≈ 0.018 at 768, GPT-2
 *     uses 0.02), so a unit-RMS input gives outputs of std ≈ 0.5;
 *   - residual projections wo and w2: σ/√(2·nLayers) (GPT-2's scaled residual init);
 *   - learned position embeddings (gpt2): σ/2 (GPT-2 uses 0.01 against 0.02);
 *   - norm gains 1 + 0.1·u and LayerNorm biases 0.02·u, u ~ U(−1, 1): not exactly GPT-2's 1 and 0,
 *     so a test notices a gain or bias that is read from the wrong offset.
 * Uniform instead of normal: same std, cheaper, and bounded (no outliers that break fixed point).
 *
 * Each tensor draws from its own stream, seeded from (seed, tensor name), so a tensor's values do
 * not depend on which other tensors exist. Generator: xoshiro128** seeded by splitmix32, ≈ 7 ns per
 * float: gpt2-small's 127 M floats (≈ 510 MB) take ≈ 0.9 s, measured Node 20.20, 2026-11-26.
 */
import { validateModelConfig, type ModelConfig } from './config';
import { buildWeights, numel, type TensorSpec, type TransformerWeights } from './weights';

/** Seeded weights for `config`; the same (config, seed) always gives the same values. */
export function randomWeights(config: ModelConfig, seed: number): TransformerWeights {
  validateModelConfig(config);
  if (!Number.isInteger(seed)) throw new RangeError(`"seed" expected an integer, got ${seed}`);
  const sigma = 0.5 / Math.sqrt(config.dModel);
  const residual = sigma / Math.sqrt(2 * config.nLayers);
  return buildWeights(config, (spec: TensorSpec) => {
    const out = new Float32Array(numel(spec.shape));
    const rng = new Xoshiro128(seed, spec.name);
    switch (spec.name) {
      case 'rmsAtt': case 'rmsFfn': case 'rmsFinal':
        return fillUniform(out, rng, 0.1, 1);
      case 'attNormBias': case 'ffnNormBias': case 'finalNormBias':
        return fillUniform(out, rng, 0.02, 0);
      case 'wo': case 'w2':
        return fillUniform(out, rng, Math.sqrt(3) * residual, 0);
      case 'posEmb':
        return fillUniform(out, rng, Math.sqrt(3) * sigma / 2, 0);
      default:
        return fillUniform(out, rng, Math.sqrt(3) * sigma, 0);
    }
  });
}

/** out[i] = center + halfWidth · u, u ~ U(−1, 1). */
function fillUniform(out: Float32Array, rng: Xoshiro128, halfWidth: number, center: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = center + halfWidth * (rng.nextU32() / 2147483648 - 1);
  return out;
}

/** xoshiro128** (Blackman & Vigna), state from splitmix32 over the seed and a label hash. */
export class Xoshiro128 {
  private a: number; private b: number; private c: number; private d: number;

  constructor(seed: number, label = '') {
    let h = (seed | 0) ^ 0x9e3779b9;
    // fold the seed's high bits and the label (FNV-1a) into the splitmix state
    h = imul(h ^ Math.floor(seed / 2 ** 32), 0x85ebca6b);
    for (let i = 0; i < label.length; i++) h = imul(h ^ label.charCodeAt(i), 0x01000193);
    const next = () => {
      h = (h + 0x9e3779b9) | 0;
      let z = h;
      z = imul(z ^ (z >>> 16), 0x85ebca6b);
      z = imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = imul(rotl(imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Next uniform real in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
// read once: global `Math` lookups in hot loops are slow under jest's vm sandbox (blocks.ts)
const imul = Math.imul;

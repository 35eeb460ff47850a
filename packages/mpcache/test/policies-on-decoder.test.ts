/**
 * Every policy through makePolicy on a tiny model: budgets respected, the full cache equals the
 * reference output, a budget ≥ the context changes nothing; D2O's merge on a hand-made cache;
 * Attention-Gate weight files; the decoder's optional hook events.
 */
import {
  AttentionGatePolicy, D2oPolicy, mpcacheConfig, mpcacheMinBudget, FullCache, MeteredPolicy, POLICY_NAMES, ReferenceDecoder, TINY_LLAMA,
  attentionGateWeightsToJson, fitAttentionGate, makePolicy, ridgeSolve, parseAttentionGateWeights, randomAttentionGateWeights, randomWeights,
  type AttentionView, type CacheRowOverrides, type KVCachePolicy, type PolicyConfig,
} from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 7);
const c = { ...TINY_LLAMA, nLayers: 4 };
const w = randomWeights(c, SEED);
const prompt = Array.from({ length: 30 }, (_, i) => (i * 11 + 1) % c.vocabSize);
const gate = randomAttentionGateWeights(c, SEED, { gateHeads: 2, gateHeadDim: 4 });
const config = (o: Partial<PolicyConfig> = {}): PolicyConfig => ({
  model: c, attentionGate: { weights: gate }, mpcache: { clusterSizes: [4, 2], forcedRecent: 4 }, quest: { pageSize: 2 }, ...o,
});

/** Teacher-forced decode of `steps` fixed tokens after the prompt; the last logits. */
function decode(policy: KVCachePolicy, steps = 16, fracBits?: number): Float64Array {
  const dec = new ReferenceDecoder(w, c, { kvPolicy: policy, fixedPointFracBits: fracBits });
  let logits = dec.prefill(prompt);
  for (let i = 0; i < steps; i++) logits = dec.forward((i * 3 + 2) % c.vocabSize, dec.length);
  return Float64Array.from(logits);
}

describe('makePolicy', () => {
  test('builds every named policy; rejects unknown names, bad budgets, a gate-less attention-gate', () => {
    for (const name of POLICY_NAMES) expect(makePolicy(name, 12, config()).name).toBe(name);
    expect(() => makePolicy('lru', 8, config())).toThrow(/unknown policy "lru"/);
    expect(() => makePolicy('h2o', 1, config())).toThrow(/"budget"/);
    expect(() => makePolicy('h2o', 8, config({ fracBits: 40 }))).toThrow(/"fracBits"/);
    expect(() => makePolicy('attention-gate', 8, { model: c })).toThrow(/attentionGate.weights/);
  });

  test('the full cache equals the reference output', () => {
    expect(Array.from(decode(makePolicy('full', 8, config())))).toEqual(Array.from(decode(new FullCache())));
  });

  test.each(POLICY_NAMES.filter((n) => n !== 'full'))('%s: attended positions per head per step ≤ budget (on average over layers for CAKE/D2O)', (name) => {
    for (const budget of [12, 16]) {
      const m = new MeteredPolicy(makePolicy(name, budget, config()));
      const out = decode(m);
      expect(out.every(Number.isFinite)).toBe(true);
      expect(m.calls).toBe(16 * c.nLayers * c.nHeads);
      if (name === 'cake' || name === 'd2o') expect(m.meanAttended).toBeLessThanOrEqual(budget + 1e-9);
      else expect(m.maxAttended).toBeLessThanOrEqual(budget);
      // below the context, selection must actually bind somewhere
      expect(m.meanAttended).toBeLessThan(prompt.length);
    }
  });

  test.each(POLICY_NAMES.filter((n) => n !== 'full'))('%s: a budget of the whole context is the full cache', (name) => {
    const p = makePolicy(name, c.seqLen, config({ d2o: { layerBudgets: 'uniform' }, attentionGate: { weights: gate, maskPrefill: false } }));
    expect(Array.from(decode(p))).toEqual(Array.from(decode(new FullCache())));
  });

  test('small budgets change the output; fixed-point emulation runs every policy on the grid', () => {
    const full = decode(new FullCache());
    for (const name of ['h2o', 'mpcache', 'quest', 'd2o']) expect(Array.from(decode(makePolicy(name, 12, config())))).not.toEqual(Array.from(full));
    expect(mpcacheMinBudget(mpcacheConfig({ clusterSizes: [4, 2] }))).toBe(12);
    const under = new MeteredPolicy(makePolicy('mpcache', 8, config())); // below it: forced clusters win
    decode(under);
    expect(under.maxAttended).toBeLessThanOrEqual(12);
    for (const name of POLICY_NAMES) {
      const out = decode(makePolicy(name, 12, config({ fracBits: 12 })), 6, 12);
      expect(out.every((v) => Number.isInteger(v * 4096))).toBe(true);
    }
  });
});

describe('D2O merging', () => {
  /** A one-layer, one-head view over hand-made keys (headDim 2). */
  const view = (pos: number, keys: number[][], values: number[][]): AttentionView => ({
    layer: 0, head: 0, kvHead: 0, pos, q: Float64Array.from([1, 0]), headDim: 2, kvDim: 2,
    keyCache: Float64Array.from(keys.slice(0, pos + 1).flat()), valueCache: Float64Array.from(values.slice(0, pos + 1).flat()),
  });

  test('the evicted token merges into its most similar kept key: K_c ← (K_c + u·k_e)/2', () => {
    const keys = [[1, 0], [0, 1], [0.6, 0.8], [1, 0.1], [-1, 0]];
    const values = [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]];
    // budget 4: heavy 2, recent 2; no sinks; uniform capacity
    const p = new D2oPolicy({ model: { nLayers: 1, nHeads: 1, seqLen: 8 }, budget: 4, fracBits: null },
      { heavyFraction: 0.5, sinks: 0, emaAlpha: 0.5, emaBeta: 0.5, skipLayers: [], layerBudgets: 'uniform', merge: true, mergeScope: 'full' });
    const rows = [[1], [0.2, 0.8], [0.5, 0.1, 0.4], [0.3, 0.3, 0.2, 0.2]];
    for (let pos = 0; pos < 4; pos++) {
      expect(p.attendMask(view(pos, keys, values))).toEqual(pos < 4 ? new Uint8Array(pos + 1).fill(1) : null);
      p.observe(view(pos, keys, values), Float64Array.from(rows[pos]));
    }
    // scores: 0 → 2.0, 1 → 1.2, 2 → 0.6, 3 → 0.2; query 4: recent {3, 4}, heavy keeps {0, 1}, evicts 2
    const m = p.attendMask(view(4, keys, values))!;
    expect(Array.from(m)).toEqual([1, 1, 0, 1, 1]);
    // k_2 = (0.6, 0.8): cosines with kept 0 → 0.6, 1 → 0.8, 3 → (0.6 + 0.08)/√1.01, 4 → −0.6: target 1, u = 0.8
    const ov = p.rowOverrides(view(4, keys, values)) as CacheRowOverrides;
    expect(ov.count).toBe(1);
    expect(ov.positions[0]).toBe(1);
    expect(ov.keys[0]).toBeCloseTo((0 + 0.8 * 0.6) / 2, 12);
    expect(ov.keys[1]).toBeCloseTo((1 + 0.8 * 0.8) / 2, 12);
    expect(ov.values[0]).toBeCloseTo((2 + 0.8 * 3) / 2, 12);
    // with merge off: same kept set, no overrides
    const q = new D2oPolicy({ model: { nLayers: 1, nHeads: 1, seqLen: 8 }, budget: 4, fracBits: null },
      { heavyFraction: 0.5, sinks: 0, emaAlpha: 0.5, emaBeta: 0.5, skipLayers: [], layerBudgets: 'uniform', merge: false, mergeScope: 'full' });
    for (let pos = 0; pos < 4; pos++) { q.attendMask(view(pos, keys, values)); q.observe(view(pos, keys, values), Float64Array.from(rows[pos])); }
    expect(Array.from(q.attendMask(view(4, keys, values))!)).toEqual([1, 1, 0, 1, 1]);
    expect(q.rowOverrides(view(4, keys, values))).toBeNull();
  });

  test('on the model: merging changes the output, adaptive layer budgets are set at the end of the prefill', () => {
    const merged = decode(makePolicy('d2o', 8, config()));
    const plain = decode(makePolicy('d2o', 8, config({ d2o: { merge: false } })));
    expect(Array.from(merged)).not.toEqual(Array.from(plain));
    const p = makePolicy('d2o', 8, config({ d2o: { skipLayers: [0, -1] } })) as D2oPolicy;
    const m = new MeteredPolicy(p);
    decode(m);
    const caps = [1, 2].map((l) => p.layerSplit(l).heavy + p.layerSplit(l).recent);
    expect(caps.every((x) => x >= 2)).toBe(true);
  });
});

describe('Attention-Gate weights', () => {
  test('JSON round trip and validation', () => {
    const json = JSON.parse(JSON.stringify(attentionGateWeightsToJson(gate)));
    const back = parseAttentionGateWeights(json, c);
    expect(back.gateHeads).toBe(2);
    expect(Array.from(back.layers[3].wg)).toEqual(Array.from(gate.layers[3].wg));
    expect(() => parseAttentionGateWeights({ ...json, format: 'x' }, c)).toThrow(/format/);
    expect(() => parseAttentionGateWeights({ ...json, nHeads: 5 }, c)).toThrow(/nHeads/);
    const bad = { ...json, layers: json.layers.map((l: Record<string, number[]>, i: number) => (i === 1 ? { ...l, wk: l.wk.slice(1) } : l)) };
    expect(() => parseAttentionGateWeights(bad, c)).toThrow(/layers\[1\]\.wk/);
  });

  test('threshold mode attends exactly the positive-logit tokens (and itself), prefill included', () => {
    const p = new AttentionGatePolicy({ model: c, budget: 8, fracBits: null }, { weights: gate, countMode: 'threshold', threshold: 0, maskPrefill: true, recentFraction: 0 });
    const seen: [number, number, number, number[]][] = [];
    const spy: KVCachePolicy = {
      name: 'spy', observe: () => {}, reset: () => p.reset(),
      observeInput: (l, pos, xb) => p.observeInput(l, pos, xb),
      beginPrefill: (n) => p.beginPrefill(n), endPrefill: () => p.endPrefill(),
      attendMask: (v) => { const m = p.attendMask(v); seen.push([v.layer, v.head, v.pos, Array.from(m!)]); return m; },
    };
    decode(spy, 4);
    let partial = 0;
    for (const [l, h, pos, m] of seen) {
      const g = p.gateLogits(l, h);
      for (let j = 0; j < pos; j++) expect(m[j]).toBe(g[j] > 0 ? 1 : 0);
      expect(m[pos]).toBe(1);
      if (m.includes(0)) partial++;
    }
    expect(partial).toBeGreaterThan(0);
  });
});

describe('ReferenceDecoder optional hook events', () => {
  test('prefill bracket on an empty cache only; observeInput once per layer and position', () => {
    const events: string[] = [];
    let inputs = 0;
    const p: KVCachePolicy = {
      name: 'events', attendMask: () => null, observe: () => {}, reset: () => {},
      beginPrefill: (n) => events.push(`begin ${n}`), endPrefill: (n) => events.push(`end ${n}`),
      observeInput: (_l, _pos, xb) => { expect(xb.length).toBe(c.dModel); inputs++; },
    };
    const dec = new ReferenceDecoder(w, c, { kvPolicy: p });
    dec.prefill([1, 2, 3]);
    dec.prefill([4]); // continuation on a non-empty cache: no bracket
    dec.forward(5, dec.length);
    expect(events).toEqual(['begin 3', 'end 3']);
    expect(inputs).toBe(5 * c.nLayers);
  });

  test('rowOverrides: identical rows change nothing, different rows change the output, bad positions throw', () => {
    const make = (delta: number, positions = [2]): KVCachePolicy => ({
      name: 'ov', attendMask: () => null, observe: () => {}, reset: () => {},
      rowOverrides: (v): CacheRowOverrides | null => {
        if (v.pos < 5) return null;
        const d = v.headDim, keys = new Float64Array(positions.length * d), values = new Float64Array(positions.length * d);
        positions.forEach((t, i) => {
          const o = t * v.kvDim + v.kvHead * d;
          for (let j = 0; j < d; j++) { keys[i * d + j] = v.keyCache[o + j] + delta; values[i * d + j] = v.valueCache[o + j]; }
        });
        return { count: positions.length, positions: Int32Array.from(positions), keys, values };
      },
    });
    const base = decode(new FullCache(), 4);
    expect(Array.from(decode(make(0), 4))).toEqual(Array.from(base));
    expect(Array.from(decode(make(0.5), 4))).not.toEqual(Array.from(base));
    expect(() => decode(make(0, [2, 2]), 4)).toThrow(/repeated/);
    expect(() => decode(make(0, [99]), 4)).toThrow(/out of/);
  });

  test('fork copies the cache: continuing a fork equals continuing the original', () => {
    const a = new ReferenceDecoder(w, c);
    a.prefill(prompt);
    const b = a.fork(new FullCache());
    expect(b.length).toBe(prompt.length);
    const la = Float64Array.from(a.forward(9, a.length)), lb = Float64Array.from(b.forward(9, b.length));
    expect(Array.from(lb)).toEqual(Array.from(la));
  });
});

describe('fitAttentionGate (readout fitted to future attention)', () => {
  test('ridgeSolve solves a small system, the bias unpenalised', () => {
    const A = Float64Array.from([4, 2, 2, 3]), b = Float64Array.from([2, 1]);
    const x = ridgeSolve(A, b, 2, 0);
    expect(4 * x[0] + 2 * x[1]).toBeCloseTo(2, 12);
    expect(2 * x[0] + 3 * x[1]).toBeCloseTo(1, 12);
  });

  test('deterministic, valid weights whose logits order tokens; threshold keeps about half', () => {
    const seqs = [prompt, prompt.map((t) => (t * 5 + 3) % c.vocabSize)];
    const opts = { gateHeads: 1, gateHeadDim: 4, horizon: 8 };
    const a = fitAttentionGate(w, c, seqs, opts), b = fitAttentionGate(w, c, seqs, opts);
    expect(Array.from(a.layers[2].wg)).toEqual(Array.from(b.layers[2].wg));
    expect(() => parseAttentionGateWeights(JSON.parse(JSON.stringify(attentionGateWeightsToJson(a))), c)).not.toThrow();
    const p = new AttentionGatePolicy({ model: c, budget: c.seqLen, fracBits: null }, { weights: a, countMode: 'topk', threshold: 0, maskPrefill: false, recentFraction: 0 });
    new ReferenceDecoder(w, c, { kvPolicy: p }).prefill(prompt);
    const g = p.gateLogits(1, 0).subarray(0, prompt.length - 8);
    const positive = Array.from(g).filter((x) => x > 0).length / g.length;
    // neither all nor none (a bias or median bug gives one of those); over random weights the share
    // ranges 0.18–0.82 (SEED 1–400) and reached 0.86 (19 of 22, SEED=477158), so no tighter bound
    expect(positive).toBeGreaterThan(0);
    expect(positive).toBeLessThan(1);
  });
});

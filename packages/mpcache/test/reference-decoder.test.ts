import { LimitError } from '@mpcache/mpc-core';
import {
  FullCache, ReferenceDecoder, TINY_GPT2, TINY_LLAMA, argmax, randomWeights,
  type AttentionView, type KVCachePolicy, type ModelConfig, type TransformerWeights,
} from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 99);

/**
 * An independent reference: recompute the whole sequence each time (no KV cache), plain arrays,
 * its own norms, RoPE from the complex-rotation formula, optional keep(layer, head, qPos, kPos).
 */
function naiveLogits(w: TransformerWeights, c: ModelConfig, tokens: number[],
  keep: (l: number, h: number, t: number, u: number) => boolean = () => true): number[] {
  const D = c.dModel, hs = c.headDim, kvD = c.nKvHeads * hs, T = tokens.length;
  const mv = (W: Float32Array, off: number, x: number[], n: number, d: number) =>
    Array.from({ length: d }, (_, i) => x.reduce((s, xj, j) => s + W[off + i * n + j] * xj, 0));
  const norm = (x: number[], g: Float32Array, b: Float32Array | null, off: number) => {
    if (c.family === 'llama') {
      const r = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / D + c.normEps);
      return x.map((v, j) => g[off + j] * v / r);
    }
    const m = x.reduce((s, v) => s + v, 0) / D;
    const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / D + c.normEps);
    return x.map((v, j) => g[off + j] * (v - m) / sd + b![off + j]);
  };
  const rot = (v: number[], pos: number) => v.map((_, i) => {
    const j = i % hs, f = j - (j % 2), ang = pos * c.ropeTheta ** (-f / hs);
    const re = v[i - (i % 2)], im = v[i - (i % 2) + 1]; // (re + i·im)·e^{i·ang}
    return i % 2 === 0 ? re * Math.cos(ang) - im * Math.sin(ang) : re * Math.sin(ang) + im * Math.cos(ang);
  });
  const g = w.gpt2;
  let X = tokens.map((tok, t) => Array.from({ length: D }, (_, i) => w.tokEmb[tok * D + i] + (g ? g.posEmb[t * D + i] : 0)));
  for (let l = 0; l < c.nLayers; l++) {
    const xn = X.map((x) => norm(x, w.rmsAtt, g?.attNormBias ?? null, l * D));
    let Q = xn.map((x) => mv(w.wq, l * D * D, x, D, D));
    let K = xn.map((x) => mv(w.wk, l * kvD * D, x, D, kvD));
    const V = xn.map((x) => mv(w.wv, l * kvD * D, x, D, kvD));
    if (c.family === 'llama') { Q = Q.map(rot); K = K.map(rot); }
    X = X.map((x, t) => {
      const o = new Array<number>(D).fill(0);
      for (let h = 0; h < c.nHeads; h++) {
        const kh = Math.floor(h * c.nKvHeads / c.nHeads) * hs;
        const us = Array.from({ length: t + 1 }, (_, u) => u).filter((u) => u === t || keep(l, h, t, u));
        const s = us.map((u) => Q[t].slice(h * hs, h * hs + hs).reduce((a, q, i) => a + q * K[u][kh + i], 0) / Math.sqrt(hs));
        const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((a, v) => a + v, 0);
        us.forEach((u, k) => { for (let i = 0; i < hs; i++) o[h * hs + i] += (e[k] / z) * V[u][kh + i]; });
      }
      const x1 = x.map((v, i) => v + mv(w.wo, l * D * D, o, D, D)[i]);
      const xf = norm(x1, w.rmsFfn, g?.ffnNormBias ?? null, l * D);
      const a = mv(w.w1, l * D * c.dFf, xf, D, c.dFf);
      const hb = c.family === 'llama'
        ? a.map((v, i) => (v / (1 + Math.exp(-v))) * mv(w.w3!, l * D * c.dFf, xf, D, c.dFf)[i])
        : a.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
      const f = mv(w.w2, l * D * c.dFf, hb, c.dFf, D);
      return x1.map((v, i) => v + f[i]);
    });
  }
  const xl = norm(X[T - 1], w.rmsFinal, g?.finalNormBias ?? null, 0);
  return mv(w.wcls, 0, xl, D, c.vocabSize);
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Sinks + recent window: keep positions < sinks and the last `recent` ones. Records what it saw. */
class WindowPolicy implements KVCachePolicy {
  readonly name = 'window';
  seen: { view: AttentionView; probs: Float64Array }[] = [];
  constructor(private sinks: number, private recent: number) {}
  keep(t: number, u: number) { return u < this.sinks || u > t - this.recent; }
  attendMask(v: AttentionView) {
    return Uint8Array.from({ length: v.pos + 1 }, (_, u) => (this.keep(v.pos, u) ? 1 : 0));
  }
  observe(view: AttentionView, probs: Float64Array) { this.seen.push({ view: { ...view }, probs: Float64Array.from(probs) }); }
  reset() { this.seen = []; }
}

describe.each([TINY_LLAMA, TINY_GPT2])(`ReferenceDecoder on $name (SEED=${SEED})`, (c) => {
  const w = randomWeights(c, SEED);
  const tokens = [1, 17, 5, 63, 0, 42, 42, 9, 30, 2];

  test('logits at every position equal the independent no-cache reference', () => {
    const dec = new ReferenceDecoder(w, c);
    tokens.forEach((tok, pos) => {
      const got = dec.forward(tok, pos);
      expect(maxAbsDiff(got, naiveLogits(w, c, tokens.slice(0, pos + 1)))).toBeLessThan(1e-9);
    });
    expect(dec.length).toBe(tokens.length);
  });

  test('prefill equals step-by-step forward; generateGreedy equals a manual argmax loop', () => {
    const a = new ReferenceDecoder(w, c), b = new ReferenceDecoder(w, c);
    const la = Float64Array.from(a.prefill(tokens));
    let lb = new Float64Array(0);
    tokens.forEach((t, p) => { lb = Float64Array.from(b.forward(t, p)); });
    expect(la).toEqual(lb);
    const gen = a.generateGreedy(tokens, 12);
    b.reset();
    let logits = b.prefill(tokens);
    const manual: number[] = [], gaps: number[] = [];
    for (let i = 0; i < 12; i++) {
      manual.push(argmax(logits));
      const sorted = Array.from(logits).sort((x, y) => y - x);
      gaps.push(sorted[0] - sorted[1]);
      if (i < 11) logits = b.forward(manual[i], b.length);
    }
    expect(gen).toEqual(manual);
    expect(a.length).toBe(tokens.length + 11);
    expect(a.generateGreedy(tokens, 12)).toEqual(gen); // generateGreedy starts from a fresh cache
    expect(a.generateGreedy(tokens, 12, { stopTokens: [gen[3]] })).toEqual(gen.slice(0, gen.indexOf(gen[3]) + 1));
    // decodeGreedy goes on from the given logits (here: a prompt cut in two) and gives each choice's lead
    a.reset();
    a.prefill(tokens.slice(0, 4));
    const on = a.decodeGreedy(a.prefill(tokens.slice(4)), 12);
    expect(on.tokens).toEqual(gen);
    on.margins.forEach((m, i) => expect(m).toBeCloseTo(gaps[i], 12));
    expect(Math.min(...on.margins)).toBeGreaterThan(0);
    expect(() => a.decodeGreedy(new Float64Array(c.vocabSize), 0)).toThrow(/"maxNewTokens"/);
  });

  test('KV-cache policy mask: attention over the kept positions only, probabilities exposed', () => {
    const policy = new WindowPolicy(2, 3);
    const dec = new ReferenceDecoder(w, c, { kvPolicy: policy });
    const logits = dec.prefill(tokens);
    expect(maxAbsDiff(logits, naiveLogits(w, c, tokens, (_l, _h, t, u) => policy.keep(t, u)))).toBeLessThan(1e-9);
    expect(maxAbsDiff(logits, naiveLogits(w, c, tokens))).toBeGreaterThan(1e-6); // the mask mattered
    expect(policy.seen.length).toBe(tokens.length * c.nLayers * c.nHeads);
    for (const { view, probs } of policy.seen) {
      expect(probs.length).toBe(view.pos + 1);
      expect(probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 12);
      probs.forEach((p, u) => { if (!policy.keep(view.pos, u)) expect(p).toBe(0); });
      expect(view.kvHead).toBe(Math.floor(view.head / (c.nHeads / c.nKvHeads)));
      expect(view.keyCache.length).toBe((view.pos + 1) * view.kvDim);
    }
    const last = policy.seen[policy.seen.length - 1];
    expect(dec.attentionProbs(c.nLayers - 1, c.nHeads - 1)).toEqual(last.probs);
    dec.reset();
    expect(policy.seen.length).toBe(0); // reset reaches the policy
  });

  test('fixed-point emulation: every output on the 2^-12 grid, close to float64', () => {
    const fx = new ReferenceDecoder(w, c, { fixedPointFracBits: 12 });
    const f64 = new ReferenceDecoder(w, c);
    const a = fx.prefill(tokens), b = f64.prefill(tokens);
    expect(a.every((v) => Number.isInteger(v * 4096))).toBe(true);
    expect(fx.attentionProbs(0, 0).every((v) => Number.isInteger(v * 4096))).toBe(true);
    // measured 2.5e-3 to 4.7e-3 on both tiny configs (SEEDs 1, 2, 3, 99): quantisation error; a bug is ≫ 0.02
    expect(maxAbsDiff(a, b)).toBeLessThan(0.02);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(0);
  });

  test('rejects bad tokens, positions, lengths and options', () => {
    const dec = new ReferenceDecoder(w, c);
    expect(() => dec.forward(c.vocabSize, 0)).toThrow(RangeError);
    expect(() => dec.forward(-1, 0)).toThrow(RangeError);
    expect(() => dec.forward(1.5, 0)).toThrow(RangeError);
    expect(() => dec.forward(1, 1)).toThrow(/"pos"/); // nothing cached yet
    dec.prefill([1, 2, 3]);
    dec.forward(4, 1); // rewriting a position drops the later ones
    expect(dec.length).toBe(2);
    expect(() => dec.prefill(new Array(c.seqLen - 1).fill(1))).toThrow(LimitError);
    expect(() => dec.prefill([])).toThrow(RangeError);
    expect(() => dec.generateGreedy([1], 0)).toThrow(/"maxNewTokens"/);
    expect(() => dec.generateGreedy([1, 2], c.seqLen)).toThrow(LimitError);
    expect(dec.generateGreedy([1, 2], c.seqLen - 1).length).toBe(c.seqLen - 1); // fills the context exactly
    expect(() => dec.attentionProbs(c.nLayers, 0)).toThrow(/"layer"/);
    expect(() => new ReferenceDecoder(w, c, { fixedPointFracBits: 0 })).toThrow(/fixedPointFracBits/);
    expect(() => new ReferenceDecoder({ ...w, wo: w.wo.subarray(1) }, c)).toThrow(/"wo"/);
    expect(new ReferenceDecoder(w, c).kvPolicy).toBeInstanceOf(FullCache);
  });
});

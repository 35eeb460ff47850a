/**
 * Secure blocks with nonlinear steps, on shares against float64: attention with a masked KV cache
 * (causal prefill, then a cached decoding step), norms, the MLP of both families, the greedy token,
 * and the KV-cache policy hook (public-row selection against the plaintext decoder with the same mask).
 */
import { runBoth } from '@mpcache/protocols';
import {
  ReferenceDecoder, SecureDecoder, SecureLayerCache, SecureSinkWindowCache, TINY_GPT2, TINY_LLAMA, argmax, ffnHidden,
  ARGMAX_RESOLUTION_BITS, ffnOutput, gelu, greedyToken, greedyTokenCost, kvDim, layerNorm, normOnShares, randomWeights, revealTokenId, rmsNorm, secureAttention,
  shareTokenOneHots, silu, type AttentionView, type KVCachePolicy, type ModelConfig,
} from '@mpcache/mpcache';
import { expectCosts, measureBoth } from './cost-helpers';
import { gridReals, linearRows, maxAbsDiff, openReals, secureModel, shareReals, testPrg, TEST_SEED } from './secure-helpers';

const F = 16;

/** Causal softmax attention in float64: q (n, nHeads·hs) pre-scaled, K/V (len, kvD); query t at position old + t. */
function refAttention(c: ModelConfig, q: Float64Array, n: number, K: Float64Array, V: Float64Array, old: number): Float64Array {
  const hs = c.headDim, D = c.dModel, kvD = kvDim(c), out = new Float64Array(n * D), kvMul = c.nHeads / c.nKvHeads;
  for (let t = 0; t < n; t++) for (let h = 0; h < c.nHeads; h++) {
    const kh = Math.floor(h / kvMul) * hs, len = old + t + 1, s = new Float64Array(len);
    for (let u = 0; u < len; u++) for (let i = 0; i < hs; i++) s[u] += q[t * D + h * hs + i] * K[u * kvD + kh + i];
    const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((a, b) => a + b, 0);
    for (let u = 0; u < len; u++) for (let i = 0; i < hs; i++) out[t * D + h * hs + i] += (e[u] / z) * V[u * kvD + kh + i];
  }
  return out;
}

describe.each([TINY_LLAMA, TINY_GPT2])('secure nonlinear blocks, %s', (c: ModelConfig) => {
  const weights = randomWeights(c, 5);
  const setup = secureModel(c, weights, F, `nl-${c.name}`);
  const D = c.dModel, kvD = kvDim(c);

  test(`attention with cache: causal prefill of 4, then one cached step, within 0.01 (seed ${TEST_SEED})`, async () => {
    const { parties } = await setup;
    const caches = await runBoth(parties, (ctx) => SecureLayerCache.create(ctx, c.nKvHeads, c.headDim));
    const total = 5, q = gridReals(testPrg('q'), total * D, -1.5, 1.5, F);
    const K = gridReals(testPrg('k'), total * kvD, -1.5, 1.5, F), V = gridReals(testPrg('v'), total * kvD, -1, 1, F);
    const run = async (from: number, n: number) => {
      const sh = (a: Float64Array, w: number, l: string) => shareReals(a.subarray(from * w, (from + n) * w), [n, w], F, testPrg(l + from));
      const qs = sh(q, D, 'qs'), ks = sh(K, kvD, 'ks'), vs = sh(V, kvD, 'vs');
      const out = await runBoth(parties, (ctx) => secureAttention(ctx, c, caches[ctx.party], { name: 'full', select: async () => null, observe: async () => {}, reset() {} },
        { layer: 0, startPos: from, q: qs[ctx.party], k: ks[ctx.party], v: vs[ctx.party] }));
      return openReals(out, 2 * F); // the output is at scale 2f
    };
    const pre = await run(0, 4);
    expect(maxAbsDiff(pre, refAttention(c, q, 4, K, V, 0))).toBeLessThan(0.01);
    expect(caches[0].length).toBe(4);
    const step = await run(4, 1);
    expect(maxAbsDiff(step, refAttention(c, q.subarray(4 * D), 1, K, V, 4))).toBeLessThan(0.01);
    expect(caches[1].length).toBe(5);
  });

  test('attention/ffn norm on shares within 2e-3 of float64', async () => {
    const { parties, secure } = await setup;
    const n = 3, x = gridReals(testPrg('nx'), n * D, -3, 3, F), xs = shareReals(x, [n, D], F, testPrg('nxs'));
    const lw = secure.map((s) => s.layers[1]);
    const out = await runBoth(parties, (ctx) => normOnShares(ctx, c, xs[ctx.party], lw[ctx.party].rmsFfn, lw[ctx.party].ffnNormBias));
    const want = new Float64Array(n * D);
    for (let t = 0; t < n; t++) {
      const o = new Float64Array(D), xt = x.slice(t * D, t * D + D);
      if (c.family === 'llama') rmsNorm(o, xt, weights.rmsFfn, D, D, c.normEps);
      else layerNorm(o, xt, weights.rmsFfn, weights.gpt2!.ffnNormBias, D, D, c.normEps);
      want.set(o, t * D);
    }
    expect(maxAbsDiff(openReals(out, F), want)).toBeLessThan(2e-3);
  });

  test('MLP (SwiGLU | GeLU) with residual within 5e-3 of float64', async () => {
    const { parties, secure } = await setup;
    const n = 2, l = 0, H = c.dFf, xb = gridReals(testPrg('mx'), n * D, -2, 2, F), x0 = gridReals(testPrg('mr'), n * D, -1, 1, F);
    const xbs = shareReals(xb, [n, D], F, testPrg('mxs')), xs = shareReals(x0, [n, D], F, testPrg('mrs'));
    await runBoth(parties, async (ctx) => {
      const lw = secure[ctx.party].layers[l];
      await ffnOutput(ctx, c, lw, await ffnHidden(ctx, c, lw, xbs[ctx.party]), xs[ctx.party]);
    });
    const h1 = linearRows(xb, n, D, weights.w1, l * H * D, H);
    const hb = c.family === 'llama'
      ? (() => { const h3 = linearRows(xb, n, D, weights.w3!, l * H * D, H); return h1.map((v, i) => silu(v) * h3[i]); })()
      : h1.map(gelu);
    const y = linearRows(hb, n, H, weights.w2, l * D * H, D);
    expect(maxAbsDiff(openReals(xs, F), x0.map((v, i) => v + y[i]))).toBeLessThan(5e-3);
  });

  test('greedy token: the argmax id (revealed by adding shares) and its one-hot row, at scale f and 2f; exact cost on both parties', async () => {
    const { parties } = await setup;
    const logits = gridReals(testPrg('lg'), c.vocabSize, -20, 20, F);
    const top = argmax(logits), lead = logits[top] - Math.max(...logits.filter((_, j) => j !== top));
    for (const scale of [F, 2 * F]) {
      const ls = shareReals(logits, [1, c.vocabSize], scale, testPrg(`lgs/${scale}`));
      const { out, used } = await measureBoth(parties, (ctx) => greedyToken(ctx, ls[ctx.party], scale));
      // exact cost: argmaxPacked over the vocabulary, then the DPF one-hot of its index (tokenFromIndex)
      expectCosts(used, greedyTokenCost(c.vocabSize, scale));
      expect(greedyTokenCost(c.vocabSize, scale).rounds).toBe(Math.ceil(Math.log2(c.vocabSize)) + 1); // header: ⌈log2 vocab⌉ + 1
      const id = revealTokenId(out[0].id, out[1].id, c.vocabSize);
      // the stated accuracy: the exact argmax when it leads by ≥ 2^-8, else within 2^-8·⌈log2 vocab⌉
      if (lead >= 2 ** -ARGMAX_RESOLUTION_BITS) expect(id).toBe(top);
      else expect(logits[id]).toBeGreaterThan(logits[top] - 2 ** -ARGMAX_RESOLUTION_BITS * Math.ceil(Math.log2(c.vocabSize)));
      const row = openReals([out[0].oneHot, out[1].oneHot], 0);
      expect(Array.from(row)).toEqual(Array.from(row, (_, j) => (j === id ? 1 : 0)));
    }
  });
});

/** Plaintext twin of SecureSinkWindowCache(sinks, window): decode steps only. */
class SinkWindowMask implements KVCachePolicy {
  readonly name = 'sink-window';
  private inPrefill = false;
  constructor(private readonly sinks: number, private readonly window: number) {}
  attendMask(view: AttentionView): Uint8Array | null {
    const len = view.pos + 1;
    if (this.inPrefill || len <= this.sinks + this.window) return null;
    const m = new Uint8Array(len);
    for (let j = 0; j < len; j++) m[j] = j < this.sinks || j >= len - this.window ? 1 : 0;
    return m;
  }
  observe(): void {}
  reset(): void {}
  beginPrefill(): void { this.inPrefill = true; }
  endPrefill(): void { this.inPrefill = false; }
}

test('KV-cache policy hook: a public-row selection on shares matches the plaintext decoder with the same mask', async () => {
  const c = TINY_LLAMA, weights = randomWeights(c, 3), prompt = [1, 9, 33, 4, 50, 2, 7];
  const { parties, secure } = await secureModel(c, weights, F, 'policy');
  const ref = new ReferenceDecoder(weights, c, { kvPolicy: new SinkWindowMask(2, 3) });
  const dec = secure.map((w) => new SecureDecoder(w, { kvPolicy: new SecureSinkWindowCache(2, 3) }));
  ref.kvPolicy.beginPrefill!(prompt.length);
  let want = Float64Array.from(ref.prefill(prompt));
  ref.kvPolicy.endPrefill!(prompt.length);
  let rows = shareTokenOneHots(prompt, c.vocabSize, testPrg('pp'));
  let worst = 0, lastWant = want;
  const fedTokens: number[] = [];
  for (let step = 0; step < 3; step++) {
    lastWant = want;
    const r = rows;
    const got = openReals(await runBoth(parties, (ctx) => dec[ctx.party].forward(ctx, r[ctx.party])), F);
    worst = Math.max(worst, maxAbsDiff(got, want));
    const next = argmax(want);
    fedTokens.push(next);
    rows = shareTokenOneHots([next], c.vocabSize, testPrg(`pt${step}`));
    want = Float64Array.from(ref.forward(next, ref.length));
  }
  expect(worst).toBeLessThan(0.02);
  // the selection is really used (kvLen 8..10 > sinks + window): the full cache's logits differ by far more
  const fed = [...prompt, ...fedTokens];
  const full = new ReferenceDecoder(weights, c).prefill(fed.slice(0, -1));
  expect(maxAbsDiff(full, lastWant)).toBeGreaterThan(0.1);
});

/**
 * Secure blocks on shares against float64 references (tiny llama and gpt2 configs, random weights):
 * weight sharing, embedding, qkv + RoPE, attention output, classifier. The references use the
 * weights and public constants rounded to the grid (what the ring holds) and exact float64 products,
 * so the only gap is truncPr's: below 1 ulp per truncation (asserted < 1.01 ulp).
 */
import { encode, share } from '@mpcache/mpc-core';
import { runBoth } from '@mpcache/protocols';
import {
  TINY_GPT2, TINY_LLAMA, attentionOutput, classifierLogits, embedTokens, kvDim, materializeWeightShares, qkvProjection,
  quantizeWeights, randomWeights, ropeTable, shareModelWeights, shareTokenOneHots, type ModelConfig,
} from '@mpcache/mpcache';
import { gridReals, linearRows, maxAbsDiff, openReals, secureModel, seed16, shareReals, testPrg, TEST_SEED } from './secure-helpers';

const F = 16;
const ulp = 2 ** -F;

describe.each([TINY_LLAMA, TINY_GPT2])('secure blocks, %s', (config: ModelConfig) => {
  const weights = randomWeights(config, 7);
  const wq = quantizeWeights(weights, config, F); // the grid values the shares encode
  const c = config, D = c.dModel, kvD = kvDim(c);
  const setup = secureModel(c, weights, F, `blocks-${c.name}`);

  test(`weight shares reconstruct the encoded weights (seed ${TEST_SEED})`, () => {
    const [s0, s1] = shareModelWeights(weights, c, F, seed16('ws'));
    const m0 = materializeWeightShares(s0);
    for (const [name, layer, src] of [['wq', 1, weights.wq], ['tokEmb', undefined, weights.tokEmb], ['rmsFinal', undefined, weights.rmsFinal]] as const) {
      const a = m0.tensor(name, layer), b = s1.tensor(name, layer), n = a.data.length, off = (layer ?? 0) * n;
      const sum = a.data.map((v, i) => BigInt.asUintN(64, v + b.data[i]));
      expect(Array.from(sum)).toEqual(Array.from(encode(src.subarray(off, off + n), F)));
      expect(b.data.some((v, i) => v !== sum[i])).toBe(true); // P1's share is not the value
    }
    expect(() => s0.tensor('wq')).toThrow(RangeError);
  });

  test('embedding: one-hot rows times tokEmb are the exact encoded rows', async () => {
    const { parties, secure } = await setup;
    const ids = [3, 0, c.vocabSize - 1];
    const rows = shareTokenOneHots(ids, c.vocabSize, testPrg('emb'));
    const out = await runBoth(parties, (ctx) => embedTokens(ctx, secure[ctx.party], rows[ctx.party]));
    const want = ids.flatMap((id) => Array.from(wq.tokEmb.subarray(id * D, id * D + D)));
    expect(maxAbsDiff(openReals(out, F), want)).toBe(0);
  });

  test('qkv matmuls + RoPE + score scale at positions 5..7 within 1 ulp of the grid reference', async () => {
    const { parties, secure } = await setup;
    const n = 3, start = 5, layer = 1;
    const xb = gridReals(testPrg('qkv'), n * D, -2, 2, F);
    const xs = shareReals(xb, [n, D], F, testPrg('qkv-share'));
    const out = await runBoth(parties, (ctx) => qkvProjection(ctx, c, secure[ctx.party].layers[layer], xs[ctx.party], start));
    // reference: matvec, then run.c's pair rotation with grid constants (cos·s, sin·s for q)
    const q = linearRows(xb, n, D, wq.wq, layer * D * D, D);
    const k = linearRows(xb, n, D, wq.wk, layer * kvD * D, kvD);
    const v = linearRows(xb, n, D, wq.wv, layer * kvD * D, kvD);
    const s = 1 / Math.sqrt(c.headDim), grid = (a: number) => Math.round(a * 2 ** F) / 2 ** F;
    const cos = new Float64Array(c.headDim / 2).fill(1), sin = new Float64Array(c.headDim / 2);
    const rot = (vec: Float64Array, off: number, size: number, scale: number) => {
      for (let i = 0; i < size; i += 2) {
        const f = (i % c.headDim) >> 1, C = grid(cos[f] * scale), S = grid(sin[f] * scale), a = vec[off + i], b = vec[off + i + 1];
        vec[off + i] = a * C - b * S;
        vec[off + i + 1] = a * S + b * C;
      }
    };
    for (let t = 0; t < n; t++) {
      if (c.family === 'llama') ropeTable(start + t, c.headDim, c.ropeTheta, cos, sin);
      rot(q, t * D, D, s);
      if (c.family === 'llama') rot(k, t * kvD, kvD, 1);
    }
    expect(maxAbsDiff(openReals([out[0].q, out[1].q], F), q)).toBeLessThan(1.01 * ulp);
    expect(maxAbsDiff(openReals([out[0].k, out[1].k], F), k)).toBeLessThan(1.01 * ulp);
    expect(maxAbsDiff(openReals([out[0].v, out[1].v], F), v)).toBeLessThan(1.01 * ulp);
  });

  test('attention output: x += (P·V at 2f)·woᵀ, one truncation by 2f', async () => {
    const { parties, secure } = await setup;
    const n = 2, layer = 0;
    const attn = gridReals(testPrg('attn'), n * D, -1, 1, F), x0 = gridReals(testPrg('x'), n * D, -3, 3, F);
    // attn at scale 2f: encode at f, then multiply by 2^f (exact)
    const a2 = share({ shape: [n, D], data: encode(attn, F).map((w) => BigInt.asUintN(64, w << BigInt(F))) }, testPrg('a2'));
    const xs = shareReals(x0, [n, D], F, testPrg('xs'));
    await runBoth(parties, (ctx) => attentionOutput(ctx, secure[ctx.party].layers[layer], a2[ctx.party], xs[ctx.party]));
    const y = linearRows(attn, n, D, wq.wo, layer * D * D, D);
    expect(maxAbsDiff(openReals(xs, F), x0.map((v, i) => v + y[i]))).toBeLessThan(1.01 * ulp);
  });

  test('tied classifier: logits = x·tokEmbᵀ', async () => {
    const { parties, secure } = await setup;
    const x = gridReals(testPrg('cls'), D, -2, 2, F);
    const xs = shareReals(x, [1, D], F, testPrg('cls-share'));
    const out = await runBoth(parties, (ctx) => classifierLogits(ctx, secure[ctx.party], xs[ctx.party]));
    expect(out[0].shape).toEqual([1, c.vocabSize]);
    expect(maxAbsDiff(openReals(out, F), linearRows(x, 1, D, wq.tokEmb, 0, c.vocabSize))).toBeLessThan(1.01 * ulp);
  });
});

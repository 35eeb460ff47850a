/**
 * The secure decoder against the float64 reference decoder on the tiny configs (random weights):
 * prefill + KV-cached decoding logits, greedy tokens through Generator/secureGenerate, per-step
 * costs from the ledger, and the KV-cache policy hook.
 */
import {
  argmaxPackedCost, beaverMulCost, geluCost, maskedMatmulCost, oneHotCost, rmsNormCost, rmsNormOfResidualCost, runBoth, siluCost, siluMulCost, softmaxRowsCost, truncPrCost,
} from '@mpcache/protocols';
import {
  ARGMAX_RESOLUTION_BITS, Generator, LOGIT_MAX_BITS, ReferenceDecoder, SecureDecoder, SecureFullCache, TINY_GPT2, TINY_LLAMA, argmax, randomWeights, revealTokenId, secureGenerate,
  kvDim, shareTokenOneHots, siluTolerance, softmaxWeightedSumOnSharesCost, shareTokenIds, type ModelConfig,
} from '@mpcache/mpcache';
import { maxAbsDiff, openReals, secureModel, testPrg, TEST_SEED } from './secure-helpers';

const F = 16;

describe.each([TINY_LLAMA, TINY_GPT2])('secure decoder, %s', (config: ModelConfig) => {
  const weights = randomWeights(config, 11);
  const setup = secureModel(config, weights, F, `decoder-${config.name}`);
  const prompt = [1, 17, 42, 5, 63, 8];

  test(`prefill + 4 cached steps: logits within 0.02 of float64 (seed ${TEST_SEED})`, async () => {
    const { parties, secure } = await setup;
    const ref = new ReferenceDecoder(weights, config);
    const dec = [new SecureDecoder(secure[0]), new SecureDecoder(secure[1])];
    let want = Float64Array.from(ref.prefill(prompt));
    let rows = shareTokenOneHots(prompt, config.vocabSize, testPrg('prompt'));
    let worst = 0;
    for (let step = 0; step < 5; step++) {
      const r = rows;
      const logits = await runBoth(parties, (ctx) => dec[ctx.party].forward(ctx, r[ctx.party]));
      const got = openReals(logits, F);
      worst = Math.max(worst, maxAbsDiff(got, want));
      expect(argmax(got)).toBe(argmax(want));
      const next = argmax(want);
      rows = shareTokenOneHots([next], config.vocabSize, testPrg(`tok${step}`));
      want = Float64Array.from(ref.forward(next, ref.length));
    }
    expect(dec[0].length).toBe(prompt.length + 4);
    expect(worst).toBeLessThan(0.02);
  });

  test('secureGenerate: greedy tokens equal the reference; ids revealed only by adding both shares', async () => {
    const { parties, secure } = await setup;
    const want = new ReferenceDecoder(weights, config).generateGreedy(prompt, 5);
    const ids = shareTokenIds(prompt, config.vocabSize, testPrg('ids'));
    const out = await runBoth(parties, (ctx) => secureGenerate({ ctx, weights: secure[ctx.party], promptShares: ids[ctx.party], maxNewTokens: 5 }));
    const got = out[0].map((t, i) => revealTokenId(t.idShare, out[1][i].idShare, config.vocabSize));
    expect(got).toEqual(want);
    // both parties see the same rounds and bytes; a step's rounds depend only on public lengths
    // (the softmax max-tree has ⌈log2 kvLen⌉ levels): kvLen 7, 8 → 3 levels, 9, 10 → 4
    const online = (t: (typeof out)[0][number]) => [t.cost.rounds, t.cost.bytesSent, t.cost.bytesReceived];
    expect(out[0].map(online)).toEqual(out[1].map(online));
    const rounds = out[0].map((t) => t.cost.rounds);
    expect(rounds[2]).toBe(rounds[1]);
    expect(rounds[3]).toBe(rounds[1] + config.nLayers);
    expect(rounds[4]).toBe(rounds[3]);
    expect(out[0][1].cost.offlineBytes).toBeGreaterThan(0);
  });

  test.each([
    ['one causal pass (full cache)', () => new SecureFullCache()],
    ['step by step (a policy without multiRowSteps)', () => Object.assign(new SecureFullCache(), { multiRowSteps: false })],
  ])('a chat turn (extend), %s: the ids equal the reference greedy decoding of prompt + generated + next prompt, with one argmax', async (how, policy) => {
    const { parties, secure } = await setup;
    const turn2 = [9, 30, 2];
    const first = new ReferenceDecoder(weights, config).generateGreedy(prompt, 3);
    const second = new ReferenceDecoder(weights, config).generateGreedy([...prompt, ...first, ...turn2], 2);
    const gens = secure.map((w, i) => new Generator(parties.ctx[i], w, { kvPolicy: policy() }));
    const ids1 = shareTokenIds(prompt, config.vocabSize, testPrg('turn1')), ids2 = shareTokenIds(turn2, config.vocabSize, testPrg('turn2'));
    const before = await runBoth(parties, async (ctx) => {
      const g = gens[ctx.party];
      return [await g.prefill(ids1[ctx.party]), await g.step(), await g.step()];
    });
    parties.ctx.forEach((ctx) => ctx.ledger.reset());
    const after = await runBoth(parties, async (ctx) => {
      const g = gens[ctx.party];
      return [await g.extend(ids2[ctx.party]), await g.step()];
    });
    const reveal = (a: typeof before[0], b: typeof before[1]) => a.map((t, i) => revealTokenId(t.idShare, b[i].idShare, config.vocabSize));
    expect([...reveal(before[0], before[1]), ...reveal(after[0], after[1])]).toEqual([...first, ...second]);
    // the turn fed 1 + 3 positions and ranked the vocabulary twice (extend's last position, the step)
    expect(gens[0].decoder.length).toBe(prompt.length + 2 + 1 + turn2.length + 1);
    const argmaxOpts = { bits: 2 * F + LOGIT_MAX_BITS + 2, resolutionBits: 2 * F - ARGMAX_RESOLUTION_BITS };
    const one = argmaxPackedCost(1, config.vocabSize, argmaxOpts), hot = oneHotCost(1, config.vocabSize);
    expect(parties.ctx[0].ledger.get('argmax').rounds).toBe(2 * (one.rounds + hot.rounds));
    // one pass: a prefill's rounds (a step's, plus the DPF one-hot of the ids); step by step: 4 passes
    if (how.startsWith('one')) expect(after[0][0].cost.rounds).toBeLessThan(1.5 * after[0][1].cost.rounds);
    else expect(after[0][0].cost.rounds).toBeGreaterThan(3 * after[0][1].cost.rounds);
    await expect(new Generator(parties.ctx[0], secure[0]).extend(ids2[0])).rejects.toThrow(/before prefill/);
  });

  test('lastTokenIs opens only whether the last token is a given id: 1 round, 1 byte per party', async () => {
    const { parties, secure } = await setup;
    const first = new ReferenceDecoder(weights, config).generateGreedy(prompt, 1)[0];
    const gens = secure.map((w, i) => new Generator(parties.ctx[i], w));
    const ids = shareTokenIds(prompt, config.vocabSize, testPrg('stop'));
    await runBoth(parties, (ctx) => gens[ctx.party].prefill(ids[ctx.party]));
    parties.ctx.forEach((ctx) => ctx.ledger.reset());
    const other = (first + 1) % config.vocabSize;
    const got = await runBoth(parties, async (ctx) => [await gens[ctx.party].lastTokenIs(first), await gens[ctx.party].lastTokenIs(other)]);
    expect(got).toEqual([[true, false], [true, false]]);
    for (const ctx of parties.ctx) expect(ctx.ledger.get('stop check')).toMatchObject({ rounds: 2, bytesSent: 2, offlineBytes: 0 });
    await expect(gens[0].lastTokenIs(config.vocabSize)).rejects.toThrow(RangeError);
  });

  test('temperature sampling: the Gumbel noise costs P0 8·vocab offline bytes per token and nothing online; T → 0 is greedy', async () => {
    const { parties, secure } = await setup;
    const want = new ReferenceDecoder(weights, config).generateGreedy(prompt, 3);
    const ids = shareTokenIds(prompt, config.vocabSize, testPrg('ids-T'));
    const run = (temperature: number) => runBoth(parties, (ctx) =>
      secureGenerate({ ctx, weights: secure[ctx.party], promptShares: ids[ctx.party], maxNewTokens: 3, decoder: { temperature } }));
    const greedy = await run(0), tiny = await run(1e-6), sampled = await run(1);
    // noise below 2e-5 cannot move a ranking at the argmax's 2^-8 resolution
    expect(tiny[0].map((t, i) => revealTokenId(t.idShare, tiny[1][i].idShare, config.vocabSize))).toEqual(want);
    for (const p of [0, 1] as const) {
      for (let i = 0; i < 3; i++) {
        const g = greedy[p][i].cost, s = sampled[p][i].cost;
        expect([s.rounds, s.bytesSent, s.bytesReceived]).toEqual([g.rounds, g.bytesSent, g.bytesReceived]);
        expect(s.offlineBytes - g.offlineBytes).toBe(p === 0 ? 8 * config.vocabSize : 0);
      }
    }
    for (const t of sampled[0].map((t, i) => revealTokenId(t.idShare, sampled[1][i].idShare, config.vocabSize))) {
      expect(t >= 0 && t < config.vocabSize).toBe(true);
    }
    expect(() => new Generator(parties.ctx[0], secure[0], { temperature: -1 })).toThrow(RangeError);
  });

  test('a decoding step: the linear sections cost exactly their masked products and truncations', async () => {
    const { parties, secure } = await setup;
    const c = config, D = c.dModel, kvD = kvDim(c), Lr = c.nLayers, f = F;
    const gens = secure.map((w, i) => new Generator(parties.ctx[i], w));
    const ids = shareTokenIds(prompt, c.vocabSize, testPrg('cost-ids'));
    await runBoth(parties, (ctx) => gens[ctx.party].prefill(ids[ctx.party]));
    parties.ctx.forEach((ctx) => ctx.ledger.reset());
    await runBoth(parties, (ctx) => gens[ctx.party].step());
    const kvLen = prompt.length + 1, ledger = parties.ctx[0].ledger;
    const online = (k: string) => { const x = ledger.get(k); return { rounds: x.rounds, bytesSent: x.bytesSent }; };
    const sum = (...cs: { rounds: number; bytesSent: number }[]) => cs.reduce((a, b) => ({ rounds: a.rounds + b.rounds, bytesSent: a.bytesSent + b.bytesSent }), { rounds: 0, bytesSent: 0 });
    const times = (x: { rounds: number; bytesSent: number }, k: number) => ({ rounds: k * x.rounds, bytesSent: k * x.bytesSent });
    const pick = (x: { rounds: number; bytesSent: number }) => ({ rounds: x.rounds, bytesSent: x.bytesSent });
    expect(online('token embedding')).toEqual(pick(maskedMatmulCost([1, c.vocabSize], [1, D])));
    expect(online('qkv matmuls')).toEqual(times(sum(maskedMatmulCost([1, D], [1, D + 2 * kvD]), truncPrCost(D + 2 * kvD, 2 * f)), Lr));
    // the full cache takes the scores untruncated (2f) into the softmax: no truncation round
    expect(online('attention scores')).toEqual(times(pick(maskedMatmulCost([1, D], [], kvD)), Lr));
    // no policy reads P: the values are weighed by the softmax numerators beside the reciprocal, and
    // each output row is divided once (its online cost lands in 'softmax'; 'weighted sum of values'
    // keeps only its dealer bytes)
    const pv = maskedMatmulCost([c.nHeads, kvLen], [c.nHeads, c.headDim], kvD);
    const attn = softmaxWeightedSumOnSharesCost(c.nHeads, kvLen, c.headDim, pv, f, 2 * f);
    expect(online('softmax')).toEqual(times(pick(attn), Lr));
    const offline = (k: string) => ledger.get(k).offlineBytes + parties.ctx[1].ledger.get(k).offlineBytes;
    expect(offline('softmax')).toBe(Lr * attn.offlineBytes);
    expect(online('weighted sum of values')).toEqual({ rounds: 0, bytesSent: 0 });
    // against forming P (softmaxRows, then P·V): two rounds and 16 B per attended element less
    const withP = sum(softmaxRowsCost(c.nHeads, kvLen, f, { bits: 32 + f, inFracBits: 2 * f }), pv);
    expect(attn.rounds).toBe(withP.rounds - 2);
    expect(withP.bytesSent - attn.bytesSent).toBe(16 * c.nHeads * kvLen - 24 * c.nHeads * c.headDim + 8 * c.nHeads);
    // llama: each block's output joins the residual stream in the next RMSNorm's first round (its
    // truncation folded there); gpt2: a truncation round of its own
    const folded = c.family === 'llama', noCost = { rounds: 0, bytesSent: 0 };
    const join = folded ? noCost : pick(truncPrCost(D, f));
    expect(online('attention output matmul')).toEqual(times(sum(maskedMatmulCost([1, D], [1, D]), join), Lr));
    expect(online('ffn output matmul')).toEqual(times(sum(maskedMatmulCost([1, c.dFf], [1, D]), join), Lr));
    if (folded) {
      const joined = pick(rmsNormOfResidualCost(1, D, 2 * f, f, { eps: c.normEps }));
      expect(online('ffn rmsnorm')).toEqual(times(joined, Lr));
      expect(online('final rmsnorm')).toEqual(joined);
      expect(online('attention rmsnorm')).toEqual(sum(pick(rmsNormCost(1, D, f, { eps: c.normEps })), times(joined, Lr - 1)));
    }
    // the hidden activation: llama's SiLU gate folds its truncation into the product with w3·x (2
    // rounds where silu + beaverMul take 3); gpt2's GeLU
    const F2 = c.family === 'llama' ? 2 * c.dFf : c.dFf, tol = { tol: siluTolerance(f) };
    const act = c.family === 'llama' ? siluMulCost(c.dFf, f, tol) : geluCost(c.dFf, f);
    expect(online(c.family === 'llama' ? 'swiglu' : 'gelu mlp')).toEqual(times(sum(maskedMatmulCost([1, D], [1, F2]), truncPrCost(F2, f), act), Lr));
    if (c.family === 'llama') expect(act.rounds).toBe(siluCost(c.dFf, f, tol).rounds + beaverMulCost(c.dFf).rounds - 1);
    // the Generator ranks the untruncated logits (scale 2f): no truncation round before the argmax
    expect(online('classifier')).toEqual(pick(maskedMatmulCost([1, D], [1, c.vocabSize])));
    const argmaxOpts = { bits: 2 * f + LOGIT_MAX_BITS + 2, resolutionBits: 2 * f - ARGMAX_RESOLUTION_BITS };
    expect(online('argmax')).toEqual(sum(argmaxPackedCost(1, c.vocabSize, argmaxOpts), oneHotCost(1, c.vocabSize)));
    // every online byte and round of the step is inside a named section
    const sections = ['token embedding', 'attention rmsnorm', 'qkv matmuls', 'multihead attention', 'attention output matmul',
      'ffn rmsnorm', c.family === 'llama' ? 'swiglu' : 'gelu mlp', 'ffn output matmul', 'final rmsnorm', 'classifier', 'argmax'];
    expect(sum(...sections.map(online))).toEqual(pick(ledger.snapshot()));
  });
});

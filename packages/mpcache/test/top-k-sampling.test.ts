/**
 * Truncated sampling on shares (truncated-sampling.ts; Generator options topK, topP):
 *   - topKToken against an independent BigInt reference: the kept set is the exact top k of the
 *     fixed-point logits (ties: the lower id), the token the argmax of logits + noise over that set,
 *     also when the noisy argmax over the whole vocabulary lies outside it; the run's exact cost;
 *   - topPToken against a float64 reference: the nucleus is the smallest sorted prefix of the top k
 *     whose softmax(l/T) mass reaches p; a strongly noised token outside it never wins, and wins
 *     once p = 1 takes it in; the run's exact cost;
 *   - Generator with topK = 1 at T = 1 decodes the greedy tokens (the top-1 set is the argmax);
 *     every token runs the oblivious top-k; option validation.
 */
import { reconstruct, share, type RingTensor } from '@mpcache/mpc-core';
import { argmaxPackedCost, localParties, oneHotCost, runBoth, type LocalParties } from '@mpcache/protocols';
import {
  ARGMAX_RESOLUTION_BITS, Generator, LOGIT_MAX_BITS, randomWeights, ReferenceDecoder, revealTokenId, secureGenerate, shareTokenIds, TINY_LLAMA, topKToken,
  topKTokenCost, topPArgmaxRange, topPToken, topPTokenCost, type SamplingCost,
} from '@mpcache/mpcache';
import { secureModel, testPrg, TEST_SEED } from './secure-helpers';

const S = 32; // logit scale (the decoder's untruncated classifier output at f = 16)
const ONE = 1n << BigInt(S);

function shared(words: bigint[], label: string): [RingTensor, RingTensor] {
  return share({ shape: [1, words.length], data: BigUint64Array.from(words, (v) => BigInt.asUintN(64, v)) }, testPrg(label));
}

/** Reference: the ids of the top k by (value desc, id asc), then the argmax of value + noise among them. */
function referenceToken(logits: bigint[], noise: bigint[], k: number): number {
  const ids = logits.map((_, i) => i).sort((a, b) => (logits[a] === logits[b] ? a - b : logits[b] > logits[a] ? 1 : -1)).slice(0, k);
  return ids.reduce((best, i) => (logits[i] + noise[i] > logits[best] + noise[best] ? i : best));
}

/** The whole run's ledger totals equal `cost` (rounds, bytes sent by each party, dealer bytes to both). */
function expectTotal(parties: LocalParties, cost: SamplingCost): void {
  const [t0, t1] = parties.ctx.map((c) => c.ledger.snapshot());
  expect([t0.rounds, t1.rounds]).toEqual([cost.rounds, cost.rounds]);
  expect([t0.bytesSent, t1.bytesSent]).toEqual(cost.bytesSentPerParty);
  expect(t0.offlineBytes + t1.offlineBytes).toBe(cost.offlineBytes);
}

describe(`topKToken (SEED=${TEST_SEED})`, () => {
  const V = 300;
  it.each([1, 5, 40])('k = %i: the argmax of logits + noise over the exact top k, even when the noisy argmax lies outside; the run\'s exact cost', async (k) => {
    const prg = testPrg(`topk-sample/${k}`);
    // logits in [−8, 8) at scale 2^32, a block of ties at the top-k boundary
    const logits = [...prg.words(V)].map((w) => BigInt.asIntN(S + 4, w));
    for (let i = 10; i < 14; i++) logits[i] = 3n * ONE;
    // noise in [0, 3); the item with the smallest logit gets +100: the noisy argmax of all V
    const noise = [...prg.words(V)].map((w) => BigInt.asUintN(S + 1, w) + BigInt.asUintN(S, w >> 33n));
    const low = logits.indexOf(logits.reduce((a, b) => (b < a ? b : a)));
    noise[low] += 100n * ONE;
    const noisy = logits.map((l, i) => l + noise[i]);
    const want = referenceToken(logits, noise, k);
    expect(want).not.toBe(low);
    const [l0, l1] = shared(logits, `l/${k}`), [n0, n1] = shared(noisy, `n/${k}`);
    const parties = localParties();
    const [a, b] = await runBoth(parties, (ctx) => topKToken(ctx, ctx.party === 0 ? l0 : l1, ctx.party === 0 ? n0 : n1, k, S));
    expect(revealTokenId(a.id, b.id, V)).toBe(want);
    const row = reconstruct(a.oneHot, b.oneHot).data;
    expect([...row].map(Number)).toEqual(Array.from({ length: V }, (_, i) => (i === want ? 1 : 0)));
    const opts = { bits: S + LOGIT_MAX_BITS + 2, resolutionBits: S - ARGMAX_RESOLUTION_BITS, indexRange: V };
    for (const [scope, cost] of [['argmaxPacked', argmaxPackedCost(1, k, opts)], ['oneHot', oneHotCost(1, V)]] as const) {
      const c0 = parties.ctx[0].ledger.get(scope), c1 = parties.ctx[1].ledger.get(scope);
      expect([c0.rounds, c0.bytesSent, c0.offlineBytes + c1.offlineBytes]).toEqual([cost.rounds, cost.bytesSent, cost.offlineBytes]);
    }
    expect(a.stepComparisons).toEqual(b.stepComparisons);
    expectTotal(parties, topKTokenCost(V, k, a.stepComparisons, S));
  });
});

describe(`topPToken (SEED=${TEST_SEED})`, () => {
  const V = 300, K = 8, T = 0.7;
  // the top 8 (real logits) at the first positions; the rest below −4
  const top = [5, 4.6, 4.2, 3.0, 2.9, 2.2, 2.0, -3];
  const prg = testPrg('topp');
  const logits = [...top.map((x) => BigInt(Math.round(x * 2 ** S))), ...[...prg.words(V - K)].map((w) => -5n * ONE - BigInt.asUintN(S + 2, w))];
  const probs = top.map((x) => Math.exp((x - top[0]) / T)), Z = probs.reduce((a, b) => a + b);
  /** The float64 nucleus: j kept iff the mass before it is below p. */
  const nucleus = (p: number) => top.map((_, j) => probs.slice(0, j).reduce((a, b) => a + b, 0) / Z < p);

  it.each([[0.8, false], [1, true]] as const)('p = %f: the nucleus of the float64 softmax; the noised token at logit 2.2 wins only inside it; the run\'s exact cost', async (p, inside) => {
    const keep = nucleus(p);
    const masses = top.map((_, j) => probs.slice(0, j).reduce((a, b) => a + b, 0) / Z);
    // no prefix that matters within exp's error of p (the last token's, 1 − 1e-5 ≈ p = 1, cannot win)
    expect(masses.slice(0, 7).every((m) => Math.abs(m - p) > 1e-3)).toBe(true);
    expect(keep[5]).toBe(inside);
    const noise = logits.map((_, i) => BigInt(Math.round(T * (i === 5 ? 19 : i % 3) * 2 ** S)));
    const noisy = logits.map((l, i) => l + noise[i]);
    const score = (j: number) => Math.max(top[j] - top[0], -14 * T) + Number(noise[j]) / 2 ** S;
    const want = top.map((_, j) => j).filter((j) => keep[j]).reduce((a, b) => (score(b) > score(a) ? b : a));
    expect(want === 5).toBe(inside);
    const [l0, l1] = shared(logits, `pl/${p}`), [n0, n1] = shared(noisy, `pn/${p}`);
    const parties = localParties({ fracBits: 16 });
    const [a, b] = await runBoth(parties, (ctx) => topPToken(ctx, ctx.party === 0 ? l0 : l1, ctx.party === 0 ? n0 : n1, K, p, T, S));
    expect(revealTokenId(a.id, b.id, V)).toBe(want);
    const cost = argmaxPackedCost(1, K, { ...topPArgmaxRange(S, T), indexRange: V });
    const c0 = parties.ctx[0].ledger.get('argmaxPacked'), c1 = parties.ctx[1].ledger.get('argmaxPacked');
    expect([c0.rounds, c0.bytesSent, c0.offlineBytes + c1.offlineBytes]).toEqual([cost.rounds, cost.bytesSent, cost.offlineBytes]);
    expectTotal(parties, topPTokenCost(V, K, T, a.stepComparisons, S, 16));
  });

  it('rejects p outside (0, 1]', async () => {
    const ctx = localParties().ctx[0], x = { shape: [1, 4], data: new BigUint64Array(4) };
    await expect(topPToken(ctx, x, x, 2, 0, 1, S)).rejects.toThrow(/p expected a number in \(0, 1\], got 0/);
  });
});

describe('Generator with topK', () => {
  const config = TINY_LLAMA, weights = randomWeights(config, 11), prompt = [1, 17, 42, 5, 63, 8];
  const setup = secureModel(config, weights, 16, 'topk-generator');

  test('topK = 1 at T = 1 decodes the greedy tokens; every token runs the oblivious top-k', async () => {
    const { parties, secure } = await setup;
    const want = new ReferenceDecoder(weights, config).generateGreedy(prompt, 3);
    const ids = shareTokenIds(prompt, config.vocabSize, testPrg('topk-ids'));
    const run = (decoder: { temperature: number; topK?: number }) => runBoth(parties, (ctx) =>
      secureGenerate({ ctx, weights: secure[ctx.party], promptShares: ids[ctx.party], maxNewTokens: 3, decoder }));
    parties.ctx.forEach((ctx) => ctx.ledger.reset());
    const top1 = await run({ temperature: 1, topK: 1 });
    expect(top1[0].map((t, i) => revealTokenId(t.idShare, top1[1][i].idShare, config.vocabSize))).toEqual(want);
    // each of the 3 tokens ran the oblivious top-k (shuffle + at least one quick-select step)
    expect(parties.ctx[0].ledger.get('topK').rounds).toBeGreaterThanOrEqual(3 * 4);
    expect(parties.ctx[0].ledger.get('argmax').bytesSent).toBeGreaterThan(0);
    const sampled = await run({ temperature: 1, topK: 4 });
    for (const t of sampled[0].map((t, i) => revealTokenId(t.idShare, sampled[1][i].idShare, config.vocabSize))) expect(t >= 0 && t < config.vocabSize).toBe(true);
  });

  test('options: topK needs T > 0 and lies in [1, vocabSize]; topP lies in (0, 1] and needs topK', async () => {
    const { parties, secure } = await setup;
    const make = (o: { temperature: number; topK: number }) => () => new Generator(parties.ctx[0], secure[0], o);
    expect(make({ temperature: 0, topK: 5 })).toThrow(/needs a temperature > 0/);
    expect(make({ temperature: 1, topK: 0 })).toThrow(/"topK" expected an integer in \[1, 64\], got 0/);
    expect(make({ temperature: 1, topK: 65 })).toThrow(/"topK" expected an integer in \[1, 64\], got 65/);
    expect(make({ temperature: 1, topK: 64 })).not.toThrow();
    const withP = (o: { temperature: number; topK?: number; topP: number }) => () => new Generator(parties.ctx[0], secure[0], o);
    expect(withP({ temperature: 1, topP: 0.9 })).toThrow(/"topP" needs "topK": the nucleus is taken within the top k/);
    expect(withP({ temperature: 1, topK: 8, topP: 0 })).toThrow(/"topP" expected a number in \(0, 1\], got 0/);
    expect(withP({ temperature: 1, topK: 8, topP: 1.5 })).toThrow(/got 1.5/);
    expect(withP({ temperature: 1, topK: 8, topP: 0.9 })).not.toThrow();
  });
});

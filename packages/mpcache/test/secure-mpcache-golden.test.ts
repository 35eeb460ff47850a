/**
 * Secure generation with MPCache on stories15M against the plaintext MPCache generation (fixed-point
 * reference decoder + plaintext MpcachePolicy, same config): a 64-token prompt, budget 24, clusters
 * [8, 4] (the short-context scaling), static pool 2·budget so that the static stage evicts and the
 * dynamic stage selects at every step. The greedy tokens must be equal. The cache grows from 48 to 57
 * rows: clusters complete at 52 and 56 in the forced tail, so every leader defers their bounds to
 * run beside its softmax (no round of their own), and the steps after 56 score them.
 *
 * Randomness is pinned, whatever SEED says: the secure run truncates probabilistically (±1 ulp), so
 * its activations differ from the round-to-nearest emulation by a few ulps, and a near-tie in a
 * cluster ranking or the argmax can flip a choice and the continuation with it (seen with 1 seed in
 * 4); a cluster-ranking flip moves the logits by more than truncation noise, so a margin rule on the
 * argmax alone would not cover it. (Until 2026-11-27 the pin applied only without SEED, and the
 * jest globalSetup sets SEED for every run: the test had been running unpinned.) The per-step kept
 * sets on IDENTICAL fixed-point inputs are compared exactly, for every seed, in secure-mpcache.test.ts
 * (deferred bounds included); this end-to-end test checks that the whole pipeline agrees.
 */
import { runBoth } from '@mpcache/protocols';
import {
  Generator, ReferenceDecoder, SecureMpcachePolicy, loadStories15M, revealTokenId, shareTokenOneHots,
} from '@mpcache/mpcache';
import { makePolicy } from '../src/cache/make-policy';
import { PINNED, secureModel, testPrg } from './secure-helpers';

const RUN = `${PINNED}1/`;

const F = 16;
const NEW_TOKENS = 10;
const BUDGET = 24;
const CFG = { clusterSizes: [8, 4], forcedRecent: 8, staticKeepBudgetMultiple: 2 };
const STORY = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. ' +
  'One day, she saw a big red ball in the park. She ran to the ball and kicked it very high. The ball flew over the tree and ' +
  'landed in the pond next to the old duck.';

test(`stories15M: secure MPCache generation = plaintext MPCache generation, ${NEW_TOKENS} tokens (pinned randomness)`, async () => {
  const { config, weights, tokenizer } = loadStories15M();
  const prompt = tokenizer.encode(STORY, { bos: true }).slice(0, 64);
  expect(prompt.length).toBe(64);
  const plain = makePolicy('mpcache', BUDGET, { model: config, fracBits: F, mpcache: CFG });
  const want = new ReferenceDecoder(weights, config, { kvPolicy: plain, fixedPointFracBits: F }).generateGreedy(prompt, NEW_TOKENS);

  const { parties, secure } = await secureModel(config, weights, F, `${RUN}mpcache-golden`);
  const pol = [0, 1].map(() => new SecureMpcachePolicy(config, BUDGET, CFG));
  let deferred = 0;
  const take = pol[0].takeBackground.bind(pol[0]);
  pol[0].takeBackground = (layer) => { const w = take(layer); if (w) deferred++; return w; };
  const rows = shareTokenOneHots(prompt, config.vocabSize, testPrg(`${RUN}mpcache-golden-prompt`));
  const out = await runBoth(parties, async (ctx) => {
    const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: pol[ctx.party] });
    const toks = [await gen.prefill(rows[ctx.party]), await gen.step()];
    const bounds = { ...ctx.ledger.get('cluster bounds') }; // the first step computes every bound, inline
    while (toks.length < NEW_TOKENS) toks.push(await gen.step());
    return { toks, cache: gen.decoder.layerCaches.map((c) => c.length), bounds: [bounds, ctx.ledger.get('cluster bounds')] };
  });
  const got = out[0].toks.map((t, i) => revealTokenId(t.idShare, out[1].toks[i].idShare, config.vocabSize));
  const steps = pol[0].lastStep.filter((s) => s !== null);
  console.log(`secure MPCache: "${tokenizer.decode(got)}" (plaintext "${tokenizer.decode(want)}"); caches ${out[0].cache.join(',')}; ` +
    `last step: ${steps.map((s) => (s!.plan.full ? 'full' : `k=${s!.plan.counts.join('/')}`)).join(' ')}; ` +
    `decode step cost ${JSON.stringify(out[0].toks[NEW_TOKENS - 1].cost)}`);
  expect(out[0].cache).toEqual(config.nLayers ? new Array(config.nLayers).fill(48 + NEW_TOKENS - 1) : []);
  expect(steps.some((s) => !s!.plan.full && s!.plan.counts[1] > 0)).toBe(true);
  // clusters completing at 52 and 56 (every leader, both times): bounds computed beside the softmax
  const leaders = pol[0].leaders.filter((lead, l) => lead === l).length;
  expect(deferred).toBe(2 * leaders);
  const [first, last] = out[0].bounds;
  expect(first.rounds).toBeGreaterThan(0);
  expect(last.rounds).toBe(first.rounds);
  expect(last.offlineBytes).toBeGreaterThan(first.offlineBytes);
  expect(pol[0].layerBounds(0)!.complete(1)).toBe(14);
  expect(got).toEqual(want);
});

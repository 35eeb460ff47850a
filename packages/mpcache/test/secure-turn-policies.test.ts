/**
 * A chat's later turn in ONE causal pass under the query-aware policies (MPCache, Quest, token
 * top-k: `multiRowSteps`), against the fixed-point reference decoder whose `extend` brackets the
 * turn for the plaintext twin (beginTurn/endTurn: the turn attends every cached row, as a prefill);
 * and StreamingLLM, SnapKV and Attention-Gate, whose one pass gives each query what it would attend
 * as a step (its own window; the older flagged rows; its running top-k): their plaintext twins have
 * no bracket and decode the turn position by position, with the same outputs.
 * Random tiny GPT-2 weights; a prompt long enough for MPCache's static stage to evict, steps, a turn,
 * then steps that select again. Randomness is pinned (as secure-mpcache-golden.test.ts): truncation
 * noise may flip a near-tie in a cluster ranking, which moves the logits by more than any margin.
 */
import { runBoth } from '@mpcache/protocols';
import {
  Generator, ReferenceDecoder, SecureD2oPolicy, SecureDecoder, SecureMpcachePolicy, TINY_GPT2, makeSecurePolicy, randomAttentionGateWeights, randomWeights, secureDefaults, revealTokenId, shareTokenIds, shareTokenOneHots, type ModelConfig,
} from '@mpcache/mpcache';
import { makePolicy } from '../src/cache/make-policy';
import type { AttentionView, KVCachePolicy } from '../src/cache/kv-cache-policy';
import { MpcachePolicy } from '../src/cache/mpcache-policy';
import { PINNED, maxAbsDiff, openReals, secureModel, testPrg } from './secure-helpers';

const RUN = `${PINNED}1/turn/`;
const F = 16;
const BUDGET = 24;
const config: ModelConfig = { ...TINY_GPT2, nLayers: 2, seqLen: 128 };
const weights = randomWeights(config, 21);
const basePolicyConfig = { model: config, mpcache: { clusterSizes: [8, 4], forcedRecent: 8, staticKeepBudgetMultiple: 1 }, quest: { pageSize: 4 } };
const PROMPT = Array.from({ length: 48 }, (_, i) => (i * 11 + 5) % config.vocabSize);
const TURN = [3, 61, 17, 40, 8, 22, 50, 14, 33];
const setup = secureModel(config, weights, F, `${RUN}model`);
const gateWeights = randomAttentionGateWeights(config, 4, { gateHeads: 2, gateHeadDim: 8 });
const thresholdGate = { attentionGate: { weights: gateWeights, countMode: 'threshold' as const, threshold: 0 } };
const topkGate = { attentionGate: { weights: gateWeights, countMode: 'topk' as const } };

/** The reference's greedy ids: prefill + `before` tokens, then the turn (extend), then `after` tokens. */
function referenceChat(policy: KVCachePolicy, before: number, after: number): number[] {
  const ref = new ReferenceDecoder(weights, config, { kvPolicy: policy, fixedPointFracBits: F });
  const first = ref.decodeGreedy(ref.prefill(PROMPT), before).tokens;
  const second = ref.decodeGreedy(ref.extend([first[first.length - 1], ...TURN]), after).tokens;
  return [...first, ...second];
}

describe('a chat turn in one pass under the query-aware policies', () => {
  it.each([
    ['mpcache', {}], ['quest', {}], ['token-topk', {}], ['streamingllm', {}], ['snapkv', {}], ['attention-gate', thresholdGate], ['attention-gate', topkGate], ['h2o', {}], ['tova', {}], ['d2o', {}], ['d2o', { d2o: { merge: true }, compactEvery: 2 }], ['cake', { cake: { window: 8 } }],
  ] as const)('%s: secure ids = the fixed-point reference\'s (extend: the turn bracket where the twin has one); the turn is one pass', async (name, extra) => {
    const { parties, secure } = await setup;
    const policyConfig = { ...basePolicyConfig, ...extra };
    const want = referenceChat(makePolicy(name, BUDGET, secureDefaults({ ...policyConfig, fracBits: F })), 3, 3); // the twin of what runs on shares
    const ids1 = shareTokenIds(PROMPT, config.vocabSize, testPrg(`${RUN}${name}/p1`)), ids2 = shareTokenIds(TURN, config.vocabSize, testPrg(`${RUN}${name}/p2`));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy(name, BUDGET, policyConfig), g = new Generator(ctx, secure[ctx.party], { kvPolicy: policy });
      const toks = [await g.prefill(ids1[ctx.party]), await g.step(), await g.step()];
      const turn = await g.extend(ids2[ctx.party]);
      toks.push(turn, await g.step(), await g.step());
      return { toks, turn, step: toks[toks.length - 1], len: g.decoder.length, policy };
    });
    const got = out[0].toks.map((t, i) => revealTokenId(t.idShare, out[1].toks[i].idShare, config.vocabSize));
    expect(got).toEqual(want);
    expect(out[0].policy.multiRowSteps).toBe(true);
    // 1 pending + 9 prompt rows in one pass: about a step's rounds, not ten steps'
    expect(out[0].turn.cost.rounds).toBeLessThan(1.5 * out[0].step.cost.rounds);
    expect(out[0].len).toBe(PROMPT.length + 2 + 1 + TURN.length + 2);
  });

  const policyConfig = basePolicyConfig;
  it('the steps after an MPCache turn select clusters again (the turn completed some: their bounds come first)', async () => {
    const { parties, secure } = await setup;
    const ids1 = shareTokenIds(PROMPT, config.vocabSize, testPrg(`${RUN}sel/p1`)), ids2 = shareTokenIds(TURN, config.vocabSize, testPrg(`${RUN}sel/p2`));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy('mpcache', BUDGET, policyConfig) as SecureMpcachePolicy;
      const g = new Generator(ctx, secure[ctx.party], { kvPolicy: policy });
      await g.prefill(ids1[ctx.party]);
      await g.step();
      const rows = g.decoder.layerCaches[0].length, complete = policy.layerBounds(0)!.complete(1);
      await g.extend(ids2[ctx.party]);
      const turnSelected = policy.lastStep[0]!.startPos;
      await g.step();
      return { rows, complete, turnSelected, step: policy.lastStep[0]!, after: policy.layerBounds(0)!.complete(1), len: g.decoder.layerCaches[0].length };
    });
    const o = out[0];
    expect(o.rows).toBe(BUDGET + 1); // static stage kept BUDGET rows (⌈0.3·48⌉ < 24), then one step
    expect(o.turnSelected).toBe(PROMPT.length); // the turn's pass selected nothing (last selection: the step)
    expect(o.step.plan.full).toBe(false);
    expect(o.step.plan.counts[1]).toBeGreaterThan(0);
    expect(o.after).toBeGreaterThan(o.complete); // fine clusters completed by the turn got bounds
    expect(o.len).toBe(BUDGET + 1 + (1 + TURN.length) + 1); // the step appended the turn's token
  });
});

// (Attention-Gate's flags come from gate logits compared with a threshold: truncation noise flips
// the near-threshold ones, step by step as in one pass, and moves the logits by ≈ 0.05; its ids are
// compared above with pinned randomness)
describe('StreamingLLM, SnapKV and Attention-Gate\'s top-k: a turn in one pass gives every query what its step would attend', () => {
  it.each([['streamingllm', {}], ['snapkv', {}], ['attention-gate', topkGate]] as const)('%s: the turn\'s last logits equal the fixed-point reference decoding the turn step by step, not the dense turn\'s', async (name, extra) => {
    const { parties, secure } = await setup;
    const policyConfig = { ...basePolicyConfig, ...extra };
    const plain = (name: string) => new ReferenceDecoder(weights, config, { kvPolicy: makePolicy(name, BUDGET, { ...policyConfig, fracBits: F }), fixedPointFracBits: F });
    const windowed = plain(name), dense = plain('full');
    for (const ref of [windowed, dense]) ref.prefill(PROMPT);
    const want = Float64Array.from(windowed.extend([7, ...TURN])), far = Float64Array.from(dense.extend([7, ...TURN]));
    const rows = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${RUN}${name}/band/p1`)), turn = shareTokenOneHots([7, ...TURN], config.vocabSize, testPrg(`${RUN}${name}/band/p2`));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy(name, BUDGET, policyConfig), dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill!(PROMPT.length);
      await dec.forward(ctx, rows[ctx.party]);
      await policy.endPrefill!(ctx, PROMPT.length);
      return dec.forward(ctx, turn[ctx.party]);
    });
    const got = openReals([out[0], out[1]], F);
    const last = got.subarray(got.length - config.vocabSize);
    expect(maxAbsDiff(last, want)).toBeLessThan(0.02);
    expect(maxAbsDiff(want, far)).toBeGreaterThan(0.1); // the window matters here: a dense turn would fail
  });
});

describe('D2O with merges: a turn in one pass', () => {
  it('logits equal the fixed-point twin\'s at every step before, at and after the turn; merges before and after it; M folded at the turn', async () => {
    const { parties, secure } = await setup;
    const policyConfig = { ...basePolicyConfig, d2o: { merge: true }, compactEvery: 8 }, budget = 12;
    const logitsOf = (extra: object) => {
      const ref = new ReferenceDecoder(weights, config, { kvPolicy: makePolicy('d2o', budget, secureDefaults({ ...policyConfig, ...extra, fracBits: F })), fixedPointFracBits: F });
      const out = [Float64Array.from(ref.prefill(PROMPT))], fed: number[][] = [];
      const greedy = () => { const l = out[out.length - 1]; return l.indexOf(Math.max(...l)); };
      for (let s = 0; s < 2; s++) { fed.push([greedy()]); out.push(Float64Array.from(ref.forward(fed[fed.length - 1][0], ref.length))); }
      fed.push([greedy(), ...TURN]);
      out.push(Float64Array.from(ref.extend(fed[fed.length - 1])));
      for (let s = 0; s < 4; s++) { fed.push([greedy()]); out.push(Float64Array.from(ref.forward(fed[fed.length - 1][0], ref.length))); }
      return { out, fed };
    };
    const want = logitsOf({}), unmerged = logitsOf({ d2o: { merge: false } });
    const rows = shareTokenOneHots(PROMPT, config.vocabSize, testPrg(`${RUN}d2o-merge/p`));
    const feeds = want.fed.map((t, i) => shareTokenOneHots(t, config.vocabSize, testPrg(`${RUN}d2o-merge/${i}`)));
    const out = await runBoth(parties, async (ctx) => {
      const policy = makeSecurePolicy('d2o', budget, policyConfig) as SecureD2oPolicy, dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
      policy.beginPrefill!(PROMPT.length);
      const logits = [await dec.forward(ctx, rows[ctx.party])];
      await policy.endPrefill!(ctx, PROMPT.length);
      const merges: number[] = [];
      for (const f of feeds) {
        logits.push(await dec.forward(ctx, f[ctx.party]));
        merges.push(policy.mergeMatrix(0)?.merges ?? 0);
      }
      return { logits, merges };
    });
    const got = out[0].logits.map((l, i) => openReals([l, out[1].logits[i]], F)).map((x) => x.subarray(x.length - config.vocabSize));
    for (let s = 0; s < got.length; s++) expect(maxAbsDiff(got[s], want.out[s])).toBeLessThan(0.02);
    // the merges matter here: without them the twin's logits move by more than 2.5× the tolerance (0.083)
    expect(Math.max(...want.out.map((l, s) => maxAbsDiff(l, unmerged.out[s])))).toBeGreaterThan(0.05);
    // layer 0's merge count after each call: the first step evicts nothing (budget − 1 rows kept at the
    // prompt), the second merges its victim; the turn folds M (0); the bulk eviction after it merges
    // nothing; then one merge per step
    expect(out[0].merges).toEqual([0, 1, 0, 0, 1, 2, 3]);
  });
});

describe('plaintext MPCache turn bracket', () => {
  const policyConfig = basePolicyConfig;
  it('between beginTurn and endTurn every head of every layer attends the post-static sequence; outside, it selects', () => {
    const ctx = { model: config, budget: BUDGET, fracBits: F };
    const pol = new MpcachePolicy(ctx, policyConfig.mpcache);
    const masks: { layer: number; pos: number; mask: Uint8Array | null; inTurn: boolean }[] = [];
    let inTurn = false;
    const spy: KVCachePolicy = {
      name: 'spy',
      attendMask: (v: AttentionView) => { const m = pol.attendMask(v); masks.push({ layer: v.layer, pos: v.pos, mask: m && Uint8Array.from(m), inTurn }); return m; },
      observe: (v, p) => pol.observe(v, p),
      reset: () => pol.reset(),
      beginPrefill: (n) => pol.beginPrefill(n),
      endPrefill: (n) => pol.endPrefill(n),
      beginTurn: (n) => { inTurn = true; pol.beginTurn(); void n; },
      endTurn: () => { inTurn = false; pol.endTurn(); },
    };
    const ref = new ReferenceDecoder(weights, config, { kvPolicy: spy, fixedPointFracBits: F });
    ref.prefill(PROMPT);
    ref.forward(7, ref.length);
    ref.extend([9, ...TURN]);
    ref.forward(4, ref.length);
    const kept = [0, 1].map((l) => new Set(pol.staticKeptPositions(l)));
    expect(kept.map((k) => k.size)).toEqual([BUDGET, BUDGET]);
    const turn = masks.filter((m) => m.inTurn);
    expect(turn.length).toBe((1 + TURN.length) * config.nLayers * config.nHeads);
    for (const { layer, pos, mask } of turn) {
      const want = Array.from({ length: pos + 1 }, (_, j) => (j >= PROMPT.length || kept[layer].has(j) ? 1 : 0));
      expect(Array.from(mask!)).toEqual(want);
    }
    // the step after the turn selects: fewer positions than the post-static sequence
    const last = masks[masks.length - 1];
    expect(last.inTurn).toBe(false);
    expect(last.mask!.reduce((a, b) => a + b, 0)).toBeLessThan(BUDGET + 1 + 1 + TURN.length + 1);
  });
});

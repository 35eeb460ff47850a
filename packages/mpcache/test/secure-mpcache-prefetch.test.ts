/**
 * MPCache's decoding steps under the dealer's planned prefetch: a following layer's gather and
 * scatter multiply by its leader's one-hot rows, whose dealer key is named before the leader selects
 * (SecureMpcachePolicy.planOperandKeys), so the follower's material sent ahead with its plan is
 * the material it takes — no speculative request misses once the plans exist.
 */
import { runBoth, type PartyContext } from '@mpcache/protocols';
import {
  Generator, SecureMpcachePolicy, TINY_GPT2, randomWeights, shareTokenOneHots, type ModelConfig,
} from '@mpcache/mpcache';
import { secureModel, testPrg } from './secure-helpers';

const config: ModelConfig = { ...TINY_GPT2, nLayers: 4, seqLen: 160 };
const setup = secureModel(config, randomWeights(config, 11), 12, 'mpcache-prefetch');

describe('secure MPCache: planned prefetch', () => {
  it('followers take the material sent ahead for them (0 misses per step after the first); the same tokens without plans', async () => {
    const { parties, secure } = await setup;
    const mpcache = { clusterSizes: [8, 4], forcedRecent: 8, layerSharing: [0, 0, 2, 2] };
    const run = (plans: boolean) => runBoth(parties, async (ctx: PartyContext) => {
      const policy = new SecureMpcachePolicy(config, 24, mpcache);
      const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: policy });
      if (!plans) (ctx.dealer as unknown as { planned: (k: string, fn: () => Promise<unknown>) => Promise<unknown> }).planned = (_k, fn) => fn();
      await gen.warmCache(96);
      await gen.prefill(shareTokenOneHots([5], config.vocabSize, testPrg('mp/one'))[ctx.party]);
      const misses: number[] = [], tokens: bigint[] = [];
      for (let s = 0; s < 4; s++) {
        const before = ctx.dealer.speculationStats.misses;
        tokens.push((await gen.step()).idShare.data[0]);
        misses.push(ctx.dealer.speculationStats.misses - before);
      }
      delete (ctx.dealer as unknown as Record<string, unknown>).planned;
      return { misses, tokens, hits: ctx.dealer.speculationStats.hits };
    });
    const planned = await run(true);
    // every step after the first replays the followers' plan with this step's one-hot key
    for (const p of planned) expect(p.misses.slice(1)).toEqual([0, 0, 0]);
    expect(planned[0].hits).toBeGreaterThan(0);
    const unplanned = await run(false);
    const ids = (r: typeof planned) => r[0].tokens.map((t, i) => BigInt.asUintN(64, t + r[1].tokens[i]));
    expect(ids(planned)).toEqual(ids(unplanned));
  });
});

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
  it('a replayed layer takes the material sent ahead for it (0 misses: the one-hot keys are named before the leader selects); the same tokens without plans', async () => {
    const { parties, secure } = await setup;
    const mpcache = { clusterSizes: [8, 4], forcedRecent: 8, layerSharing: [0, 0, 2, 2] };
    const run = (plans: boolean) => runBoth(parties, async (ctx: PartyContext) => {
      const policy = new SecureMpcachePolicy(config, 24, mpcache);
      const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: policy });
      const dealer = ctx.dealer as unknown as Record<string, unknown>, stats = ctx.dealer.speculationStats;
      // per planned block: its key and the takes that missed the material sent ahead for it
      const blocks: { key: string; misses: number }[] = [];
      const planned = ctx.dealer.planned.bind(ctx.dealer);
      dealer.planned = plans
        ? async (key: string, fn: () => Promise<unknown>, ...rest: never[]) => {
          const before = stats.misses, r = await planned(key, fn, ...rest);
          blocks.push({ key, misses: stats.misses - before });
          return r;
        }
        : (_k: string, fn: () => Promise<unknown>) => fn();
      await gen.warmCache(96);
      await gen.prefill(shareTokenOneHots([5], config.vocabSize, testPrg('mp/one'))[ctx.party]);
      const tokens: bigint[] = [], replayMisses: number[] = [];
      for (let s = 0; s < 4; s++) {
        blocks.length = 0;
        tokens.push((await gen.step()).idShare.data[0]);
        // layers 2 and 3 run the keys layers 0 and 1 recorded in this step: exact replays
        const seen = new Set<string>();
        let misses = 0;
        for (const b of blocks) {
          if (seen.has(b.key)) misses += b.misses;
          seen.add(b.key);
        }
        replayMisses.push(misses);
      }
      delete dealer.planned;
      return { replayMisses, tokens, hits: stats.hits };
    });
    const planned = await run(true);
    // a replay names this step's one-hot keys (the leader's own, and its follower's gather and scatter)
    for (const p of planned) expect(p.replayMisses).toEqual([0, 0, 0, 0]);
    expect(planned[0].hits).toBeGreaterThan(0);
    const unplanned = await run(false);
    const ids = (r: typeof planned) => r[0].tokens.map((t, i) => BigInt.asUintN(64, t + r[1].tokens[i]));
    expect(ids(planned)).toEqual(ids(unplanned));
  });
});

/**
 * The secure decoder's layers under the dealer's planned prefetch (CorrelationSource.planned): once
 * the plans of a cache length's neighbours exist, a decoding step takes all of its material from the
 * requests sent ahead — no miss, nothing on demand. A llama layer after the first one takes the
 * previous layer's output in its first norm (another request sequence than layer 0's), so its plan
 * key says so; with one key for both, 28 of 162 requests per step missed here.
 */
import { runBoth, type PartyContext, type SpeculationStats } from '@mpcache/protocols';
import { Generator, TINY_GPT2, TINY_LLAMA, randomWeights, shareTokenOneHots, type ModelConfig } from '@mpcache/mpcache';
import { secureModel, testPrg } from './secure-helpers';

describe.each([['llama', TINY_LLAMA], ['gpt2', TINY_GPT2]] as const)('secure decoder prefetch (%s)', (family, base) => {
  const config: ModelConfig = { ...base, nLayers: 4, seqLen: 64 };
  const setup = secureModel(config, randomWeights(config, 11), 12, `decoder-prefetch/${family}`);

  it('decoding steps 3 and 4 take every request from the plans (0 misses, 0 on demand)', async () => {
    const { parties, secure } = await setup;
    const perStep = await runBoth(parties, async (ctx: PartyContext) => {
      const gen = new Generator(ctx, secure[ctx.party], {});
      const stats = ctx.dealer.speculationStats, out: SpeculationStats[] = [];
      await gen.prefill(shareTokenOneHots([5, 7, 9], config.vocabSize, testPrg('decoder-prefetch/prompt'))[ctx.party]);
      for (let s = 0; s < 4; s++) {
        const before = { ...stats };
        await gen.step();
        out.push({ issued: stats.issued - before.issued, hits: stats.hits - before.hits, misses: stats.misses - before.misses,
          skipped: stats.skipped - before.skipped, onDemand: stats.onDemand - before.onDemand });
      }
      return out;
    });
    for (const steps of perStep) {
      for (const s of steps.slice(2)) {
        expect({ misses: s.misses, onDemand: s.onDemand, skipped: s.skipped }).toEqual({ misses: 0, onDemand: 0, skipped: 0 });
        expect(s.hits).toBe(s.issued);
        expect(s.hits).toBeGreaterThan(0);
      }
    }
  });
});

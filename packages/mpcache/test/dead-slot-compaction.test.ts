/**
 * Periodic dead-slot compaction of the lazy-deletion policies (dead-slot-compaction.ts): kept sets
 * still equal the plaintext twins step by step across compactions, the cache shrinks to its live
 * size, exact cost of one compaction from the ledger, and generation through the real secure
 * decoder is identical with and without compaction.
 */
import { runBoth } from '@mpcache/protocols';
import {
  compactDeadSlotsCost, Generator, makeSecurePolicy, randomWeights, SecureCakePolicy, SecureD2oPolicy, SecureH2oPolicy, SecureTovaPolicy,
  shareTokenOneHots, TINY_GPT2, type DeadSlotPolicy, type KVCachePolicy, type ModelConfig,
} from '@mpcache/mpcache';
import { CakePolicy, CAKE_DEFAULTS } from '../src/cache/cake';
import { D2oPolicy, D2O_DEFAULTS } from '../src/cache/d2o';
import { H2oPolicy } from '../src/cache/h2o';
import { TovaPolicy } from '../src/cache/tova';
import { F, parties } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { secureModel, TEST_SEED, testPrg } from './secure-helpers';

const ctxOf = (lanes: number, budget: number) => ({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F });
const d2oOpts = { ...D2O_DEFAULTS, layerBudgets: 'uniform' as const, merge: false };
const cakeOpts = { ...CAKE_DEFAULTS, window: 4, layerBudgets: 'uniform' as const };

/** name, plaintext, secure, units, slots dead after 4 decoding calls (H2O/TOVA/D2O evict from the 2nd). */
type Case = [string, (lanes: number, budget: number) => KVCachePolicy, (budget: number) => DeadSlotPolicy, number, number];
const cases: Case[] = [
  ['h2o', (l, b) => new H2oPolicy(ctxOf(l, b)), (b) => new SecureH2oPolicy(1, b), 2, 3],
  ['tova', (l, b) => new TovaPolicy(ctxOf(l, b)), (b) => new SecureTovaPolicy(1, b), 1, 3],
  ['d2o', (l, b) => new D2oPolicy(ctxOf(l, b), d2oOpts), (b) => new SecureD2oPolicy(1, b, d2oOpts), 2, 3],
  ['cake', (l, b) => new CakePolicy(ctxOf(l, b), cakeOpts), (b) => new SecureCakePolicy(1, b, cakeOpts), 2, 4],
];

describe(`dead-slot compaction (SEED=${TEST_SEED})`, () => {
  it.each(cases)('%s: kept sets = plaintext across compactions; cache back to live size; exact cost', async (name, plain, secure, units, dead) => {
    const lanes = 2, budget = 10, n = 20, steps = 7, every = 4, p = parties(`compact/${name}`);
    const pol = [secure(budget), secure(budget)] as const;
    pol.forEach((x) => { x.compactEvery = every; });
    const sim = await simulate(p, `compact/${name}`, plain(lanes, budget), [pol[0], pol[1]], lanes, n, steps);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    // one compaction, after the 4th decoding call
    const rec = pol[0].lastCompaction[0]!;
    expect(rec).not.toBeNull();
    expect(rec.dead).toBe(dead);
    expect(rec.rows).toBe(rec.kvLen - rec.dead);
    expect(pol[1].lastCompaction[0]!.steps).toEqual(rec.steps);
    const want = compactDeadSlotsCost(units, lanes, 4, 1, rec), used = p.ctx.map((c) => c.ledger.get('dead slot compaction'));
    for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds: want.rounds, bytesSent: want.bytesSent });
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(want.offlineBytes);
  });

  it('compactEvery: 0 disables, negative or fractional throws', () => {
    const x = new SecureH2oPolicy(1, 8);
    x.compactEvery = 0;
    expect(x.compactEvery).toBe(0);
    expect(() => { x.compactEvery = -1; }).toThrow(/compactEvery/);
    expect(() => { x.compactEvery = 1.5; }).toThrow(/compactEvery/);
  });
});

const config: ModelConfig = { ...TINY_GPT2, nLayers: 2, seqLen: 128 };
const setup = secureModel(config, randomWeights(config, 7), 12, 'compaction-decoder');

describe('dead-slot compaction through the secure decoder', () => {
  it.each(['h2o', 'd2o'])('%s: tokens identical with compactEvery 2 and 0; caches shrink', async (name) => {
    const { parties: ps, secure } = await setup;
    const prompt = Array.from({ length: 30 }, (_, i) => (i * 11 + 5) % config.vocabSize);
    const rows = shareTokenOneHots(prompt, config.vocabSize, testPrg('cd/prompt'));
    const run = (every: number) => runBoth(ps, async (ctx) => {
      const gen = new Generator(ctx, secure[ctx.party], { kvPolicy: makeSecurePolicy(name, 16, { model: config, compactEvery: every }) });
      await gen.prefill(rows[ctx.party]);
      const ids: bigint[] = [];
      for (let s = 0; s < 5; s++) ids.push((await gen.step()).idShare.data[0]);
      return { ids, lengths: gen.decoder.layerCaches.map((c) => c.length) };
    });
    const [a, b] = [await run(2), await run(0)];
    const tokens = (r: typeof a) => r[0].ids.map((x, i) => BigInt.asUintN(64, x + r[1].ids[i]));
    expect(tokens(a)).toEqual(tokens(b));
    // 15 rows after the prompt, +1 per step; one eviction per step from step 2 on; compactions
    // after steps 2 and 4 drop 1 and 2 dead rows, step 5's victim stays as a dead row
    expect(b[0].lengths).toEqual([20, 20]);
    expect(a[0].lengths).toEqual([17, 17]);
  }, 20000);
});

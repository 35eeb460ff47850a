/**
 * The per-step eviction baselines on shares against their plaintext twins, step by step on the
 * same fixed-point probabilities (secure-cache-sim.ts): the attended positions must be equal at
 * every decoding step (prefill-end compaction, then one lazy eviction per step; ties included).
 */
import { SecureH2oPolicy, SecureSnapKvPolicy, SecureStreamingLlmPolicy, SecureTovaPolicy } from '@mpcache/mpcache';
import { SnapKvPolicy, SNAPKV_DEFAULTS } from '../src/cache/snapkv';
import { StreamingLlmPolicy } from '../src/cache/streaming-llm';
import { H2oPolicy } from '../src/cache/h2o';
import { TovaPolicy } from '../src/cache/tova';
import { F, parties } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { TEST_SEED } from './secure-helpers';

const ctxOf = (lanes: number, budget: number) => ({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F });

describe(`secure eviction baselines = plaintext (SEED=${TEST_SEED})`, () => {
  it('H2O: prefill top-k compaction, then one argmin eviction per step', async () => {
    const lanes = 2, budget = 8, p = parties('h2o');
    const sim = await simulate(p, 'h2o', new H2oPolicy(ctxOf(lanes, budget)), [new SecureH2oPolicy(1, budget), new SecureH2oPolicy(1, budget)], lanes, 20, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[4].plain[0].length).toBe(budget);
  });

  it('TOVA: one kept set per layer by the latest row summed over heads', async () => {
    const lanes = 2, budget = 8, p = parties('tova');
    const sim = await simulate(p, 'tova', new TovaPolicy(ctxOf(lanes, budget)), [new SecureTovaPolicy(1, budget), new SecureTovaPolicy(1, budget)], lanes, 20, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[4].plain[0].length).toBe(budget);
  });

  it.each(['max', 'avg'] as const)('SnapKV (%s-pool 5): window votes, prefill compaction, public rows while decoding', async (pooling) => {
    const lanes = 2, budget = 10, p = parties(`snapkv/${pooling}`), opts = { ...SNAPKV_DEFAULTS, kernel: 5, pooling };
    const sim = await simulate(p, `snapkv/${pooling}`, new SnapKvPolicy(ctxOf(lanes, budget), opts),
      [new SecureSnapKvPolicy(1, budget, opts), new SecureSnapKvPolicy(1, budget, opts)], lanes, 24, 4);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[3].plain[0].length).toBe(budget);
  });

  it('StreamingLLM: sinks + recent window (public rows, no cost)', async () => {
    const lanes = 2, budget = 8, p = parties('streaming');
    const sim = await simulate(p, 'streaming', new StreamingLlmPolicy(ctxOf(lanes, budget)),
      [new SecureStreamingLlmPolicy(budget), new SecureStreamingLlmPolicy(budget)], lanes, 12, 3);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[2].plain[0]).toEqual([0, 1, 2, 3, 11, 12, 13, 14]);
  });
});

describe(`secure D2O = plaintext D2O with uniform budgets, no merge (SEED=${TEST_SEED})`, () => {
  it('H2O eviction with the first 4 tokens forced', async () => {
    const { D2oPolicy, D2O_DEFAULTS } = await import('../src/cache/d2o');
    const { SecureD2oPolicy } = await import('@mpcache/mpcache');
    const lanes = 2, budget = 10, p = parties('d2o'), opts = { ...D2O_DEFAULTS, layerBudgets: 'uniform' as const, merge: false };
    const sim = await simulate(p, 'd2o', new D2oPolicy(ctxOf(lanes, budget), opts), [new SecureD2oPolicy(1, budget, opts), new SecureD2oPolicy(1, budget, opts)], lanes, 24, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[4].plain[0].slice(0, 4)).toEqual([0, 1, 2, 3]);
  });
});

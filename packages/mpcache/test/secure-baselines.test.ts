/**
 * The per-step eviction baselines on shares against their plaintext twins, step by step on the
 * same fixed-point probabilities (secure-cache-sim.ts): the attended positions must be equal at
 * every decoding step (prefill-end compaction, then one lazy eviction per step; ties included).
 */
import { compactDeadSlotsCost, compactRowsCost, SecureCakePolicy, SecureD2oPolicy, SecureH2oPolicy, SecureSnapKvPolicy, SecureStreamingLlmPolicy, SecureTovaPolicy } from '@mpcache/mpcache';
import { SnapKvPolicy, SNAPKV_DEFAULTS } from '../src/cache/snapkv';
import { StreamingLlmPolicy } from '../src/cache/streaming-llm';
import { H2oPolicy } from '../src/cache/h2o';
import { TovaPolicy } from '../src/cache/tova';
import { D2oPolicy, D2O_DEFAULTS } from '../src/cache/d2o';
import { CakePolicy, CAKE_DEFAULTS } from '../src/cache/cake';
import { F, parties } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { TEST_SEED } from './secure-helpers';

const D2O_UNIFORM = { ...D2O_DEFAULTS, layerBudgets: 'uniform' as const, merge: false };
const CAKE_UNIFORM = { ...CAKE_DEFAULTS, window: 4, layerBudgets: 'uniform' as const };
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

  it.each([['max', 'window'], ['avg', 'window'], ['max', 'grow']] as const)('SnapKV (%s-pool 5, decode %s): window votes, prefill compaction, public rows while decoding', async (pooling, decode) => {
    const lanes = 2, budget = 10, p = parties(`snapkv/${pooling}/${decode}`), opts = { ...SNAPKV_DEFAULTS, kernel: 5, pooling, decode };
    const sim = await simulate(p, `snapkv/${pooling}/${decode}`, new SnapKvPolicy(ctxOf(lanes, budget), opts),
      [new SecureSnapKvPolicy(1, budget, opts), new SecureSnapKvPolicy(1, budget, opts)], lanes, 24, 4);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[3].plain[0].length).toBe(decode === 'grow' ? budget + 4 : budget); // grow: every decoded row stays
  });

  it('StreamingLLM: sinks + recent window (public rows, no cost)', async () => {
    const lanes = 2, budget = 8, p = parties('streaming');
    const sim = await simulate(p, 'streaming', new StreamingLlmPolicy(ctxOf(lanes, budget)),
      [new SecureStreamingLlmPolicy(budget), new SecureStreamingLlmPolicy(budget)], lanes, 12, 3);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(sim.steps[2].plain[0]).toEqual([0, 1, 2, 3, 11, 12, 13, 14]);
  });
});

describe(`a chat's turn in one secure pass = the plaintext turn, query by query (SEED=${TEST_SEED})`, () => {
  // the secure twin gets the turn's rows in one select/observe; the plaintext position by position
  // between beginTurn and endTurn (H2O, TOVA: nothing evicted during it, the next step evicts down
  // at once) or as ordinary steps (StreamingLLM, SnapKV: each query its own window, in one pass)
  it.each([
    ['h2o', () => new H2oPolicy(ctxOf(2, 8)), () => new SecureH2oPolicy(1, 8)],
    ['tova', () => new TovaPolicy(ctxOf(2, 8)), () => new SecureTovaPolicy(1, 8)],
    ['streamingllm', () => new StreamingLlmPolicy(ctxOf(2, 8)), () => new SecureStreamingLlmPolicy(8)],
    ['snapkv', () => new SnapKvPolicy(ctxOf(2, 10), { ...SNAPKV_DEFAULTS, kernel: 5 }), () => new SecureSnapKvPolicy(1, 10, { ...SNAPKV_DEFAULTS, kernel: 5 })],
    ['d2o', () => new D2oPolicy(ctxOf(2, 8), D2O_UNIFORM), () => new SecureD2oPolicy(1, 8, D2O_UNIFORM)],
    ['cake', () => new CakePolicy(ctxOf(2, 10), CAKE_UNIFORM), () => new SecureCakePolicy(1, 10, CAKE_UNIFORM)],
  ] as const)('%s: a turn of 5 rows after 2 steps, then 3 more steps', async (name, plain, secure) => {
    const lanes = 2, p = parties(`turn/${name}`);
    const sim = await simulate(p, `turn/${name}`, plain(), [secure(), secure()], lanes, 20, 5, { turn: { after: 2, rows: 5 } });
    expect(sim.steps).toHaveLength(5 + 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    // the turn's queries see more than the budget (H2O, TOVA: nothing evicted during it), the step
    // after it is back within the budget
    const widest = Math.max(...sim.steps.slice(2, 7).map((s) => s.plain[0].length)), after = sim.steps[7].plain[0].length;
    if (name !== 'streamingllm' && name !== 'snapkv') expect(widest).toBeGreaterThan(name === 'cake' ? 10 : 8);
    expect(after).toBe(name === 'snapkv' || name === 'cake' ? 10 : 8);
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

  // budget 5: 2 heavy-hitter slots for 4 sinks, so sinks are evicted and compactions move later
  // positions into their slots: the bonus must travel with the sink rows' scores, not stay on slots.
  // The sinks get no attention (zeroBelow 4): only their bonus keeps them, so a bonus left on a slot
  // that now holds a later position would keep that position instead.
  it.each([0, 2])('fewer heavy-hitter slots than sinks (budget 5, sinks 4; compactEvery %i)', async (every) => {
    const { D2oPolicy, D2O_DEFAULTS } = await import('../src/cache/d2o');
    const { SecureD2oPolicy } = await import('@mpcache/mpcache');
    const lanes = 2, budget = 5, p = parties(`d2o/few-heavy/${every}`), opts = { ...D2O_DEFAULTS, layerBudgets: 'uniform' as const, merge: false };
    const pol = [new SecureD2oPolicy(1, budget, opts), new SecureD2oPolicy(1, budget, opts)] as const;
    pol.forEach((x) => { x.compactEvery = every; });
    const sim = await simulate(p, `d2o/few-heavy/${every}`, new D2oPolicy(ctxOf(lanes, budget), opts), [pol[0], pol[1]], lanes, 16, 7, { zeroBelow: 4 });
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    // the two heavy slots hold sinks (the bonus outranks any score), three recent positions follow
    for (const row of sim.steps[6].plain) expect(row.filter((j) => j < 4).length).toBe(2);
    expect(sim.steps[6].plain[0].length).toBe(budget);
    if (every > 0) expect(pol[0].lastCompaction[0]).not.toBeNull();
  });
});

describe(`secure H2O with no heavy-hitter slot = plaintext (a recent window; SEED=${TEST_SEED})`, () => {
  it.each([0, 4])('heavyFraction 0, compactEvery %i: the prompt keeps its tail, every step evicts without ranking', async (every) => {
    const lanes = 2, budget = 4, p = parties(`h2o/no-heavy/${every}`), opts = { heavyFraction: 0 };
    const pol = [new SecureH2oPolicy(1, budget, opts), new SecureH2oPolicy(1, budget, opts)] as const;
    pol.forEach((x) => { x.compactEvery = every; });
    const sim = await simulate(p, `h2o/no-heavy/${every}`, new H2oPolicy(ctxOf(lanes, budget), opts), [pol[0], pol[1]], lanes, 12, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    for (const [s, step] of sim.steps.entries()) for (const row of step.plain) expect(row).toEqual([9 + s, 10 + s, 11 + s, 12 + s]);
    // no ranking anywhere: the prompt's compaction only re-installs its 3-row tail, each step's only candidate dies locally
    expect(pol[0].lastEviction[0]!.kind).toBe('all');
    const prompt = compactRowsCost({ units: lanes, n: 9, k: 0, lanes, headDim: 4, caches: 1, rows: 3, granularity: 'lane', originalOrder: true }, { steps: [] });
    for (const c of p.ctx) expect([c.ledger.get('h2o evict').rounds, c.ledger.get('h2o evict').bytesSent]).toEqual([prompt.rounds, prompt.bytesSent]);
    // with compaction the all-dead span is dropped whole (no ranking); without, the rows stay dead
    if (every > 0) {
      const rec = pol[0].lastCompaction[0]!;
      expect(rec.rows).toBe(rec.kvLen - rec.dead);
      expect(rec.span).toBe(rec.dead);
      expect(rec.steps).toEqual([]);
      const want = compactDeadSlotsCost(lanes, lanes, 4, 1, rec), used = p.ctx.map((c) => c.ledger.get('dead slot compaction'));
      for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent, offlineBytes: u.offlineBytes }).toEqual({ rounds: 2, bytesSent: want.bytesSent, offlineBytes: 0 });
      expect(want.rounds).toBe(2);
    } else {
      expect(pol[0].lastCompaction[0]).toBeNull();
    }
  });
});

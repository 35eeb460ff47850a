/**
 * Exact cost of every decoding step's eviction of H2O and TOVA on shares (evictDown, the per-step
 * lazy eviction of dead-slot-state.ts), on both parties: each `select` is measured on its own and
 * its ledger difference must equal the cost of the eviction it records — argminEvictionCost for one
 * victim, topKCost (mask) for several, nothing when none is due. The prompt's compaction: compactRowsCost
 * of its record (compactRows itself: compact-rows-cost.test.ts).
 */
import type { Cost } from '@mpcache/mpc-core';
import { topKCost, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import {
  argminEvictionCost, compactRowsCost, SecureH2oPolicy, SecureSnapKvPolicy, SecureTovaPolicy, snapKvPrefillCost, type EvictionRecord, type SecureAttentionView,
} from '@mpcache/mpcache';
import { H2oPolicy } from '../src/cache/h2o';
import { SnapKvPolicy, SNAPKV_DEFAULTS } from '../src/cache/snapkv';
import { TovaPolicy } from '../src/cache/tova';
import { expectCosts, expectScopeCost } from './cost-helpers';
import { F, parties } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { TEST_SEED } from './secure-helpers';

const ctxOf = (lanes: number, budget: number) => ({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F });
const diff = (a: Cost, b: Cost): Cost => ({
  rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, bytesReceived: a.bytesReceived - b.bytesReceived,
  messages: a.messages - b.messages, offlineBytes: a.offlineBytes - b.offlineBytes,
});

type Evicting = SecureH2oPolicy | SecureTovaPolicy;

/** Each party's ledger difference over each `select` call, with the eviction it recorded. */
function recordSelects(pol: Evicting): { used: Cost; rec: EvictionRecord | null }[] {
  const log: { used: Cost; rec: EvictionRecord | null }[] = [], select = pol.select.bind(pol);
  pol.select = async (ctx: PartyContext, view: SecureAttentionView) => {
    pol.lastEviction[0] = null; // a step that evicts nothing leaves no record (H2O and TOVA only write it)
    const before = ctx.ledger.snapshot(), out = await select(ctx, view);
    log.push({ used: diff(ctx.ledger.snapshot(), before), rec: pol.lastEviction[0] });
    return out;
  };
  return log;
}

/** The cost of one recorded eviction over `units` units keeping `keep` (dead-slot-state.ts evictDown). */
function evictionCost(rec: EvictionRecord | null, units: number, keep: number): FormulaCost {
  if (!rec || rec.kind === 'none' || rec.kind === 'all') return { rounds: 0, bytesSent: 0, offlineBytes: 0 };
  if (rec.kind === 'argmin') return argminEvictionCost(units, rec.end);
  const t = topKCost(units, rec.end, keep, rec.steps!, { mask: true });
  return { rounds: t.rounds, bytesSent: t.bytesSentPerParty[0], offlineBytes: t.offlineBytes };
}

describe(`per-step eviction costs (SEED=${TEST_SEED})`, () => {
  const lanes = 2, budget = 8, n = 20, steps = 4;

  it.each([
    ['H2O (one victim per KV head and step)', 'h2o', () => new SecureH2oPolicy(1, budget), () => new H2oPolicy(ctxOf(lanes, budget)), lanes],
    ['TOVA (one victim per layer and step)', 'tova', () => new SecureTovaPolicy(1, budget), () => new TovaPolicy(ctxOf(lanes, budget)), 1],
  ] as const)('%s: every decoding step = the cost of its recorded eviction, on both parties', async (_name, label, secure, plain, units) => {
    const p = parties(`evict-cost/${label}`), pol = [secure(), secure()] as const;
    const logs = pol.map(recordSelects);
    const sim = await simulate(p, `evict-cost/${label}`, plain(), [pol[0], pol[1]], lanes, n, steps);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    const keep = pol[0] instanceof SecureH2oPolicy ? pol[0].heavy : budget - 1;
    const decoding = logs.map((l) => l.slice(-steps)); // the prompt's select (none) came first
    let argmins = 0;
    for (let s = 0; s < steps; s++) {
      const rec = decoding[0][s].rec;
      expect(decoding[1][s].rec?.kind).toBe(rec?.kind);
      if (rec?.kind === 'argmin') argmins++;
      expectCosts([decoding[0][s].used, decoding[1][s].used], evictionCost(rec, units, keep));
    }
    expect(argmins).toBeGreaterThan(0); // the steady state: one victim per step
  });

  // the prompt's end: one compactRows per layer, its exact cost from the record (both passes' step sizes)
  it.each([
    ['H2O (per lane, heavy best of the candidates, scores carried)', 'h2o', () => new SecureH2oPolicy(1, budget), () => new H2oPolicy(ctxOf(lanes, budget)), 'lane', 1],
    ['TOVA (one set per layer)', 'tova', () => new SecureTovaPolicy(1, budget), () => new TovaPolicy(ctxOf(lanes, budget)), 'layer', 0],
  ] as const)('%s: the prompt compaction = compactRowsCost of its record', async (_name, label, secure, plain, granularity, extraWidth) => {
    const p = parties(`evict-cost/prompt/${label}`), pol = [secure(), secure()] as const;
    await simulate(p, `evict-cost/prompt/${label}`, plain(), [pol[0], pol[1]], lanes, n, 0);
    const rec = pol[0].lastEviction[0]!;
    expect(rec.kind).toBe('topk');
    expect(pol[1].lastEviction[0]).toEqual(rec);
    const keep = pol[0] instanceof SecureH2oPolicy ? pol[0].heavy : budget - 1, units = granularity === 'lane' ? lanes : 1;
    const rows = pol[0] instanceof SecureH2oPolicy ? pol[0].heavy + pol[0].recent - 1 : budget - 1;
    expectScopeCost(p, 'compact rows', compactRowsCost({ units, n: rec.end, k: keep, lanes, headDim: 4, caches: 1, rows, granularity, originalOrder: true, extraWidth }, { steps: rec.steps!, orderSteps: rec.orderSteps }));
  });

  it.each(['max', 'avg'] as const)('SnapKV (%s-pool 5): the prompt\'s selection = snapKvPrefillCost on both parties; decoding is free (public rows)', async (pooling) => {
    const budget = 10, p = parties(`evict-cost/snapkv/${pooling}`), opts = { ...SNAPKV_DEFAULTS, kernel: 5, pooling };
    const pol = [new SecureSnapKvPolicy(1, budget, opts), new SecureSnapKvPolicy(1, budget, opts)] as const;
    const sim = await simulate(p, `evict-cost/snapkv/${pooling}`, new SnapKvPolicy(ctxOf(lanes, budget), opts), [pol[0], pol[1]], lanes, 24, 2);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(pol[1].steps[0]).toEqual(pol[0].steps[0]);
    // head dim 4: simulate's (secure-cache-sim.ts)
    expectScopeCost(p, 'snapkv select', snapKvPrefillCost(lanes, 4, 24, budget, pol[0].window, opts, F, pol[0].steps[0]!));
  });
});

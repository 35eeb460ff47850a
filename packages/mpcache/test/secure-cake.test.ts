/**
 * CAKE on shares against the plaintext CakePolicy on the same fixed-point probabilities
 * (secure-cache-sim.ts): prefill indicator top-B per head + protected window, then one argmin per
 * step by the latest row; the revealed-budget mode's preferences against the plaintext's; exact
 * costs of the indicator round and a decoding step's eviction.
 */
import { runBoth } from '@mpcache/protocols';
import {
  argminEvictionCost, cakeRevealCost, cakeRevealPreferences, cakeWindowStats, cakeWindowStatsCost, SecureCakePolicy,
} from '@mpcache/mpcache';
import { CakePolicy, CAKE_DEFAULTS, cakeAllocate, type CakeOptions } from '../src/cache/cake';
import { cakePreference } from '../src/cache/cake-budgets';
import { data, F, parties, shareGrid } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { TEST_SEED } from './secure-helpers';

const ctxOf = (lanes: number, budget: number) => ({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F });

describe(`secure CAKE = plaintext CAKE (SEED=${TEST_SEED})`, () => {
  it.each([
    ['uniform', { layerBudgets: 'uniform' as const }],
    ['calibrated [4]', { layerBudgets: [4] }],
    ['pool 1, γ 50', { layerBudgets: 'uniform' as const, prefillPoolKernel: 1, gamma: 50 }],
  ])('%s: indicator top-B + window at the prompt end, one argmin per step', async (label, extra) => {
    const lanes = 2, budget = 10, p = parties(`cake/${label}`), opts: CakeOptions = { ...CAKE_DEFAULTS, ...extra };
    const pol = [new SecureCakePolicy(1, budget, opts), new SecureCakePolicy(1, budget, opts)] as const;
    const sim = await simulate(p, `cake/${label}`, new CakePolicy(ctxOf(lanes, budget), opts), [pol[0], pol[1]], lanes, 24, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    const B = pol[0].layerBudgets()[0], w = pol[0].window;
    expect(sim.steps[4].plain[0].length).toBe(B + w);
    expect(pol[0].truncatedBits).toBe(0);
  });

  it('adaptive budgets refuse to run without the opt-in leak', () => {
    expect(() => new SecureCakePolicy(2, 10, { ...CAKE_DEFAULTS, layerBudgets: 'adaptive' })).toThrow(/revealLayerBudgets/);
    expect(() => new SecureCakePolicy(2, 10, { ...CAKE_DEFAULTS, layerBudgets: 'uniform', decodePoolKernel: 5 })).toThrow(/decodePoolKernel 1/);
  });

  it('revealed preferences (entropy by lookup table, exact variance) give the plaintext budgets; exact costs', async () => {
    const L = 3, lanes = 2, w = 4, prefix = 20, n = prefix + w, p = parties('cake/reveal');
    // window probabilities on the grid, (lanes, w, prefix) per layer; layer 1 peaked, layer 2 flat
    const wins = Array.from({ length: L }, (_, l) => data(`cake/reveal/${l}`, lanes * w * prefix, 0, l === 1 ? 0.5 : 0.06, l === 2 ? 3 : 0));
    const shared = wins.map((x, l) => shareGrid(x, [lanes * w * prefix], `cake/reveal/s${l}`));
    const got = await runBoth(p, async (ctx) => {
      const mine = shared.map((s) => s[ctx.party].data);
      const { D } = await ctx.ledger.scope('stats', () => cakeWindowStats(ctx, mine, lanes, w, prefix));
      return ctx.ledger.scope('reveal', () => cakeRevealPreferences(ctx, mine, D, w, 1.6, 0.4));
    });
    const plain = wins.map((x) => {
      const rows = Array.from({ length: lanes }, (_, h) => { // plaintext layout: (w, stride n) rows per head
        const A = new Float64Array(w * n);
        for (let q = 0; q < w; q++) for (let j = 0; j < prefix; j++) A[q * n + j] = x[(h * w + q) * prefix + j];
        return A;
      });
      return cakePreference(rows, w, n, prefix, 1.6, 0.4);
    });
    for (let l = 0; l < L; l++) expect(Math.abs(got[0][l] - plain[l]) / plain[l]).toBeLessThan(1e-5);
    expect(got[1]).toEqual(got[0]);
    const total = (10 - w) * L;
    expect(cakeAllocate(got[0], total, prefix)).toEqual(cakeAllocate(plain, total, prefix));
    const used = (name: string) => p.ctx.map((c) => c.ledger.get(name));
    const stats = cakeWindowStatsCost(L, lanes, w, prefix), rev = cakeRevealCost(L * lanes * w * prefix, L, F);
    for (const [name, want] of [['stats', stats], ['reveal', rev]] as const) {
      const u = used(name);
      for (const x of u) expect({ rounds: x.rounds, bytesSent: x.bytesSent }).toEqual({ rounds: want.rounds, bytesSent: want.bytesSent });
      expect(u[0].offlineBytes + u[1].offlineBytes).toBe(want.offlineBytes);
    }
  });

  it('exact cost of the decoding steps: one argmin over the candidates (B + 1 alive) per head and step', async () => {
    const lanes = 2, budget = 10, steps = 3, p = parties('cake/cost'), opts: CakeOptions = { ...CAKE_DEFAULTS, layerBudgets: 'uniform' };
    const pol = [new SecureCakePolicy(1, budget, opts), new SecureCakePolicy(1, budget, opts)] as const;
    const sim = await simulate(p, 'cake/cost', new CakePolicy(ctxOf(lanes, budget), opts), [pol[0], pol[1]], lanes, 24, steps);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    const B = pol[0].layerBudgets()[0], used = p.ctx.map((c) => c.ledger.get('cake evict'));
    // step s: the window's oldest row joins B alive + s dead candidate slots
    const want = Array.from({ length: steps }, (_, s) => argminEvictionCost(lanes, B + 1 + s))
      .reduce((a, b) => ({ rounds: a.rounds + b.rounds, bytesSent: a.bytesSent + b.bytesSent, offlineBytes: a.offlineBytes + b.offlineBytes }));
    for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds: want.rounds, bytesSent: want.bytesSent });
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(want.offlineBytes);
    expect(pol[0].lastEviction[0]!.kind).toBe('argmin');
  });
});

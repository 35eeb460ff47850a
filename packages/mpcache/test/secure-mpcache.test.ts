/**
 * MPCache on shares against the plaintext implementation of the same algorithm on the same
 * fixed-point inputs: the dynamic cluster selection (α mix and the exact Quest bound; ties
 * included), the logit gather/scatter, cross-layer reuse, and the static eviction's kept set and
 * compacted cache.
 */
import { runBoth } from '@mpcache/protocols';
import { SecureMpcachePolicy, blockSelectionCost, planLayout, selectionOneHotCost, type BlockGatherSelection } from '@mpcache/mpcache';
import { selectClusters } from '../src/cache/cluster-selector';
import { staticEvictionKeep } from '../src/cache/static-eviction';
import { mpcacheConfig, staticKeepCount } from '../src/cache/mpcache-config';
import { F, data, open, openInts, openReal, parties, shareGrid, sharedCache, view } from './secure-cache-helpers';
import { expectScopeCost } from './cost-helpers';
import { TEST_SEED } from './secure-helpers';

const model = (nLayers: number, lanes: number, d: number) => ({ nLayers, nHeads: lanes, nKvHeads: lanes, headDim: d, seqLen: 256 });

describe(`secure MPCache (SEED=${TEST_SEED})`, () => {
  it.each([
    ['α = 0.6, random keys', 0.6 as const, 0],
    ['α = 0.6, keys on 3 levels (ties)', 0.6 as const, 3],
    ["alpha 'exact', random keys", 'exact' as const, 0],
    ["alpha 'exact', keys on 3 levels (ties)", 'exact' as const, 3],
  ])('dynamic selection = plaintext selectClusters per head: %s', async (label, alpha, levels) => {
    const lanes = 3, d = 8, n = 70, budget = 24, p = parties(`mpc/${label}`);
    const keys = data(`mpc/k/${label}`, n * lanes * d, -2, 2, levels), values = data(`mpc/v/${label}`, n * lanes * d, -1, 1);
    const q = data(`mpc/q/${label}`, lanes * d, -1, 1, levels);
    const caches = await sharedCache(p, keys, values, lanes, d, `mpc/${label}`);
    const qs = shareGrid(q, [lanes, 1, d], `mpc/qs/${label}`);
    const z = data(`mpc/z/${label}`, lanes * n, -4, 4), zs = shareGrid(z, [lanes, 1, n], `mpc/zs/${label}`);
    const cfg = { clusterSizes: [8, 4], forcedRecent: 8, alpha, layerSharing: 'none' as const };
    const pol = [new SecureMpcachePolicy(model(2, lanes, d), budget, cfg), new SecureMpcachePolicy(model(2, lanes, d), budget, cfg)];
    const out = await runBoth(p, async (ctx) => {
      const sel = (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d))) as BlockGatherSelection;
      const g = await sel.gather(ctx, zs[ctx.party]);
      return { g, back: await sel.scatter(ctx, g), kept: sel.kept };
    });
    const step = [pol[0].lastStep[0]!, pol[1].lastStep[0]!];
    const chosen = openInts(step[0].fineIndex!, step[1].fineIndex!);
    const k = step[0].plan.counts[1];
    for (let h = 0; h < lanes; h++) {
      const want = selectClusters(q.subarray(h * d, (h + 1) * d), keys, lanes * d, h * d, d, (i) => i, n, { ...pol[0].params, fracBits: F });
      expect(want.full).toBe(false);
      expect(chosen.slice(h * k, (h + 1) * k).sort((a, b) => a - b)).toEqual(Array.from(want.levels[1]));
      // gather then scatter = the logits on kept rows, 0 elsewhere
      const back = openReal(out[0].back, out[1].back).subarray(h * n, (h + 1) * n);
      for (let j = 0; j < n; j++) expect(back[j]).toBe(want.keep[j] ? z[h * n + j] : 0);
    }
    expect(out[0].kept).toBe(step[0].plan.firstEnd + n - step[0].plan.tailStart + 4 * k);
  });

  it('a following layer reuses its leader’s clusters without selecting (same kept rows, its own logits)', async () => {
    const lanes = 2, d = 8, n = 70, p = parties('mpc/follow');
    const keys = data('mpc/follow/k', n * lanes * d, -2, 2), q = data('mpc/follow/q', lanes * d, -1, 1);
    const caches = await sharedCache(p, keys, keys, lanes, d, 'mpc/follow');
    const qs = shareGrid(q, [lanes, 1, d], 'mpc/follow/qs');
    const z = data('mpc/follow/z', lanes * n, -4, 4), zs = shareGrid(z, [lanes, 1, n], 'mpc/follow/zs');
    const cfg = { clusterSizes: [8, 4], forcedRecent: 8, layerSharing: [0, 0] };
    const pol = [new SecureMpcachePolicy(model(2, lanes, d), 24, cfg), new SecureMpcachePolicy(model(2, lanes, d), 24, cfg)];
    const out = await runBoth(p, async (ctx) => {
      const s0 = (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!;
      const g0 = await s0.gather(ctx, zs[ctx.party]);
      const before = ctx.ledger.snapshot();
      const s1 = (await pol[ctx.party].select(ctx, view(1, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!;
      const mid = ctx.ledger.snapshot();
      const g1 = await s1.gather(ctx, zs[ctx.party]);
      const gathered = ctx.ledger.snapshot();
      await s1.scatter(ctx, g1);
      const end = ctx.ledger.snapshot();
      const diff = (a: typeof end, b: typeof end) => ({ rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, offlineBytes: a.offlineBytes - b.offlineBytes });
      return { g0, g1, selectRounds: mid.rounds - before.rounds, gather: diff(gathered, mid), scatter: diff(end, gathered) };
    });
    expect(out[0].selectRounds).toBe(0);
    expect(Array.from(open(out[0].g1, out[1].g1))).toEqual(Array.from(open(out[0].g0, out[1].g0)));
    // the follower's gather opens only its logit blocks (8 B each), not the one-hot rows again
    const C = pol[0].lastStep[0]!.plan.c0 * 2;
    expect(out[0].gather.bytesSent).toBe(8 * lanes * 4 * C);
    // exact follower costs (Ô already public): blockSelectionCost(…, fresh = false); offline bytes go to P0 only
    const want = blockSelectionCost(lanes, planLayout(pol[0].lastStep[0]!.plan, [8, 4]), false);
    for (const p of [0, 1] as const) {
      for (const part of ['gather', 'scatter'] as const) {
        expect(out[p][part]).toEqual({ ...want[part], offlineBytes: p === 0 ? want[part].offlineBytes : 0 });
      }
    }
  });

  it('static eviction: kept set = staticEvictionKeep, compacted in prompt order for leader and follower', async () => {
    const lanes = 2, d = 4, n = 60, w = 12, budget = 24, p = parties('mpc/static');
    const keys = data('mpc/static/k', n * lanes * d, -2, 2), values = data('mpc/static/v', n * lanes * d, -2, 2);
    const c0 = await sharedCache(p, keys, values, lanes, d, 'mpc/static/0');
    const c1 = await sharedCache(p, values, keys, lanes, d, 'mpc/static/1');
    // window probabilities (lanes, n, n): causal rows on the grid, few levels so scores tie
    const probs = data('mpc/static/p', lanes * n * n, 0, 0.25, 4);
    for (let h = 0; h < lanes; h++) for (let t = 0; t < n; t++) for (let j = t + 1; j < n; j++) probs[(h * n + t) * n + j] = 0;
    const ps = shareGrid(probs, [lanes, n, n], 'mpc/static/ps');
    const cfg = { clusterSizes: [8, 4], forcedRecent: 8, layerSharing: [0, 0], staticKeepRatio: 0.3, staticKeepBudgetMultiple: 0 };
    const pol = [new SecureMpcachePolicy(model(2, lanes, d), budget, cfg), new SecureMpcachePolicy(model(2, lanes, d), budget, cfg)];
    await runBoth(p, async (ctx) => {
      const P = pol[ctx.party], caches = [c0[ctx.party], c1[ctx.party]];
      P.beginPrefill(n);
      for (let l = 0; l < 2; l++) {
        const v = view(l, 0, n, shareGrid([0], [1], 'x')[0], caches[l], d);
        await P.select(ctx, v);
        await P.observe(ctx, v, ps[ctx.party]);
      }
      await P.endPrefill(ctx, n);
    });
    const scores = new Float64Array(n);
    for (let h = 0; h < lanes; h++) for (let t = n - w; t < n; t++) for (let j = 0; j < n; j++) scores[j] += probs[(h * n + t) * n + j];
    const nKeep = staticKeepCount(n, budget, mpcacheConfig(cfg));
    expect(nKeep).toBeLessThan(n);
    const kept = staticEvictionKeep(scores, n, nKeep, 1, 8);
    for (const [c, K, V] of [[c0, keys, values], [c1, values, keys]] as const) {
      expect(c[0].length).toBe(nKeep);
      for (let h = 0; h < lanes; h++) {
        const gotK = openReal({ shape: [], data: c[0].keys.laneShare(h) }, { shape: [], data: c[1].keys.laneShare(h) });
        const gotV = openReal({ shape: [], data: c[0].values.laneShare(h) }, { shape: [], data: c[1].values.laneShare(h) });
        kept.forEach((pos, j) => {
          for (let i = 0; i < d; i++) {
            expect(gotK[j * d + i]).toBe(K[pos * lanes * d + h * d + i]);
            expect(gotV[j * d + i]).toBe(V[pos * lanes * d + h * d + i]);
          }
        });
      }
    }
  });
});

describe(`secure MPCache exact costs (SEED=${TEST_SEED})`, () => {
  it.each([0.6, 'exact'] as const)('one leading step (bounds of every cluster, selection, gather, scatter), alpha %s: ledger = mpcacheStepCost', async (alpha) => {
    const { mpcacheStepCost } = await import('@mpcache/mpcache');
    const lanes = 2, d = 4, n = 70, p = parties(`mpc/cost/${alpha}`);
    const keys = data(`mpc/cost/k`, n * lanes * d, -2, 2), q = data('mpc/cost/q', lanes * d, -1, 1);
    const caches = await sharedCache(p, keys, keys, lanes, d, 'mpc/cost');
    const qs = shareGrid(q, [lanes, 1, d], 'mpc/cost/qs'), zs = shareGrid(data('mpc/cost/z', lanes * n, -4, 4), [lanes, 1, n], 'mpc/cost/zs');
    const cfg = { clusterSizes: [8, 4], forcedRecent: 8, alpha, layerSharing: 'none' as const };
    const pol = [new SecureMpcachePolicy(model(1, lanes, d), 24, cfg), new SecureMpcachePolicy(model(1, lanes, d), 24, cfg)];
    const before = p.ctx.map((c) => c.ledger.snapshot());
    await runBoth(p, async (ctx) => {
      const sel = (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!;
      await sel.scatter(ctx, await sel.gather(ctx, zs[ctx.party]));
    });
    const used = p.ctx.map((c, i) => {
      const s = c.ledger.snapshot();
      return { rounds: s.rounds - before[i].rounds, bytesSent: s.bytesSent - before[i].bytesSent, offlineBytes: s.offlineBytes - before[i].offlineBytes };
    });
    const step = pol[0].lastStep[0]!;
    const want = mpcacheStepCost({ lanes, rows: 1, headDim: d, fracBits: F, sizes: [8, 4], alpha, plan: step.plan, doneBefore: [0, 0], steps: step.steps! });
    expect(step.steps!.length).toBe(2);
    for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds: want.rounds, bytesSent: want.bytesSent });
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(want.offlineBytes);
    // the selection's one-hot step alone (its part of mpcacheStepCost): one DPF one-hot per chosen finest cluster
    const layout = planLayout(step.plan, [8, 4]);
    expectScopeCost(p, 'oneHot', selectionOneHotCost(lanes, layout.k, layout.blocks), 'even');
    console.log(`MPCache step, lanes ${lanes}, d ${d}, n ${n}, clusters [8, 4], budget 24, alpha ${alpha}: ` +
      `k = ${step.plan.counts.join('/')}, quick-select steps ${JSON.stringify(step.steps)}: ${JSON.stringify(want)}`);
  });
});

describe(`secure MPCache deferred cluster bounds (SEED=${TEST_SEED})`, () => {
  // One leader, clusters [8, 4], steps at 67, 68, 72 and 73 rows: at 68 a finest cluster completes
  // and at 72 a finest and a coarse one, all in the forced tail (rows 64..), so their bounds wait for
  // takeBackground; at 73 coarse cluster 8 is scored, with the representatives deferred at 68 and 72.
  const lanes = 2, d = 4, counts = [67, 68, 72, 73];
  const cfg = (alpha: number | 'exact') => ({ clusterSizes: [8, 4], forcedRecent: 8, layerSharing: 'none' as const, alpha });
  const keys = data('mpc/defer/k', 73 * lanes * d, -2, 2), q = data('mpc/defer/q', lanes * d, -1, 1);
  type Cost = [rounds: number, bytesSent: number, offlineBoth: number];

  /** The four steps; the deferred bounds run after each step when `runBackground`, else never. */
  async function run(label: string, runBackground: boolean, alpha: number | 'exact' = 0.6) {
    const p = parties(`mpc/defer/${label}`), qs = shareGrid(q, [lanes, 1, d], `mpc/defer/${label}/qs`);
    const pol = [0, 1].map(() => new SecureMpcachePolicy(model(1, lanes, d), 24, cfg(alpha)));
    const snap = () => p.ctx.map((c) => c.ledger.snapshot());
    const delta = (a: ReturnType<typeof snap>, b: ReturnType<typeof snap>): Cost => {
      // both parties send the same here: P1's rounds and bytes must equal P0's
      expect([b[1].rounds - a[1].rounds, b[1].bytesSent - a[1].bytesSent]).toEqual([b[0].rounds - a[0].rounds, b[0].bytesSent - a[0].bytesSent]);
      return [b[0].rounds - a[0].rounds, b[0].bytesSent - a[0].bytesSent, b[0].offlineBytes - a[0].offlineBytes + b[1].offlineBytes - a[1].offlineBytes];
    };
    const steps = [];
    for (const n of counts) {
      const rows = keys.subarray(0, n * lanes * d);
      const caches = await sharedCache(p, rows, rows, lanes, d, `mpc/defer/${label}/${n}`);
      const zs = shareGrid(data(`mpc/defer/z${n}`, lanes * n, -4, 4), [lanes, 1, n], `mpc/defer/${label}/zs${n}`);
      const t0 = snap();
      const work = await runBoth(p, async (ctx) => {
        const sel = (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!;
        await sel.scatter(ctx, await sel.gather(ctx, zs[ctx.party]));
        return pol[ctx.party].takeBackground(0);
      });
      expect(work[1] !== null).toBe(work[0] !== null);
      expect(pol[0].takeBackground(0)).toBeNull(); // handed over once
      const t1 = snap();
      if (runBackground && work[0]) await runBoth(p, (ctx) => work[ctx.party]!(ctx));
      const leader = [pol[0].lastStep[0]!, pol[1].lastStep[0]!];
      steps.push({
        n, deferred: work[0] !== null, select: delta(t0, t1), background: delta(t1, snap()), leader: leader[0],
        chosen: openInts(leader[0].fineIndex!, leader[1].fineIndex!), planKey: pol[0].planKey(0, 4),
      });
    }
    return { pol: pol[0], steps };
  }

  function expectPlaintextSelection(pol: SecureMpcachePolicy, n: number, k: number, chosen: number[]) {
    for (let h = 0; h < lanes; h++) {
      const want = selectClusters(q.subarray(h * d, (h + 1) * d), keys, lanes * d, h * d, d, (i) => i, n, { ...pol.params, fracBits: F });
      expect(chosen.slice(h * k, (h + 1) * k).sort((a, b) => a - b)).toEqual(Array.from(want.levels[1]));
    }
  }

  it.each([0.6, 'exact'] as const)('bounds of clusters completing in the forced tail go to takeBackground; costs = mpcacheStepCost + clusterBoundsCost; selections = plaintext (alpha %s)', async (alpha) => {
    const { mpcacheStepCost, clusterBoundsCost } = await import('@mpcache/mpcache');
    const { pol, steps } = await run(`taken/${alpha}`, true, alpha);
    expect(steps.map((s) => s.deferred)).toEqual([false, true, true, false]);
    const done = [[0, 0], [8, 16], [8, 17], [9, 18]], pending = [0, 0, 1, 2];
    steps.forEach((s, i) => {
      const shape = { lanes, rows: 1, headDim: d, fracBits: F, sizes: [8, 4], alpha };
      const want = mpcacheStepCost({ ...shape, plan: s.leader.plan, doneBefore: done[i], steps: s.leader.steps!, pendingBefore: pending[i] });
      expect(s.select).toEqual([want.rounds, want.bytesSent, want.offlineBytes]);
      const fresh = [Math.floor(s.n / 8) - done[i][0], Math.floor(s.n / 4) - done[i][1]];
      const b = clusterBoundsCost({ lanes, headDim: d, fracBits: F, sizes: [8, 4], alpha, fresh });
      expect(s.background).toEqual(s.deferred ? [b.rounds, b.bytesSent, b.offlineBytes] : [0, 0, 0]);
      if (s.deferred) expect(b.rounds).toBeGreaterThan(0);
      expectPlaintextSelection(pol, s.n, s.leader.plan.counts[1], s.chosen);
    });
    // a step that appends deferred representatives asks the dealer for more: its own plan family
    expect(steps.map((s) => s.planKey)).toEqual(['mpcache lead +c0.1', 'mpcache lead +c1.1 +a1', 'mpcache lead +c0.1 +a2', 'mpcache lead +c0.1']);
  });

  it('deferred bounds nobody runs are computed by the first step that scores their clusters (selections = plaintext)', async () => {
    const { pol, steps } = await run('skipped', false);
    expect(steps.map((s) => s.deferred)).toEqual([false, true, true, false]);
    expect(pol.layerBounds(0)!.complete(0)).toBe(9);
    expect(pol.layerBounds(0)!.complete(1)).toBe(18);
    for (const s of steps) expectPlaintextSelection(pol, s.n, s.leader.plan.counts[1], s.chosen);
  });
});

describe('secure MPCache memory', () => {
  it('extra state (bounds, representatives) stays under 25 % of the K/V cache it serves, at gpt2 head size', async () => {
    const lanes = 2, d = 64, n = 1024, p = parties('mpc/mem');
    const zeros = new Float64Array(n * lanes * d);
    const caches = await sharedCache(p, zeros, zeros, lanes, d, 'mpc/mem');
    const pol = [0, 1].map(() => new SecureMpcachePolicy({ nLayers: 1, seqLen: 4096 }, 128, {}));
    await runBoth(p, (ctx) => pol[ctx.party].warm(ctx, [caches[ctx.party]]));
    const kvBytes = 32 * lanes * d * caches[0].length; // K and V: D and my share, 8 B words
    const extra = pol[0].stateBytes();
    console.log(`MPCache state ${extra} B vs K/V cache ${kvBytes} B (${((100 * extra) / kvBytes).toFixed(1)} %) at ${caches[0].length} rows`);
    expect(extra).toBeGreaterThan(0);
    expect(extra).toBeLessThan(0.25 * kvBytes);
  });
});

describe('secure MPCache plan keys', () => {
  it('a leader step that completes clusters has its own plan family (+c<new clusters per level>); followers and other steps do not', async () => {
    const lanes = 2, d = 4, n = 96, p = parties('mpc/plankey');
    const zeros = new Float64Array(n * lanes * d);
    const caches = await sharedCache(p, zeros, zeros, lanes, d, 'mpc/plankey');
    const opts = { clusterSizes: [8, 4], staticKeepBudgetMultiple: 4, layerSharing: [0, 0] };
    const pol = [0, 1].map(() => new SecureMpcachePolicy({ nLayers: 2, seqLen: 256 }, 24, opts));
    await runBoth(p, (ctx) => pol[ctx.party].warm(ctx, [caches[ctx.party], caches[ctx.party]]));
    const P = pol[0];
    // 96 rows: 24 finest (4) and 12 coarse (8) clusters complete
    expect(P.planKey(0, 1)).toBe('mpcache lead');        // 97 rows: none new
    expect(P.planKey(0, 4)).toBe('mpcache lead +c0.1');  // 100 rows: a finest cluster (levels coarse first)
    expect(P.planKey(0, 8)).toBe('mpcache lead +c1.2');  // 104 rows: one coarse, two finest
    expect(P.planKey(1, 8)).toBe('mpcache follow');      // a follower computes no bounds
  });
});

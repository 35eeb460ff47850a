/**
 * Quest and the naive token-level top-k on shares against their plaintext twins on the same
 * fixed-point q, keys and logits (ties included), and the token top-k's cost against the full cache.
 */
import { runBoth, topKCost } from '@mpcache/protocols';
import { questStepCost, SecureQuestPolicy, SecureTokenTopKPolicy, tokenTopKStepCost, type SecureAttentionSelection } from '@mpcache/mpcache';
import { QuestPolicy, QUEST_DEFAULTS } from '../src/cache/quest';
import { tokenTopKSelect } from '../src/cache/token-topk';
import { F, data, openReal, parties, shareGrid, sharedCache, view } from './secure-cache-helpers';
import { expectCosts, expectScopeCost } from './cost-helpers';
import { TEST_SEED } from './secure-helpers';

/** Positions kept by a selection: gather/scatter a tensor of ones. */
async function keptPositions(p: ReturnType<typeof parties>, sel: [SecureAttentionSelection, SecureAttentionSelection], lanes: number, n: number, label: string) {
  const ones = shareGrid(new Array(lanes * n).fill(1), [lanes, 1, n], `${label}/ones`);
  const back = await runBoth(p, async (ctx) => sel[ctx.party].scatter(ctx, await sel[ctx.party].gather(ctx, ones[ctx.party])));
  const v = openReal(back[0], back[1]);
  return Array.from({ length: lanes }, (_, h) => Array.from({ length: n }, (_, j) => j).filter((j) => v[h * n + j] === 1));
}

describe(`secure query-aware selection = plaintext (SEED=${TEST_SEED})`, () => {
  it.each([0, 3])('Quest: pages by the exact bound q·m + ReLU(q)·(M − m) (key levels %i)', async (levels) => {
    const lanes = 2, d = 8, n = 45, budget = 16, S = 4, p = parties(`quest/${levels}`);
    const keys = data(`quest/k/${levels}`, n * lanes * d, -2, 2, levels), q = data(`quest/q/${levels}`, lanes * d, -1, 1, levels);
    const caches = await sharedCache(p, keys, keys, lanes, d, `quest/${levels}`);
    const qs = shareGrid(q, [lanes, 1, d], `quest/qs/${levels}`);
    const opts = { ...QUEST_DEFAULTS, pageSize: S };
    const pol = [new SecureQuestPolicy(1, budget, 128, opts), new SecureQuestPolicy(1, budget, 128, opts)];
    const sel = await runBoth(p, async (ctx) => (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!);
    const got = await keptPositions(p, sel, lanes, n, 'quest');
    const plain = new QuestPolicy({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F }, opts);
    for (let h = 0; h < lanes; h++) {
      const m = plain.attendMask({ layer: 0, head: h, kvHead: h, pos: n - 1, q: q.subarray(h * d, (h + 1) * d), keyCache: keys, valueCache: keys, headDim: d, kvDim: lanes * d })!;
      expect(got[h]).toEqual(Array.from({ length: n }, (_, j) => j).filter((j) => m[j] === 1));
    }
    expect(got[0].length).toBe(Math.floor(budget / S) * S - (S - (n % S || S)));
  });

  it('Quest after warm (benchmarks): zero page bounds without comparisons; the step keeps what plaintext Quest keeps', async () => {
    const lanes = 2, d = 8, n = 45, budget = 16, S = 4;
    const zeros = new Float64Array(n * lanes * d), q = data('quest/warm/q', lanes * d, -1, 1);
    const opts = { ...QUEST_DEFAULTS, pageSize: S };
    const boundsComparisons = async (warm: boolean) => {
      const p = parties(`quest/warm/${warm}`), caches = await sharedCache(p, zeros, zeros, lanes, d, `quest/warm/${warm}`);
      const qs = shareGrid(q, [lanes, 1, d], 'quest/warm/qs');
      const pol = [new SecureQuestPolicy(1, budget, 128, opts), new SecureQuestPolicy(1, budget, 128, opts)];
      if (warm) await runBoth(p, (ctx) => pol[ctx.party].warm(ctx, [caches[ctx.party]]));
      // the page bounds' comparison trees (min and max of each page: minMaxTree; coarser levels: maxTree)
      const treeOffline = () => p.ctx[0].ledger.get('minMaxTree').offlineBytes + p.ctx[0].ledger.get('maxTree').offlineBytes;
      const before = treeOffline();
      const sel = await runBoth(p, async (ctx) => (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!);
      return { treeOffline: treeOffline() - before, kept: await keptPositions(p, sel, lanes, n, `quest/warm/${warm}`) };
    };
    const cold = await boundsComparisons(false), warm = await boundsComparisons(true);
    expect(cold.treeOffline).toBeGreaterThan(0); // the cold step ranks every prompt page's rows
    expect(warm.treeOffline).toBe(0);
    const plain = new QuestPolicy({ model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F }, opts);
    for (let h = 0; h < lanes; h++) {
      const m = plain.attendMask({ layer: 0, head: h, kvHead: h, pos: n - 1, q: q.subarray(h * d, (h + 1) * d), keyCache: zeros, valueCache: zeros, headDim: d, kvDim: lanes * d })!;
      const want = Array.from({ length: n }, (_, j) => j).filter((j) => m[j] === 1);
      expect(warm.kept[h]).toEqual(want);
      expect(cold.kept[h]).toEqual(want);
    }
  });

  it('token top-k: the top budget − 1 logits + the query, per head; it costs more than the full cache; exact cost on both parties', async () => {
    const lanes = 2, d = 4, n = 64, budget = 8, p = parties('ttk');
    const caches = await sharedCache(p, data('ttk/k', n * lanes * d, -1, 1), data('ttk/v', n * lanes * d, -1, 1), lanes, d, 'ttk');
    const z = data('ttk/z', lanes * n, -3, 3, 6), zs = shareGrid(z, [lanes, 1, n], 'ttk/zs'), q = shareGrid(new Array(lanes * d).fill(0), [lanes, 1, d], 'ttk/q');
    const pol = [new SecureTokenTopKPolicy(1, budget), new SecureTokenTopKPolicy(1, budget)];
    const starts = p.ctx.map((c) => c.ledger.snapshot()), before = starts[0];
    const sel = await runBoth(p, async (ctx) => (await pol[ctx.party].select(ctx, view(0, n - 1, 1, q[ctx.party], caches[ctx.party], d), zs[ctx.party]))!);
    const got = await keptPositions(p, sel, lanes, n, 'ttk');
    const after = p.ctx[0].ledger.snapshot();
    for (let h = 0; h < lanes; h++) expect(got[h]).toEqual(Array.from(tokenTopKSelect(z.subarray(h * n, (h + 1) * n), n - 1, budget - 1)));
    // selection + gather/scatter alone send more than a full-cache softmax over n opens in total
    // (a full-cache step opens q, the n scores' truncation and P: ≈ 8·(d + 2n) B per head)
    expect(after.bytesSent - before.bytesSent).toBeGreaterThan(lanes * 8 * (d + 2 * n));
    // exact: topK with one-hot rows (given the reported quick-select steps), then the gather and scatter
    const steps = pol[0].lastSteps[0]!, want = tokenTopKStepCost(lanes, n, budget, steps), t = topKCost(lanes, n - 1, budget - 1, steps, { oneHot: true });
    expect(pol[1].lastSteps[0]).toEqual(steps);
    expectScopeCost(p, 'token top-k', { ...t, bytesSent: t.bytesSentPerParty });
    const used = p.ctx.map((c, i) => { const a = c.ledger.snapshot(); return { ...a, rounds: a.rounds - starts[i].rounds, bytesSent: a.bytesSent - starts[i].bytesSent, offlineBytes: a.offlineBytes - starts[i].offlineBytes }; });
    expectCosts(used, { ...want, bytesSent: want.bytesSentPerParty });
  });

  it('Quest: exact cost of a step = questStepCost on both parties — the first (every prompt page) and one completing the query\'s page', async () => {
    const lanes = 2, d = 8, budget = 16, S = 4, opts = { ...QUEST_DEFAULTS, pageSize: S }, p = parties('quest/cost');
    const keys = data('quest/cost/k', 48 * lanes * d, -2, 2), q = data('quest/cost/q', lanes * d, -1, 1);
    const pol = [new SecureQuestPolicy(1, budget, 128, opts), new SecureQuestPolicy(1, budget, 128, opts)];
    let pages = 0;
    for (const n of [45, 48]) { // 45: pages 0–10 complete; 48: page 11, the query's own, completes
      const rows = keys.subarray(0, n * lanes * d), caches = await sharedCache(p, rows, rows, lanes, d, `quest/cost/${n}`);
      const qs = shareGrid(q, [lanes, 1, d], `quest/cost/qs${n}`), zs = shareGrid(data(`quest/cost/z${n}`, lanes * n, -4, 4), [lanes, 1, n], `quest/cost/zs${n}`);
      const before = p.ctx.map((c) => c.ledger.snapshot());
      await runBoth(p, async (ctx) => {
        const sel = (await pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)))!;
        await sel.scatter(ctx, await sel.gather(ctx, zs[ctx.party]));
      });
      const used = p.ctx.map((c, i) => { const a = c.ledger.snapshot(), b = before[i]; return { ...a, rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, offlineBytes: a.offlineBytes - b.offlineBytes }; });
      expect(pol[1].lastSteps[0]).toEqual(pol[0].lastSteps[0]);
      const want = questStepCost({ lanes, rows: 1, headDim: d, fracBits: F, pageSize: S, plan: pol[0].lastPlan[0]!, pagesBefore: pages, steps: pol[0].lastSteps[0]! });
      expectCosts(used, want);
      pages = Math.floor(n / S);
    }
  });
});

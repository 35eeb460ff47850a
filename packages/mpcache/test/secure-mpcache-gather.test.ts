/**
 * MPCache's two gather variants on the same selection: the logit gather (default) and the K-block
 * gather (kv-block-selection.ts) keep the same logits (the K-block one recomputes them, within
 * 1 ulp) and their costs are measured side by side; the logit gather must send fewer bytes.
 */
import { encode } from '@mpcache/mpc-core';
import { runBoth, sumCosts } from '@mpcache/protocols';
import { BlockKvSelection, SecureMpcachePolicy, blockKvSelectionCost, blockSelection, blockSelectionCost, planLayout, type SecureAttentionSelection } from '@mpcache/mpcache';
import { F, data, openReal, parties, shareGrid, sharedCache, view, type Ctx } from './secure-cache-helpers';
import { expectCosts } from './cost-helpers';
import { TEST_SEED } from './secure-helpers';

test(`gather variants: same kept logits; exact costs on both parties (SEED=${TEST_SEED})`, async () => {
  const lanes = 4, d = 16, n = 512, budget = 128, p = parties('gather');
  const keys = data('gather/k', n * lanes * d, -1, 1), q = data('gather/q', lanes * d, -0.5, 0.5);
  const caches = await sharedCache(p, keys, keys, lanes, d, 'gather');
  const qs = shareGrid(q, [lanes, 1, d], 'gather/qs');
  // the attention's logits: q·k rounded to the grid
  const z = new Float64Array(lanes * n);
  for (let h = 0; h < lanes; h++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += q[h * d + i] * keys[j * lanes * d + h * d + i];
    z[h * n + j] = Math.round(s * 2 ** F) / 2 ** F;
  }
  const zs = shareGrid(z, [lanes, 1, n], 'gather/zs');
  const pol = [0, 1].map(() => new SecureMpcachePolicy({ nLayers: 1, seqLen: 1024 }, budget, { layerSharing: 'none' }));
  await runBoth(p, (ctx) => pol[ctx.party].select(ctx, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d)));
  const steps = [pol[0].lastStep[0]!, pol[1].lastStep[0]!], layout = planLayout(steps[0].plan, [32, 16]);
  const measure = async (make: (ctx: Ctx) => Promise<SecureAttentionSelection>) => {
    const starts = p.ctx.map((c) => c.ledger.snapshot()), t0 = performance.now();
    const sel = await runBoth(p, (ctx) => make(ctx));
    const g = await runBoth(p, async (ctx) => {
      const x = await sel[ctx.party].gather(ctx, zs[ctx.party]);
      await sel[ctx.party].scatter(ctx, x);
      return x;
    });
    const used = p.ctx.map((c, i) => { const a = c.ledger.snapshot(), b = starts[i]; return { ...a, rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, offlineBytes: a.offlineBytes - b.offlineBytes }; });
    return { kept: openReal(g[0], g[1]), used, rounds: used[0].rounds, bytesSent: used[0].bytesSent, offlineBytes: used[0].offlineBytes, ms: performance.now() - t0 };
  };
  const logits = await measure((ctx) => blockSelection(ctx, layout, steps[ctx.party].onehot!, n));
  const kv = await measure(async (ctx) => new BlockKvSelection(layout, steps[ctx.party].onehot!, view(0, n - 1, 1, qs[ctx.party], caches[ctx.party], d), n));
  // exact costs on both parties: the mask take, gather and scatter of each variant
  const lc = blockSelectionCost(lanes, layout, true), kc = blockKvSelectionCost(lanes, 1, layout, d, F);
  expectCosts(logits.used, sumCosts([lc.gather, lc.scatter]));
  expectCosts(kv.used, sumCosts([kc.gather, kc.scatter]));
  expect([kc.gather.rounds, kc.scatter.rounds]).toEqual([3, 1]); // header: gather 3 rounds, scatter 1
  expect(kv.kept.length).toBe(logits.kept.length);
  for (let i = 0; i < kv.kept.length; i++) expect(Math.abs(kv.kept[i] - logits.kept[i])).toBeLessThanOrEqual(2 ** -F);
  const fmt = (r: typeof kv) => `${r.rounds} rounds, ${r.bytesSent} B sent, ${r.offlineBytes} B offline (P0), ${r.ms.toFixed(0)} ms`;
  console.log(`gather+scatter, ${lanes} heads, d ${d}, n ${n}, k ${layout.k} of ${layout.blocks} blocks of ${layout.blockSize}: ` +
    `logits ${fmt(logits)}; K blocks ${fmt(kv)}`);
  expect(logits.bytesSent).toBeLessThan(kv.bytesSent);
  expect(logits.rounds).toBeLessThan(kv.rounds);
  void encode;
});

/**
 * compactRows' exact cost on both parties (rounds, bytes sent, dealer bytes), from its header — the
 * prefill compaction of H2O, TOVA, SnapKV, CAKE and MPCache's static eviction, and the dead-slot
 * compaction: topK with the rows as payload (+ the ordering pass with originalOrder), then every cache
 * re-masked in one fused pair of rounds, 16·lanes·rows·d B per cache — written here from compact-rows.ts'
 * header, and compared with compactRowsCost (compact-rows.ts), which the policies' formulas use.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { runBoth, topKCost, type FormulaCost } from '@mpcache/protocols';
import { compactRows, compactRowsCost, type CompactOptions, type CompactResult, type SecureLayerCache } from '@mpcache/mpcache';
import { expectScopeCost } from './cost-helpers';
import { data, parties, shareGrid, sharedCache } from './secure-cache-helpers';
import { TEST_SEED } from './secure-helpers';

/** compact-rows.ts header: topK over (units, n) with payload width W, then 2 rounds re-masking every cache. */
function headerCost(units: number, n: number, k: number, lanes: number, d: number, caches: number, rows: number, opts: CompactOptions, res: CompactResult): FormulaCost {
  const perLane = opts.granularity === 'lane', e = opts.extra ? opts.extra.shape[2] : 0;
  const W = (perLane ? 2 * d : 2 * lanes * d) * caches + e;
  const t = k === 0 ? { rounds: 0, bytesSentPerParty: [0, 0], offlineBytes: 0 }
    : topKCost(units, n, k, res.steps, { payload: { shape: [units, n, W], data: new BigUint64Array(0) }, originalOrder: opts.originalOrder }, res.orderSteps);
  expect(t.bytesSentPerParty[1]).toBe(t.bytesSentPerParty[0]); // no public unshuffle: both parties send the same
  return { rounds: t.rounds + 2, bytesSent: t.bytesSentPerParty[0] + caches * 16 * lanes * rows * d, offlineBytes: t.offlineBytes };
}

describe(`compactRows, exact cost (SEED=${TEST_SEED})`, () => {
  const lanes = 2, d = 4, kvLen = 20;

  async function run(label: string, nCaches: number, units: number, n: number, k: number, opts: CompactOptions, extra?: [RingTensor, RingTensor]) {
    const p = parties(label), caches: [SecureLayerCache, SecureLayerCache][] = [];
    for (let c = 0; c < nCaches; c++) caches.push(await sharedCache(p, data(`${label}/k${c}`, kvLen * lanes * d, -2, 2), data(`${label}/v${c}`, kvLen * lanes * d, -2, 2), lanes, d, `${label}/${c}`));
    const scores = shareGrid(data(`${label}/s`, units * n, -4, 4), [units, n], `${label}/ss`);
    const res = await runBoth(p, (ctx) => compactRows(ctx, caches.map((c) => c[ctx.party]), scores[ctx.party], k, { ...opts, extra: extra?.[ctx.party] }));
    expect(res[1].steps).toEqual(res[0].steps);
    const rows = k + (kvLen - (opts.tailFrom ?? kvLen));
    for (const c of caches) expect(c[0].length).toBe(rows);
    const want = headerCost(units, n, k, lanes, d, nCaches, rows, { ...opts, extra: extra?.[0] }, res[0]);
    expectScopeCost(p, 'compact rows', want);
    // the policies' formula (compactRowsCost) is this one
    expect(compactRowsCost({ units, n, k, lanes, headDim: d, caches: nCaches, rows, granularity: opts.granularity, originalOrder: opts.originalOrder, extraWidth: extra?.[0].shape[2] }, res[0])).toEqual(want);
  }

  it('per lane, in original order, a public tail and one carried column (H2O\'s prefill): one cache', async () => {
    const extra = shareGrid(data('cr/lane/x', lanes * 16, -1, 1), [lanes, 16, 1], 'cr/lane/xs');
    await run('cr/lane', 1, lanes, 16, 6, { granularity: 'lane', originalOrder: true, tailFrom: 16 }, extra);
  });

  it('per layer (one selection for every lane), two caches following it, shuffled order', async () => {
    await run('cr/layer', 2, 1, kvLen, 5, { granularity: 'layer' });
  });

  it('k = 0: nothing ranked (every candidate goes, public), only the tail re-installed', async () => {
    await run('cr/none', 1, lanes, 12, 0, { granularity: 'lane', originalOrder: true, tailFrom: 12 });
  });
});

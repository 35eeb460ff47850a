/**
 * MPCache in plaintext: configuration and schedule, look-once static eviction, hierarchical cluster
 * selection on hand-made q/K where the right clusters are obvious, cross-layer sharing, budgets.
 */
import {
  MPCACHE_DEFAULTS, MeteredPolicy, MpcachePolicy, ReferenceDecoder, STATIC_FORCE_BONUS, TINY_LLAMA, clusterCounts,
  layerLeaders, mpcacheConfig, observationWindow, randomWeights, representativeScores, selectClusters,
  staticEvictionKeep, staticKeepCount, type AttentionView, type ClusterSelectorParams, type KVCachePolicy,
} from '@mpcache/mpcache';

const SEED = Number(process.env.SEED ?? 5);

describe('MpcacheConfig', () => {
  test('defaults are those of mpcache-algorithm.md §3', () => {
    expect(MPCACHE_DEFAULTS).toMatchObject({
      observationWindowRatio: 0.2, longWindowRatio: 0.1, staticKeepRatio: 0.3, forcedSinks: 1, forcedRecent: 32,
      clusterSizes: [32, 16], levelRatios: [0.5, 0.2], alpha: 0.6, forcedFirstClusters: 1, forcedTailClusters: 1,
      minCoarseClusters: 4, layerSharing: 'default',
    });
    expect(observationWindow(150, MPCACHE_DEFAULTS)).toBe(30);
    expect(observationWindow(30000, MPCACHE_DEFAULTS)).toBe(3000);
    expect(staticKeepCount(4096, 256, MPCACHE_DEFAULTS)).toBe(1229); // ρ_s governs at long contexts
    expect(staticKeepCount(150, 32, MPCACHE_DEFAULTS)).toBe(128);    // 4 × budget floor
    expect(staticKeepCount(150, 32, mpcacheConfig({ staticKeepBudgetMultiple: 0 }))).toBe(45);
  });

  test('rejects bad configurations', () => {
    expect(() => mpcacheConfig({ clusterSizes: [32, 12] })).toThrow(/clusterSizes/);
    expect(() => mpcacheConfig({ clusterSizes: [8, 4], levelRatios: [0.5] })).toThrow(/levelRatios/);
    expect(() => mpcacheConfig({ alpha: 1.5 })).toThrow(/alpha/);
    expect(() => mpcacheConfig({ staticKeepRatio: 0 })).toThrow(/staticKeepRatio/);
    expect(() => layerLeaders(4, [0, 0, 1, 2])).toThrow(/layerSharing/); // 1 follows 0, so it cannot lead
  });

  test('cross-layer schedule: independent {0, 1, L−2, L−1}, pairs (2m, 2m+1) otherwise', () => {
    expect(Array.from(layerLeaders(6, 'default'))).toEqual([0, 1, 2, 2, 4, 5]);
    expect(Array.from(layerLeaders(12, 'default'))).toEqual([0, 1, 2, 2, 4, 4, 6, 6, 8, 8, 10, 11]);
    expect(Array.from(layerLeaders(4, 'default'))).toEqual([0, 1, 2, 3]);
    expect(Array.from(layerLeaders(6, 'none'))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(layerLeaders(4, [0, 0, 2, 2]))).toEqual([0, 0, 2, 2]);
  });
});

describe('static eviction', () => {
  test('keeps the highest window scores, the sink and the last prompt tokens, in prompt order', () => {
    const s = [0.1, 5, 0.2, 4, 0.3, 0.0, 3, 0.05, 0.01, 0.02];
    // n = 10, keep 6: forced 0 and the last 2 (8, 9), then the best of the rest: 1, 3, 6
    expect(Array.from(staticEvictionKeep(s, 10, 6, 1, 2))).toEqual([0, 1, 3, 6, 8, 9]);
    expect(Array.from(staticEvictionKeep(s, 10, 3, 1, 2))).toEqual([0, 8, 9]);
    expect(STATIC_FORCE_BONUS).toBeGreaterThan(1000);
  });
});

describe('cluster selection (one head, one step)', () => {
  const d = 2;
  const params = (o: Partial<ClusterSelectorParams> = {}): ClusterSelectorParams => ({
    sizes: [4, 2], ratios: [0.5, 0.2], alpha: 0.6, forcedFirst: 1, forcedTail: 1, minCoarse: 4, budget: 12, fracBits: null, ...o,
  });
  /** nTok keys of width 2: all (0, 0) except `hot` rows set to (1, 0); q = (1, 0). */
  const keysWith = (nTok: number, hot: number[]) => {
    const k = new Float64Array(nTok * d);
    for (const i of hot) k[i * d] = 1;
    return k;
  };
  const q = [1, 0];
  const sel = (nTok: number, hot: number[], o?: Partial<ClusterSelectorParams>) =>
    selectClusters(q, keysWith(nTok, hot), d, 0, d, (i) => i, nTok, params(o));
  const keptOf = (m: Uint8Array) => Array.from(m).flatMap((v, i) => (v ? [i] : []));

  test('picks the coarse cluster holding the matching keys, then its matching fine clusters', () => {
    // 32 tokens = 8 coarse clusters of 4; forced: coarse 0 ([0, 4)) and the tail coarse 7 ([28, 32))
    // budget 12 − 8 forced tokens → k_fine = 2, k_coarse = max(⌊0.5·6⌋, 1) = 3
    const s = sel(32, [20, 21, 22, 23]);
    expect(s.full).toBe(false);
    expect(s.levels[0]).toContain(5);
    expect(Array.from(s.levels[1])).toEqual([10, 11]);
    expect(keptOf(s.keep)).toEqual([0, 1, 2, 3, 20, 21, 22, 23, 28, 29, 30, 31]);
    // ties among the cold coarse clusters: the newest win (4 and 6 besides 5)
    expect(Array.from(s.levels[0])).toEqual([4, 5, 6]);
  });

  test('level 2 only considers children of level-1 choices', () => {
    // one hot token in coarse 2 (fine 4), three hot in coarse 5: coarse 2 loses at level 1 with k_0 = 1
    const s = sel(32, [9, 20, 21, 22], { ratios: [0.1, 0.2], budget: 10 });
    expect(Array.from(s.levels[0])).toEqual([5]);
    expect(Array.from(s.levels[1])).toEqual([10]); // the fine cluster with two hot keys; 11 has one
  });

  test('the filling tail cluster is forced, never scored; short sequences attend everything', () => {
    const s = sel(30, [12, 13]); // 8 coarse clusters, the last holds 28..29 only
    expect(keptOf(s.keep).slice(-2)).toEqual([28, 29]);
    expect(s.tailStart).toBe(28);
    expect(s.levels[1]).toContain(6);
    expect(sel(11, [5], { budget: null }).full).toBe(true);   // 3 coarse clusters < 4: full attention
    expect(sel(15, [5], { budget: 16 }).full).toBe(true);     // nTok ≤ budget: nothing to select
    const t = sel(15, [5], { budget: null });                 // 4 coarse: forced 0 and the filling 3
    expect(t.full).toBe(false);
    expect(t.tailStart).toBe(12);
  });

  test('counts: budget mode and ratios mode', () => {
    expect(clusterCounts(6, 8, params())).toEqual([3, 2]);
    expect(clusterCounts(6, 8, params({ budget: null }))).toEqual([3, 2]); // ⌊0.5·6⌋, ⌊0.2·12⌋
    expect(clusterCounts(20, 8, params({ budget: 100 }))).toEqual([20, 40]); // ⌊92/2⌋ = 46 capped by C_fine = 40
    expect(clusterCounts(6, 12, params())).toEqual([0, 0]); // no room beyond the forced tokens
  });

  test('α-mix representative: r = α·max + (1−α)·min; exact = Quest bound; fixed point on the grid', () => {
    const max = Float64Array.from([1, 2]), min = Float64Array.from([-1, 0]);
    expect(representativeScores([1, -1], max, min, 1, 2, 0.6, null)[0]).toBeCloseTo(0.2 - 1.2, 12);
    expect(representativeScores([1, -1], max, min, 1, 2, 'exact', null)[0]).toBeCloseTo(1 + 0, 12);
    const fx = representativeScores([0.3, -0.7], max, min, 1, 2, 0.6, 12)[0];
    expect(Number.isInteger(fx * 4096)).toBe(true);
  });
});

describe('MpcachePolicy on a tiny model', () => {
  const c = { ...TINY_LLAMA, nLayers: 4 };
  const w = randomWeights(c, SEED);
  const prompt = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % c.vocabSize);
  const cfg = { clusterSizes: [4, 2], forcedRecent: 4, staticKeepBudgetMultiple: 0, staticKeepRatio: 0.5 };

  /** Records each attendMask result by (layer, head, pos). */
  class Recorder extends MeteredPolicy {
    masks = new Map<string, number[]>();
    override attendMask(v: AttentionView) {
      const m = super.attendMask(v);
      if (m) this.masks.set(`${v.layer}/${v.head}/${v.pos}`, Array.from(m));
      return m;
    }
  }
  const run = (policy: KVCachePolicy, steps = 12) => {
    const dec = new ReferenceDecoder(w, c, { kvPolicy: policy });
    let logits = dec.prefill(prompt);
    for (let i = 0; i < steps; i++) logits = dec.forward((i * 5) % c.vocabSize, dec.length);
    return logits;
  };

  test('static set: n_keep tokens per layer, sink and last prompt tokens included; budget respected', () => {
    const p = new MpcachePolicy({ model: c, budget: 16, fracBits: null }, cfg);
    const rec = new Recorder(p);
    run(rec);
    for (let l = 0; l < c.nLayers; l++) {
      const kept = Array.from(p.staticKeptPositions(l));
      expect(kept).toHaveLength(20);
      expect(kept[0]).toBe(0);
      expect(kept.slice(-4)).toEqual([36, 37, 38, 39]);
      expect(kept).toEqual([...kept].sort((a, b) => a - b));
    }
    expect(rec.maxAttended).toBeLessThanOrEqual(16);
    // dropped prompt tokens are never attended at decoding steps
    const dropped = prompt.map((_, j) => j).filter((j) => !Array.from(p.staticKeptPositions(0)).includes(j));
    for (const [key, m] of rec.masks) if (key.startsWith('0/')) for (const j of dropped) expect(m[j]).toBe(0);
  });

  test('cross-layer sharing: a follower layer uses its leader\'s static set and per-head masks', () => {
    const p = new MpcachePolicy({ model: c, budget: 16, fracBits: null }, { ...cfg, layerSharing: [0, 0, 2, 2] });
    const rec = new Recorder(p);
    run(rec);
    expect(Array.from(p.staticKeptPositions(1))).toEqual(Array.from(p.staticKeptPositions(0)));
    let compared = 0;
    for (const [key, m] of rec.masks) {
      const [l, h, pos] = key.split('/').map(Number);
      if (l % 2 === 1) { expect(m).toEqual(rec.masks.get(`${l - 1}/${h}/${pos}`)); compared++; }
    }
    expect(compared).toBe(2 * c.nHeads * 12);
    // without sharing, layer 1 selects on its own and (on random weights) differently somewhere
    const q = new MpcachePolicy({ model: c, budget: 16, fracBits: null }, { ...cfg, layerSharing: 'none' });
    const rq = new Recorder(q);
    run(rq);
    const differs = [...rq.masks].some(([key, m]) => key.startsWith('1/') && JSON.stringify(m) !== JSON.stringify(rq.masks.get('0' + key.slice(1))));
    expect(differs).toBe(true);
  });

  test('budget ≥ everything: identical to the full cache; reset gives identical reruns', () => {
    const full = Float64Array.from(run(new MeteredPolicy(new MpcachePolicy({ model: c, budget: c.seqLen, fracBits: null }, { ...cfg, staticKeepBudgetMultiple: 4 }))));
    const ref = new ReferenceDecoder(w, c);
    ref.prefill(prompt);
    let logits = ref.forward(0, ref.length);
    for (let i = 1; i < 12; i++) logits = ref.forward((i * 5) % c.vocabSize, ref.length);
    expect(Array.from(full)).toEqual(Array.from(logits));
    const p = new MpcachePolicy({ model: c, budget: 12, fracBits: null }, cfg);
    const a = Float64Array.from(run(p)), b = Float64Array.from(run(p));
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  test('fixed point: selection on grid inputs is deterministic and budgets hold', () => {
    const p = new MpcachePolicy({ model: c, budget: 12, fracBits: 12 }, { ...cfg, alpha: 'exact' });
    const rec = new Recorder(p);
    const dec = new ReferenceDecoder(w, c, { kvPolicy: rec, fixedPointFracBits: 12 });
    dec.prefill(prompt);
    for (let i = 0; i < 8; i++) dec.forward(i, dec.length);
    expect(rec.maxAttended).toBeLessThanOrEqual(12);
    expect(p.lastSelection.some((s) => s !== null && !s.full)).toBe(true);
  });
});

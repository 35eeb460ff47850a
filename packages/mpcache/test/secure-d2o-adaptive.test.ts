/**
 * D2O's adaptive layer capacities on shares (opt-in reveal of every head's density variance):
 * the opened variances against float64, the capacities against the plaintext allocation, exact
 * costs, and the kept sets of the adaptive policy against the plaintext policy step by step.
 */
import { runBoth } from '@mpcache/protocols';
import { d2oRevealVariances, d2oRevealVariancesCost, makeSecurePolicy, SecureD2oPolicy } from '@mpcache/mpcache';
import { D2oPolicy, D2O_DEFAULTS, d2oCapacitiesFromVariances, d2oLayerCapacities, type D2oOptions } from '../src/cache/d2o';
import { data, F, parties, shareGrid } from './secure-cache-helpers';
import { simulate } from './secure-cache-sim';
import { TEST_SEED } from './secure-helpers';

const adaptive: D2oOptions = { ...D2O_DEFAULTS, layerBudgets: 'adaptive', merge: false, revealLayerBudgets: true };

describe(`secure D2O adaptive capacities (SEED=${TEST_SEED})`, () => {
  it('opened variances = float64 variances; capacities = the plaintext allocation; exact cost', async () => {
    const L = 4, H = 3, n = 30, p = parties('d2o/var');
    // column sums of n causal rows: values in [0, n), layer-dependent spread
    const dens = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data(`d2o/var/${l}/${h}`, n, 0, 1 + 3 * ((l + h) % 3))));
    const flat = new Float64Array(L * H * n);
    dens.forEach((hs, l) => hs.forEach((a, h) => flat.set(a, (l * H + h) * n)));
    const sh = shareGrid(flat, [L * H * n], 'd2o/var/s');
    const got = await runBoth(p, (ctx) => ctx.ledger.scope('reveal', () => d2oRevealVariances(ctx, sh[ctx.party].data, L * H, n)));
    const skip = new Set<number>([0]);
    const vars = Array.from({ length: L }, (_, l) => got[0].slice(l * H, (l + 1) * H));
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < H; h++) {
        const a = dens[l][h], mean = a.reduce((s, x) => s + x, 0) / n;
        expect(vars[l][h]).toBeCloseTo(a.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1), 9);
      }
    }
    expect(d2oCapacitiesFromVariances(vars, n, 12, skip)).toEqual(d2oLayerCapacities(dens, n, 12, skip));
    const want = d2oRevealVariancesCost(L * H, n), used = p.ctx.map((c) => c.ledger.get('reveal'));
    for (const u of used) expect({ rounds: u.rounds, bytesSent: u.bytesSent }).toEqual({ rounds: want.rounds, bytesSent: want.bytesSent });
    expect(used[0].offlineBytes + used[1].offlineBytes).toBe(want.offlineBytes);
  });

  it('adaptive D2O kept sets = plaintext (one layer: capacity from the revealed variances), sinks forced', async () => {
    const lanes = 2, budget = 10, p = parties('d2o/adaptive'), ctxOf = { model: { nLayers: 1, nHeads: lanes, seqLen: 128 }, budget, fracBits: F };
    const plain = new D2oPolicy(ctxOf, adaptive), pol = [new SecureD2oPolicy(1, budget, adaptive), new SecureD2oPolicy(1, budget, adaptive)] as const;
    const sim = await simulate(p, 'd2o/adaptive', plain, [pol[0], pol[1]], lanes, 24, 5);
    for (const s of sim.steps) expect(s.secure).toEqual(s.plain);
    expect(pol[0].layerSplit(0)).toEqual(plain.layerSplit(0));
    // the opened variances are the densities' without the sink bonus (one layer: the capacity alone would not tell)
    for (const x of pol) x.variances![0].forEach((v, h) => expect(v).toBeCloseTo(plain.variances![0][h], 6));
    expect(sim.steps[4].plain[0].slice(0, 4)).toEqual([0, 1, 2, 3]);
  });

  it('refuses adaptive capacities without the opt-in, a local merge window, and a merge that is never folded', () => {
    expect(() => new SecureD2oPolicy(2, 10, { ...adaptive, revealLayerBudgets: false })).toThrow(/revealLayerBudgets/);
    expect(() => new SecureD2oPolicy(2, 10, { ...adaptive, merge: true, mergeScope: { local: 4 } })).toThrow(/mergeScope/);
    // merges are folded at compactions: never compacting is refused when configured, not at the first decoding step
    const model = { nLayers: 2, nHeads: 2, seqLen: 64 };
    expect(() => makeSecurePolicy('d2o', 10, { model, d2o: { merge: true }, compactEvery: 0 })).toThrow(RangeError);
    expect(() => makeSecurePolicy('d2o', 10, { model, d2o: { merge: true }, compactEvery: 0 })).toThrow(/merge needs compactEvery ≥ 1/);
    expect(makeSecurePolicy('d2o', 10, { model, d2o: { merge: false }, compactEvery: 0 })).toBeInstanceOf(SecureD2oPolicy);
  });
});

import { decode, encode } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { beaverMatmul, beaverMatmulCost } from '../src/beaver/beaver-matmul';
import { softmaxRowsCost } from '../src/softmax/softmax-rows';
import { softmaxWeightedSum, softmaxWeightedSumCost, type WeightedSumOptions } from '../src/softmax/softmax-weighted-sum';
import { expectScopeCost } from './cost-helpers';
import { maxAbsDiff, openReals, randomReals, shareReals, testPrg, TEST_SEED } from './helpers';

/** float64 softmax(x)·V per row (causal: row i sees keys j ≤ i + L − rows). */
function reference(x: Float64Array, v: Float64Array, rows: number, L: number, d: number, causal: boolean): Float64Array {
  const out = new Float64Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const seen = causal ? i + L - rows + 1 : L;
    let m = -Infinity, s = 0;
    for (let j = 0; j < seen; j++) m = Math.max(m, x[i * L + j]);
    for (let j = 0; j < seen; j++) {
      const e = Math.exp(x[i * L + j] - m);
      s += e;
      for (let k = 0; k < d; k++) out[i * d + k] += e * v[j * d + k];
    }
    for (let k = 0; k < d; k++) out[i * d + k] /= s;
  }
  return out;
}

async function run(rows: number, L: number, d: number, f: number, opts: WeightedSumOptions, label: string, shape?: (x: Float64Array) => void) {
  const inF = opts.inFracBits ?? f, outF = opts.outFracBits ?? f;
  const xr = randomReals(testPrg(`${label}-x`), rows * L, -10, 10), vr = randomReals(testPrg(`${label}-v`), L * d, -4, 4);
  shape?.(xr);
  const xs = shareReals(xr, [rows, L], inF), vs = shareReals(vr, [L, d], f);
  const parties = localParties({ fracBits: f });
  const [o0, o1] = await runBoth(parties, (ctx) => softmaxWeightedSum(ctx, xs[ctx.party], (c, e) => beaverMatmul(c, e, vs[ctx.party]), opts));
  const want = reference(decode(encode(xr, inF), inF), decode(encode(vr, f), f), rows, L, d, opts.causal === true);
  return { got: openReals(o0, o1, outF), want, parties };
}

describe(`softmaxWeightedSum (SEED=${TEST_SEED})`, () => {
  it('4×200 rows times V (200×16), peaked and flat rows: ≤ 3e-3 abs, exact costs, two rounds and 16 B/elem under softmaxRows + P·V', async () => {
    const rows = 4, L = 200, d = 16, f = 16;
    const { got, want, parties } = await run(rows, L, d, f, {}, 'wsum', (x) => {
      for (let j = 0; j < L; j++) {
        x[L + j] = j === 17 ? 6 : -1 - (j % 7) * 0.01; // one winner above many small terms
        x[2 * L + j] = 3.25; // all equal
      }
    });
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(3e-3);
    const cost = softmaxWeightedSumCost(rows, L, d, beaverMatmulCost([rows, L], [L, d]), f);
    for (const p of [0, 1] as const) {
      expect(parties.ctx[p].ledger.get('softmaxWeightedSum')).toMatchObject({ rounds: cost.rounds, bytesSent: cost.bytesSent });
    }
    const off = parties.ctx[0].ledger.get('softmaxWeightedSum').offlineBytes + parties.ctx[1].ledger.get('softmaxWeightedSum').offlineBytes;
    expect(off).toBe(cost.offlineBytes);
    // against the probabilities route: softmaxRows, then the same product
    const old = softmaxRowsCost(rows, L, f), mm = beaverMatmulCost([rows, L], [L, d]);
    expect(cost.rounds).toBe(old.rounds + mm.rounds - 2);
    expect(old.bytesSent + mm.bytesSent - cost.bytesSent).toBe(16 * rows * L - 24 * rows * d + 8 * rows); // and no truncation of 1/s
  });

  it('causal prefill 24×24 with wide scores (2f, 48-bit comparisons) and output at 2f: ≤ 3e-3 abs, exact cost', async () => {
    const rows = 24, L = 24, d = 8, f = 16;
    const opts: WeightedSumOptions = { causal: true, inFracBits: 2 * f, bits: 48, outFracBits: 2 * f };
    const { got, want, parties } = await run(rows, L, d, f, opts, 'wsum-causal');
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(3e-3);
    const cost = softmaxWeightedSumCost(rows, L, d, beaverMatmulCost([rows, L], [L, d]), f, opts);
    expectScopeCost(parties, 'softmaxWeightedSum', cost);
  });

  it('refuses an output scale beyond the reciprocal', async () => {
    const parties = localParties({ fracBits: 12 });
    const x = shareReals([0, 1], [1, 2], 12);
    await expect(runBoth(parties, (ctx) => softmaxWeightedSum(ctx, x[ctx.party], async (_c, e) => e, { outFracBits: 60 }))).rejects.toThrow(/outFracBits 60/);
  });
});

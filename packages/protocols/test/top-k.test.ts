import { reconstruct, share, tensor, type RingTensor } from '@mpcache/mpc-core';
import {
  bitonicTopKNetwork,
  localParties,
  maxRankedValue,
  runBoth,
  topK,
  topKBitonic,
  topKBitonicCost,
  topKCost,
  type TopKOptions,
  type TopKResult,
} from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';

const M64 = (1n << 64n) - 1n;
const signed = (v: bigint) => (v >= 1n << 63n ? v - (1n << 64n) : v);

/** Plaintext reference: indices of the k largest, ties to the lower index, in descending order. */
function refTopK(vals: bigint[], k: number): number[] {
  return vals
    .map((v, i) => [v, i] as const)
    .sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] > b[0] ? -1 : 1))
    .slice(0, k)
    .map((x) => x[1]);
}

type Algo = typeof topK;

async function run(algo: Algo, vals: bigint[][], k: number, w: number, opts: TopKOptions) {
  const rows = vals.length, n = vals[0].length;
  const prg = testPrg(`topk-${rows}-${n}-${k}`);
  const v = tensor([rows, n], BigUint64Array.from(vals.flat().map((x) => BigInt.asUintN(64, x))));
  const payload = tensor([rows, n, w], prg.words(rows * n * w));
  const sv = share(v, prg), sp = share(payload, prg);
  const parties = localParties();
  const [a, b] = await runBoth(parties, (ctx) => algo(ctx, sv[ctx.party], k, { ...opts, payload: w ? sp[ctx.party] : undefined }));
  return { a, b, payload, parties };
}

function open(a: RingTensor | undefined, b: RingTensor | undefined): BigUint64Array {
  return reconstruct(a as RingTensor, b as RingTensor).data;
}

type Order = 'value' | 'index' | 'any';

function checkResult(vals: bigint[][], k: number, w: number, a: TopKResult, b: TopKResult, payload: RingTensor, order: Order) {
  const rows = vals.length, n = vals[0].length;
  const values = open(a.values, b.values), idx = open(a.indices, b.indices);
  const pay = w ? open(a.payload, b.payload) : undefined;
  const mask = a.mask ? open(a.mask, b.mask) : undefined, oh = a.oneHot ? open(a.oneHot, b.oneHot) : undefined;
  for (let r = 0; r < rows; r++) {
    const want = refTopK(vals[r], k);
    const got = Array.from(idx.subarray(r * k, (r + 1) * k), Number);
    if (order === 'value') expect(got).toEqual(want);
    else if (order === 'index') expect(got).toEqual([...want].sort((x, y) => x - y));
    else expect([...got].sort((x, y) => x - y)).toEqual([...want].sort((x, y) => x - y));
    for (let l = 0; l < k; l++) {
      expect(signed(values[r * k + l])).toBe(vals[r][got[l]]);
      for (let c = 0; c < w; c++) expect(pay?.[(r * k + l) * w + c]).toBe(payload.data[(r * n + got[l]) * w + c]);
      if (oh) for (let i = 0; i < n; i++) expect(oh[(r * k + l) * n + i]).toBe(i === got[l] ? 1n : 0n);
    }
    if (mask) for (let i = 0; i < n; i++) expect(mask[r * n + i]).toBe(want.includes(i) ? 1n : 0n);
  }
}

describe(`topK by shuffle + quick-select (SEED=${TEST_SEED})`, () => {
  const prg = testPrg('topk-data');
  const few = (n: number) => Array.from({ length: n }, () => [-2n, 0n, 3n, 3n][Number(prg.words(1)[0] & 3n)]);

  const cases: [number, number, number, Order][] = [[3, 16, 5, 'any'], [2, 16, 5, 'value'], [1, 40, 1, 'any'], [1, 7, 7, 'value'], [1, 1, 1, 'any'], [2, 20, 6, 'index'], [1, 9, 9, 'index']];
  for (const [rows, n, k, order] of cases) {
    it(`${rows}×${n}, k = ${k}, order ${order}: many ties, payload, mask, one-hot; exact cost`, async () => {
      const vals = Array.from({ length: rows }, () => few(n));
      const opts: TopKOptions = { bits: 24, mask: true, oneHot: true, sorted: order === 'value', originalOrder: order === 'index' };
      const { a, b, payload, parties } = await run(topK, vals, k, 2, opts);
      checkResult(vals, k, 2, a, b, payload, order);
      expect(a.stepComparisons).toEqual(b.stepComparisons);
      expect(a.orderStepComparisons).toEqual(b.orderStepComparisons);
      const cost = topKCost(rows, n, k, a.stepComparisons, { ...opts, payload }, a.orderStepComparisons);
      const got = [0, 1].map((p) => parties.ctx[p].ledger.get('topK'));
      for (const p of [0, 1]) {
        expect(got[p].rounds).toBe(cost.rounds);
        expect(got[p].bytesSent).toBe(cost.bytesSentPerParty[p]);
      }
      expect(got[0].offlineBytes + got[1].offlineBytes).toBe(cost.offlineBytes);
    });
  }

  it('top-8 of 1×1024 within 60 rounds (indices and values only)', async () => {
    const vals = [Array.from({ length: 1024 }, () => signed(prg.words(1)[0]) >> 40n)];
    const { a, b, payload, parties } = await run(topK, vals, 8, 0, { bits: 40 });
    checkResult(vals, 8, 0, a, b, payload, 'any');
    const rounds = parties.ctx[0].ledger.get('topK').rounds;
    expect(rounds).toBe(topKCost(1, 1024, 8, a.stepComparisons, { bits: 40 }).rounds);
    expect(rounds).toBeLessThanOrEqual(60);
  });

  it('values at the edge of the range: ±maxRankedValue', async () => {
    const n = 12, bits = 20, m = maxRankedValue(n, bits);
    const vals = [[m, -m, 0n, m, -m, 1n, -1n, m - 1n, -m + 1n, 0n, m, -m]];
    const { a, b, payload } = await run(topK, vals, 4, 0, { bits, sorted: true });
    checkResult(vals, 4, 0, a, b, payload, 'value');
  });

  it('distinct values: compared as they are, at the edge ±maxRankedValue(n, bits, distinct), ⌈log2 n⌉ bits narrower', async () => {
    const n = 12, bits = 16, m = maxRankedValue(n, bits, true);
    expect(m).toBe((1n << 14n) - 1n); // the packed keys' bound at 16 bits would be 2^10 − 1
    const vals = [[m, -m, 0n, m - 2n, -m + 1n, 5n, -1n, m - 1n, -m + 2n, 1n, m - 3n, -m + 3n]];
    const { a, b, payload } = await run(topK, vals, 5, 0, { bits, sorted: true, distinct: true });
    checkResult(vals, 5, 0, a, b, payload, 'value');
    await expect(run(topK, vals, 5, 0, { bits: 5, distinct: false })).rejects.toThrow(/comparison bits must be in \[7, 64\]/);
  });

  it('revealed transcript does not depend on the input order (sorted, reversed, constant)', async () => {
    const n = 32, k = 4, runs = 12;
    const inputs = {
      sorted: Array.from({ length: n }, (_, i) => BigInt(i)),
      reversed: Array.from({ length: n }, (_, i) => BigInt(n - i)),
      constant: Array.from({ length: n }, () => 5n),
    };
    const means: number[] = [];
    for (const vals of Object.values(inputs)) {
      const counts: number[] = [];
      for (let t = 0; t < runs; t++) {
        const { a, b, payload } = await run(topK, [vals], k, 0, { bits: 16, pivots: 2, allPairsMax: 4 });
        checkResult([vals], k, 0, a, b, payload, 'any');
        counts.push(a.stepComparisons.reduce((s, c) => s + c, 0));
      }
      expect(new Set(counts).size).toBeGreaterThan(1); // a fixed order would give one transcript
      means.push(counts.reduce((s, c) => s + c, 0) / runs);
    }
    expect(Math.max(...means) / Math.min(...means)).toBeLessThan(1.6);
  });

  it("the dealer's seeds do not fix the transcript: the parties' common σ permutes after its shuffle", async () => {
    // Fixed dealer seeds fix π; the dealer knows π and sees how many comparisons a run asks for. If
    // the quick-select order were π alone, one input would give one transcript under those seeds.
    const n = 32, k = 4, prg = testPrg('topk-dealer-view');
    const vals = Array.from({ length: n }, (_, i) => BigInt(n - i));
    const sv = share(tensor([n], BigUint64Array.from(vals)), prg);
    const dealerP0 = prg.bytes(16), dealerP1 = prg.bytes(16);
    const transcript = async (common: Uint8Array) => {
      const parties = localParties({ seeds: { dealerP0, dealerP1, common } });
      const [a, b] = await runBoth(parties, (ctx) => topK(ctx, sv[ctx.party], k, { bits: 16, pivots: 2, allPairsMax: 4 }));
      checkResult([vals], k, 0, a, b, tensor([n, 0]), 'any');
      return a.stepComparisons.join(',');
    };
    const sameCommon = prg.bytes(16);
    expect(await transcript(sameCommon)).toBe(await transcript(sameCommon)); // all seeds fixed: deterministic
    const seen = new Set<string>();
    for (let t = 0; t < 12; t++) seen.add(await transcript(prg.bytes(16)));
    expect(seen.size).toBeGreaterThan(1);
  });

  it('rejects bad k, bits and payload shapes', async () => {
    const parties = localParties();
    const v = tensor([8]);
    await expect(topK(parties.ctx[0], v, 0)).rejects.toThrow(/k must be/);
    await expect(topK(parties.ctx[0], v, 9)).rejects.toThrow(/k must be/);
    await expect(topK(parties.ctx[0], v, 2, { bits: 5 })).rejects.toThrow(/bits/);
    await expect(topK(parties.ctx[0], v, 2, { payload: tensor([8]) })).rejects.toThrow(/payload expected shape/);
  });
});

describe(`topKBitonic (SEED=${TEST_SEED})`, () => {
  const prg = testPrg('bitonic-data');

  it('network: stage counts match κ(κ+1)/2 + log2(N/K)(1 + κ)', () => {
    expect(bitonicTopKNetwork(1024, 8).length).toBe(6 + 7 * 4);
    expect(bitonicTopKNetwork(13, 3).length).toBe(3 + 2 * 3);
    expect(bitonicTopKNetwork(8, 8).length).toBe(6);
    expect(bitonicTopKNetwork(1, 1).length).toBe(0);
  });

  for (const [rows, n, k, w] of [[2, 13, 3, 1], [1, 16, 16, 0], [1, 9, 1, 1], [1, 1, 1, 1], [2, 12, 4, 3]] as const) {
    it(`${rows}×${n}, k = ${k}, payload width ${w} (${w <= 1 ? '1' : '2'} round(s) per stage): descending, ties to the lower index, mask, one-hot; exact cost`, async () => {
      const vals = Array.from({ length: rows }, () => Array.from({ length: n }, () => BigInt(Number(prg.words(1)[0] % 5n)) - 2n));
      const opts: TopKOptions = { bits: 20, mask: true, oneHot: true };
      const { a, b, payload, parties } = await run(topKBitonic, vals, k, w, opts);
      checkResult(vals, k, w, a, b, payload, 'value');
      const cost = topKBitonicCost(rows, n, k, { ...opts, payload: w ? payload : undefined });
      const stages = bitonicTopKNetwork(n, k).length;
      expect(cost.rounds).toBe(stages * (w <= 1 ? 1 : 2) + 1);
      const got = [0, 1].map((p) => parties.ctx[p].ledger.get('topKBitonic'));
      for (const g of got) {
        expect(g.rounds).toBe(cost.rounds);
        expect(g.bytesSent).toBe(cost.bytesSent);
      }
      expect(got[0].offlineBytes + got[1].offlineBytes).toBe(cost.offlineBytes);
    });
  }

  it('full-range values with bits = 64', async () => {
    const n = 10, m = maxRankedValue(n, 64);
    const vals = [[m, -m, 0n, 7n, -m, m, 3n, -1n, 1n, m - 1n]];
    const { a, b, payload } = await run(topKBitonic, vals, 4, 0, {});
    checkResult(vals, 4, 0, a, b, payload, 'value');
    expect(M64).toBeGreaterThan(0n);
  });
});

/**
 * ComparisonPool: comparisons of data-dependent batch sizes drawn from fixed-size, labelled dealer
 * requests; dcfLessThanZeroBit over several slices equals the plaintext [x < 0]; the exact offline
 * bytes (⌈Σm / C⌉ chunks); the dealer refuses a bad chunk label.
 */
import { share, tensor } from '@mpcache/mpc-core';
import {
  ComparisonPool, comparisonChunk, dcfLessThanZeroBit, dcfLessThanZeroBitCost, localParties, pooledComparisonsOffline, runBoth, validateCompareParams,
} from '../src';
import { expectCosts } from './cost-helpers';
import { testPrg, TEST_SEED } from './helpers';

describe(`ComparisonPool (SEED=${TEST_SEED})`, () => {
  it('batches of 150, 40, 130 from chunks of 64: slices across chunk borders compare exactly; ⌈320/64⌉ = 5 labelled requests', async () => {
    const bits = 40, batches = [150, 40, 130], C = comparisonChunk(batches[0]);
    expect(C).toBe(64);
    const prg = testPrg('pool/x');
    const xs = batches.map((m) => Array.from(prg.words(m), (w) => BigInt.asIntN(bits - 2, w)));
    const parties = localParties();
    const requests: unknown[] = [];
    const out = await runBoth(parties, async (ctx) => {
      if (ctx.party === 0) {
        const take = ctx.dealer.take.bind(ctx.dealer);
        (ctx.dealer as unknown as { take: typeof take }).take = (spec, params) => (requests.push({ name: spec.name, params }), take(spec, params));
      }
      const pool = new ComparisonPool(ctx, bits, C), res: bigint[][] = [];
      for (const [b, m] of batches.entries()) {
        const [x0, x1] = share(tensor([m], BigUint64Array.from(xs[b], (v) => BigInt.asUintN(64, v))), testPrg(`pool/share/${b}`));
        const lt = await dcfLessThanZeroBit(ctx, ctx.party === 0 ? x0 : x1, bits, await pool.take(m));
        res.push(Array.from(lt.data));
      }
      return res;
    });
    batches.forEach((m, b) => {
      // XOR shares of the bit
      xs[b].forEach((v, i) => expect(out[0][b][i] ^ out[1][b][i]).toBe(v < 0n ? 1n : 0n));
    });
    expect(requests).toEqual([0, 1, 2, 3, 4].map((chunk) => ({ name: 'dcfLtzBit', params: { count: 64, bits, chunk } })));
    // the pool takes outside dcfLessThanZeroBit's scope (in the caller's): count the whole ledger
    const offline = parties.ctx[0].ledger.snapshot().offlineBytes + parties.ctx[1].ledger.snapshot().offlineBytes;
    expect(offline).toBe(pooledComparisonsOffline(batches, bits));
    expect(offline).toBe(5 * dcfLessThanZeroBitCost(64, bits).offlineBytes);
    // the comparisons' own rounds and bytes are unchanged by pooling (header); the pool adds no online cost
    const online = batches.map((m) => dcfLessThanZeroBitCost(m, bits));
    expectCosts(parties.ctx.map((c) => c.ledger.snapshot()), {
      rounds: batches.length, bytesSent: online.reduce((a, c) => a + c.bytesSent, 0), offlineBytes: pooledComparisonsOffline(batches, bits),
    });
  });

  it('chunk size: a quarter of the first batch in steps of 64; the dealer validates the label', () => {
    expect(comparisonChunk(1)).toBe(64);
    expect(comparisonChunk(1704)).toBe(448);
    expect(pooledComparisonsOffline([], 64)).toBe(0);
    expect(validateCompareParams({ count: 64, bits: 61, chunk: 3 })).toEqual({ count: 64, bits: 61, chunk: 3 });
    expect(validateCompareParams({ count: 64, bits: 61 })).toEqual({ count: 64, bits: 61 });
    expect(() => validateCompareParams({ count: 64, bits: 61, chunk: -1 })).toThrow(RangeError);
    expect(() => validateCompareParams({ count: 64, bits: 61, chunk: 1.5 })).toThrow(RangeError);
  });
});

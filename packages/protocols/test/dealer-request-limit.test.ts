/**
 * The dealer's per-request size limit (DealerSessionOptions.maxRequestBytes, MAX_DEALER_REQUEST_BYTES):
 * both sides of the boundary, the error the requesting party sees, nothing generated for a refused
 * request, and other sessions served on.
 */
import { randomBytes } from 'node:crypto';
import { ChannelClosedError, LimitError, MAX_DEALER_REQUEST_BYTES } from '@mpcache/mpc-core';
import {
  correlationRegistry,
  DealerSession,
  ltzKeys,
  MAX_CORRELATION_ELEMENTS,
  mulTriples,
  runBoth,
  selectKeys,
  totalDealerBytes,
  truncPairs,
} from '@mpcache/protocols';
import { TEST_SEED } from './helpers';
import { newSeeds, remoteParties } from './remote-parties';

const registry = correlationRegistry([mulTriples, truncPairs, ltzKeys]);
/** mulTriples sends 8 B per element (to P0): 100 elements fit a 800-byte limit exactly. */
const LIMIT = 800;

describe(`dealer request limit (SEED=${TEST_SEED})`, () => {
  it('admits a request of exactly the limit', async () => {
    const remote = remoteParties(newSeeds(), registry, { maxRequestBytes: LIMIT });
    const [t0, t1] = await runBoth(remote.parties, (ctx) => ctx.dealer.take(mulTriples, LIMIT / 8));
    expect(t0.c.length + t1.c.length).toBe(2 * (LIMIT / 8));
    expect(remote.parties.dealer.largestRequestBytes).toBe(LIMIT);
    await remote.close();
  });

  it('refuses one element more (8 B over) with LimitError MPC_ERR_DEALER_REQUEST_TOO_LARGE, generates nothing, serves other sessions', async () => {
    const bad = remoteParties(newSeeds(), registry, { maxRequestBytes: LIMIT });
    const good = remoteParties(newSeeds(), registry, { maxRequestBytes: LIMIT });
    const err = await bad.parties.ctx[0].dealer.take(mulTriples, LIMIT / 8 + 1).catch((e: Error) => e);
    // the requesting party learns why: class, code, the correlation, its size and the limit
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'MPC_ERR_DEALER_REQUEST_TOO_LARGE' });
    expect((err as Error).message).toMatch(/correlation #0 \("mulTriples"\) would be 808 B of dealer material, above the dealer's limit of 800 B/);
    await expect(bad.served).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_DEALER_REQUEST_TOO_LARGE' });
    expect(bad.parties.dealer.bytesSent).toEqual([0, 0]);
    expect(bad.parties.dealer.largestRequestBytes).toBe(0);
    // the session's links are closed: the other party fails at once instead of waiting
    await expect(bad.parties.ctx[1].dealer.take(mulTriples, 1)).rejects.toBeInstanceOf(ChannelClosedError);
    // another session of the same dealer configuration is served normally
    const [a, b] = await runBoth(good.parties, (ctx) => ctx.dealer.take(truncPairs, { n: 40, f: 12 }));
    expect(a.r.length + b.r.length).toBe(80);
    await good.close();
  });

  it('counts the bytes, not the elements: a few DCF keys can exceed what many Beaver words do not', async () => {
    const limit = 64 * 1024;
    const dcf = ltzKeys.messageBytes({ count: 40, bits: 64 }); // 40 × (8 + 2·1520) B
    expect(totalDealerBytes(dcf)).toBeGreaterThan(limit);
    const remote = remoteParties(newSeeds(), registry, { maxRequestBytes: limit });
    await runBoth(remote.parties, (ctx) => ctx.dealer.take(mulTriples, 8000)); // 64,000 B
    await expect(remote.parties.ctx[0].dealer.take(ltzKeys, { count: 40, bits: 64 })).rejects.toMatchObject({ code: 'MPC_ERR_DEALER_REQUEST_TOO_LARGE' });
    await expect(remote.served).rejects.toBeInstanceOf(LimitError);
  });

  it("the default admits the largest requests this repository's workloads make, with 4× headroom", () => {
    // measured (limits.ts): the attention max of a 255-token stories15M prefill (6 heads × 255 × 254
    // comparisons), and gpt2-small's largest decoding request at 4096 (attention-gate's top-k)
    const prefill = selectKeys.messageBytes({ count: 6 * 255 * 254, bits: 48, payloads: 0, lowBits: 27 });
    const decode4096 = selectKeys.messageBytes({ count: 49128, bits: 64, payloads: 1 });
    expect(totalDealerBytes(prefill)).toBe(516_087_360);
    expect(totalDealerBytes(decode4096)).toBe(251_142_336);
    expect(4 * totalDealerBytes(prefill)).toBeLessThanOrEqual(MAX_DEALER_REQUEST_BYTES);
  });

  it('by default refuses, before generating, a request the element bound alone admits', () => {
    const seeds = [randomBytes(16), randomBytes(16)] as const;
    const session = new DealerSession(seeds[0], seeds[1]);
    const params = ltzKeys.validate({ count: MAX_CORRELATION_ELEMENTS, bits: 64 }); // valid: 2^28 elements
    expect(totalDealerBytes(ltzKeys.messageBytes(params))).toBeGreaterThan(MAX_DEALER_REQUEST_BYTES);
    const t0 = performance.now();
    expect(() => session.fetch(0, 0, ltzKeys, params)).toThrow(LimitError);
    expect(performance.now() - t0).toBeLessThan(1000); // generating would take hours and ~800 GB
    // nothing was drawn: index 0 then gives exactly what a fresh session with the same seeds gives
    const fresh = new DealerSession(seeds[0], seeds[1]);
    expect(session.fetch(0, 0, mulTriples, 4)).toEqual(fresh.fetch(0, 0, mulTriples, 4));
    expect(session.fetch(1, 0, mulTriples, 4)).toEqual(fresh.fetch(1, 0, mulTriples, 4));
  });
});

/**
 * The dealer's per-request work limit (DealerSessionOptions.maxRequestWork, MAX_DEALER_REQUEST_WORK):
 * both sides of the boundary, a matmul triple with a long inner dimension (little to send, m·k·n to
 * compute) refused before anything is generated, the error the requesting party sees, other sessions
 * served on, and the check of a spec's stated work against what generating it counted.
 */
import { randomBytes } from 'node:crypto';
import { ChannelClosedError, LimitError, MAX_DEALER_REQUEST_BYTES, MAX_DEALER_REQUEST_WORK } from '@mpcache/mpc-core';
import {
  correlationRegistry,
  DealerSession,
  defineCorrelation,
  matmulTriples,
  mulTriples,
  NO_DEALER_BYTES,
  runBoth,
  totalDealerBytes,
  type MatmulTripleParams,
} from '@mpcache/protocols';
import { TEST_SEED } from './helpers';
import { newSeeds, remoteParties } from './remote-parties';

const registry = correlationRegistry([mulTriples, matmulTriples]);
const SMALL: MatmulTripleParams = { x: [2, 64], y: [64, 3] };
/** SMALL's work: A (128 words) and B (192) drawn and summed, C derived (6 words), 2·64·3 multiply-adds. */
const SMALL_WORK = 3 * 128 + 3 * 192 + 3 * 6 + 2 * 64 * 3;
/** (2^12 × 2^16)·(2^16 × 2^12): 128 MiB to P0, within the byte limit and the element bound; 2^40 multiply-adds. */
const LONG_INNER: MatmulTripleParams = { x: [2 ** 12, 2 ** 16], y: [2 ** 16, 2 ** 12] };

/** matmulTriples whose `deal` records its calls (a refused request must not reach it). */
function watchedMatmul() {
  const deal = jest.fn(matmulTriples.deal);
  return { spec: { ...matmulTriples, deal }, deal };
}

describe(`dealer request work limit (SEED=${TEST_SEED})`, () => {
  it("states SMALL's work exactly, admits a request of exactly the limit and records it", async () => {
    expect(matmulTriples.generationWork(SMALL)).toBe(SMALL_WORK);
    const remote = remoteParties(newSeeds(), registry, { maxRequestWork: SMALL_WORK });
    const [t0, t1] = await runBoth(remote.parties, (ctx) => ctx.dealer.take(matmulTriples, SMALL));
    expect(t0.c.length + t1.c.length).toBe(12);
    expect(remote.parties.dealer.largestRequestWork).toBe(SMALL_WORK);
    await remote.close();
  });

  it('refuses one word operation over with LimitError MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK, generates nothing, serves other sessions', async () => {
    const bad = remoteParties(newSeeds(), registry, { maxRequestWork: SMALL_WORK - 1 });
    const good = remoteParties(newSeeds(), registry, { maxRequestWork: SMALL_WORK });
    const err = await bad.parties.ctx[0].dealer.take(matmulTriples, SMALL).catch((e: Error) => e);
    // the requesting party learns why: class, code, the correlation, its work and the limit
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK' });
    expect((err as Error).message).toMatch(
      new RegExp(`correlation #0 \\("matmulTriples"\\) would take ${SMALL_WORK} word operations to generate, above the dealer's limit of ${SMALL_WORK - 1} per request`),
    );
    await expect(bad.served).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK' });
    expect(bad.parties.dealer.bytesSent).toEqual([0, 0]);
    expect(bad.parties.dealer.largestRequestWork).toBe(0);
    // the session's links are closed: the other party fails at once instead of waiting
    await expect(bad.parties.ctx[1].dealer.take(matmulTriples, SMALL)).rejects.toBeInstanceOf(ChannelClosedError);
    // another session of the same dealer configuration is served normally
    const [a, b] = await runBoth(good.parties, (ctx) => ctx.dealer.take(matmulTriples, SMALL));
    expect(a.c.length + b.c.length).toBe(12);
    await good.close();
  });

  it('by default refuses a long inner dimension that the byte limit and the element bound admit, before generating', () => {
    const params = matmulTriples.validate(LONG_INNER); // valid: each operand and the product within 2^28 elements
    expect(totalDealerBytes(matmulTriples.messageBytes(params))).toBeLessThanOrEqual(MAX_DEALER_REQUEST_BYTES);
    expect(matmulTriples.generationWork(params)).toBeGreaterThan(MAX_DEALER_REQUEST_WORK);
    const seeds = [randomBytes(16), randomBytes(16)] as const;
    const session = new DealerSession(seeds[0], seeds[1]);
    const { spec, deal } = watchedMatmul();
    expect(() => session.fetch(0, 0, spec, params)).toThrow(expect.objectContaining({ name: 'LimitError', code: 'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK' }));
    expect(deal).not.toHaveBeenCalled(); // refused from the params alone (generating would take hours)
    expect(session.largestRequestWork).toBe(0);
    // nothing was drawn: index 0 then gives exactly what a fresh session with the same seeds gives
    const fresh = new DealerSession(seeds[0], seeds[1]);
    expect(session.fetch(0, 0, spec, SMALL)).toEqual(fresh.fetch(0, 0, matmulTriples, SMALL));
    expect(session.fetch(1, 0, spec, SMALL)).toEqual(fresh.fetch(1, 0, matmulTriples, SMALL));
    expect(deal).toHaveBeenCalledTimes(1);
  });

  it('checks a limit option and, after generating, the work a spec states against what was counted', () => {
    expect(() => new DealerSession(randomBytes(16), randomBytes(16), { maxRequestWork: -1 })).toThrow(RangeError);
    expect(() => new DealerSession(randomBytes(16), randomBytes(16), { maxRequestWork: 1.5 })).toThrow(RangeError);
    // a spec that draws 10 words but states 5: a bug in the spec, an Error (not a party's LimitError)
    const short = defineCorrelation('short', (p) => p as number, () => NO_DEALER_BYTES, () => 5, (g, n: number) => g.own(0, n));
    const session = new DealerSession(randomBytes(16), randomBytes(16));
    expect(() => session.fetch(0, 0, short, 10)).toThrow(/"short": generating it counted 10 word operations, its generationWork says at most 5/);
  });
});

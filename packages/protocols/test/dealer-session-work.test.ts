/**
 * The dealer's per-session work limit (DealerSessionOptions.maxSessionWork, MAX_DEALER_SESSION_WORK):
 * requests each within the per-request limit add up; the one that would take the session past the
 * limit is refused before anything is generated, the requesting party sees why, and other sessions
 * are served on.
 */
import { LimitError, MAX_DEALER_REQUEST_WORK, MAX_DEALER_SESSION_WORK } from '@mpcache/mpc-core';
import { correlationRegistry, dealerLimits, mulTriples, runBoth, truncPairs } from '@mpcache/protocols';
import { TEST_SEED } from './helpers';
import { newSeeds, remoteParties } from './remote-parties';

const registry = correlationRegistry([mulTriples, truncPairs]);
const N = 100, W = mulTriples.generationWork(N);
/** Exactly three requests of N triples. */
const LIMIT = 3 * W;

describe(`dealer session work limit (SEED=${TEST_SEED})`, () => {
  it('defaults to MAX_DEALER_SESSION_WORK, 2048 requests at the request limit', () => {
    expect(dealerLimits({})).toEqual(expect.objectContaining({ maxSessionWork: MAX_DEALER_SESSION_WORK }));
    expect(MAX_DEALER_SESSION_WORK).toBe(2048 * MAX_DEALER_REQUEST_WORK);
    expect(() => dealerLimits({ maxSessionWork: -1 })).toThrow(/"maxSessionWork" expected a non-negative integer/);
  });

  it('admits requests up to the limit exactly, refuses the next with MPC_ERR_DEALER_SESSION_WORK, serves other sessions', async () => {
    const bad = remoteParties(newSeeds(), registry, { maxSessionWork: LIMIT });
    const good = remoteParties(newSeeds(), registry, { maxSessionWork: LIMIT });
    for (let i = 0; i < 3; i++) await runBoth(bad.parties, (ctx) => ctx.dealer.take(mulTriples, N));
    expect(bad.parties.dealer.totalWork).toBe(LIMIT);
    const sent = [...bad.parties.dealer.bytesSent];
    const err = await bad.parties.ctx[0].dealer.take(truncPairs, { n: 1, f: 12 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'MPC_ERR_DEALER_SESSION_WORK' });
    const over = LIMIT + truncPairs.generationWork({ n: 1, f: 12 });
    expect((err as Error).message).toMatch(new RegExp(`correlation #3 \\("truncPairs"\\) would bring the session's dealer work to ${over} word operations, above the dealer's limit of ${LIMIT} per session`));
    await expect(bad.served).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_DEALER_SESSION_WORK' });
    // nothing generated for the refused request
    expect(bad.parties.dealer.totalWork).toBe(LIMIT);
    expect(bad.parties.dealer.bytesSent).toEqual(sent);
    // the limit is per session: another session of the same dealer configuration starts from zero
    for (let i = 0; i < 3; i++) await runBoth(good.parties, (ctx) => ctx.dealer.take(mulTriples, N));
    expect(good.parties.dealer.totalWork).toBe(LIMIT);
    await good.close();
  });
});

/**
 * The dealer's backlog bound (DealerSessionOptions.maxBacklogBytes, MAX_DEALER_BACKLOG_BYTES): the
 * halves queued for a party that has not asked yet may total at most the limit; a request past it is
 * refused before anything is generated (LimitError MPC_ERR_DEALER_BACKLOG), the session's links
 * close, and the high-water mark is reported.
 */
import { randomBytes } from 'node:crypto';
import { ChannelClosedError, LimitError, MAX_DEALER_BACKLOG_BYTES } from '@mpcache/mpc-core';
import { correlationRegistry, DealerSession, ltzKeys, mulTriples } from '@mpcache/protocols';
import { TEST_SEED } from './helpers';
import { newSeeds, remoteParties } from './remote-parties';

const registry = correlationRegistry([mulTriples, ltzKeys]);
const KEYS = ltzKeys.validate({ count: 3, bits: 16 });
/** Bytes of P1's half of one KEYS request (DCF keys go to both parties). */
const HALF = ltzKeys.messageBytes(KEYS)[1];

describe(`dealer backlog limit (SEED=${TEST_SEED})`, () => {
  it('queues up to the limit, refuses the request that would pass it before generating, and drains as the other party asks', () => {
    const session = new DealerSession(randomBytes(16), randomBytes(16), { maxBacklogBytes: 2 * HALF });
    expect(HALF).toBeGreaterThan(0);
    session.fetch(0, 0, ltzKeys, KEYS);
    session.fetch(0, 1, ltzKeys, KEYS);
    expect(session.largestBacklogBytes).toBe(2 * HALF);
    const err = (() => { try { session.fetch(0, 2, ltzKeys, KEYS); } catch (e) { return e as Error; } })();
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'MPC_ERR_DEALER_BACKLOG' });
    expect(err!.message).toMatch(new RegExp(`party 0: correlation #2 \\("${ltzKeys.name}"\\) would queue ${3 * HALF} B of dealer material that party 1 has not asked for yet, above the dealer's limit of ${2 * HALF} B \\(party 1 is 2 correlations behind\\)`));
    // nothing was generated for #2: once P1 catches up, #2 is the next to generate and fits
    expect(session.fetch(1, 0, ltzKeys, KEYS).length).toBe(HALF);
    expect(session.backlog).toBe(1);
    session.fetch(0, 2, ltzKeys, KEYS);
    expect(session.largestBacklogBytes).toBe(2 * HALF);
    session.fetch(1, 1, ltzKeys, KEYS);
    session.fetch(1, 2, ltzKeys, KEYS);
    expect(session.backlog).toBe(0);
    expect(session.bytesSent).toEqual([3 * ltzKeys.messageBytes(KEYS)[0], 3 * HALF]);
    // the default limit (4 GiB) is far above what parties in step queue
    const dflt = new DealerSession(randomBytes(16), randomBytes(16));
    for (let i = 0; i < 3; i++) dflt.fetch(0, i, ltzKeys, KEYS);
    expect(dflt.largestBacklogBytes).toBe(3 * HALF);
    expect(MAX_DEALER_BACKLOG_BYTES).toBe(4 * 2 ** 30);
  });

  it('a correlation whose other half is empty (P1 derives it from its stream) queues nothing', () => {
    const session = new DealerSession(randomBytes(16), randomBytes(16), { maxBacklogBytes: 0 });
    for (let i = 0; i < 5; i++) session.fetch(0, i, mulTriples, 100);
    expect(session.largestBacklogBytes).toBe(0);
    // with a limit of 0, a correlation with a half for the other party is refused whoever asks first
    expect(() => session.fetch(1, 5, ltzKeys, KEYS)).toThrow(expect.objectContaining({ code: 'MPC_ERR_DEALER_BACKLOG' }));
  });

  it('over the links: the party that ran ahead gets the error, the session closes, the peer fails at once', async () => {
    const remote = remoteParties(newSeeds(), registry, { maxBacklogBytes: HALF });
    await remote.parties.ctx[0].dealer.take(ltzKeys, KEYS); // P1's half queued: at the limit
    const err = await remote.parties.ctx[0].dealer.take(ltzKeys, KEYS).catch((e: Error) => e);
    expect(err).toBeInstanceOf(LimitError);
    expect(err).toMatchObject({ code: 'MPC_ERR_DEALER_BACKLOG' });
    await expect(remote.served).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_DEALER_BACKLOG' });
    await expect(remote.parties.ctx[1].dealer.take(ltzKeys, KEYS)).rejects.toBeInstanceOf(ChannelClosedError);
  });
});

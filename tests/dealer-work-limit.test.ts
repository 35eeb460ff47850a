/**
 * The dealer server's per-request work limit end to end (dealer, P0, P1 on loopback WebSockets, one
 * process): a session whose job asks for a matmul triple with a long inner dimension — 8 bytes to
 * send, thousands of word operations to generate — above `maxRequestWork` fails with a clear error
 * (LimitError MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK) that reaches the client, the dealer logs and frees
 * it, and the same servers then run the next session to a correct end, logging its most work.
 */
import { matmulTriples } from '@mpcache/protocols';
import { ringRecurrenceJob, ringRecurrenceReference, RING_RECURRENCE_MODEL, startLocalServers, type PartyJob } from '@mpcache/party-server';
import { MpcacheClient } from '@mpcache/client';
import { eventually } from './helpers/raw-client';

/** Inner dimension per prompt token of the job's (1 × k)·(k × 1) triple (the prompt's length is public). */
const INNER_PER_TOKEN = 1024;
const params = (tokens: number) => ({ x: [1, INNER_PER_TOKEN * tokens], y: [INNER_PER_TOKEN * tokens, 1] });
/** Admits a 2-token prompt's triple exactly (7·2048 + 3 word operations); a 3-token prompt's is over. */
const LIMIT = matmulTriples.generationWork(params(2));

/** ringRecurrenceJob, with one long-inner-dimension matmul triple at the start of each generate. */
function longInnerJob(): PartyJob {
  const inner = ringRecurrenceJob();
  return {
    ...inner,
    start: async (ctx, p) => {
      const run = await inner.start(ctx, p);
      return {
        async *generate(prompt, maxNewTokens) {
          await ctx.dealer.take(matmulTriples, params(prompt.data.length));
          yield* run.generate(prompt, maxNewTokens);
        },
      };
    },
  };
}

describe('dealer server: request work limit', () => {
  it('refuses an over-limit request with a clear error to the session, then serves the next session', async () => {
    expect(LIMIT).toBe(7 * 2048 + 3);
    const logs: string[] = [];
    const servers = await startLocalServers({
      job: () => longInnerJob(),
      party: { pairTimeoutMs: 2000, syncTimeoutMs: 2000, handshakeTimeoutMs: 2000 },
      dealer: { maxRequestWork: LIMIT, log: (l) => logs.push(l) },
    });
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const bad = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 2 });
      const err = await (async () => {
        for await (const t of bad.generate([1n, 2n, 3n])) void t;
      })().then(() => undefined, (e: Error) => e);
      expect(err).toMatchObject({ name: 'LimitError', code: 'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK' });
      expect(err!.message).toMatch(new RegExp(`"matmulTriples"\\) would take ${7 * 3072 + 3} word operations to generate, above the dealer's limit of ${LIMIT} per request`));
      await eventually(() => servers.dealer.sessionCount === 0, 5000, 'dealer session freed');
      expect(logs.some((l) => /failed \(MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK\)/.test(l))).toBe(true);
      expect(servers.dealer.status()).toMatchObject({ maxRequestWork: LIMIT });

      // the dealer goes on: a request of exactly the limit, then the job's own requests
      const good = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 3 });
      const values: bigint[] = [];
      for await (const t of good.generate([4n, 5n])) values.push(t.value);
      expect(values).toEqual(ringRecurrenceReference([4n, 5n], 3));
      await eventually(() => logs.some((l) => new RegExp(`done \\(.*most work ${LIMIT} word ops\\)`).test(l)), 5000, 'dealer session done');
    } finally {
      client.close();
      await servers.close();
    }
  });
});

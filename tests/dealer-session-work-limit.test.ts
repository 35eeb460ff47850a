/**
 * The dealer server's per-session work limit end to end (dealer, P0, P1 on loopback WebSockets, one
 * process): each request stays under the per-request limit, but a session whose job keeps asking —
 * one matmul triple per prompt token — passes `maxSessionWork` and fails with a clear error
 * (LimitError MPC_ERR_DEALER_SESSION_WORK) that reaches the client; the dealer logs and frees it, and
 * the same servers then run the next session to a correct end, logging its total work.
 */
import { matmulTriples } from '@mpcache/protocols';
import { expectRefusedThenServed, jobWithDealerRequest } from './helpers/dealer-limit';

/** One (1 × 2^16)·(2^16 × 1) triple per prompt token: 7·2^16 + 3 word operations each. */
const PARAMS = { x: [1, 2 ** 16], y: [2 ** 16, 1] };
const W = matmulTriples.generationWork(PARAMS);
/**
 * A 2-token prompt's session takes 2W plus the ring-recurrence job's own correlations (a few words
 * per token, far below W/2); a 3-token prompt's third triple takes it past 2.5W.
 */
const LIMIT = Math.floor(2.5 * W);

describe('dealer server: session work limit', () => {
  it('refuses the request that takes a session past its work limit, then serves the next session', async () => {
    expect(W).toBe(7 * 2 ** 16 + 3);
    await expectRefusedThenServed({
      job: () => jobWithDealerRequest(async (ctx, tokens) => {
        for (let t = 0; t < tokens; t++) await ctx.dealer.take(matmulTriples, PARAMS);
      }),
      dealer: { maxSessionWork: LIMIT },
      code: 'MPC_ERR_DEALER_SESSION_WORK',
      message: new RegExp(`"matmulTriples"\\) would bring the session's dealer work to \\d+ word operations, above the dealer's limit of ${LIMIT} per session`),
      afterRefusal: (servers) => expect(servers.dealer.status()).toMatchObject({ maxSessionWork: LIMIT }),
      doneLog: (line) => {
        const m = new RegExp(`done \\(.*total work (\\d+) word ops, most work ${W} word ops\\)`).exec(line);
        return m !== null && Number(m[1]) >= 2 * W && Number(m[1]) <= LIMIT; // the served session's two triples and the job's own
      },
    });
  });
});

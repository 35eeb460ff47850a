/**
 * The dealer server's per-request work limit end to end (dealer, P0, P1 on loopback WebSockets, one
 * process): a session whose job asks for a matmul triple with a long inner dimension — 8 bytes to
 * send, thousands of word operations to generate — above `maxRequestWork` fails with a clear error
 * (LimitError MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK) that reaches the client, the dealer logs and frees
 * it, and the same servers then run the next session to a correct end, logging its most work.
 */
import { matmulTriples } from '@mpcache/protocols';
import { expectRefusedThenServed, jobWithDealerRequest } from './helpers/dealer-limit';

/** Inner dimension per prompt token of the job's (1 × k)·(k × 1) triple (the prompt's length is public). */
const INNER_PER_TOKEN = 1024;
const params = (tokens: number) => ({ x: [1, INNER_PER_TOKEN * tokens], y: [INNER_PER_TOKEN * tokens, 1] });
/** Admits a 2-token prompt's triple exactly (7·2048 + 3 word operations); a 3-token prompt's is over. */
const LIMIT = matmulTriples.generationWork(params(2));

describe('dealer server: request work limit', () => {
  it('refuses an over-limit request with a clear error to the session, then serves the next session', async () => {
    expect(LIMIT).toBe(7 * 2048 + 3);
    await expectRefusedThenServed({
      job: () => jobWithDealerRequest((ctx, tokens) => ctx.dealer.take(matmulTriples, params(tokens))),
      dealer: { maxRequestWork: LIMIT },
      code: 'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK',
      message: new RegExp(`"matmulTriples"\\) would take ${7 * 3072 + 3} word operations to generate, above the dealer's limit of ${LIMIT} per request`),
      afterRefusal: (servers) => expect(servers.dealer.status()).toMatchObject({ maxRequestWork: LIMIT }),
      doneLog: new RegExp(`done \\(.*most work ${LIMIT} word ops\\)`),
    });
  });
});

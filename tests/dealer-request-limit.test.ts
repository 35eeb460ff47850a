/**
 * The dealer server's per-request size limit end to end (dealer, P0, P1 on loopback WebSockets, one
 * process): a session whose job asks the dealer for more material than `maxRequestBytes` fails with a
 * clear error (LimitError MPC_ERR_DEALER_REQUEST_TOO_LARGE) that reaches the client, the dealer logs
 * and frees it, and the same servers then run the next session to a correct end. And the flags of
 * `mpcache serve --role dealer` that set the dealer's limits (bytes, work per request and per session, backlog).
 */
import { execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';
import { MAX_DEALER_BACKLOG_BYTES, MAX_DEALER_REQUEST_BYTES, MAX_DEALER_REQUEST_WORK, MAX_DEALER_SESSION_WORK } from '@mpcache/mpc-core';
import { mulTriples, totalDealerBytes } from '@mpcache/protocols';
import { cliPath } from '@mpcache/client';
import { expectRefusedThenServed, jobWithDealerRequest } from './helpers/dealer-limit';

/** Beaver words the job asks for per prompt token before its recurrence (the prompt's length is public). */
const WORDS_PER_PROMPT_TOKEN = 1024;
/** Admits a 2-token prompt's request (16 KiB to P0) exactly; a 3-token prompt's is 8 KiB over. */
const LIMIT = totalDealerBytes(mulTriples.messageBytes(2 * WORDS_PER_PROMPT_TOKEN));

describe('dealer server: request size limit', () => {
  it('refuses an over-limit request with a clear error to the session, then serves the next session', async () => {
    // 3 prompt tokens: 3 × 1024 words = 24 KiB of dealer material, over the 16 KiB limit
    await expectRefusedThenServed({
      job: () => jobWithDealerRequest((ctx, tokens) => ctx.dealer.take(mulTriples, WORDS_PER_PROMPT_TOKEN * tokens)),
      dealer: { maxRequestBytes: LIMIT },
      code: 'MPC_ERR_DEALER_REQUEST_TOO_LARGE',
      message: /"mulTriples"\) would be 24576 B of dealer material, above the dealer's limit of 16384 B/,
      afterRefusal: (servers) => expect(servers.dealer.metrics.render()).toMatch(/mpcache_sessions_ended_total\{role="dealer",outcome="failed"\} 1/),
      doneLog: new RegExp(`done \\(.*largest request ${LIMIT} B, largest backlog \\d+ B, total work \\d+ word ops, most work \\d+ word ops\\)`),
    });
  });
});

describe('mpcache serve --role dealer --max-request-mib / --max-request-gwork / --max-backlog-mib / --max-session-gwork', () => {
  /** A dealer process with these extra flags (and environment); resolves with its /healthz body, then stops it. */
  async function dealerHealth(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const child = fork(cliPath(), ['serve', '--role', 'dealer', '--port', '0', '--quiet', ...args], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, ...env } });
    try {
      const { url } = await new Promise<{ url: string }>((resolve, reject) => {
        child.once('message', (m) => resolve(m as { url: string }));
        child.once('exit', (code) => reject(new Error(`dealer exited with ${code}`)));
      });
      return (await (await fetch(`${url.replace(/^ws/, 'http')}/healthz`)).json()) as Record<string, unknown>;
    } finally {
      child.kill('SIGKILL');
    }
  }

  it('sets the limits the dealer reports on /healthz (defaults MAX_DEALER_REQUEST_BYTES, MAX_DEALER_REQUEST_WORK, MAX_DEALER_BACKLOG_BYTES, MAX_DEALER_SESSION_WORK)', async () => {
    expect(await dealerHealth(['--max-request-mib', '3', '--max-backlog-mib', '5', '--max-request-gwork', '7', '--max-session-gwork', '11'])).toMatchObject({
      role: 'dealer', maxRequestBytes: 3 * 2 ** 20, maxBacklogBytes: 5 * 2 ** 20, maxRequestWork: 7 * 2 ** 30, maxSessionWork: 11 * 2 ** 30,
    });
    expect(await dealerHealth([])).toMatchObject({
      role: 'dealer', maxRequestBytes: MAX_DEALER_REQUEST_BYTES, maxBacklogBytes: MAX_DEALER_BACKLOG_BYTES, maxRequestWork: MAX_DEALER_REQUEST_WORK, maxSessionWork: MAX_DEALER_SESSION_WORK,
    });
    // the work limits from the environment, in units of 2^30 word operations
    expect(await dealerHealth([], { MPCACHE_MAX_REQUEST_GWORK: '2', MPCACHE_MAX_SESSION_GWORK: '3' })).toMatchObject({ maxRequestWork: 2 * 2 ** 30, maxSessionWork: 3 * 2 ** 30 });
  }, 60_000);

  it('refuses a limit out of range with exit code 1', async () => {
    const run = promisify(execFile)(process.execPath, [cliPath(), 'serve', '--role', 'dealer', '--port', '0', '--max-request-mib', '0'], { timeout: 30_000 });
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--max-request-mib expected an integer in \[1, 4096\]/) });
    const backlog = promisify(execFile)(process.execPath, [cliPath(), 'serve', '--role', 'dealer', '--port', '0', '--max-backlog-mib', '0'], { timeout: 30_000 });
    await expect(backlog).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--max-backlog-mib expected an integer in \[1, 65536\]/) });
    for (const bad of ['0', '1048577', '1.5']) {
      const work = promisify(execFile)(process.execPath, [cliPath(), 'serve', '--role', 'dealer', '--port', '0', '--max-request-gwork', bad], { timeout: 30_000 });
      await expect(work).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--max-request-gwork expected an integer in \[1, 1048576\]/) });
    }
    const session = promisify(execFile)(process.execPath, [cliPath(), 'serve', '--role', 'dealer', '--port', '0', '--max-session-gwork', '4194305'], { timeout: 30_000 });
    await expect(session).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/--max-session-gwork expected an integer in \[1, 4194304\]/) });
  }, 60_000);
});

/**
 * The dealer limit tests' shared flow: a ring-recurrence job that asks the dealer for one request of
 * the test's choosing (its size following the prompt's public length) at the start of each generate;
 * a session whose request is over the dealer's limit must fail with a clear error that reaches the
 * client, the dealer must log and free it, and the same servers must then run the next session to a
 * correct end.
 */
import { ringRecurrenceJob, ringRecurrenceReference, RING_RECURRENCE_MODEL, startLocalServers, type LocalServersOptions, type PartyJob } from '@mpcache/party-server';
import { MpcacheClient } from '@mpcache/client';
import { eventually } from './raw-client';

type JobContext = Parameters<PartyJob['start']>[0];

/** ringRecurrenceJob, with `request(ctx, prompt length)` at the start of each generate. */
export function jobWithDealerRequest(request: (ctx: JobContext, promptLength: number) => Promise<unknown>): PartyJob {
  const inner = ringRecurrenceJob();
  return {
    ...inner,
    start: async (ctx, params) => {
      const run = await inner.start(ctx, params);
      return {
        async *generate(prompt, maxNewTokens) {
          await request(ctx, prompt.data.length);
          yield* run.generate(prompt, maxNewTokens);
        },
      };
    },
  };
}

export interface RefusedThenServed {
  readonly job: () => PartyJob;
  /** The dealer's limit options (its log is captured here). */
  readonly dealer: NonNullable<LocalServersOptions['dealer']>;
  /** The refused session's error code and message. */
  readonly code: string;
  readonly message: RegExp;
  /** The dealer's log line for the served session (a pattern, or a check of the line). */
  readonly doneLog: RegExp | ((line: string) => boolean);
  /** More checks once the refused session is freed. */
  readonly afterRefusal?: (servers: Awaited<ReturnType<typeof startLocalServers>>) => void;
}

/** A 3-token prompt's session is refused, then a 2-token prompt's runs to the reference's values. */
export async function expectRefusedThenServed(t: RefusedThenServed): Promise<void> {
  const logs: string[] = [];
  const servers = await startLocalServers({
    job: t.job,
    party: { pairTimeoutMs: 2000, syncTimeoutMs: 2000, handshakeTimeoutMs: 2000 },
    dealer: { ...t.dealer, log: (l) => logs.push(l) },
  });
  const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
  try {
    const bad = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 2 });
    const err = await (async () => {
      for await (const tok of bad.generate([1n, 2n, 3n])) void tok;
    })().then(() => undefined, (e: Error) => e);
    expect(err).toMatchObject({ name: 'LimitError', code: t.code });
    expect(err!.message).toMatch(t.message);
    await eventually(() => servers.dealer.sessionCount === 0, 5000, 'dealer session freed');
    expect(logs.some((l) => l.includes(`failed (${t.code})`))).toBe(true);
    t.afterRefusal?.(servers);

    // the dealer goes on: a request of exactly the limit, then the job's own requests
    const good = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 3 });
    const values: bigint[] = [];
    for await (const tok of good.generate([4n, 5n])) values.push(tok.value);
    expect(values).toEqual(ringRecurrenceReference([4n, 5n], 3));
    const done = t.doneLog;
    await eventually(() => logs.some((l) => (typeof done === 'function' ? done(l) : done.test(l))), 5000, 'dealer session done');
  } finally {
    client.close();
    await servers.close();
  }
}

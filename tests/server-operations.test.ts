/**
 * What an operator relies on: `GET /healthz` on every server's port (public facts, 503 while
 * draining), `GET /metrics` (Prometheus counters), plain HTTP answered 426, and a graceful stop — a draining server takes no new session
 * but lets the running ones finish with correct tokens — in-process and as `mpcache serve` on SIGTERM.
 */
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { beaverMulCost } from '@mpcache/protocols';
import { ringRecurrenceJob, ringRecurrenceReference, RING_RECURRENCE_MODEL, startLocalServers, type LocalServers } from '@mpcache/party-server';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cliPath, LocalDeployment, MpcacheClient, type ClientSession } from '@mpcache/client';
import { eventually } from './helpers/raw-client';

const httpUrl = (wsUrl: string, path: string) => `${wsUrl.replace(/^ws/, 'http')}${path}`;

async function health(wsUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(httpUrl(wsUrl, '/healthz'));
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function tokens(s: ClientSession, prompt: bigint[]): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const t of s.generate(prompt)) out.push(t.value);
  return out;
}

describe('server operations', () => {
  let servers: LocalServers;
  beforeEach(async () => {
    servers = await startLocalServers({ job: () => ringRecurrenceJob() });
  });
  afterEach(() => servers.close());

  it('/healthz reports each server (role, model, sessions, public key) and nothing secret; other HTTP gets 426', async () => {
    const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
    expect(await health(servers.p0.url)).toEqual({
      status: 200,
      body: { ok: true, role: 'p0', model: RING_RECURRENCE_MODEL, sessions: 0, maxSessions: expect.any(Number), draining: false, publicKey: hex(servers.p0.publicKey) },
    });
    expect((await health(servers.p1.url)).body).toMatchObject({ ok: true, role: 'p1', publicKey: hex(servers.p1.publicKey) });
    expect((await health(servers.dealer.url)).body).toMatchObject({ ok: true, role: 'dealer', sessions: 0, publicKey: hex(servers.dealer.publicKey) });
    const other = await fetch(httpUrl(servers.p0.url, '/client'));
    expect(other.status).toBe(426);
    expect(await other.text()).toMatch(/Upgrade Required/);
    // a session in progress shows up in the counts
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 2 });
    expect((await health(servers.p0.url)).body.sessions).toBe(1);
    expect((await health(servers.dealer.url)).body.sessions).toBe(1);
    client.close();
  });

  it('/metrics counts sessions by outcome and each party\'s tokens with their exact cost (Prometheus text)', async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const n = 7;
      expect(await tokens(await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: n }), [4n, 5n])).toEqual(ringRecurrenceReference([4n, 5n], n));
      const quitter = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 3 });
      quitter.cancel();
      await eventually(() => servers.p0.sessionCount + servers.p1.sessionCount + servers.dealer.sessionCount === 0, 5000, 'sessions freed');
    } finally {
      client.close();
    }
    const metric = async (url: string, name: string) => {
      const r = await fetch(httpUrl(url, '/metrics'));
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const line = (await r.text()).split('\n').find((x) => x.startsWith(`${name} `));
      return Number(line?.split(' ').pop());
    };
    const c = beaverMulCost(1), p0 = servers.p0.url;
    expect(await metric(p0, 'mpcache_sessions{role="p0"}')).toBe(0);
    expect(await metric(p0, 'mpcache_sessions_opened_total{role="p0"}')).toBe(2);
    expect(await metric(p0, 'mpcache_sessions_ended_total{role="p0",outcome="done"}')).toBe(1);
    expect(await metric(p0, 'mpcache_sessions_ended_total{role="p0",outcome="canceled"}')).toBe(1);
    expect(await metric(p0, 'mpcache_tokens_total{role="p0"}')).toBe(7);
    expect(await metric(p0, 'mpcache_online_bytes_sent_total{role="p0"}')).toBe(7 * c.bytesSent);
    expect(await metric(p0, 'mpcache_rounds_total{role="p0"}')).toBe(7 * c.rounds);
    expect(await metric(p0, 'mpcache_offline_bytes_total{role="p0"}')).toBe(7 * c.offlineBytes);
    expect(await metric(servers.p1.url, 'mpcache_offline_bytes_total{role="p1"}')).toBe(0);
    expect(await metric(servers.dealer.url, 'mpcache_sessions_opened_total{role="dealer"}')).toBe(2);
    // the parties' close codes tell the dealer which session finished and which one its client canceled
    expect(await metric(servers.dealer.url, 'mpcache_sessions_ended_total{role="dealer",outcome="done"}')).toBe(1);
    expect(await metric(servers.dealer.url, 'mpcache_sessions_ended_total{role="dealer",outcome="canceled"}')).toBe(1);
    expect(await metric(servers.dealer.url, 'mpcache_sessions_ended_total{role="dealer",outcome="failed"}')).toBe(0);
    const dealerText = await (await fetch(httpUrl(servers.dealer.url, '/metrics'))).text();
    expect(dealerText).not.toMatch(/mpcache_tokens_total/);
  });

  it('a draining party refuses new sessions (503 on /healthz) and lets the running one finish correctly', async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const n = 3000;
      const running = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: n });
      const done = tokens(running, [5n, 6n]);
      const drained = servers.p0.drain(60_000);
      expect(await health(servers.p0.url)).toMatchObject({ status: 503, body: { ok: false, draining: true, sessions: 1 } });
      await expect(client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: 1 })).rejects.toMatchObject({ code: 'MPC_ERR_TOO_MANY_SESSIONS', message: expect.stringMatching(/P0 is shutting down/) });
      const again = servers.p0.drain(60_000); // a second drain waits for the same end
      expect(await done).toEqual(ringRecurrenceReference([5n, 6n], n));
      expect(await Promise.all([drained, again])).toEqual([true, true]);
    } finally {
      client.close();
    }
  });

  it('a drain that times out says so, and close then fails what still runs', async () => {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const s = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: MAX_NEW_TOKENS });
      const run = tokens(s, [1n]);
      expect(await servers.dealer.drain(50)).toBe(false);
      expect((await health(servers.dealer.url)).body).toMatchObject({ ok: false, draining: true, sessions: 1 });
      await servers.dealer.close();
      await expect(run).rejects.toThrow(/closed|shutting down/);
    } finally {
      client.close();
    }
  });
});

describe('mpcache serve on SIGTERM', () => {
  it('drains: the running session completes with the reference tokens, then the server exits 0', async () => {
    const deployment = await LocalDeployment.start({ model: RING_RECURRENCE_MODEL });
    try {
      const client = await MpcacheClient.connect({ p0: deployment.p0Url, p1: deployment.p1Url });
      try {
        const n = 3000;
        const s = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: n });
        const done = tokens(s, [2n, 9n]);
        const exit = deployment.signal('p1', 'SIGTERM');
        expect(await done).toEqual(ringRecurrenceReference([2n, 9n], n));
        expect(await exit).toBe(0);
      } finally {
        client.close();
      }
    } finally {
      await deployment.close();
    }
  }, 60_000);
});

describe('mpcache status', () => {
  it("reads each server's /healthz: roles and the public keys a client pins; a wrong role or a dead server exits 1", async () => {
    const deployment = await LocalDeployment.start({ model: RING_RECURRENCE_MODEL });
    const dir = mkdtempSync(join(tmpdir(), 'mpcache-status-'));
    try {
      const run = (args: string[]) => promisify(execFile)(process.execPath, [cliPath(), 'status', ...args], { timeout: 30_000 });
      const json = join(dir, 'ok.json');
      const { stdout } = await run(['--p0', deployment.p0Url, '--p1', deployment.p1Url, '--dealer', deployment.dealerUrl, '--json', json]);
      expect(stdout).toContain(deployment.p0PublicKey);
      const r = JSON.parse(readFileSync(json, 'utf8')) as { servers: { ok: boolean; body: { role: string; publicKey: string } }[] };
      expect(r.servers.map((x) => [x.ok, x.body.role])).toEqual([[true, 'p0'], [true, 'p1'], [true, 'dealer']]);
      expect(r.servers.map((x) => x.body.publicKey).slice(0, 2)).toEqual([deployment.p0PublicKey, deployment.p1PublicKey]);
      await expect(run(['--p0', deployment.p1Url, '--p1', deployment.p0Url])).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/answers as p1/) });
      await expect(run(['--p0', deployment.p0Url, '--p1', 'ws://127.0.0.1:1'])).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/unreachable \(ECONNREFUSED\)/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await deployment.close();
    }
  }, 60_000);
});

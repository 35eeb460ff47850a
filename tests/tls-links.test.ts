/**
 * wss:// for every link: a dealer, P0 and P1 serving TLS with a test certificate (tests/fixtures,
 * self-signed for localhost and 127.0.0.1; its key is a test fixture, not a secret), the parties
 * dialing each other and the dealer over TLS, a client trusting that certificate. A client that
 * does not trust it, or speaks plain ws://, does not get in.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { listenWs, WsChannel } from '@mpcache/mpc-core';
import { ringRecurrenceJob, ringRecurrenceReference, RING_RECURRENCE_MODEL, startLocalServers, type LocalServers } from '@mpcache/party-server';
import { cliPath, LocalDeployment, MpcacheClient, type MpcacheClientOptions } from '@mpcache/client';

const certPath = join(__dirname, 'fixtures', 'test-tls.cert.pem'), keyPath = join(__dirname, 'fixtures', 'test-tls.key.pem');
const cert = readFileSync(certPath);
const key = readFileSync(keyPath);

/** A ring-recurrence session through a client with `connect`; its values must equal the plaintext reference. */
async function expectReferenceRun(connect: MpcacheClientOptions, prompt: bigint[], n: number): Promise<void> {
  const client = await MpcacheClient.connect(connect);
  try {
    const s = await client.openSession({ model: RING_RECURRENCE_MODEL, maxNewTokens: n });
    const got: bigint[] = [];
    for await (const t of s.generate(prompt)) got.push(t.value);
    expect(got).toEqual(ringRecurrenceReference(prompt, n));
  } finally {
    client.close();
  }
}

describe('TLS links', () => {
  it('a WsChannel over wss:// carries a message when the client trusts the certificate', async () => {
    let accepted!: (c: WsChannel) => void;
    const server = new Promise<WsChannel>((r) => (accepted = r));
    const listener = await listenWs({ host: '127.0.0.1', port: 0, tls: { cert, key } }, (c) => accepted(c));
    try {
      expect(listener.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const client = await WsChannel.connect(listener.url, { ca: cert });
      client.send(7, Uint8Array.of(1, 2, 3));
      expect(await (await server).recv(7)).toEqual(Uint8Array.of(1, 2, 3));
      client.close('done');
      await expect(WsChannel.connect(listener.url)).rejects.toThrow(/SELF_SIGNED|certificate/i);
      await expect(WsChannel.connect(listener.url.replace('wss:', 'ws:'), { handshakeTimeoutMs: 2000 })).rejects.toThrow(/connect failed/);
    } finally {
      await listener.close();
    }
  });

  describe('party servers and the dealer on wss://', () => {
    let servers: LocalServers;
    beforeAll(async () => {
      servers = await startLocalServers({ job: () => ringRecurrenceJob(), tls: { cert, key, ca: cert } });
    });
    afterAll(() => servers.close());

    it('serve a session end to end (P1 → P0 and both → dealer over TLS); the ids equal the reference', async () => {
      for (const s of [servers.dealer, servers.p0, servers.p1]) expect(s.url).toMatch(/^wss:\/\//);
      await expectReferenceRun({ p0: servers.p0.url, p1: servers.p1.url, ca: cert, p0PublicKey: servers.p0.publicKey, p1PublicKey: servers.p1.publicKey }, [3n, 4n], 5);
    });

    it('a client that does not trust the certificate cannot connect, and says why', async () => {
      await expect(MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url })).rejects.toThrow(/cannot reach P[01] at wss:\/\/127\.0\.0\.1:\d+: .*(SELF_SIGNED|certificate)/i);
    });
  });

  it('mpcache serve ×3 with --tls-cert/--tls-key/--tls-ca (separate processes): a client over wss:// gets the reference ids', async () => {
    const deployment = await LocalDeployment.start({ model: RING_RECURRENCE_MODEL, tls: { cert: certPath, key: keyPath, ca: certPath } });
    try {
      expect([deployment.dealerUrl, deployment.p0Url, deployment.p1Url].every((u) => u.startsWith('wss://'))).toBe(true);
      await expectReferenceRun({ p0: deployment.p0Url, p1: deployment.p1Url, ca: cert, p0PublicKey: deployment.p0PublicKey, p1PublicKey: deployment.p1PublicKey }, [9n, 1n], 4);
    } finally {
      await deployment.close();
    }
  }, 60_000);

  it('mpcache serve refuses --tls-cert without --tls-key, and a file that is not PEM, before it listens', async () => {
    const run = (args: string[]) => promisify(execFile)(process.execPath, [cliPath(), 'serve', '--role', 'dealer', '--port', '0', ...args], { timeout: 30_000 });
    await expect(run(['--tls-cert', certPath])).rejects.toMatchObject({ stderr: expect.stringMatching(/--tls-cert and --tls-key go together/) });
    await expect(run(['--tls-cert', certPath, '--tls-key', join(__dirname, 'tls-links.test.ts')])).rejects.toMatchObject({ stderr: expect.stringMatching(/--tls-key: .* is not a PEM file/) });
    await expect(run(['--tls-cert', '/nonexistent.pem', '--tls-key', keyPath])).rejects.toMatchObject({ stderr: expect.stringMatching(/--tls-cert: cannot read \/nonexistent.pem \(ENOENT\)/) });
  }, 60_000);
});

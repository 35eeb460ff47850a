/**
 * `mpcache status --p0 URL --p1 URL [--dealer URL]` — each server's `GET /healthz` (the http(s)
 * twin of its ws(s) URL): role, model, sessions, draining, public key. The keys are what a client
 * pins (`--p0-public-key`, `--p1-public-key`); compare them with what the operators published, since
 * this reads them over the same network. Exits 1 if a server is unreachable, draining or not the
 * role its flag says. `--json FILE` writes { servers: [{ url, status, ok, ... }] }.
 */
import { Option, type Command } from 'commander';
import { table, writeJson } from '../cli-util';
import { tlsCaFile, TLS_CA_HELP } from './tls-files';

interface StatusOptions {
  p0: string;
  p1: string;
  dealer?: string;
  tlsCa?: string;
  json?: string;
}

interface ServerStatus {
  readonly flag: string;
  readonly url: string;
  readonly status: number | null;
  readonly ok: boolean;
  readonly body?: Record<string, unknown>;
  readonly problem?: string;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("each server's /healthz: role, model, sessions, draining, public key (what clients pin)")
    .addOption(new Option('--p0 <url>', "P0's URL").default('ws://127.0.0.1:9000').env('MPCACHE_P0_URL'))
    .addOption(new Option('--p1 <url>', "P1's URL").default('ws://127.0.0.1:9001').env('MPCACHE_P1_URL'))
    .addOption(new Option('--dealer <url>', "the dealer's URL (usually reachable from the parties only)").env('MPCACHE_DEALER_URL'))
    .addOption(new Option('--tls-ca <file>', TLS_CA_HELP).env('MPCACHE_TLS_CA'))
    .option('--json <file>', 'write the statuses as JSON')
    .action(async (o: StatusOptions) => {
      const ca = tlsCaFile(o.tlsCa);
      const targets: [string, string, string][] = [['--p0', o.p0, 'p0'], ['--p1', o.p1, 'p1'], ...(o.dealer ? [['--dealer', o.dealer, 'dealer'] as [string, string, string]] : [])];
      const servers = await Promise.all(targets.map(([flag, url, role]) => serverStatus(flag, url, role, ca)));
      process.stdout.write(`${table([
        ['server', 'url', 'status', 'role', 'model', 'sessions', 'public key'],
        ...servers.map((s) => [s.flag, s.url, s.problem ?? (s.ok ? 'ok' : 'draining'), str(s.body?.role), str(s.body?.model), str(s.body?.sessions), str(s.body?.publicKey)]),
      ])}\n`);
      writeJson(o.json, { servers });
      if (!servers.every((s) => s.ok)) process.exitCode = 1;
    });
}

const str = (v: unknown): string => (v === undefined ? '' : String(v));

/** One server's /healthz, checked against the role its flag names. */
async function serverStatus(flag: string, url: string, role: string, ca: Buffer | undefined): Promise<ServerStatus> {
  if (!/^wss?:\/\//.test(url)) return { flag, url, status: null, ok: false, problem: 'not a ws:// or wss:// URL' };
  const healthz = `${url.replace(/^ws/, 'http').replace(/\/+$/, '')}/healthz`;
  try {
    const { status, body } = await getJson(healthz, ca);
    if (body.role !== role) return { flag, url, status, ok: false, body, problem: `answers as ${str(body.role)}` };
    return { flag, url, status, ok: status === 200 && body.ok === true, body };
  } catch (e) {
    return { flag, url, status: null, ok: false, problem: `unreachable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

/** GET a small JSON document over http or https (extra CAs for https). */
async function getJson(url: string, ca: Buffer | undefined): Promise<{ status: number; body: Record<string, unknown> }> {
  const { get } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = get(url, { ...(ca ? { ca } : {}), timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.length > 64 * 1024) req.destroy(new Error('answer too long'));
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
        } catch {
          reject(new Error(`HTTP ${res.statusCode}: not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * `mpcache serve --role p0|p1|dealer` — run one server of a deployment (docker-compose.yml runs the
 * three). Every flag can also come from the environment (names in brackets), which is how the
 * containers are configured:
 *
 *   --role         [MPCACHE_ROLE]            p0 | p1 | dealer
 *   --port/--host  [MPCACHE_PORT/_HOST]      where to listen (default 127.0.0.1; 0.0.0.0 in a container)
 *   --dealer       [MPCACHE_DEALER_URL]      P0/P1: ws://dealer:9002
 *   --peer         [MPCACHE_PEER_URL]        P1: ws://p0:9000 (P1 dials P0 for every session)
 *   --model        [MPCACHE_MODEL]           stories15m (real weights), another config (seeded random
 *                                            weights), or ring-recurrence (a tiny test job)
 *   secret key     [MPCACHE_SECRET_KEY]      this server's X25519 secret key, 64 hex digits
 *                                            (default: a fresh key at every start); environment only,
 *                                            never a flag (flags show up in `ps`)
 *   --*-public-key [MPCACHE_…_PUBLIC_KEY]    the counterparts' public keys (pinned when given)
 *   --tls-cert/--tls-key [MPCACHE_TLS_CERT/_KEY]  serve wss:// with this PEM certificate and key
 *   --tls-ca       [MPCACHE_TLS_CA]          P0/P1: CA certificates (PEM) to trust when dialing wss://
 *   --drain-timeout [MPCACHE_DRAIN_TIMEOUT]  seconds SIGTERM/SIGINT waits for running sessions (30)
 *   --max-request-mib [MPCACHE_MAX_REQUEST_MIB]  dealer: largest correlation one request may ask for,
 *                                            MiB of material to both parties (MAX_DEALER_REQUEST_BYTES)
 *   --max-request-gwork [MPCACHE_MAX_REQUEST_GWORK]  dealer: most work one request may take to
 *                                            generate, in 2^30 word operations (MAX_DEALER_REQUEST_WORK)
 *   --max-backlog-mib [MPCACHE_MAX_BACKLOG_MIB]  dealer: most material one session may queue for a
 *                                            party that has not asked yet, MiB (MAX_DEALER_BACKLOG_BYTES)
 *   --max-session-gwork [MPCACHE_MAX_SESSION_GWORK]  dealer: most work all of one session's requests
 *                                            may take, in 2^30 word operations (MAX_DEALER_SESSION_WORK)
 *
 * Stopping: the first SIGTERM or SIGINT drains — no new session, `/healthz` answers 503, running
 * sessions go on for up to --drain-timeout seconds — then the server closes; a second signal closes
 * it at once (failing what still runs). `GET /healthz` on the server's port reports its status.
 *   --shares       [MPCACHE_SHARES]          P0/P1: this party's model share file, made by the model
 *                                            owner with `mpcache share-model` (weights and gate)
 *   owner seed     [MPCACHE_OWNER_SEED]      without --shares: the stand-in owner's 16-byte seed, the
 *                                            same on P0 and P1 (default: a fixed public seed)
 *
 * Model weights: each party loads its share at start. With --shares it reads the share file the
 * model owner shipped it (secure/model-share-file.ts): the server never sees the weights. Without,
 * a stand-in owner shares the weights from a seed on the party's machine (party-server
 * local-weight-shares.ts; local runs and tests), and P0 computes its share from the plaintext.
 * The model's trained Attention-Gate travels in the share file, or for the stand-in is shared the
 * same way (local-gate-shares.ts); models without one do not offer --policy attention-gate.
 * When started by `fork` (mpcache demo), the server reports { type: 'listening', role, url,
 * publicKey } over IPC and exits when its parent goes away.
 */
import { Command, Option } from 'commander';
import { LINK_PROFILES, MAX_DEALER_BACKLOG_BYTES, MAX_DEALER_REQUEST_BYTES, MAX_DEALER_REQUEST_WORK, MAX_DEALER_SESSION_WORK, MAX_MESSAGE_BYTES, MAX_SESSIONS, type PartyId } from '@mpcache/mpc-core';
import {
  DealerServer,
  keyPairFromHex,
  localGateShares,
  localShareSet,
  localWeightShares,
  PartyServer,
  publicKeyFromHex,
  ringRecurrenceJob,
  RING_RECURRENCE_MODEL,
  secureGenerateJob,
  toHex,
  DEFAULT_MODEL_FRAC_BITS,
  type PartyJob,
} from '@mpcache/party-server';
import { loadModelShareFile } from '@mpcache/mpcache';
import { parseIntArg } from '../cli-util';
import { TLS_CA_HELP, TLS_CERT_HELP, TLS_KEY_HELP, tlsCaFile, tlsServerFiles } from './tls-files';

interface ServeOptions {
  role: string;
  port?: string;
  host: string;
  dealer?: string;
  peer?: string;
  model: string;
  fracBits: string;
  maxSessions: string;
  maxSessionsPerClient?: string;
  net: string;
  peerPublicKey?: string;
  dealerPublicKey?: string;
  p0PublicKey?: string;
  p1PublicKey?: string;
  shares?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  drainTimeout: string;
  maxRequestMib: string;
  maxRequestGwork: string;
  maxSessionGwork: string;
  maxBacklogMib: string;
  quiet?: boolean;
}

const MIB = 1024 * 1024;
/** Each party's dealer message is one channel message (≤ MAX_MESSAGE_BYTES), so a larger limit could not be sent anyway. */
const MAX_REQUEST_MIB = (2 * MAX_MESSAGE_BYTES) / MIB;
/** Largest --max-backlog-mib: 64 GiB per session. */
const MAX_BACKLOG_MIB = 65_536;
/** One unit of --max-request-gwork: 2^30 word operations (dealer-work.ts). */
const GWORK = 2 ** 30;
/** Largest --max-request-gwork: 2^50 word operations, days of dealer CPU (and a safe integer). */
const MAX_REQUEST_GWORK = 2 ** 20;
/** Largest --max-session-gwork: 2^52 word operations (a safe integer, with room for the sum). */
const MAX_SESSION_GWORK = 2 ** 22;

const DEFAULT_PORTS: Record<string, number> = { p0: 9000, p1: 9001, dealer: 9002 };

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run one server of a deployment: party P0 or P1, or the dealer')
    .addOption(new Option('--role <role>', 'p0 | p1 | dealer').choices(['p0', 'p1', 'dealer']).env('MPCACHE_ROLE').makeOptionMandatory())
    .addOption(new Option('--port <n>', 'port (0: any free port; default 9000 / 9001 / 9002 by role)').env('MPCACHE_PORT'))
    .addOption(new Option('--host <addr>', 'interface to listen on').default('127.0.0.1').env('MPCACHE_HOST'))
    .addOption(new Option('--dealer <url>', "P0/P1: the dealer's URL, e.g. ws://dealer:9002").env('MPCACHE_DEALER_URL'))
    .addOption(new Option('--peer <url>', "P1: P0's URL, e.g. ws://p0:9000").env('MPCACHE_PEER_URL'))
    .addOption(new Option('--model <name>', `model: stories15m, a random-weights config, or ${RING_RECURRENCE_MODEL}`).default('stories15m').env('MPCACHE_MODEL'))
    .addOption(new Option('--frac-bits <n>', 'fixed-point fractional bits').default(String(DEFAULT_MODEL_FRAC_BITS)).env('MPCACHE_FRAC_BITS'))
    .addOption(new Option('--max-sessions <n>', 'concurrent sessions').default(String(MAX_SESSIONS)).env('MPCACHE_MAX_SESSIONS'))
    .addOption(new Option('--max-sessions-per-client <n>', 'P0/P1: concurrent sessions of one client connection (default: half of --max-sessions, rounded up)').env('MPCACHE_MAX_SESSIONS_PER_CLIENT'))
    .addOption(new Option('--net <profile>', 'emulated P0–P1 link').choices(['none', 'lan', 'wan']).default('none').env('MPCACHE_NET'))
    .addOption(new Option('--peer-public-key <hex>', "P0/P1: the other party's public key").env('MPCACHE_PEER_PUBLIC_KEY'))
    .addOption(new Option('--dealer-public-key <hex>', "P0/P1: the dealer's public key").env('MPCACHE_DEALER_PUBLIC_KEY'))
    .addOption(new Option('--p0-public-key <hex>', "dealer: P0's public key").env('MPCACHE_P0_PUBLIC_KEY'))
    .addOption(new Option('--p1-public-key <hex>', "dealer: P1's public key").env('MPCACHE_P1_PUBLIC_KEY'))
    .addOption(new Option('--shares <file>', "P0/P1: this party's model share file (mpcache share-model)").env('MPCACHE_SHARES'))
    .addOption(new Option('--tls-cert <file>', TLS_CERT_HELP).env('MPCACHE_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', TLS_KEY_HELP).env('MPCACHE_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', `P0/P1: ${TLS_CA_HELP}`).env('MPCACHE_TLS_CA'))
    .addOption(new Option('--drain-timeout <s>', 'on SIGTERM/SIGINT, seconds to let running sessions finish').default('30').env('MPCACHE_DRAIN_TIMEOUT'))
    .addOption(new Option('--max-request-mib <n>', 'dealer: largest correlation one request may ask for, MiB of material to both parties').default(String(MAX_DEALER_REQUEST_BYTES / MIB)).env('MPCACHE_MAX_REQUEST_MIB'))
    .addOption(new Option('--max-request-gwork <n>', 'dealer: most work one correlation request may take to generate, in 2^30 word operations').default(String(MAX_DEALER_REQUEST_WORK / GWORK)).env('MPCACHE_MAX_REQUEST_GWORK'))
    .addOption(new Option('--max-backlog-mib <n>', 'dealer: most material one session may queue for a party that has not asked for it yet, MiB').default(String(MAX_DEALER_BACKLOG_BYTES / MIB)).env('MPCACHE_MAX_BACKLOG_MIB'))
    .addOption(new Option('--max-session-gwork <n>', "dealer: most work all of one session's requests may take together, in 2^30 word operations").default(String(MAX_DEALER_SESSION_WORK / GWORK)).env('MPCACHE_MAX_SESSION_GWORK'))
    .option('--quiet', 'no per-session log lines')
    .action((o: ServeOptions) => serve(o));

  program
    .command('keygen')
    .description("print a fresh X25519 key pair for a server (secret → MPCACHE_SECRET_KEY, public → the others' pins)")
    .action(() => {
      const k = keyPairFromHex(undefined);
      process.stdout.write(`MPCACHE_SECRET_KEY=${toHex(k.secretKey)}\npublic key: ${toHex(k.publicKey)}\n`);
    });
}

async function serve(o: ServeOptions): Promise<void> {
  const keys = keyPairFromHex(process.env.MPCACHE_SECRET_KEY, 'MPCACHE_SECRET_KEY');
  const port = o.port === undefined ? DEFAULT_PORTS[o.role] : parseIntArg(o.port, 'port', 0, 65535);
  const maxSessions = parseIntArg(o.maxSessions, 'max-sessions', 1, 1024);
  const maxSessionsPerClient = o.maxSessionsPerClient ? parseIntArg(o.maxSessionsPerClient, 'max-sessions-per-client', 1, maxSessions) : undefined;
  const log = o.quiet ? undefined : (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const tls = tlsServerFiles(o.tlsCert, o.tlsKey), tlsCa = tlsCaFile(o.tlsCa);
  const drainMs = 1000 * parseIntArg(o.drainTimeout, 'drain-timeout', 0, 86_400);
  const maxRequestBytes = MIB * parseIntArg(o.maxRequestMib, 'max-request-mib', 1, MAX_REQUEST_MIB);
  const maxBacklogBytes = MIB * parseIntArg(o.maxBacklogMib, 'max-backlog-mib', 1, MAX_BACKLOG_MIB);
  const maxRequestWork = GWORK * parseIntArg(o.maxRequestGwork, 'max-request-gwork', 1, MAX_REQUEST_GWORK);
  const maxSessionWork = GWORK * parseIntArg(o.maxSessionGwork, 'max-session-gwork', 1, MAX_SESSION_GWORK);
  let server: DealerServer | PartyServer;
  if (o.role === 'dealer') {
    server = await DealerServer.start({
      keys, port, host: o.host, maxSessions, maxRequestBytes, maxRequestWork, maxBacklogBytes, maxSessionWork, log, tls,
      partyPublicKeys: { p0: publicKeyFromHex(o.p0PublicKey, '--p0-public-key'), p1: publicKeyFromHex(o.p1PublicKey, '--p1-public-key') },
    });
  } else {
    const role: PartyId = o.role === 'p0' ? 0 : 1;
    if (!o.dealer) throw new TypeError(`--dealer (MPCACHE_DEALER_URL) is required for ${o.role}`);
    if (role === 1 && !o.peer) throw new TypeError('--peer (MPCACHE_PEER_URL) is required for p1');
    const t0 = performance.now();
    const job = loadJob(role, o.model, parseIntArg(o.fracBits, 'frac-bits', 1, 24), o.shares);
    const source = o.shares ? ' from its share file'
      : o.model === RING_RECURRENCE_MODEL ? ''
      : process.env.MPCACHE_OWNER_SEED ? ' from the stand-in owner (MPCACHE_OWNER_SEED; a demo setup: use share-model files for a real owner)'
      : ' from the stand-in owner\'s fixed public seed (a demo setup: the weights are public to anyone; use share-model files for a real owner)';
    log?.(`P${role}: loaded its share of ${o.model}${source}${job.shareSet ? ` (share set ${job.shareSet})` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    server = await PartyServer.start({
      role, keys, job, port, host: o.host, maxSessions, maxSessionsPerClient, log, tls, tlsCa,
      dealerUrl: o.dealer,
      peerUrl: o.peer,
      peerPublicKey: publicKeyFromHex(o.peerPublicKey, '--peer-public-key'),
      dealerPublicKey: publicKeyFromHex(o.dealerPublicKey, '--dealer-public-key'),
      link: LINK_PROFILES[o.net as 'none' | 'lan' | 'wan'],
    });
  }
  const name = o.role === 'dealer' ? 'dealer' : o.role.toUpperCase();
  process.stdout.write(`mpcache serve: ${name} listening on ${server.url} (public key ${toHex(keys.publicKey)})\n`);
  process.send?.({ type: 'listening', role: o.role, url: server.url, publicKey: toHex(keys.publicKey) });

  let closing = false, draining = false;
  const close = (why: string) => {
    if (closing) return;
    closing = true;
    log?.(`${name}: shutting down (${why})`);
    void server.close().then(() => {
      if (process.connected) process.disconnect();
    });
  };
  const onSignal = (signal: string) => {
    if (draining) return close(`second ${signal}`);
    draining = true;
    log?.(`${name}: ${signal}: draining, ${server.sessionCount} session(s) running (up to ${drainMs / 1000} s; again to stop now)`);
    void server.drain(drainMs).then((all) => close(all ? 'drained' : `drain timeout, ${server.sessionCount} session(s) cut`));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  if (process.send) process.once('disconnect', () => close('parent gone'));
}

/**
 * This party's job: its share of the model's weights (and gate) behind the secure generator, from
 * the owner's share file or the local stand-in owner; or the test job.
 */
function loadJob(role: PartyId, model: string, fracBits: number, sharesPath: string | undefined): PartyJob {
  if (model === RING_RECURRENCE_MODEL) return ringRecurrenceJob();
  const ownerSeed = process.env.MPCACHE_OWNER_SEED || undefined;
  if (sharesPath) {
    if (ownerSeed !== undefined) throw new RangeError('give either --shares (MPCACHE_SHARES) or MPCACHE_OWNER_SEED, not both');
    const file = loadModelShareFile(sharesPath, { party: role, model, fracBits });
    return secureGenerateJob({ shares: file.weights, gate: file.gate, shareSet: file.header.shareSet });
  }
  if (ownerSeed !== undefined && !/^[0-9a-fA-F]{32}$/.test(ownerSeed)) throw new RangeError('MPCACHE_OWNER_SEED expected 32 hex digits');
  const owner = { fracBits, ownerSeed: ownerSeed ? new Uint8Array(Buffer.from(ownerSeed, 'hex')) : undefined };
  return secureGenerateJob({ shares: localWeightShares(role, model, owner), gate: localGateShares(role, model, owner), shareSet: localShareSet(model, owner) });
}

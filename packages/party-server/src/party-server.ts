/**
 * PartyServer — party P0 or P1 as a WebSocket service. Routes:
 *
 *   /client                 a client's connection (client-connection.ts), any number of sessions
 *   /session/<id>/peer      P0 only: P1's link for session <id> (hello with P1's public key and the
 *                           session parameters); held until P0's own client opens <id>, answered
 *                           with SessionNotFoundError if that does not happen within pairTimeoutMs
 *
 * The server holds its long-term key pair and its job (for the real model: its share of the
 * weights, loaded at start). Sessions (party-session.ts) are independent: every error of one goes to
 * that session's handler, which closes only its links; the server keeps serving the others.
 * Limits: MAX_SESSIONS (LimitError MPC_ERR_TOO_MANY_SESSIONS), at most half of them (default
 * `maxSessionsPerClient`) for one client connection so one client cannot take them all, session
 * ids unique on the server.
 * Operations: `GET /healthz` on the same port (status: role, model, sessions, public key; 503 while
 * draining), `GET /metrics` (Prometheus counters, server-metrics.ts); `drain(ms)` stops taking sessions and waits for the running ones (server-drain.ts).
 *
 * @example
 *   const p0 = await PartyServer.start({ role: 0, keys, job, dealerUrl: dealer.url, port: 9000 });
 *   const p1 = await PartyServer.start({ role: 1, keys: keys1, job, dealerUrl: dealer.url, peerUrl: p0.url });
 */
import type { IncomingMessage } from 'node:http';
import { SetupQueue } from './setup-queue';
import {
  HANDSHAKE_TIMEOUT_MS,
  Ledger,
  LimitError,
  listenWs,
  MAX_ENVELOPE_BYTES,
  MAX_FRAME_BYTES,
  MAX_PROMPT_TOKENS,
  MAX_SESSIONS,
  PARTY_SYNC_TIMEOUT_MS,
  ProtocolError,
  ROUND_TIMEOUT_MS,
  SESSION_IDLE_TIMEOUT_MS,
  SessionNotFoundError,
  type KeyPair,
  type LinkProfile,
  type PartyId,
  type WsChannel,
  type WsChannelOptions,
  type TlsServerOptions,
  type WsListener,
} from '@mpcache/mpc-core';
import { ClientConnection, type ConnectionHost } from './client-connection';
import { inputWidth, type PartyJob } from './jobs/party-job';
import { PartySession, type PartyServerConfig, type PeerArrival, type SessionHost } from './party-session';
import { Rendezvous } from './rendezvous';
import { toHex } from './server-keys';
import { ServerDrain } from './server-drain';
import { ServerMetrics } from './server-metrics';
import { receiveHello, rejectLink } from './hello-handshake';
import type { OpenRequest } from './wire/client-messages';
import { sessionOptionFields } from './wire/session-options';
import { errorCode } from './wire/wire-error';

export interface PartyServerOptions {
  readonly role: PartyId;
  readonly keys: KeyPair;
  readonly job: PartyJob;
  /** The dealer's base URL (ws://host:port). */
  readonly dealerUrl: string;
  /** P1: P0's base URL. */
  readonly peerUrl?: string;
  readonly port?: number;
  readonly host?: string;
  /** Serve wss:// with this certificate and key (clients and P1 then dial wss://). */
  readonly tls?: TlsServerOptions;
  /** CA certificates (PEM) to trust, besides the system's, when dialing the dealer and P0 over wss://. */
  readonly tlsCa?: string | Buffer;
  /** Configured public keys of the peer party and of the dealer (hellos with other keys are rejected). */
  readonly peerPublicKey?: Uint8Array;
  readonly dealerPublicKey?: Uint8Array;
  readonly maxSessions?: number;
  /** Sessions one client connection may hold at once; default ⌈maxSessions / 2⌉. */
  readonly maxSessionsPerClient?: number;
  readonly handshakeTimeoutMs?: number;
  readonly pairTimeoutMs?: number;
  readonly syncTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly roundTimeoutMs?: number;
  /** P0: sessions set up at once (setup-queue.ts; default 2). */
  readonly setupSlots?: number;
  /** How long a session waits for a setup slot (default 120 s). */
  readonly setupQueueTimeoutMs?: number;
  /** Emulated P0–P1 link (lan/wan) applied to this party's sends. */
  readonly link?: LinkProfile;
  /**
   * Frame size of the peer and dealer links (default MAX_FRAME_BYTES); longer messages are sent as
   * several frames. Both parties and the dealer must use the same value.
   */
  readonly maxFrameBytes?: number;
  /** One line per event (session ids, party ids, error codes; never shares, seeds or tokens). */
  readonly log?: (line: string) => void;
}

const PEER_ROUTE = /^\/session\/([A-Za-z0-9_.-]{1,64})\/peer$/;

/** Sessions P0 sets up at once, and how long one waits for its turn (setup-queue.ts). */
const SETUP_SLOTS = 2;
const SETUP_QUEUE_TIMEOUT_MS = 120_000;

export class PartyServer implements SessionHost, ConnectionHost {
  readonly config: PartyServerConfig;
  readonly peerArrivals = new Rendezvous<PeerArrival>();
  readonly setupQueue: SetupQueue;
  private readonly sessions = new Map<string, PartySession>();
  private readonly owners = new Map<PartySession, ClientConnection>();
  private readonly peerLedgers = new WeakMap<IncomingMessage, Ledger>();
  private listener!: WsListener;
  private readonly maxSessions: number;
  private readonly maxSessionsPerClient: number;
  private readonly drainer: ServerDrain;
  readonly metrics: ServerMetrics;

  private constructor(opts: PartyServerOptions) {
    if (opts.role === 1 && !opts.peerUrl) throw new TypeError('P1 needs "peerUrl" (where P0 listens)');
    this.maxSessions = opts.maxSessions ?? MAX_SESSIONS;
    this.maxSessionsPerClient = opts.maxSessionsPerClient ?? Math.ceil(this.maxSessions / 2);
    this.setupQueue = new SetupQueue(opts.setupSlots ?? SETUP_SLOTS);
    this.drainer = new ServerDrain(`P${opts.role}`, () => this.sessions.size);
    this.metrics = new ServerMetrics(`p${opts.role}`, () => this.sessions.size);
    this.config = {
      role: opts.role,
      keys: opts.keys,
      job: opts.job,
      dealerUrl: trimSlash(opts.dealerUrl),
      peerUrl: opts.peerUrl && trimSlash(opts.peerUrl),
      peerPublicKey: opts.peerPublicKey,
      dealerPublicKey: opts.dealerPublicKey,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      pairTimeoutMs: opts.pairTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      syncTimeoutMs: opts.syncTimeoutMs ?? PARTY_SYNC_TIMEOUT_MS,
      idleTimeoutMs: opts.idleTimeoutMs ?? SESSION_IDLE_TIMEOUT_MS,
      roundTimeoutMs: opts.roundTimeoutMs ?? ROUND_TIMEOUT_MS,
      setupQueueTimeoutMs: opts.setupQueueTimeoutMs ?? SETUP_QUEUE_TIMEOUT_MS,
      link: opts.link,
      maxFrameBytes: opts.maxFrameBytes,
      tlsCa: opts.tlsCa,
      log: opts.log ?? (() => undefined),
    };
  }

  static async start(opts: PartyServerOptions): Promise<PartyServer> {
    const s = new PartyServer(opts);
    s.listener = await listenWs(
      { port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', tls: opts.tls, status: () => s.status(), metrics: () => s.metrics.render(), channel: (req) => s.channelOptions(req) },
      (ch, req) => s.onConnection(ch, req),
    );
    return s;
  }

  get role(): PartyId {
    return this.config.role;
  }

  get url(): string {
    return this.listener.url;
  }

  get port(): number {
    return this.listener.port;
  }

  get publicKey(): Uint8Array {
    return this.config.keys.publicKey;
  }

  /** Sessions opening, ready or running. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** What `GET /healthz` answers: public facts only. */
  status(): { ok: boolean; role: string; model: string; sessions: number; maxSessions: number; draining: boolean; publicKey: string } {
    const draining = this.drainer.draining;
    return {
      ok: !draining, role: `p${this.role}`, model: this.config.job.model, sessions: this.sessions.size, maxSessions: this.maxSessions, draining, publicKey: toHex(this.publicKey),
    };
  }

  /**
   * Take no new session and wait for the running ones to end (true), or for timeoutMs (false: some
   * are still running; `close` fails them). A second call waits again.
   */
  drain(timeoutMs: number): Promise<boolean> {
    return this.drainer.begin(timeoutMs);
  }

  /** Fail every session, stop listening, close every connection. */
  async close(): Promise<void> {
    const bye = new ProtocolError(`P${this.role} shutting down`, 'MPC_ERR_BAD_MESSAGE');
    for (const s of [...this.sessions.values()]) s.fail(bye);
    this.peerArrivals.clear(bye);
    await this.listener.close();
  }

  // ---------------------------------------------------------------- ConnectionHost / SessionHost

  openSession(req: OpenRequest, client: ClientConnection): PartySession {
    const { job } = this.config;
    if (req.model !== job.model) throw new ProtocolError(`open: model "${req.model}" is not served here (serving "${job.model}")`, 'MPC_ERR_BAD_MESSAGE');
    if (!job.policies.includes(req.policy)) {
      const why = Object.prototype.hasOwnProperty.call(job.unavailablePolicies ?? {}, req.policy) ? `: ${job.unavailablePolicies![req.policy]}` : '';
      throw new ProtocolError(`open: policy "${req.policy}" is not supported${why} (supported: ${job.policies.join(', ')})`, 'MPC_ERR_BAD_MESSAGE');
    }
    if (req.stopToken !== undefined && !(req.stopToken < job.vocabSize)) {
      throw new ProtocolError(`open: stopToken ${req.stopToken} expected a token id in [0, ${job.vocabSize}) of model "${job.model}"`, 'MPC_ERR_BAD_MESSAGE');
    }
    this.drainer.refuseIfDraining();
    if (this.sessions.has(req.sessionId)) throw new ProtocolError(`open: session "${req.sessionId}" already exists`, 'MPC_ERR_BAD_MESSAGE');
    if (this.sessions.size >= this.maxSessions) {
      throw new LimitError(`P${this.role} serves at most ${this.maxSessions} sessions at once`, 'MPC_ERR_TOO_MANY_SESSIONS');
    }
    if (client.sessions.size >= this.maxSessionsPerClient) {
      throw new LimitError(`P${this.role} serves at most ${this.maxSessionsPerClient} sessions per client connection at once`, 'MPC_ERR_TOO_MANY_SESSIONS');
    }
    const s = new PartySession(this, req.sessionId, { model: req.model, policy: req.policy, maxNewTokens: req.maxNewTokens, ...sessionOptionFields(req) }, client, req.clientKey);
    this.sessions.set(s.id, s);
    this.owners.set(s, client);
    this.metrics.sessionOpened();
    return s;
  }

  findSession(id: string, client: ClientConnection): PartySession | undefined {
    const s = this.sessions.get(id);
    return s && this.owners.get(s) === client ? s : undefined;
  }

  sessionEnded(session: PartySession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    this.owners.get(session)?.sessions.delete(session);
    this.owners.delete(session);
    this.drainer.sessionEnded();
  }

  // ---------------------------------------------------------------- connections

  private channelOptions(req: IncomingMessage): WsChannelOptions {
    if (PEER_ROUTE.test(req.url ?? '')) {
      const ledger = new Ledger();
      this.peerLedgers.set(req, ledger);
      return { ledger, link: this.config.link, recvTimeoutMs: this.config.roundTimeoutMs, maxFrameBytes: this.config.maxFrameBytes };
    }
    // A client message carries at most one prompt share: bound it (and each frame) by the job's input size.
    const { job } = this.config;
    const promptWords = Math.min(MAX_PROMPT_TOKENS, job.maxContext) * inputWidth(job);
    const maxBytes = Math.min(MAX_FRAME_BYTES, 8 * promptWords + MAX_ENVELOPE_BYTES + 4);
    return { maxFrameBytes: maxBytes, maxMessageBytes: maxBytes };
  }

  private onConnection(ch: WsChannel, req: IncomingMessage): void {
    const path = req.url ?? '';
    if (path === '/client') {
      void new ClientConnection(this, ch).serve();
      return;
    }
    const m = PEER_ROUTE.exec(path);
    if (m && this.role === 0) {
      this.acceptPeer(ch, m[1], this.peerLedgers.get(req)!).catch((e: unknown) => {
        this.config.log(`P0: rejected P1's link for session ${m[1]} (${errorCode(e)})`);
        rejectLink(ch, e);
      });
      return;
    }
    ch.close('unknown route');
  }

  private async acceptPeer(ch: WsChannel, id: string, ledger: Ledger): Promise<void> {
    const cfg = this.config;
    const hello = await receiveHello(ch, {
      role: 'p1', from: 'P1', sessionId: id, withParams: true, pinnedKey: cfg.peerPublicKey, receiverKeys: cfg.keys, timeoutMs: cfg.handshakeTimeoutMs, what: 'P0: hello of P1',
    });
    const offered = this.peerArrivals.offer(id, { channel: ch, ledger, hello }, cfg.pairTimeoutMs, (a) => rejectLink(a.channel, new SessionNotFoundError(id)));
    if (!offered) throw new ProtocolError(`session ${id}: P1 is already linked`, 'MPC_ERR_BAD_MESSAGE');
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * DealerServer — the offline-only third server: one DealerSession per session id, serving P0 and
 * P1 over their own WebSockets `ws://dealer/session/<id>/p0` and `…/p1`.
 *
 * Per connection: hello (the party's public key, checked against a configured one) → the dealer's
 * hello (its public key) → wait for the other party of the session (pairTimeoutMs) → seeds
 * agreeSeed(dealer, P_b, id, "dealer-p<b>", both link nonces) → `serveDealerSession` until both parties close.
 * The dealer sees no input, share or opened value and never talks to a client.
 *
 *   connection ──hello──▶ pairing ──both parties──▶ serving ──both closed──▶ (freed)
 *                   │         │ timeout / close          │ bad request
 *                   ▼         ▼                          ▼
 *                error reply, close          failSession: close both links with the reason
 *
 * Every error of a session goes to `failSession`, which closes that session's links with a reason
 * and frees its queue; other sessions are untouched. A session both parties closed is counted by
 * their links' close codes (session-close-codes.ts): done, failed on a party, or canceled.
 * Limits: MAX_SESSIONS (pairing + serving), and maxRequestBytes per correlation
 * (MAX_DEALER_REQUEST_BYTES: a larger request is refused before anything is generated, with
 * LimitError MPC_ERR_DEALER_REQUEST_TOO_LARGE, and fails its session),
 * maxRequestWork per correlation (MAX_DEALER_REQUEST_WORK, word operations to generate it: refused
 * before generating, with LimitError MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK, and fails its session),
 * maxBacklogBytes queued per session for the party that has not asked yet (MAX_DEALER_BACKLOG_BYTES:
 * LimitError MPC_ERR_DEALER_BACKLOG, fails its session), maxSessionWork per session (the sum of its
 * requests' work: LimitError MPC_ERR_DEALER_SESSION_WORK, fails its session); the dealer's memory is
 * bounded by sessions × (backlog + a request), its CPU per request by maxRequestWork and per
 * session by maxSessionWork.
 * Operations: `GET /healthz` (role, sessions, limits, public key; 503 while draining), `GET /metrics` and
 * `drain(ms)`, as PartyServer.
 */
import type { IncomingMessage } from 'node:http';
import {
  agreeSeed,
  HANDSHAKE_TIMEOUT_MS,
  LimitError,
  listenWs,
  MAX_SESSIONS,
  newLinkNonce,
  ProtocolError,
  TimeoutError,
  type KeyPair,
  type LinkNonces,
  type PartyId,
  type WsChannel,
  type TlsServerOptions,
  type WsListener,
} from '@mpcache/mpc-core';
import { DealerSession, dealerLimits, serveDealerSession, type CorrelationRegistry, type DealerLimits } from '@mpcache/protocols';
import { allCorrelationSpecs } from './correlation-registry';
import { helloAuth } from './hello-auth';
import { receiveHello, rejectLink } from './hello-handshake';
import { ServerDrain } from './server-drain';
import { ServerMetrics, type SessionOutcome } from './server-metrics';
import { outcomeFromCloseCodes } from './session-close-codes';
import { toHex } from './server-keys';
import { encodeHello, HELLO_TAG } from './wire/server-hello';
import { errorCode } from './wire/wire-error';

/** The limits (DealerLimits: maxRequestBytes, maxRequestWork, maxBacklogBytes, maxSessionWork) apply to each session. */
export interface DealerServerOptions extends DealerLimits {
  readonly keys: KeyPair;
  readonly port?: number;
  readonly host?: string;
  /** Serve wss:// with this certificate and key. */
  readonly tls?: TlsServerOptions;
  /** Correlations the dealer generates; default: every spec the packages export. */
  readonly registry?: CorrelationRegistry;
  /** Configured public keys of P0 and P1 (hellos carrying other keys are rejected). */
  readonly partyPublicKeys?: { readonly p0?: Uint8Array; readonly p1?: Uint8Array };
  readonly maxSessions?: number;
  /** Time for a connection's hello. */
  readonly handshakeTimeoutMs?: number;
  /** Time the first party of a session waits for the second. */
  readonly pairTimeoutMs?: number;
  /** Frame size of the links to the parties (default MAX_FRAME_BYTES; the parties must use the same). */
  readonly maxFrameBytes?: number;
  /** One line per event (session ids, party ids, error codes; never secrets). */
  readonly log?: (line: string) => void;
}

interface Slot {
  readonly id: string;
  readonly channels: [WsChannel | undefined, WsChannel | undefined];
  readonly keys: [Uint8Array | undefined, Uint8Array | undefined];
  /** Per party: [the dealer's link nonce, the party's] (the dealer-p<b> seed's salt). */
  readonly nonces: [LinkNonces | undefined, LinkNonces | undefined];
  state: 'pairing' | 'serving' | 'closed';
  timer?: NodeJS.Timeout;
}

const ROUTE = /^\/session\/([A-Za-z0-9_.-]{1,64})\/p([01])$/;

export class DealerServer {
  private readonly slots = new Map<string, Slot>();
  private listener!: WsListener;
  private readonly registry: CorrelationRegistry;
  private readonly limits: Required<DealerLimits>;
  private readonly log: (line: string) => void;
  private readonly drainer = new ServerDrain('the dealer', () => this.slots.size);
  readonly metrics = new ServerMetrics('dealer', () => this.slots.size);

  private constructor(private readonly opts: DealerServerOptions) {
    this.registry = opts.registry ?? allCorrelationSpecs();
    this.limits = dealerLimits(opts);
    this.log = opts.log ?? (() => undefined);
  }

  static async start(opts: DealerServerOptions): Promise<DealerServer> {
    const s = new DealerServer(opts);
    const channel = { maxFrameBytes: opts.maxFrameBytes };
    s.listener = await listenWs({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1', tls: opts.tls, status: () => s.status(), metrics: () => s.metrics.render(), channel }, (ch, req) => s.onConnection(ch, req));
    return s;
  }

  get url(): string {
    return this.listener.url;
  }

  get port(): number {
    return this.listener.port;
  }

  get publicKey(): Uint8Array {
    return this.opts.keys.publicKey;
  }

  /** Sessions pairing or being served. */
  get sessionCount(): number {
    return this.slots.size;
  }

  /** What `GET /healthz` answers: public facts only. */
  status(): { ok: boolean; role: string; sessions: number; maxSessions: number; draining: boolean; publicKey: string } & Required<DealerLimits> {
    const draining = this.drainer.draining, maxSessions = this.opts.maxSessions ?? MAX_SESSIONS;
    return {
      ok: !draining, role: 'dealer', sessions: this.slots.size, maxSessions, ...this.limits, draining, publicKey: toHex(this.publicKey),
    };
  }

  /** Take no new session; wait for the running ones to end (true) or for timeoutMs (false). */
  drain(timeoutMs: number): Promise<boolean> {
    return this.drainer.begin(timeoutMs);
  }

  async close(): Promise<void> {
    for (const slot of [...this.slots.values()]) this.failSession(slot, new ProtocolError('dealer shutting down', 'MPC_ERR_BAD_MESSAGE'));
    await this.listener.close();
  }

  // ---------------------------------------------------------------- connections

  private onConnection(ch: WsChannel, req: IncomingMessage): void {
    const m = ROUTE.exec(req.url ?? '');
    if (!m) return ch.close('unknown route');
    const id = m[1];
    const party = Number(m[2]) as PartyId;
    this.handshake(ch, id, party).catch((e: unknown) => {
      this.log(`dealer: rejected P${party} for session ${id} (${errorCode(e)})`);
      rejectLink(ch, e);
    });
  }

  private async handshake(ch: WsChannel, id: string, party: PartyId): Promise<void> {
    const timeout = this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    const pinnedKey = party ? this.opts.partyPublicKeys?.p1 : this.opts.partyPublicKeys?.p0;
    const hello = await receiveHello(ch, { role: party ? 'p1' : 'p0', from: `P${party}`, sessionId: id, pinnedKey, receiverKeys: this.opts.keys, timeoutMs: timeout, what: `dealer: hello of P${party}` });
    let slot = this.slots.get(id);
    if (!slot) {
      this.drainer.refuseIfDraining();
      const max = this.opts.maxSessions ?? MAX_SESSIONS;
      if (this.slots.size >= max) throw new LimitError(`dealer serves at most ${max} sessions`, 'MPC_ERR_TOO_MANY_SESSIONS');
      slot = { id, channels: [undefined, undefined], keys: [undefined, undefined], nonces: [undefined, undefined], state: 'pairing' };
      this.slots.set(id, slot);
      this.metrics.sessionOpened();
      const pairMs = this.opts.pairTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
      const s = slot;
      slot.timer = setTimeout(() => this.failSession(s, new TimeoutError(`session ${id}: P${1 - party} did not reach the dealer within ${pairMs} ms`)), pairMs);
    }
    if (slot.state !== 'pairing' || slot.channels[party]) {
      throw new ProtocolError(`session ${id}: P${party} is already connected to the dealer`, 'MPC_ERR_BAD_MESSAGE');
    }
    const nonce = newLinkNonce(), fields = { role: 'dealer', sessionId: id, nonce } as const;
    ch.send(HELLO_TAG, encodeHello({ ...fields, publicKey: this.opts.keys.publicKey, auth: helloAuth(this.opts.keys, hello.publicKey, fields) }));
    slot.channels[party] = ch;
    slot.keys[party] = hello.publicKey;
    slot.nonces[party] = [nonce, hello.nonce];
    const s = slot;
    // A party that leaves while pairing frees the slot.
    void ch.whenSocketClosed().then(() => {
      if (s.state === 'pairing') this.failSession(s, new ProtocolError(`session ${id}: P${party} left before pairing`, 'MPC_ERR_BAD_MESSAGE'));
    });
    if (slot.channels[0] && slot.channels[1]) this.serve(slot);
  }

  private serve(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.state = 'serving';
    const keys = this.opts.keys;
    const session = new DealerSession(
      agreeSeed(keys, slot.keys[0]!, slot.id, 'dealer-p0', slot.nonces[0]!),
      agreeSeed(keys, slot.keys[1]!, slot.id, 'dealer-p1', slot.nonces[1]!),
      this.limits,
    );
    this.log(`dealer: session ${slot.id} serving`);
    serveDealerSession(session, [slot.channels[0]!, slot.channels[1]!], this.registry).then(
      () => {
        // both parties closed their links; their close codes say how the session ended for them
        const outcome = outcomeFromCloseCodes(slot.channels.map((c) => c?.peerCloseCode));
        const codes = slot.channels.map((c, p) => `P${p} ${c?.peerCloseCode ?? 'none'}`).join(', ');
        this.log(`dealer: session ${slot.id} ${outcome}${outcome === 'done' ? '' : ` (close codes ${codes})`} (${session.bytesSent[0]} B to P0, ${session.bytesSent[1]} B to P1, largest request ${session.largestRequestBytes} B, largest backlog ${session.largestBacklogBytes} B, total work ${session.totalWork} word ops, most work ${session.largestRequestWork} word ops)`);
        this.free(slot, outcome);
      },
      (e: unknown) => this.failSession(slot, e),
    );
  }

  /** The one error handler of a session: close its links with the reason, free its queue. */
  private failSession(slot: Slot, err: unknown): void {
    if (slot.state === 'closed') return;
    this.log(`dealer: session ${slot.id} failed (${errorCode(err)}): ${(err as Error).message ?? ''}`);
    for (const c of slot.channels) c?.close(`dealer: session failed (${errorCode(err)})`);
    this.free(slot, 'failed');
  }

  private free(slot: Slot, outcome: SessionOutcome): void {
    if (slot.state === 'closed') return;
    slot.state = 'closed';
    this.metrics.sessionEnded(outcome);
    clearTimeout(slot.timer);
    if (this.slots.get(slot.id) === slot) this.slots.delete(slot.id);
    this.drainer.sessionEnded();
  }
}

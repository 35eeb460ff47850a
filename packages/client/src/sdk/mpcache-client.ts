/**
 * MpcacheClient — the client SDK: one WebSocket to each party (`<url>/client`), any number of
 * sessions over them. A read loop per party validates every message (the SDK's boundary) and
 * routes it to its session. A message the SDK cannot parse, or a lost connection, ends that party's
 * connection: every session still waiting on that party fails with the error (what the party sent
 * before is still delivered, so a session that already has the party's last message — e.g. a server
 * that drained and closed after its `done` — completes over the other connection), and the client
 * opens no new session.
 *
 * @example
 *   const client = await MpcacheClient.connect({ p0: 'ws://localhost:9000', p1: 'ws://localhost:9001' });
 *   const session = await client.openSession({ model: 'stories15m', maxNewTokens: 24 });
 *   for await (const t of session.generate(tokenizer.encode('Once upon a time', { bos: true }))) …
 *   client.close();
 */
import { randomBytes } from 'node:crypto';
import { ChannelClosedError, MAX_ENVELOPE_BYTES, WsChannel, type PartyId } from '@mpcache/mpc-core';

/** How long close() lets a party answer the WebSocket close before terminating the socket. */
const CLOSE_GRACE_MS = 1000;
import { samplingProblem } from '@mpcache/mpcache';
import { CLIENT_TAG, decodePartyMessage, errorFromWire, MAX_TOP_K, PARTY_TAG, publicKeyFromHex, SESSION_ID_PATTERN, type PartyMessage } from '@mpcache/party-server';
import { ClientSession, type SessionTransport } from './client-session';
import type { PartyKeyPins } from './session-seals';

export interface MpcacheClientOptions {
  /** Base URLs of the parties (ws://host:port). */
  readonly p0: string;
  readonly p1: string;
  /**
   * The parties' X25519 public keys (32 bytes or 64 hex digits each), pinned: a session with a party
   * that announces another key fails before the prompt leaves. Unpinned, the announced key is used.
   */
  readonly p0PublicKey?: Uint8Array | string;
  readonly p1PublicKey?: Uint8Array | string;
  /** wss:// parties: CA certificates (PEM) to trust besides the system's (a deployment's own CA). */
  readonly ca?: string | Buffer;
  readonly handshakeTimeoutMs?: number;
  /**
   * How long a session waits for a party's next message — its `opened` (the session's setup, which
   * may queue behind others on the servers), each token, `done` — before failing with TimeoutError
   * (and canceling on both parties). Default RESPONSE_TIMEOUT_MS (5 min).
   */
  readonly responseTimeoutMs?: number;
}

/** Default of MpcacheClientOptions.responseTimeoutMs. */
export const RESPONSE_TIMEOUT_MS = 300_000;

/**
 * Largest message a client accepts from a party: every party message is an envelope plus at most
 * a token's seal. A hostile party cannot make the client buffer more (its own sends, the prompt
 * shares, may be larger).
 */
export const CLIENT_MAX_RECV_BYTES = MAX_ENVELOPE_BYTES + 4 + 4096;

export interface OpenSessionOptions {
  readonly model: string;
  /** KV-cache policy; default "full". */
  readonly policy?: string;
  readonly maxNewTokens: number;
  /** Sampling temperature (public to the servers); default 0: greedy. */
  readonly temperature?: number;
  /** Top-k sampling (public to the servers; needs temperature > 0); default: no truncation. */
  readonly topK?: number;
  /** Top-p (nucleus) sampling within the top k (public; needs topK); default: none. */
  readonly topP?: number;
  /** A chat: several `generate` turns over one sequence, until `cancel` (public); default false. */
  readonly multiTurn?: boolean;
  /**
   * End each turn after this token id (e.g. EOS): the parties stop computing there instead of
   * producing maxNewTokens. Public, and it makes where the output stops public (1 round, 1 byte per
   * party and token); default none.
   */
  readonly stopToken?: number;
  /** Default: 16 random hex characters. */
  readonly sessionId?: string;
}

export class MpcacheClient implements SessionTransport {
  private readonly sessions = new Map<string, ClientSession>();
  private failure: Error | undefined;

  private constructor(
    private readonly channels: readonly [WsChannel, WsChannel],
    private readonly pins: PartyKeyPins,
    private readonly responseTimeoutMs: number,
  ) {
    for (const p of [0, 1] as const) void this.read(p);
  }

  static async connect(opts: MpcacheClientOptions): Promise<MpcacheClient> {
    const pins: PartyKeyPins = [pinnedKey(opts.p0PublicKey, 'p0PublicKey'), pinnedKey(opts.p1PublicKey, 'p1PublicKey')];
    const dial = async (url: string, who: string) => {
      try {
        return await WsChannel.connect(`${url.replace(/\/+$/, '')}/client`, {
          handshakeTimeoutMs: opts.handshakeTimeoutMs, ca: opts.ca, maxFrameBytes: CLIENT_MAX_RECV_BYTES, maxRecvMessageBytes: CLIENT_MAX_RECV_BYTES,
        });
      } catch (e) {
        throw new ChannelClosedError(`cannot reach ${who} at ${url}: ${(e as Error).message}`);
      }
    };
    const [c0, c1] = await Promise.allSettled([dial(opts.p0, 'P0'), dial(opts.p1, 'P1')]);
    if (c0.status === 'rejected' || c1.status === 'rejected') {
      for (const c of [c0, c1]) if (c.status === 'fulfilled') c.value.close('client giving up');
      throw (c0.status === 'rejected' ? c0.reason : (c1 as PromiseRejectedResult).reason) as Error;
    }
    return new MpcacheClient([c0.value, c1.value], pins, opts.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS);
  }

  /** Open a session on both parties (seeds, links, the job's setup); resolves once both are ready. */
  async openSession(opts: OpenSessionOptions): Promise<ClientSession> {
    if (this.failure) throw this.failure;
    const id = opts.sessionId ?? randomBytes(8).toString('hex');
    if (!SESSION_ID_PATTERN.test(id)) throw new RangeError(`"sessionId" expected 1–64 characters of [A-Za-z0-9_.-]`);
    if (this.sessions.has(id)) throw new RangeError(`session "${id}" is already open on this client`);
    const problem = samplingProblem(opts, MAX_TOP_K); // the servers check k against their vocabulary
    if (problem) throw new RangeError(problem);
    const s = new ClientSession(this, id, {
      model: opts.model, policy: opts.policy ?? 'full', maxNewTokens: opts.maxNewTokens, temperature: opts.temperature ?? 0, topK: opts.topK, topP: opts.topP,
      multiTurn: opts.multiTurn ?? false, stopToken: opts.stopToken, pins: this.pins, responseTimeoutMs: this.responseTimeoutMs,
    });
    this.sessions.set(id, s);
    await s.open();
    return s;
  }

  /**
   * Close both connections; the parties fail every session still open. A party that does not
   * answer the close within CLOSE_GRACE_MS has its socket terminated, so the process can exit.
   */
  close(): void {
    this.failAll(new ChannelClosedError('client closed'));
    for (const c of this.channels) {
      c.close('client closed');
      const timer = setTimeout(() => c.terminate('client closed: the party did not answer the close'), CLOSE_GRACE_MS);
      timer.unref();
      void c.whenSocketClosed().then(() => clearTimeout(timer));
    }
  }

  // ---------------------------------------------------------------- SessionTransport

  send(party: PartyId, request: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.channels[party].send(CLIENT_TAG, request);
  }

  forget(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  // ---------------------------------------------------------------- read loops

  private async read(party: PartyId): Promise<void> {
    const ch = this.channels[party];
    for (;;) {
      let m: PartyMessage;
      try {
        m = decodePartyMessage(await ch.recv(PARTY_TAG));
      } catch (e) {
        const err = e instanceof ChannelClosedError ? new ChannelClosedError(`connection to P${party} lost: ${e.message}`) : (e as Error);
        this.failure ??= err;
        for (const s of this.sessions.values()) s.inbox[party].fail(err);
        ch.close(`P${party} failed`);
        return;
      }
      if (m.sessionId === undefined) {
        // Only a connection-level error comes without a session: it concerns every session here.
        if (m.type === 'error') this.failAll(errorFromWire(m.error, `P${party}`));
        continue;
      }
      const s = this.sessions.get(m.sessionId);
      if (s) s.inbox[party].push(m);
      // else: a late message of a session this client already canceled
    }
  }

  private failAll(err: Error): void {
    this.failure ??= err;
    for (const s of this.sessions.values()) for (const q of s.inbox) q.fail(err);
    this.sessions.clear();
  }
}


/** A pinned key from bytes or hex; RangeError unless it is 32 bytes. */
function pinnedKey(k: Uint8Array | string | undefined, what: string): Uint8Array | undefined {
  if (k === undefined || k === '') return undefined;
  if (typeof k === 'string') return publicKeyFromHex(k, `"${what}"`);
  if (k.byteLength !== 32) throw new RangeError(`"${what}" expected 32 bytes, got ${k.byteLength}`);
  return Uint8Array.from(k);
}

/**
 * ClientConnection — a client's WebSocket to a party server (`ws://party/client`), which may carry
 * several sessions. One sequential read loop; each request is validated (STYLE §6) and dispatched.
 *
 * Failure mapping (the connection keeps serving after every row but the last two):
 *   malformed envelope, unknown type, bad field ... error reply { code MPC_ERR_BAD_MESSAGE }
 *   over-long prompt / maxNewTokens ............... error reply { code MPC_ERR_PROMPT_TOO_LONG / MPC_ERR_LIMIT }
 *   unknown session id (or another client's) ...... error reply SessionNotFoundError
 *   too many sessions ............................. error reply { code MPC_ERR_TOO_MANY_SESSIONS }
 *   bad frame / wrong tag / oversized frame ....... the connection is closed (1002/1009, reason = code);
 *   client disconnects ............................ every session of this connection fails: its peer
 *                                                   and dealer links close, the other servers free it.
 */
import type { WsChannel } from '@mpcache/mpc-core';
import { ChannelClosedError, SessionNotFoundError } from '@mpcache/mpc-core';
import type { ClientLink, PartySession } from './party-session';
import {
  CLIENT_TAG,
  encodePartyMessage,
  PARTY_TAG,
  parseClientRequest,
  readSessionId,
  type OpenRequest,
  type PartyMessage,
} from './wire/client-messages';
import { decodeMessage } from './wire/message-frame';
import { errorCode, errorFields } from './wire/wire-error';

/** What a connection needs from its server. */
export interface ConnectionHost {
  /** Create and start a session owned by `client`; throws on a duplicate id or too many sessions. */
  openSession(req: OpenRequest, client: ClientConnection): PartySession;
  /** The session with this id if `client` owns it. */
  findSession(id: string, client: ClientConnection): PartySession | undefined;
}

export class ClientConnection implements ClientLink {
  /** Sessions opened on this connection and not yet ended. */
  readonly sessions = new Set<PartySession>();

  constructor(
    private readonly host: ConnectionHost,
    private readonly channel: WsChannel,
  ) {}

  send(message: PartyMessage): void {
    if (this.channel.closed) return;
    try {
      this.channel.send(PARTY_TAG, encodePartyMessage(message));
    } catch {
      // the client went away meanwhile; its sessions fail through `serve`
    }
  }

  /** Read requests until the connection fails or closes. Never rejects. */
  async serve(): Promise<void> {
    for (;;) {
      let payload: Uint8Array;
      try {
        payload = await this.channel.recv(CLIENT_TAG);
      } catch (e) {
        this.drop(e);
        return;
      }
      this.handle(payload);
    }
  }

  private handle(payload: Uint8Array): void {
    let sessionId: string | undefined;
    try {
      const msg = decodeMessage(payload, 'client request');
      sessionId = readSessionId(msg.env);
      const req = parseClientRequest(msg);
      if (req.type === 'open') {
        const s = this.host.openSession(req, this);
        this.sessions.add(s);
        void s.open();
        return;
      }
      const s = this.host.findSession(req.sessionId, this);
      if (!s) throw new SessionNotFoundError(req.sessionId);
      if (req.type === 'generate') s.generate(req.promptTokens, req.sealed, req.maxNewTokens);
      else s.cancel();
    } catch (e) {
      this.send({ type: 'error', sessionId, error: errorFields(e) });
    }
  }

  /** The connection is unusable: fail its sessions, tell the client why if possible, close. */
  private drop(err: unknown): void {
    const lost = new ChannelClosedError(`client connection lost (${errorCode(err)})`);
    for (const s of [...this.sessions]) s.fail(lost);
    if (!this.channel.closed) {
      this.send({ type: 'error', error: errorFields(err) });
      this.channel.close(`client connection failed (${errorCode(err)})`);
    }
  }
}

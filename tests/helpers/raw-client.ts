/**
 * A client that speaks the party wire format directly (no SDK checks), to play a bad client and to
 * see exactly what a party sends. It seals like the SDK (ClientSeal): `open` sends this client's
 * key, an `opened` reply sets up the session's seal, `generate` seals a share, `tokenShare` opens one.
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPair, WsChannel } from '@mpcache/mpc-core';
import {
  CLIENT_TAG,
  ClientSeal,
  sealPlace,
  SEAL_OVERHEAD,
  decodeMessage,
  decodePartyMessage,
  encodeClientRequest,
  PARTY_TAG,
  type ClientRequest,
  type OpenRequest,
  type PartyMessage,
  type WireMessage,
} from '@mpcache/party-server';

export interface Received {
  readonly msg: PartyMessage;
  readonly raw: WireMessage;
}

export class RawClient {
  /** Every message received, in order. */
  readonly log: Received[] = [];
  /** This client's X25519 key pair (one for all its sessions). */
  readonly keys = generateKeyPair();
  private readonly seals = new Map<string, ClientSeal>();
  /** Turns a session has finished (`done` received): the turn of its next seals. */
  private readonly turns = new Map<string, number>();

  private constructor(readonly channel: WsChannel) {}

  static async connect(baseUrl: string): Promise<RawClient> {
    return new RawClient(await WsChannel.connect(`${baseUrl}/client`));
  }

  send(req: ClientRequest): void {
    this.channel.send(CLIENT_TAG, encodeClientRequest(req));
  }

  /** `open` with this client's key. */
  open(fields: Omit<OpenRequest, 'type' | 'clientKey'>): void {
    this.send({ type: 'open', ...fields, clientKey: this.keys.publicKey });
  }

  /** `generate` with `share` sealed for the session (random bytes of a seal's length before `opened`). */
  generate(sessionId: string, promptTokens: number, share: Uint8Array, maxNewTokens?: number): void {
    const seal = this.seals.get(sessionId), turn = this.turns.get(sessionId) ?? 0;
    const sealed = seal ? seal.seal(sealPlace.generate(turn, promptTokens), share) : randomBytes(share.byteLength + SEAL_OVERHEAD);
    this.send({ type: 'generate', sessionId, promptTokens, sealed, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}) });
  }

  /** This party's share of a token, opened from its seal. */
  tokenShare(m: Extract<PartyMessage, { type: 'token' }>): bigint {
    const seal = this.seals.get(m.sessionId);
    if (!seal) throw new Error(`no seal for session ${m.sessionId}`);
    const bytes = seal.open(sealPlace.token(this.turns.get(m.sessionId) ?? 0, m.index), m.sealed, 'token');
    return new BigUint64Array(Uint8Array.from(bytes).buffer)[0];
  }

  sendRaw(payload: Uint8Array, tag = CLIENT_TAG): void {
    this.channel.send(tag, payload);
  }

  async next(): Promise<PartyMessage> {
    const payload = await this.channel.recv(PARTY_TAG);
    const r = { msg: decodePartyMessage(payload), raw: decodeMessage(payload, 'party message') };
    this.log.push(r);
    const m = r.msg;
    if (m.type === 'opened') this.seals.set(m.sessionId, ClientSeal.agree('client', this.keys, m.publicKey, m.sessionId, m.info.party));
    if (m.type === 'done') this.turns.set(m.sessionId, (this.turns.get(m.sessionId) ?? 0) + 1);
    return m;
  }

  /** The next message, which must be of `type` (an error's fields are thrown as text otherwise). */
  async expect<T extends PartyMessage['type']>(type: T): Promise<Extract<PartyMessage, { type: T }>> {
    const m = await this.next();
    if (m.type !== type) throw new Error(`expected "${type}", got ${JSON.stringify(m.type === 'error' ? m.error : m.type)}`);
    return m as Extract<PartyMessage, { type: T }>;
  }

  close(): void {
    this.channel.close('test done');
  }
}

/** Poll `cond` every 10 ms until it holds (or fail after `ms`). */
export async function eventually(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

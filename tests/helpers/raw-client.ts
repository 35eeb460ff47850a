/**
 * A client that speaks the party wire format directly (no SDK checks), to play a bad client and to
 * see exactly what a party sends.
 */
import { WsChannel } from '@mpcache/mpc-core';
import {
  CLIENT_TAG,
  decodeMessage,
  decodePartyMessage,
  encodeClientRequest,
  PARTY_TAG,
  type ClientRequest,
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

  private constructor(readonly channel: WsChannel) {}

  static async connect(baseUrl: string): Promise<RawClient> {
    return new RawClient(await WsChannel.connect(`${baseUrl}/client`));
  }

  send(req: ClientRequest): void {
    this.channel.send(CLIENT_TAG, encodeClientRequest(req));
  }

  sendRaw(payload: Uint8Array, tag = CLIENT_TAG): void {
    this.channel.send(tag, payload);
  }

  async next(): Promise<PartyMessage> {
    const payload = await this.channel.recv(PARTY_TAG);
    const r = { msg: decodePartyMessage(payload), raw: decodeMessage(payload, 'party message') };
    this.log.push(r);
    return r.msg;
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

/**
 * A stand-in for P1 that holds P1's real key pair (local servers only, whose keys a test can read):
 * it pairs with P0 for one session on the wire — the peer link's and the dealer link's hellos, each
 * with its proof of key — and then does on the peer link whatever a test wants, such as ending the
 * session with or without the end notice. It runs no job: use it with jobs whose setup exchanges
 * nothing (the ring-recurrence job), up to the first generate.
 */
import { newLinkNonce, WsChannel } from '@mpcache/mpc-core';
import { decodeHello, encodeHello, helloAuth, HELLO_TAG, type LocalServers, type SessionParams } from '@mpcache/party-server';

export class StandInP1 {
  private constructor(
    /** The session's peer link to P0 (authenticated by both hellos). */
    readonly peer: WsChannel,
    readonly dealer: WsChannel,
  ) {}

  /** Dial P0 and the dealer for `sessionId` as P1 and wait for both hellos back. */
  static async pair(servers: LocalServers, sessionId: string, params: SessionParams): Promise<StandInP1> {
    const keys = servers.keys.p1;
    const hello = (to: Uint8Array, extra: { params?: SessionParams }) => {
      const fields = { role: 'p1', sessionId, nonce: newLinkNonce() } as const;
      return encodeHello({ ...fields, publicKey: keys.publicKey, auth: helloAuth(keys, to, fields), ...extra });
    };
    const peer = await WsChannel.connect(`${servers.p0.url}/session/${sessionId}/peer`);
    peer.send(HELLO_TAG, hello(servers.p0.publicKey, { params }));
    const dealer = await WsChannel.connect(`${servers.dealer.url}/session/${sessionId}/p1`);
    dealer.send(HELLO_TAG, hello(servers.dealer.publicKey, {}));
    decodeHello(await peer.recv(HELLO_TAG), 'p0', 'P0', sessionId);
    decodeHello(await dealer.recv(HELLO_TAG), 'dealer', 'dealer', sessionId);
    return new StandInP1(peer, dealer);
  }

  close(): void {
    this.peer.close('stand-in done');
    this.dealer.close('stand-in done');
  }
}

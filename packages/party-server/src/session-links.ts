/**
 * The links of one session, with their hellos: P_b → dealer (`/session/<id>/p<b>`) and P1 → P0
 * (`/session/<id>/peer`; on P0 the link arrives through the server's rendezvous). Each returns the
 * counterpart's public key (checked against a configured one) or the seed agreed with it.
 * Each end sends a fresh link nonce in its hello, and a proof of its key when it knows the other
 * end's (hello-auth.ts: the dialler with a configured key, the acceptor always); a seed is salted with both (seed-agreement.ts), so
 * a session never repeats an earlier session's masks, even under the same id.
 * `track` registers a link with its session, which closes it when the session ends.
 */
import { agreeSeed, ChannelClosedError, Ledger, newLinkNonce, ProtocolError, WsChannel, type LinkNonces } from '@mpcache/mpc-core';
import type { PartyServerConfig, PeerArrival } from './party-session';
import type { Rendezvous } from './rendezvous';
import { helloAuth } from './hello-auth';
import { receiveHello } from './hello-handshake';
import { encodeHello, encodeHelloError, HELLO_TAG, type SessionParams } from './wire/server-hello';

export type Track = (channel: WsChannel, who: string) => WsChannel;

export interface DealerLinkSetup {
  readonly channel: WsChannel;
  /** The seed agreed with the dealer (dealer-p<b>). */
  readonly seed: Uint8Array;
}

export interface PeerLinkSetup {
  readonly channel: WsChannel;
  /** Counts this session's online bytes and rounds. */
  readonly ledger: Ledger;
  readonly publicKey: Uint8Array;
  /** Both link nonces, P0's then P1's (the p0-p1 seed's salt). */
  readonly nonces: LinkNonces;
}

/** Dial the dealer, exchange hellos, agree the dealer seed. */
export async function connectDealer(cfg: PartyServerConfig, id: string, track: Track): Promise<DealerLinkSetup> {
  const me = cfg.role ? 'p1' : 'p0';
  // No ledger on this link: CorrelationSource counts the dealer's replies as offline bytes.
  const ch = track(await dial(`${cfg.dealerUrl}/session/${id}/${me}`, { handshakeTimeoutMs: cfg.handshakeTimeoutMs, maxFrameBytes: cfg.maxFrameBytes, ca: cfg.tlsCa }, 'the dealer'), 'the dealer');
  const nonce = newLinkNonce(), mine = { role: me, sessionId: id, nonce } as const;
  const auth = cfg.dealerPublicKey && helloAuth(cfg.keys, cfg.dealerPublicKey, mine);
  ch.send(HELLO_TAG, encodeHello({ ...mine, publicKey: cfg.keys.publicKey, ...(auth ? { auth } : {}) }));
  const hello = await receiveHello(ch, {
    role: 'dealer', from: 'dealer', sessionId: id, pinnedKey: cfg.dealerPublicKey, receiverKeys: cfg.keys, keyOwner: 'the dealer',
    timeoutMs: cfg.handshakeTimeoutMs, what: `session ${id}: dealer hello`,
  });
  return { channel: ch, seed: agreeSeed(cfg.keys, hello.publicKey, id, me === 'p0' ? 'dealer-p0' : 'dealer-p1', [hello.nonce, nonce]) };
}

/**
 * P1: dial P0 and exchange hellos (P0 answers once the session has its setup slot). P0: take P1's
 * link from the rendezvous, check the parameters, `admit` (wait for a setup slot), answer.
 */
export async function connectPeer(
  cfg: PartyServerConfig, id: string, params: SessionParams, arrivals: Rendezvous<PeerArrival>, track: Track, admit: () => Promise<void>,
): Promise<PeerLinkSetup> {
  if (cfg.role === 1) {
    const ledger = new Ledger();
    const opts = { ledger, link: cfg.link, recvTimeoutMs: cfg.roundTimeoutMs, handshakeTimeoutMs: cfg.handshakeTimeoutMs, maxFrameBytes: cfg.maxFrameBytes, ca: cfg.tlsCa };
    const ch = track(await dial(`${cfg.peerUrl}/session/${id}/peer`, opts, 'P0'), 'P0');
    const mine = { ...params, ...(cfg.job.shareSet ? { shareSet: cfg.job.shareSet } : {}) };
    const nonce = newLinkNonce(), fields = { role: 'p1', sessionId: id, nonce } as const;
    const auth = cfg.peerPublicKey && helloAuth(cfg.keys, cfg.peerPublicKey, fields);
    ch.send(HELLO_TAG, encodeHello({ ...fields, publicKey: cfg.keys.publicKey, params: mine, ...(auth ? { auth } : {}) }));
    // P0 holds the link until its own client's open arrives (pairTimeoutMs)
    const hello = await receiveHello(ch, {
      role: 'p0', from: 'P0', sessionId: id, pinnedKey: cfg.peerPublicKey, receiverKeys: cfg.keys,
      timeoutMs: cfg.pairTimeoutMs + cfg.handshakeTimeoutMs + cfg.setupQueueTimeoutMs, what: `session ${id}: P0 hello`,
    });
    return { channel: ch, ledger, publicKey: hello.publicKey, nonces: [hello.nonce, nonce] };
  }
  const a = await arrivals.wait(id, cfg.pairTimeoutMs, `session ${id}: link from P1`);
  track(a.channel, 'P1');
  const theirs = a.hello.params!;
  const show = (p: SessionParams) =>
    `(${p.model}, ${p.policy}, ${p.maxNewTokens}, T=${p.temperature ?? 0}${p.topK !== undefined ? `, k=${p.topK}` : ''}${p.topP !== undefined ? `, p=${p.topP}` : ''}${p.multiTurn ? ', multi-turn' : ''}${p.stopToken !== undefined ? `, stop at ${p.stopToken}` : ''})`;
  const shareSets = (theirs.shareSet ?? null) === (cfg.job.shareSet ?? null);
  if (show(theirs) !== show(params) || !shareSets) {
    const err = new ProtocolError(
      shareSets
        ? `session ${id}: P1 was opened with ${show(theirs)}, P0 with ${show(params)}`
        : `session ${id}: P0 and P1 hold shares of different sharings of the model (P0 ${cfg.job.shareSet ?? 'none'}, P1 ${theirs.shareSet ?? 'none'}): give both the files of one mpcache share-model run, or the same MPCACHE_OWNER_SEED`,
      'MPC_ERR_BAD_MESSAGE',
    );
    a.channel.send(HELLO_TAG, encodeHelloError(err));
    throw err;
  }
  await admit();
  const nonce = newLinkNonce(), fields = { role: 'p0', sessionId: id, nonce } as const;
  a.channel.send(HELLO_TAG, encodeHello({ ...fields, publicKey: cfg.keys.publicKey, auth: helloAuth(cfg.keys, a.hello.publicKey, fields) }));
  return { channel: a.channel, ledger: a.ledger, publicKey: a.hello.publicKey, nonces: [nonce, a.hello.nonce] };
}

/** WsChannel.connect whose failure names the counterpart and URL. */
async function dial(url: string, opts: Parameters<typeof WsChannel.connect>[1], who: string): Promise<WsChannel> {
  try {
    return await WsChannel.connect(url, opts);
  } catch (e) {
    throw new ChannelClosedError(`cannot reach ${who} at ${url.replace(/\/session\/.*$/, '')}: ${(e as Error).message}`);
  }
}

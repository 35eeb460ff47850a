/**
 * What a PartySession needs from its server: the resolved configuration, P1's links arriving at P0,
 * the end-of-session callback and the metrics — and where its messages to the client go.
 */
import type { KeyPair, Ledger, LinkProfile, PartyId, WsChannel } from '@mpcache/mpc-core';
import type { PartyJob } from './jobs/party-job';
import type { Rendezvous } from './rendezvous';
import type { ServerMetrics } from './server-metrics';
import type { SetupQueue } from './setup-queue';
import type { PartyMessage } from './wire/client-messages';
import type { ServerHello } from './wire/server-hello';
import type { PartySession } from './party-session';

/** The party server's resolved configuration, as sessions read it. */
export interface PartyServerConfig {
  readonly role: PartyId;
  readonly keys: KeyPair;
  readonly job: PartyJob;
  readonly dealerUrl: string;
  /** P1: P0's base URL. */
  readonly peerUrl?: string;
  readonly peerPublicKey?: Uint8Array;
  readonly dealerPublicKey?: Uint8Array;
  readonly handshakeTimeoutMs: number;
  /** How long one side of a session waits for the other party (or its client's open) to show up. */
  readonly pairTimeoutMs: number;
  readonly syncTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly roundTimeoutMs: number;
  /** How long a session may wait for a setup slot (P0's SetupQueue; P1 waits as long for P0's hello). */
  readonly setupQueueTimeoutMs: number;
  readonly link?: LinkProfile;
  /** Frame size of the peer and dealer links (default MAX_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
  /** Extra CA certificates (PEM) for dialing wss:// links. */
  readonly tlsCa?: string | Buffer;
  readonly log: (line: string) => void;
}

/** A link from P1 accepted by P0's server, waiting for its session. */
export interface PeerArrival {
  readonly channel: WsChannel;
  readonly ledger: Ledger;
  readonly hello: ServerHello;
}

export interface SessionHost {
  readonly config: PartyServerConfig;
  /** P0: links from P1 by session id. */
  readonly peerArrivals: Rendezvous<PeerArrival>;
  /** P0: the slots of concurrent session setups (both parties' setups follow P0's). */
  readonly setupQueue: SetupQueue;
  /** Called once when the session ends (done, failed or canceled). */
  sessionEnded(session: PartySession): void;
  /** Counters for `GET /metrics`. */
  readonly metrics: ServerMetrics;
}

/** Where a session's messages to its client go (a no-op once the client is gone). */
export interface ClientLink {
  send(message: PartyMessage): void;
}

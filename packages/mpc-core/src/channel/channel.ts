/**
 * The transport interface every protocol is written against. Implementations: memory-channel.ts
 * (tests, in-process) and ws-channel.ts (deployment). A protocol never knows which one it runs on.
 *
 * Semantics: a channel is one ordered, reliable, bidirectional link between two endpoints of one
 * session. `send` queues a tagged binary message (never blocks; emulated latency/bandwidth are
 * applied at delivery); a message longer than maxFrameBytes travels as several frames and is
 * delivered whole (outbox.ts, message-assembler.ts). `recv(tag)` resolves with the next message; if that message carries another
 * tag the channel fails with ProtocolError(MPC_ERR_BAD_TAG) — peers must agree on the message order.
 * After close (by either side, or a transport failure) every pending and later recv rejects with
 * ChannelClosedError, so no protocol hangs on a dead peer.
 */
import type { Ledger } from '../ledger/ledger';

export interface Channel {
  /** Queue a message. Throws ChannelClosedError if the channel is closed. */
  send(tag: number, payload: Uint8Array): void;
  /** The next message, which must carry `tag`. */
  recv(tag: number): Promise<Uint8Array>;
  /**
   * Run `fn` (synchronously); the messages it sends leave together where the transport can (one
   * write on a socket instead of one per message: a few small requests cost one system call and one
   * wake-up of the receiver). Order and ledger counts are those of plain sends.
   */
  sendTogether<T>(fn: () => T): T;
  /** Close both directions; pending receives reject with ChannelClosedError(reason). */
  close(reason?: string): void;
  readonly closed: boolean;
}

/** Emulated link: one-way latency and bandwidth applied to every message on send. */
export interface LinkProfile {
  latencyMs: number;
  bandwidthMbps: number;
}

export const LINK_PROFILES: Record<'none' | 'lan' | 'wan', LinkProfile | undefined> = {
  none: undefined,
  lan: { latencyMs: 0.5, bandwidthMbps: 1000 },
  wan: { latencyMs: 20, bandwidthMbps: 100 },
};

export interface ChannelOptions {
  /** Counts payload bytes and messages of this endpoint. */
  ledger?: Ledger;
  /** Emulated link applied to this endpoint's sends. */
  link?: LinkProfile;
  /** Reject a recv that waits longer than this (ms). */
  recvTimeoutMs?: number;
  /**
   * Largest frame sent or accepted (bytes); a longer message is sent as several frames and
   * reassembled by the receiver (frame.ts). Default MAX_FRAME_BYTES.
   */
  maxFrameBytes?: number;
  /** Largest message (one send, all its frames) sent or accepted (bytes). Default MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
  /** Largest message accepted, when it is less than what this endpoint may send (a client: small replies, large prompts). */
  maxRecvMessageBytes?: number;
}

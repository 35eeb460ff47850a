/**
 * The wire between a PartyCluster's orchestrator (the dealer, in this process) and its two parties
 * (worker threads or child processes; structured clone, so typed arrays and bigints pass as they
 * are). Only public data crosses: keys' PUBLIC halves, URLs, shapes, costs, timings.
 *
 *   party ──hello(publicKey, nonce)──▶ orchestrator ──init──▶ party
 *   P0 ──listening(url)──▶ orchestrator ──connect(url)──▶ P1        (P1 dials P0)
 *   party ──ready──▶ orchestrator;  then job(id) ──▶ jobDone(id) | failed(id), …;  close
 *
 * `Extra` is a cluster's own init fields (model, fracBits, net, …), `Job` and `Result` what its
 * parties run and answer, `Ready` what they report once set up.
 */

export type NetProfile = 'none' | 'lan' | 'wan';

/**
 * Who the party is, where the dealer listens, the public keys it agrees seeds with and the
 * counterparts' link nonces (seed salts: cluster-seeds.ts).
 */
export type PartyInitOf<Extra> = {
  readonly type: 'init';
  readonly party: 0 | 1;
  readonly sessionId: string;
  readonly dealerUrl: string;
  readonly dealerPublicKey: Uint8Array;
  readonly peerPublicKey: Uint8Array;
  /** The dealer's link nonce for this party. */
  readonly dealerNonce: Uint8Array;
  /** The peer's link nonce (from its hello). */
  readonly peerNonce: Uint8Array;
} & Extra;

/** P1 only: where P0 listens. */
export interface PartyConnect {
  readonly type: 'connect';
  readonly peerUrl: string;
}

/** One job (each party's request has its own id). */
export interface PartyJob<Job> {
  readonly type: 'job';
  readonly id: number;
  readonly job: Job;
}

export interface PartyClose {
  readonly type: 'close';
}

export type ToPartyOf<Extra, Job> = PartyInitOf<Extra> | PartyConnect | PartyJob<Job> | PartyClose;

export interface PartyHello {
  readonly type: 'hello';
  readonly publicKey: Uint8Array;
  /** The party's link nonce (fresh random bytes, mpc-core newLinkNonce). */
  readonly nonce: Uint8Array;
}

/** P0 only: the URL of its peer listener. */
export interface PartyListening {
  readonly type: 'listening';
  readonly url: string;
}

export interface PartyJobDone<Result> {
  readonly type: 'jobDone';
  readonly id: number;
  readonly result: Result;
}

/** An error of a job (`id`) or of the set-up (no id); name, message and code only. */
export interface PartyFailed {
  readonly type: 'failed';
  readonly id?: number;
  readonly error: { name: string; message: string; code?: string };
}

export interface PartyReadyBase {
  readonly type: 'ready';
}

export type FromPartyOf<Ready extends PartyReadyBase, Result> =
  | PartyHello
  | PartyListening
  | Ready
  | PartyJobDone<Result>
  | PartyFailed;

/** The `failed` message for an error thrown in a party (`id`: the job it belongs to, if any). */
export function partyFailure(e: Error & { code?: string }, id?: number): PartyFailed {
  return { type: 'failed', id, error: { name: e.name, message: e.message, code: e.code } };
}

/** The orchestrator's Error for a party's `failed` message. */
export function errorFromParty(m: PartyFailed): Error {
  return Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code });
}

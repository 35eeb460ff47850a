/**
 * A cluster party's two seeds (mpc-core seed-agreement.ts): with the dealer (the orchestrator) and
 * with its peer, each salted with the session id and the link's two nonces, so no two clusters share
 * a seed even if their keys or session ids repeated.
 */
import { agreeSeed, type KeyPair } from '@mpcache/mpc-core';
import type { PartyInitOf } from './party-messages';

export interface ClusterPartySeeds {
  /** dealer-p<b>: the party's correlations. */
  readonly dealerSeed: Uint8Array;
  /** p0-p1: the parties' common randomness. */
  readonly commonSeed: Uint8Array;
}

/** `nonce` is the one this party sent in its hello. */
export function clusterPartySeeds(keys: KeyPair, nonce: Uint8Array, m: PartyInitOf<unknown>): ClusterPartySeeds {
  return {
    dealerSeed: agreeSeed(keys, m.dealerPublicKey, m.sessionId, m.party === 0 ? 'dealer-p0' : 'dealer-p1', [m.dealerNonce, nonce]),
    commonSeed: agreeSeed(keys, m.peerPublicKey, m.sessionId, 'p0-p1', m.party === 0 ? [nonce, m.peerNonce] : [m.peerNonce, nonce]),
  };
}

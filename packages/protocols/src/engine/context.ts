/**
 * The explicit context every online protocol takes: who I am, the link to my peer, my ledger, my
 * dealer source, the fixed-point precision, and the PRGs I may use. No globals.
 */
import type { AesCtrPrg, Channel, Ledger, PartyId } from '@mpcache/mpc-core';
import type { CorrelationSource } from '../dealer/correlation-source';

export interface PartyContext {
  readonly party: PartyId;
  readonly channel: Channel;
  readonly ledger: Ledger;
  readonly dealer: CorrelationSource;
  readonly fracBits: number;
  /** PRG common to P0 and P1 (seed agreed between them): zero-sharings, public coins. */
  readonly common: AesCtrPrg;
  /** Message sequence number; both parties advance it identically (desync ⇒ MPC_ERR_BAD_TAG). */
  seq: number;
}

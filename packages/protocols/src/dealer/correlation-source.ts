/**
 * The party side of the dealer: `take(spec, params)` returns this party's material for the next
 * correlation, drawn from the party's own dealer stream plus the dealer's message (counted in the
 * ledger as offline bytes). A `DealerLink` carries the request to the dealer: in-process (tests,
 * single-process runs) or over a Channel to a dealer service (party-server).
 */
import { AesCtrPrg, type Ledger, type PartyId } from '@mpcache/mpc-core';
import { PartyGen, type CorrelationSpec } from './correlation';
import type { DealerSession } from './dealer-session';

export interface DealerLink {
  fetch<P>(index: number, spec: CorrelationSpec<P, unknown>, params: P): Promise<Uint8Array>;
}

export class InProcessDealerLink implements DealerLink {
  constructor(
    private readonly session: DealerSession,
    private readonly party: PartyId,
  ) {}

  async fetch<P>(index: number, spec: CorrelationSpec<P, unknown>, params: P): Promise<Uint8Array> {
    return this.session.fetch(this.party, index, spec, params);
  }
}

export class CorrelationSource {
  private readonly stream: AesCtrPrg;
  private index = 0;

  constructor(
    readonly party: PartyId,
    seedWithDealer: Uint8Array,
    private readonly link: DealerLink,
    private readonly ledger: Ledger,
  ) {
    this.stream = new AesCtrPrg(seedWithDealer);
  }

  async take<P, M>(spec: CorrelationSpec<P, M>, params: P): Promise<M> {
    const message = await this.link.fetch(this.index++, spec, params);
    this.ledger.recordOffline(message.length);
    const g = new PartyGen(this.party, this.stream, message);
    const material = spec.deal(g, params);
    g.finish(spec.name);
    return material;
  }
}

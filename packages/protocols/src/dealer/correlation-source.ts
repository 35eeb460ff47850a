/**
 * The party side of the dealer: `take(spec, params)` returns this party's material for the next
 * correlation, drawn from the party's own dealer stream plus the dealer's message (counted in the
 * ledger as offline bytes). A `DealerLink` carries the request to the dealer: in-process (tests,
 * single-process runs) or over a Channel to a dealer service (party-server).
 */
import { AesCtrPrg, ProtocolError, type Ledger, type PartyId } from '@mpcache/mpc-core';
import { PartyGen, type CorrelationSpec } from './correlation';
import type { DealerSession } from './dealer-session';
import { KeyedStreams } from './keyed-streams';

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

interface Prepared {
  readonly key: string;
  readonly material: unknown;
}

export interface CorrelationRequest {
  readonly spec: CorrelationSpec<unknown, unknown>;
  readonly params: unknown;
}

export class CorrelationSource {
  private readonly stream: AesCtrPrg;
  private readonly keyed: KeyedStreams;
  private index = 0;
  private readonly prepared: Prepared[] = [];
  /** When set, every take is appended here (to prefetch the same sequence for a later run). */
  recording: CorrelationRequest[] | undefined;

  constructor(
    readonly party: PartyId,
    seedWithDealer: Uint8Array,
    private readonly link: DealerLink,
    private readonly ledger: Ledger,
  ) {
    this.stream = new AesCtrPrg(seedWithDealer);
    this.keyed = new KeyedStreams(seedWithDealer);
  }

  /** Correlations taken so far, i.e. the session-unique index of the next one. */
  get taken(): number {
    return this.index;
  }

  async take<P, M>(spec: CorrelationSpec<P, M>, params: P): Promise<M> {
    this.recording?.push({ spec: spec as CorrelationSpec<unknown, unknown>, params });
    const ready = this.prepared.shift();
    if (ready) {
      const key = requestKey(spec, params);
      if (ready.key !== key) {
        throw new ProtocolError(`prefetched "${ready.key.split(':')[0]}" but the protocol asked for "${spec.name}"`, 'MPC_ERR_DEALER_MISMATCH');
      }
      return ready.material as M;
    }
    // Concurrent takes (fused branches) wait together: count the time at least one is waiting.
    if (this.waiting++ === 0) this.waitStart = performance.now();
    try {
      return await this.produce(spec, params);
    } finally {
      if (--this.waiting === 0) this.dealerWaitMs += performance.now() - this.waitStart;
    }
  }

  private waiting = 0;
  private waitStart = 0;

  /**
   * Milliseconds the online phase spent waiting for material that was not prefetched (dealer
   * round trip + generation + expanding this party's share). Benchmarks report online time with
   * and without it.
   */
  dealerWaitMs = 0;

  /**
   * Offline phase: fetch and expand the material for a known sequence of requests now, so the
   * online phase never waits on the dealer (public shapes make the sequence known in advance).
   */
  async prefetch(requests: readonly CorrelationRequest[]): Promise<void> {
    for (const r of requests) {
      const material = await this.produce(r.spec, r.params);
      this.prepared.push({ key: requestKey(r.spec, r.params), material });
    }
  }

  /** Number of prefetched correlations not yet used. */
  get preparedCount(): number {
    return this.prepared.length;
  }

  private async produce<P, M>(spec: CorrelationSpec<P, M>, params: P): Promise<M> {
    const message = await this.link.fetch(this.index++, spec, params);
    this.ledger.recordOffline(message.length);
    const g = new PartyGen(this.party, this.stream, message, this.keyed);
    const material = spec.deal(g, params);
    g.finish(spec.name);
    return material;
  }
}

function requestKey(spec: CorrelationSpec<unknown, unknown> | CorrelationSpec<never, unknown>, params: unknown): string {
  return `${spec.name}:${JSON.stringify(params)}`;
}

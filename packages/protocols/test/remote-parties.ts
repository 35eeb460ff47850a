/** Test helper: two parties whose dealer is a DealerSession served over memory channels. */
import { randomBytes } from 'node:crypto';
import { Ledger, MemoryChannel, type PartyId } from '@mpcache/mpc-core';
import {
  ChannelDealerLink,
  CorrelationSource,
  DealerSession,
  makePartyContext,
  serveDealerSession,
  type CorrelationRegistry,
  type DealerSessionOptions,
  type LocalParties,
} from '@mpcache/protocols';

export type Seeds = { dealerP0: Uint8Array; dealerP1: Uint8Array; common: Uint8Array };
export const newSeeds = (): Seeds => ({ dealerP0: randomBytes(16), dealerP1: randomBytes(16), common: randomBytes(16) });

export function remoteParties(seeds: Seeds, registry: CorrelationRegistry, dealer?: DealerSessionOptions) {
  const session = new DealerSession(seeds.dealerP0, seeds.dealerP1, dealer);
  const [p0d, d0] = MemoryChannel.pair();
  const [p1d, d1] = MemoryChannel.pair();
  const served = serveDealerSession(session, [d0, d1], registry);
  const ledgers = [new Ledger(), new Ledger()] as const;
  const peer = MemoryChannel.pair({ ledger: ledgers[0] }, { ledger: ledgers[1] });
  const links = [new ChannelDealerLink(p0d), new ChannelDealerLink(p1d)] as const;
  const make = (p: PartyId) =>
    makePartyContext(
      p,
      peer[p],
      ledgers[p],
      new CorrelationSource(p, p === 0 ? seeds.dealerP0 : seeds.dealerP1, links[p], ledgers[p]),
      seeds.common,
    );
  const parties: LocalParties = { ctx: [make(0), make(1)], dealer: session };
  /** The parties close their dealer links; resolves when the dealer's loops end. */
  const close = async () => {
    links.forEach((l) => l.close());
    await served;
  };
  return { parties, served, links, close, dealerEnds: [d0, d1] as const, partyEnds: [p0d, p1d] as const };
}

/**
 * Two parties and a dealer in one process, over an in-memory channel pair (tests, local runs,
 * benchmarks of the protocol layer). Seeds come from crypto.randomBytes unless given.
 */
import { randomBytes } from 'node:crypto';
import {
  AesCtrPrg,
  DEFAULT_FRAC_BITS,
  Ledger,
  MemoryChannel,
  type Channel,
  type ChannelOptions,
  type PartyId,
} from '@mpcache/mpc-core';
import { CorrelationSource, InProcessDealerLink } from '../dealer/correlation-source';
import { DealerSession, type DealerSessionOptions } from '../dealer/dealer-session';
import type { PartyContext } from './context';

export interface LocalPartiesOptions {
  fracBits?: number;
  /** Seeds (16 bytes each) for reproducible runs: dealer–P0, dealer–P1, P0–P1. */
  seeds?: { dealerP0: Uint8Array; dealerP1: Uint8Array; common: Uint8Array };
  channel?: { p0?: ChannelOptions; p1?: ChannelOptions };
  /** Use these channels instead of a memory pair (e.g. WebSocket endpoints). */
  channels?: [Channel, Channel];
  /** Options of the in-process dealer session (e.g. its keyed-mask memo budget). */
  dealer?: DealerSessionOptions;
}

export interface LocalParties {
  readonly ctx: [PartyContext, PartyContext];
  readonly dealer: DealerSession;
}

export function makePartyContext(
  party: PartyId,
  channel: Channel,
  ledger: Ledger,
  dealer: CorrelationSource,
  commonSeed: Uint8Array,
  fracBits = DEFAULT_FRAC_BITS,
): PartyContext {
  return { party, channel, ledger, dealer, fracBits, common: new AesCtrPrg(commonSeed), seq: 0 };
}

export function localParties(opts: LocalPartiesOptions = {}): LocalParties {
  const seeds = opts.seeds ?? { dealerP0: randomBytes(16), dealerP1: randomBytes(16), common: randomBytes(16) };
  const dealer = new DealerSession(seeds.dealerP0, seeds.dealerP1, opts.dealer);
  const ledgers = [new Ledger(), new Ledger()] as const;
  const channels =
    opts.channels ??
    MemoryChannel.pair({ ...opts.channel?.p0, ledger: ledgers[0] }, { ...opts.channel?.p1, ledger: ledgers[1] });
  const make = (p: PartyId) =>
    makePartyContext(
      p,
      channels[p],
      ledgers[p],
      new CorrelationSource(p, p === 0 ? seeds.dealerP0 : seeds.dealerP1, new InProcessDealerLink(dealer, p), ledgers[p]),
      seeds.common,
      opts.fracBits,
    );
  return { ctx: [make(0), make(1)], dealer };
}

/** Run the same protocol body on both parties concurrently; rejects if either side fails. */
export async function runBoth<T>(parties: LocalParties, body: (ctx: PartyContext) => Promise<T>): Promise<[T, T]> {
  const [c0, c1] = parties.ctx;
  const run = (c: PartyContext) =>
    body(c).catch((e: unknown) => {
      // A failing side closes its link so the other side fails too instead of hanging.
      c.channel.close(e instanceof Error ? e.name : 'error');
      throw e;
    });
  return Promise.all([run(c0), run(c1)]) as Promise<[T, T]>;
}

/**
 * The party's end of a remote dealer: `ChannelDealerLink` sends each correlation request over a
 * Channel to a dealer service (dealer-service.ts) and returns the raw dealer message, which
 * CorrelationSource then counts as offline bytes — the same bytes an InProcessDealerLink returns.
 *
 * Requests may be pipelined: CorrelationSource numbers them synchronously and `fetch` sends before
 * its first await, so requests leave in index order and replies (tag = index) come back in order.
 * Give the dealer channel its own ledger (or none): the party's online ledger must not count
 * dealer traffic as online bytes.
 */
import type { Channel } from '@mpcache/mpc-core';
import type { CorrelationSpec } from './correlation';
import type { DealerLink } from './correlation-source';
import { dealerTag, decodeDealerReply, encodeDealerRequest } from './dealer-wire';

export class ChannelDealerLink implements DealerLink {
  constructor(private readonly channel: Channel) {}

  async fetch<P>(index: number, spec: CorrelationSpec<P, unknown>, params: P): Promise<Uint8Array> {
    const tag = dealerTag(index);
    this.channel.send(tag, encodeDealerRequest({ index, name: spec.name, params }));
    const body = decodeDealerReply(await this.channel.recv(tag), index, spec.name);
    // Parts of a message are read as word views (correlation.ts readWords, the DPF keys' leaf words),
    // which need 8-byte alignment: a reply's body follows an 8-byte header (dealer-wire.ts), so it
    // is aligned whenever the channel delivers an aligned buffer; copy once here otherwise.
    return body.byteOffset % 8 === 0 ? body : new Uint8Array(body);
  }

  /** The requests `fn` sends leave in one write (Channel.sendTogether). */
  together<T>(fn: () => T): T {
    return this.channel.sendTogether(fn);
  }

  /** Tell the dealer this party is done (its serving loop for this party ends normally). */
  close(reason = 'party done'): void {
    this.channel.close(reason);
  }
}

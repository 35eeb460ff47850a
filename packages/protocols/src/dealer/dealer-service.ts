/**
 * The dealer service: serves one DealerSession to its two parties, each over its own Channel
 * (in deployment a WebSocket per (session, party); in tests a memory channel). Wire format in
 * dealer-wire.ts.
 *
 * Ordering: DealerSession.fetch must see each party's requests in index order. Each party's channel
 * is served by its own sequential loop that receives tag k only after replying to k − 1, so P0 and
 * P1 may run ahead of each other (the session queues the other half) but never out of order.
 *
 * Failure: any bad request — undecodable envelope, wrong index, unknown correlation name, params the
 * spec's `validate` rejects, a correlation larger than the session's `maxRequestBytes` (LimitError
 * MPC_ERR_DEALER_REQUEST_TOO_LARGE, refused before generating: dealer-session.ts) or taking more work
 * than its `maxRequestWork` (MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK, likewise) or taking the session
 * past its `maxSessionWork` (MPC_ERR_DEALER_SESSION_WORK, likewise), parties disagreeing
 * on a correlation — gets an error reply, then the session's channels to both parties are closed (the
 * session's streams are no longer in step) and `serveDealerSession` rejects with the error. Other
 * sessions are untouched: a service runs one `serveDealerSession` per session and routes its
 * rejection to one handler. A party closing its channel ends its loop normally.
 */
import { ChannelClosedError, ProtocolError, type Channel, type PartyId } from '@mpcache/mpc-core';
import type { CorrelationSpec } from './correlation';
import type { DealerSession } from './dealer-session';
import { dealerTag, decodeDealerRequest, encodeDealerError, encodeDealerReply } from './dealer-wire';

/** Specs differ in their params type; each validates its own params from the wire. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCorrelationSpec = CorrelationSpec<any, unknown>;

/** Correlation specs the dealer will generate, by wire name. */
export type CorrelationRegistry = ReadonlyMap<string, AnyCorrelationSpec>;

/** Build a registry from specs; throws on a duplicate name. */
export function correlationRegistry(specs: readonly AnyCorrelationSpec[]): CorrelationRegistry {
  const m = new Map<string, AnyCorrelationSpec>();
  for (const s of specs) {
    if (m.has(s.name) && m.get(s.name) !== s) throw new TypeError(`correlation name "${s.name}" registered twice`);
    m.set(s.name, s);
  }
  return m;
}

/** Serve both parties of one session until both close their channels; rejects on a bad request. */
export async function serveDealerSession(
  session: DealerSession,
  channels: readonly [Channel, Channel],
  registry: CorrelationRegistry,
): Promise<void> {
  const serve = (p: PartyId) =>
    serveDealerParty(session, p, channels[p], registry).catch((e: unknown) => {
      const code = (e as { code?: string }).code ?? 'error';
      for (const c of channels) c.close(`dealer session failed (${code})`);
      throw e;
    });
  await Promise.all([serve(0), serve(1)]);
}

/** Serve one party's requests in order until it closes its channel. */
export async function serveDealerParty(
  session: DealerSession,
  party: PartyId,
  channel: Channel,
  registry: CorrelationRegistry,
): Promise<void> {
  for (let index = 0; ; index++) {
    const tag = dealerTag(index);
    let request: Uint8Array;
    try {
      request = await channel.recv(tag);
    } catch (e) {
      if (e instanceof ChannelClosedError) return; // the party is done (or gone)
      throw rejectRequest(channel, tag, e as Error); // wrong tag, bad frame, timeout
    }
    let message: Uint8Array;
    try {
      message = answer(session, party, index, request, registry);
    } catch (e) {
      throw rejectRequest(channel, tag, e as Error);
    }
    try {
      channel.send(tag, encodeDealerReply(message));
    } catch (e) {
      if (e instanceof ChannelClosedError) return;
      throw rejectRequest(channel, tag, e as Error); // e.g. LimitError: reply larger than a frame
    }
  }
}

function answer(session: DealerSession, party: PartyId, index: number, bytes: Uint8Array, registry: CorrelationRegistry): Uint8Array {
  const req = decodeDealerRequest(bytes);
  if (req.index !== index) {
    throw new ProtocolError(`party ${party}: dealer request carries index ${req.index}, expected ${index}`, 'MPC_ERR_BAD_MESSAGE');
  }
  const spec = registry.get(req.name);
  if (!spec) throw new ProtocolError(`party ${party}: unknown correlation "${req.name}" (#${index})`, 'MPC_ERR_BAD_MESSAGE');
  let params: unknown;
  try {
    params = spec.validate(req.params);
  } catch (e) {
    throw new ProtocolError(`party ${party}: bad params for "${spec.name}" (#${index}): ${(e as Error).message}`, 'MPC_ERR_BAD_MESSAGE');
  }
  return session.fetch(party, index, spec, params);
}

/** Tell the party why (if the channel still works), close it, and return the error to throw. */
function rejectRequest(channel: Channel, tag: number, err: Error): Error {
  if (!channel.closed) {
    try {
      channel.send(tag, encodeDealerError(err));
    } catch {
      // the channel died meanwhile; closing below is all that is left to do
    }
    channel.close(`dealer rejected request (${(err as { code?: string }).code ?? err.name})`);
  }
  return err;
}

/**
 * PeerEndNotice — a session's end notice on its peer link (END_TAG, wire/server-hello.ts), so that
 * a client's cancel counts as canceled on both parties, not as canceled on one and failed on the other.
 *
 * Why: the client sends `cancel` to both parties, and over a real network the two arrive at
 * different times. The party whose cancel comes first sends its peer the notice just before it
 * closes the link; the peer ends the session as canceled — counted so in `/metrics` and the log —
 * instead of failing on the close that follows, and tells its client (a client that canceled
 * ignores it). A peer that closes without the notice still fails the session: that is a real failure.
 *
 * Trust: a party goes by what it has checked itself, never by what a client says. It sends the
 * notice once its own hello is out on the link, and takes one only once it has checked the other
 * end's hello (pinned key and proof of it, hello-auth.ts). On the way up the two differ per party:
 *
 *          may send from                                  takes from
 *   P1     its dial (its hello leaves in the same tick)   P0's hello
 *   P0     its own hello (after its setup slot)           taking P1's link (P1's hello checked on arrival)
 *
 * So a cancel that reaches P1 first, while P0 still waits for a setup slot, ends the session as
 * canceled on P0 too. The rest of the way up there is no notice, and the peer fails the session
 * unless its own client's cancel reaches it first: a cancel that reaches P0 before its hello is out
 * (P1 cannot yet tell P0 from anyone at P0's address), one that reaches P1 before its dial is
 * through, or a notice on P1's link while P0's server still holds the link for a session P0's
 * client has not opened yet (the close that follows drops it).
 */
import type { PartyId, WsChannel } from '@mpcache/mpc-core';
import { decodeSessionEnd, encodeSessionEnd, END_TAG, type SessionEndOutcome } from './wire/server-hello';

/** What the session does with a notice from its peer. */
export interface EndNoticeHandlers {
  /** A well-formed notice: the peer ended the session. */
  ended(outcome: SessionEndOutcome): void;
  /** A malformed one: the peer broke the protocol. */
  malformed(err: unknown): void;
}

export class PeerEndNotice {
  /** The peer link once this party's hello is out on it. */
  private sendLink?: WsChannel;

  constructor(
    private readonly role: PartyId,
    private readonly on: EndNoticeHandlers,
  ) {}

  /** connectPeer tracks the link: P1 has just dialled it, P0 has taken it from P1. */
  linkTracked(link: WsChannel): void {
    if (this.role === 1) this.sendLink = link;
    else this.listen(link);
  }

  /** Both hellos are through: P1 has checked P0's, P0 has sent its own. */
  linkUp(link: WsChannel): void {
    if (this.role === 1) this.listen(link);
    else this.sendLink = link;
  }

  /** Send the notice, if this party's hello is out; the session's close follows it on the link. */
  send(outcome: SessionEndOutcome): void {
    const link = this.sendLink;
    if (!link || link.closed) return;
    try {
      link.send(END_TAG, encodeSessionEnd(outcome));
    } catch {
      // the link died meanwhile: the peer sees the close and fails the session
    }
  }

  /** From now on a notice on `link`, even one already queued, reaches the handlers on arrival. */
  private listen(link: WsChannel): void {
    const from = `P${1 - this.role}`;
    link.divert(END_TAG, (payload) => {
      let outcome: SessionEndOutcome;
      try {
        outcome = decodeSessionEnd(payload, from);
      } catch (e) {
        this.on.malformed(e);
        return;
      }
      this.on.ended(outcome);
    });
  }
}

/**
 * How a party tells the dealer how its session ended: the WebSocket close code of its dealer link
 * (the dealer serves requests and has no other message a party could end with). 1000 — done;
 * 4001 — the party failed it; 4002 — its client canceled it. The dealer counts the session by the
 * worse of the two parties' codes: failed if either failed or left without a closing handshake
 * (1006) or with any other code, else canceled if either was canceled, else done. The code names
 * an outcome only, as the peers' end notice does (peer-end-notice.ts).
 */
import type { SessionOutcome } from './server-metrics';

export const SESSION_CLOSE_CODES: Readonly<Record<SessionOutcome, number>> = { done: 1000, failed: 4001, canceled: 4002 };

/** The session's outcome from both parties' close codes of their dealer links (undefined: the dealer closed first). */
export function outcomeFromCloseCodes(codes: readonly (number | undefined)[]): SessionOutcome {
  if (codes.some((c) => c !== SESSION_CLOSE_CODES.done && c !== SESSION_CLOSE_CODES.canceled)) return 'failed';
  return codes.includes(SESSION_CLOSE_CODES.canceled) ? 'canceled' : 'done';
}

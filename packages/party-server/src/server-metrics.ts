/**
 * ServerMetrics — counters a server exposes at `GET /metrics` in the Prometheus text format
 * (version 0.0.4): sessions now, sessions opened and ended by outcome, and for a party the tokens it
 * produced with their online and offline bytes and rounds. Public facts only: counts and sizes that
 * the protocol transcript shows anyway — no session ids, no shares, no token values.
 */
/**
 * How a session ended: `done` (a party: every token out and FIN both ways; the dealer: both parties
 * closed their links), `canceled` (the client's cancel, on a party whether it reached this party or
 * its peer first: the peer's end notice, party-session.ts), `failed` (anything else).
 */
export type SessionOutcome = 'done' | 'failed' | 'canceled';

export interface TokenCost {
  readonly bytesSent: number;
  readonly rounds: number;
  readonly offlineBytes: number;
}

export class ServerMetrics {
  private opened = 0;
  private readonly ended: Record<SessionOutcome, number> = { done: 0, failed: 0, canceled: 0 };
  private tokens = 0;
  private bytesSent = 0;
  private rounds = 0;
  private offlineBytes = 0;

  constructor(
    private readonly role: string,
    private readonly sessionsNow: () => number,
  ) {}

  sessionOpened(): void {
    this.opened++;
  }

  sessionEnded(outcome: SessionOutcome): void {
    this.ended[outcome]++;
  }

  /** A token left this party, with the cost its ledger measured for it. */
  token(c: TokenCost): void {
    this.tokens++;
    this.bytesSent += c.bytesSent;
    this.rounds += c.rounds;
    this.offlineBytes += c.offlineBytes;
  }

  /** The exposition text. */
  render(): string {
    const l = `role="${this.role}"`;
    const families = [
      family('mpcache_sessions', 'gauge', 'Sessions opening, ready or running.', [[l, this.sessionsNow()]]),
      family('mpcache_sessions_opened_total', 'counter', 'Sessions accepted since start.', [[l, this.opened]]),
      family('mpcache_sessions_ended_total', 'counter', 'Sessions ended since start, by outcome.',
        (['done', 'failed', 'canceled'] as const).map((o) => [`${l},outcome="${o}"`, this.ended[o]])),
    ];
    if (this.role !== 'dealer') {
      families.push(
        family('mpcache_tokens_total', 'counter', 'Tokens generated (this party sent its share of each) since start.', [[l, this.tokens]]),
        family('mpcache_online_bytes_sent_total', 'counter', 'Online bytes this party sent to the other for those tokens.', [[l, this.bytesSent]]),
        family('mpcache_rounds_total', 'counter', 'Communication rounds for those tokens.', [[l, this.rounds]]),
        family('mpcache_offline_bytes_total', 'counter', 'Dealer bytes this party received for those tokens.', [[l, this.offlineBytes]]),
      );
    }
    return `${families.flat().join('\n')}\n`;
  }
}

/** One metric family's lines: HELP, TYPE, then a sample per label set. */
function family(name: string, type: 'gauge' | 'counter', help: string, samples: readonly (readonly [string, number])[]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([labels, v]) => `${name}{${labels}} ${v}`)];
}

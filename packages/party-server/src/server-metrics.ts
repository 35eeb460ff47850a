/**
 * ServerMetrics — counters a server exposes at `GET /metrics` in the Prometheus text format
 * (version 0.0.4): sessions now, sessions opened and ended by outcome, and for a party the tokens it
 * produced with their online and offline bytes and rounds. Public facts only: counts and sizes that
 * the protocol transcript shows anyway — no session ids, no shares, no token values.
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
    const lines = [
      '# HELP mpcache_sessions Sessions opening, ready or running.',
      '# TYPE mpcache_sessions gauge',
      `mpcache_sessions{${l}} ${this.sessionsNow()}`,
      '# HELP mpcache_sessions_opened_total Sessions accepted since start.',
      '# TYPE mpcache_sessions_opened_total counter',
      `mpcache_sessions_opened_total{${l}} ${this.opened}`,
      '# HELP mpcache_sessions_ended_total Sessions ended since start, by outcome.',
      '# TYPE mpcache_sessions_ended_total counter',
      ...(['done', 'failed', 'canceled'] as const).map((o) => `mpcache_sessions_ended_total{${l},outcome="${o}"} ${this.ended[o]}`),
    ];
    if (this.role !== 'dealer') {
      lines.push(
        '# HELP mpcache_tokens_total Tokens generated (this party sent its share of each) since start.',
        '# TYPE mpcache_tokens_total counter',
        `mpcache_tokens_total{${l}} ${this.tokens}`,
        '# HELP mpcache_online_bytes_sent_total Online bytes this party sent to the other for those tokens.',
        '# TYPE mpcache_online_bytes_sent_total counter',
        `mpcache_online_bytes_sent_total{${l}} ${this.bytesSent}`,
        '# HELP mpcache_rounds_total Communication rounds for those tokens.',
        '# TYPE mpcache_rounds_total counter',
        `mpcache_rounds_total{${l}} ${this.rounds}`,
        '# HELP mpcache_offline_bytes_total Dealer bytes this party received for those tokens.',
        '# TYPE mpcache_offline_bytes_total counter',
        `mpcache_offline_bytes_total{${l}} ${this.offlineBytes}`,
      );
    }
    return `${lines.join('\n')}\n`;
  }
}

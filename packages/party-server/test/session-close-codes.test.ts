/**
 * The dealer's count of a session from its parties' close codes (session-close-codes.ts): the worse
 * of the two outcomes, and a link that ended without a known code (a drop, another code, or the
 * dealer's own close) counts as failed.
 */
import { outcomeFromCloseCodes, SESSION_CLOSE_CODES } from '../src/session-close-codes';

describe('outcomeFromCloseCodes', () => {
  const { done, failed, canceled } = SESSION_CLOSE_CODES;
  it.each([
    [[done, done], 'done'],
    [[canceled, done], 'canceled'],
    [[done, canceled], 'canceled'],
    [[canceled, canceled], 'canceled'],
    [[failed, done], 'failed'],
    [[canceled, failed], 'failed'],
    [[done, 1006], 'failed'], // a party dropped its link without a closing handshake
    [[done, 1001], 'failed'],
    [[done, undefined], 'failed'], // the dealer closed that link itself
  ] as const)('%j → %s', (codes, outcome) => {
    expect(outcomeFromCloseCodes(codes)).toBe(outcome);
  });

  it('uses codes a WebSocket close may carry (1000, or 4000–4999)', () => {
    expect(done).toBe(1000);
    for (const c of [failed, canceled]) expect(c >= 4000 && c <= 4999).toBe(true);
  });
});

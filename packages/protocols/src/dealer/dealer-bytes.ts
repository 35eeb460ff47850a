/**
 * DealerBytes — the size of one correlation's dealer messages, [to P0, to P1] in bytes, as a function
 * of the correlation's public params only, so it is known before anything is generated.
 *
 * Every spec states its size (CorrelationSpec.messageBytes, exact, built from the helpers below and
 * the per-primitive sizes next to each primitive: derivedTopBitsBytes, truncMaskBytes, dcfKeysBytes,
 * dpfKeysBytes). Two uses:
 *   - the dealer refuses a request whose total exceeds its limit BEFORE generating it
 *     (dealer-session.ts, MAX_DEALER_REQUEST_BYTES): elements alone say little, since one element
 *     costs 8 B as a Beaver word and over 2 KB as a 64-bit DCF key pair;
 *   - after generating, the dealer checks that the messages have exactly these sizes, so a spec and
 *     its size cannot drift apart (every test that takes a correlation checks it).
 * The cost formulas' offlineBytes are built from the same functions.
 */

/** Bytes of one correlation's dealer message to P0 and to P1. */
export type DealerBytes = readonly [toP0: number, toP1: number];

/** Nothing sent (material drawn from the parties' own streams only). */
export const NO_DEALER_BYTES: DealerBytes = [0, 0];

/** `bytes` to P0 only (correction words of derived values: P1's share comes from its stream). */
export const bytesToP0 = (bytes: number): DealerBytes => [bytes, 0];

/** The same `bytes` to each party (FSS correction words). */
export const bytesToBoth = (bytes: number): DealerBytes => [bytes, bytes];

/** The parts of one correlation together. */
export function sumDealerBytes(...parts: readonly DealerBytes[]): DealerBytes {
  let p0 = 0, p1 = 0;
  for (const [a, b] of parts) {
    p0 += a;
    p1 += b;
  }
  return [p0, p1];
}

/** Both parties' bytes together (the dealer's work, and the ledgers' offlineBytes of both parties). */
export const totalDealerBytes = (b: DealerBytes): number => b[0] + b[1];

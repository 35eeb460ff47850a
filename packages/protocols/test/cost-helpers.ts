/**
 * Exact-cost assertions shared by the protocol tests: a ledger cost (a scope's, or a measured
 * difference of totals) against a cost formula, on BOTH parties — rounds and bytes sent per party,
 * offline bytes as the dealer's bytes to both together and, where the protocol states it, their split.
 */
import type { Cost } from '@mpcache/mpc-core';
import { runBoth, type LocalParties, type PartyContext } from '@mpcache/protocols';

/** What a cost formula gives: bytesSent per party (one number when both send the same). */
export interface WantCost {
  readonly rounds: number;
  readonly bytesSent: number | readonly [number, number];
  readonly offlineBytes: number;
}

/** How the offline bytes split between the parties: all to P0, the same to each, or explicit. */
export type OfflineSplit = 'p0' | 'even' | readonly [number, number];

/** Assert two parties' costs (P0's, P1's) against `want`; `split`, when given, pins each party's offline bytes. */
export function expectCosts(used: readonly [Cost, Cost] | readonly Cost[], want: WantCost, split?: OfflineSplit): void {
  const sent = typeof want.bytesSent === 'number' ? [want.bytesSent, want.bytesSent] : want.bytesSent;
  expect(used.map((c) => c.rounds)).toEqual([want.rounds, want.rounds]);
  expect(used.map((c) => c.bytesSent)).toEqual([...sent]);
  expect(used[0].offlineBytes + used[1].offlineBytes).toBe(want.offlineBytes);
  if (split === 'p0') expect(used.map((c) => c.offlineBytes)).toEqual([want.offlineBytes, 0]);
  else if (split === 'even') expect(used.map((c) => c.offlineBytes)).toEqual([want.offlineBytes / 2, want.offlineBytes / 2]);
  else if (split) expect(used.map((c) => c.offlineBytes)).toEqual([...split]);
}

/** The cost every party's ledger attributes to `scope`. */
export function scopeCosts(parties: LocalParties, scope: string): [Cost, Cost] {
  return [parties.ctx[0].ledger.get(scope), parties.ctx[1].ledger.get(scope)];
}

/** Assert a scope's cost on both parties (see expectCosts). */
export function expectScopeCost(parties: LocalParties, scope: string, want: WantCost, split?: OfflineSplit): void {
  expectCosts(scopeCosts(parties, scope), want, split);
}

/**
 * Run `body` on both parties and return each party's ledger difference over the run, for protocols
 * without a scope of their own (building blocks that run inside their caller's scope).
 */
export async function measureBoth<T>(parties: LocalParties, body: (ctx: PartyContext) => Promise<T>): Promise<{ out: [T, T]; used: [Cost, Cost] }> {
  const before = parties.ctx.map((c) => c.ledger.snapshot());
  const out = await runBoth(parties, body);
  const used = parties.ctx.map((c, i) => {
    const a = c.ledger.snapshot(), b = before[i];
    return {
      rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, bytesReceived: a.bytesReceived - b.bytesReceived,
      messages: a.messages - b.messages, offlineBytes: a.offlineBytes - b.offlineBytes,
    };
  }) as [Cost, Cost];
  return { out, used };
}

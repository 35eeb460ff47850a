import type { Cost } from '@mpcache/mpc-core';
import { aggregateRow } from '../src/bench/decode/bench-decode';
import { median } from '../src/bench/median';
import type { PartyRowResult, PartyStep } from '../src/bench/decode/decode-messages';

const cost = (c: Partial<Cost>): Cost => ({ rounds: 0, bytesSent: 0, bytesReceived: 0, messages: 0, offlineBytes: 0, ...c });
const step = (sections: PartyStep['sections'], ms: number, cpuMs = 0, startAt = 0): PartyStep => ({
  kvLen: 10, ms, dealerWaitMs: 1, cpuMs, startAt, endAt: startAt + ms, speculation: { issued: 0, hits: 0, misses: 0, skipped: 0, onDemand: 0 },
  cost: cost({ rounds: 3, bytesSent: 80, bytesReceived: 80, offlineBytes: 500 }), keptByLayer: [10, 10], sections,
});
const party = (p: 0 | 1, steps: PartyStep[]): PartyRowResult => ({
  party: p, warmRows: 9, warmMs: 5, warmup: steps[0], warmupSteps: [steps[0]], steps, peakRssMB: 100 + p, maxRssMB: 120,
});

describe('bench decode: aggregating both parties\' rows', () => {
  it('sections: max of rounds, bytes and ms, sum of offline bytes; a section on one party only counts that party once', () => {
    const both = { rounds: 2, bytesSent: 40, bytesReceived: 40, messages: 2, offlineBytes: 300, ms: 7 };
    const p0 = party(0, [step({ both, p0only: { ...cost({ offlineBytes: 64 }), ms: 2 } }, 50), step({ both }, 30)]);
    const p1 = party(1, [step({ both: { ...both, ms: 9, offlineBytes: 100 }, p1only: { ...cost({ rounds: 1, bytesSent: 8, offlineBytes: 16 }), ms: 4 } }, 60), step({ both }, 40)]);
    const row = aggregateRow('full', 10, null, p0, p1, 0);
    expect(row.sections.both).toEqual({ rounds: 2, bytesSent: 40, offlineBytes: (400 + 600) / 2, ms: (9 + 7) / 2 });
    expect(row.sections.p0only).toEqual({ rounds: 0, bytesSent: 0, offlineBytes: 32, ms: 1 });
    expect(row.sections.p1only).toEqual({ rounds: 0.5, bytesSent: 4, offlineBytes: 8, ms: 2 });
    expect(row.msPerToken).toBe(50);
    expect(row.msPerTokenMedian).toBe(50); // steps of 60 and 40 ms (the slower party): the middle two's mean
    expect(row.peakRssMB).toEqual([100, 101]);
  });

  it('CPU per token: each party\'s mean over its steps, the dealer\'s over the span, and their sum', () => {
    const p0 = party(0, [step({}, 50, 40, 1000), step({}, 30, 60, 1060)]);
    const p1 = party(1, [step({}, 60, 30, 1001), step({}, 40, 50, 1062)]);
    const row = aggregateRow('mpcache', 10, 4, p0, p1, 90);
    expect(row.cpuMsByProcess).toEqual({ p0: 50, p1: 40, dealer: 45 });
    expect(row.cpuMsPerToken).toBe(135);
  });

  it('median: the middle step, or the mean of the middle two; one stalled step does not move it', () => {
    expect(median([5600, 16100, 6900])).toBe(6900);
    expect(median([40, 10, 30, 20])).toBe(25);
    const steps = [60, 62, 61, 300].map((ms, i) => step({}, ms, 0, i * 400));
    const row = aggregateRow('full', 10, null, party(0, steps), party(1, steps), 0);
    expect(row.msPerTokenMedian).toBe(61.5);
    expect(row.msPerToken).toBeCloseTo((60 + 62 + 61 + 300) / 4, 1);
  });
});

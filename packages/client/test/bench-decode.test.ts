/**
 * `bench decode` end to end: P0 and P1 in two real processes over loopback WebSockets, the dealer
 * in this process (tiny-llama, a 12-position context, 2 measured tokens). Checks the JSON schema of
 * ARCHITECTURE.md, that every reported cost is the parties' own ledger (cross-checked between the
 * two ledgers), and that those ledgers equal an in-process run of the same rows (both parties and
 * the dealer in one process, in-memory channel) step for step, exactly; a sampled run (--top-k)
 * goes through the oblivious top-k.
 *
 * Runs the compiled party code (npm test builds first; locally: npx tsc -b packages/client).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { Cost } from '@mpcache/mpc-core';
import { benchDecode, type BenchDecodeReport, type DecodeRow } from '../src/bench/decode/bench-decode';

const MODEL = 'tiny-llama', FRAC_BITS = 12, TOKENS = 2, SEQ = 12, BUDGET = 8;

/** The same rows in one process (fixtures/decode-row-in-process.js): [P0's, P1's] step costs per row. */
function inProcessCosts(rows: { policy: string; budget: number }[]): Promise<[Cost[], Cost[]][]> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'fixtures', 'decode-row-in-process.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: { costs?: [Cost[], Cost[]][]; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.costs!)));
    child.once('exit', (code) => reject(new Error(`in-process reference exited with code ${code}`)));
    child.send({ model: MODEL, fracBits: FRAC_BITS, rows: rows.map((r) => ({ ...r, seqLen: SEQ, tokens: TOKENS, warmupSteps: 1, seed: 'bench' })) });
  });
}

const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;

describe('bench decode (two party processes)', () => {
  let report: BenchDecodeReport;
  let reference: [Cost[], Cost[]][];
  const rows = [{ policy: 'full', budget: BUDGET }, { policy: 'streamingllm', budget: BUDGET }];

  beforeAll(async () => {
    [report, reference] = await Promise.all([
      benchDecode({ model: MODEL, seqLens: [SEQ], policies: rows.map((r) => r.policy), net: 'none', tokens: TOKENS, budget: BUDGET, fracBits: FRAC_BITS }),
      inProcessCosts(rows),
    ]);
  }, 120_000);

  it('writes the schema of ARCHITECTURE.md', () => {
    expect(report).toMatchObject({ model: MODEL, net: 'none', tokens: TOKENS, warmupSteps: 1, fracBits: FRAC_BITS });
    expect(report.rows.map((r) => [r.policy, r.seqLen])).toEqual([['full', SEQ], ['streamingllm', SEQ]]);
    for (const r of report.rows) {
      for (const k of ['msPerToken', 'msOnlinePerToken', 'bytesPerToken', 'roundsPerToken', 'offlineBytesPerToken', 'keptTokens'] as const) {
        expect(typeof r[k]).toBe('number');
        expect(r[k]).toBeGreaterThan(0);
      }
      expect(r.msOnlinePerToken).toBeLessThanOrEqual(r.msPerToken);
      expect(r.msPerTokenMax).toBe(Math.max(...r.steps.map((s) => s.ms)));
      expect(r.msPerTokenMedian).toBeGreaterThanOrEqual(Math.min(...r.steps.map((s) => s.ms)) - 0.05);
      expect(r.msPerTokenMedian).toBeLessThanOrEqual(r.msPerTokenMax + 0.05);
      expect(r.msPerTokenMax).toBeGreaterThanOrEqual(r.msPerToken);
      expect(r.peakRssMB).toHaveLength(2);
      for (const m of r.peakRssMB) expect(m).toBeGreaterThan(10);
      // CPU time of each process, measured (P0 and P1 compute every step; the dealer generates for it)
      const { p0, p1, dealer } = r.cpuMsByProcess;
      for (const c of [p0, p1, dealer]) expect(c).toBeGreaterThan(0);
      expect(Math.abs(r.cpuMsPerToken - (p0 + p1 + dealer))).toBeLessThanOrEqual(0.2);
      expect(r.steps).toHaveLength(TOKENS);
      expect(r.kvLen).toEqual([SEQ - TOKENS + 1, SEQ]); // the last measured step is at position n
      expect(r.warmupSteps.map((s) => s.kvLen)).toEqual([SEQ - TOKENS]); // one unmeasured step just before
    }
    expect(report.setup.maskBytesPerParty).toBeGreaterThan(0);
  });

  it('reports the rows attended: the context for the full cache, the budget for StreamingLLM', () => {
    const [full, streaming] = report.rows;
    expect(full.keptTokens).toBe(mean([SEQ - 1, SEQ]));
    expect(full.keptTokensByLayer).toEqual([mean([SEQ - 1, SEQ]), mean([SEQ - 1, SEQ])]);
    expect(streaming.keptTokens).toBe(BUDGET);
  });

  it('reports exactly the parties\' ledgers, which agree with each other', () => {
    for (const r of report.rows as DecodeRow[]) {
      const [l0, l1] = r.ledger;
      for (let i = 0; i < TOKENS; i++) {
        expect(l0[i].bytesSent).toBe(l1[i].bytesReceived);
        expect(l1[i].bytesSent).toBe(l0[i].bytesReceived);
        expect(l0[i].rounds).toBe(l1[i].rounds);
        expect(r.steps[i]).toMatchObject({
          bytes: Math.max(l0[i].bytesSent, l1[i].bytesSent),
          rounds: l0[i].rounds,
          offlineBytes: l0[i].offlineBytes + l1[i].offlineBytes,
        });
      }
      expect(r.bytesPerToken).toBe(mean(r.steps.map((s) => s.bytes)));
      expect(r.roundsPerToken).toBe(mean(r.steps.map((s) => s.rounds)));
      expect(r.offlineBytesPerToken).toBe(mean(r.steps.map((s) => s.offlineBytes)));
    }
  });

  it('costs over real sockets equal an in-process run of the same rows, step for step', () => {
    report.rows.forEach((r, i) => expect(r.ledger).toEqual(reference[i]));
  });

  it('--top-k: every row samples through the oblivious top-k, the report names the sampling', async () => {
    const sampling = { temperature: 1, topK: 4 };
    const r = await benchDecode({ model: MODEL, seqLens: [SEQ], policies: ['full'], net: 'none', tokens: 1, budget: BUDGET, fracBits: FRAC_BITS, sampling });
    expect(r.sampling).toEqual(sampling);
    expect(report.sampling).toBeUndefined(); // greedy rows carry none
    const topK = r.rows[0].sections['argmax/topK'];
    expect(topK.rounds).toBeGreaterThanOrEqual(4); // shuffle + at least one quick-select step
    expect(report.rows[0].sections['argmax/topK']).toBeUndefined();
  }, 120_000);

  it('rejects unknown policies and contexts beyond the model before starting any process', async () => {
    await expect(benchDecode({ model: MODEL, seqLens: [SEQ], policies: ['nope'], net: 'none', tokens: 1 })).rejects.toThrow(/unknown policy "nope"/);
    await expect(benchDecode({ model: MODEL, seqLens: [65], policies: ['full'], net: 'none', tokens: 1 })).rejects.toThrow(/context/);
    await expect(benchDecode({ model: 'gpt-5', seqLens: [SEQ], policies: ['full'], net: 'none', tokens: 1 })).rejects.toThrow(/unknown model/);
    // 12 positions hold 9 measured steps, the warm-up token and one unmeasured step, and a prompt of 1
    await expect(benchDecode({ model: MODEL, seqLens: [SEQ], policies: ['full'], net: 'none', tokens: 10 })).rejects.toThrow(/too short for 10 \+ 2 tokens/);
    await expect(benchDecode({ model: MODEL, seqLens: [SEQ], policies: ['full'], net: 'none', tokens: 1, warmupSteps: -1 })).rejects.toThrow(/warmupSteps/);
  });
});

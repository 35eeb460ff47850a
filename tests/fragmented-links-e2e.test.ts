/**
 * Messages longer than a frame, end to end: dealer + P0 + P1 in this process on loopback WebSockets,
 * tiny-llama (seeded random weights), once with the default frame limit and once with a 4 KiB limit
 * on the peer and dealer links — so the embedding's mask (vocab × dModel words, the opening that
 * outgrew MAX_FRAME_BYTES on gpt2-small), the weight masks and the larger dealer messages travel as
 * several frames. The secure tokens equal the float64 reference's in both runs, and every per-token
 * cost (rounds, bytes each way, dealer bytes) is the same: fragmentation is invisible to the ledger.
 */
import { MessageAssembler } from '@mpcache/mpc-core';
import { randomWeights, ReferenceDecoder, TINY_LLAMA } from '@mpcache/mpcache';
import { localWeightShares, secureGenerateJob, startLocalServers } from '@mpcache/party-server';
import { MpcacheClient, type GeneratedToken } from '@mpcache/client';

const SEED = 11; // random weights on which secure and float64 greedy tokens agree (generate-e2e.test.ts)
const PROMPT = [1, 17, 42, 5, 63, 8];
const NEW_TOKENS = 4;
const SMALL_FRAME_BYTES = 4096;

/** One session's tokens, and the lengths of the messages that arrived in several frames meanwhile (this process). */
async function run(maxFrameBytes?: number): Promise<{ tokens: GeneratedToken[]; fragmented: number[] }> {
  const push = jest.spyOn(MessageAssembler.prototype, 'push');
  const servers = await startLocalServers({
    job: (p) => secureGenerateJob({ shares: localWeightShares(p, TINY_LLAMA.name, { randomWeightsSeed: SEED }) }),
    party: { maxFrameBytes },
    dealer: { maxFrameBytes },
  });
  try {
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: NEW_TOKENS });
      const tokens: GeneratedToken[] = [];
      for await (const t of s.generate(PROMPT)) tokens.push(t);
      const firsts = push.mock.calls.map(([h]) => h).filter((h) => !h.continues && h.payloadBytes < h.messageBytes);
      return { tokens, fragmented: firsts.map((h) => h.messageBytes) };
    } finally {
      client.close();
    }
  } finally {
    push.mockRestore();
    await servers.close();
  }
}

/** A token's communication cost (times left out). */
const cost = (t: GeneratedToken) => ({
  rounds: t.rounds,
  bytes: t.bytes,
  offlineBytes: t.offlineBytes,
  parties: t.parties.map(({ rounds, bytesSent, bytesReceived, offlineBytes }) => ({ rounds, bytesSent, bytesReceived, offlineBytes })),
});

describe('party servers with a 4 KiB frame limit on their links (tiny-llama)', () => {
  it('fragments the larger messages; tokens equal the float64 reference; per-token costs equal the unfragmented run', async () => {
    // The embedding is masked in one opening of vocab × dModel words: several small frames.
    const embeddingOpeningBytes = TINY_LLAMA.vocabSize * TINY_LLAMA.dModel * 8;
    expect(embeddingOpeningBytes).toBeGreaterThan(3 * SMALL_FRAME_BYTES);
    const want = new ReferenceDecoder(randomWeights(TINY_LLAMA, SEED), TINY_LLAMA).generateGreedy(PROMPT, NEW_TOKENS);

    const whole = await run();
    const fragmented = await run(SMALL_FRAME_BYTES);

    expect(whole.fragmented).toEqual([]);
    // each party receives the other's share of the embedding opening in fragments
    expect(fragmented.fragmented.filter((n) => n === embeddingOpeningBytes).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...fragmented.fragmented)).toBeGreaterThan(SMALL_FRAME_BYTES);
    expect(whole.tokens.map((t) => Number(t.value))).toEqual(want);
    expect(fragmented.tokens.map((t) => Number(t.value))).toEqual(want);
    expect(fragmented.tokens.map(cost)).toEqual(whole.tokens.map(cost));
    for (const t of fragmented.tokens) {
      expect(t.parties[0].rounds).toBe(t.parties[1].rounds);
      expect(t.parties[0].bytesSent).toBe(t.parties[1].bytesReceived);
    }
  });
});

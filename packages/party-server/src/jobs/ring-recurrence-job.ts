/**
 * ringRecurrenceJob — a tiny autoregressive job on secret shares, to test the session machinery
 * (client shares in, token shares out, dealer and peer links, per-token costs) in milliseconds.
 *
 * Sequence: y_0 … y_{n−1} = the client's prompt words; y_t = y_{t−1} · y_{t−n} + 1 mod 2^64.
 * Turns (multi-turn sessions): a later turn's prompt words are appended to the sequence, which then
 * goes on by the same rule (n stays the first prompt's length).
 * Rounds:    1 per new token (one beaverMul)
 * Online:    16 B sent per party per token (beaverMulCost(1))
 * Offline:   one multiplication triple per token (8 B to P0)
 * Accuracy:  exact in the ring; `ringRecurrenceReference` is the plaintext reference
 * Opens:     only Beaver's masked differences; the outputs stay shared
 * Steps:     1. y = beaverMul(y_{t−1}, y_{t−n})   2. P0 adds the public 1   3. yield the share
 */
import { MAX_NEW_TOKENS, MAX_PROMPT_TOKENS, tensor, type RingTensor } from '@mpcache/mpc-core';
import { beaverMul, type PartyContext } from '@mpcache/protocols';
import type { JobRun, PartyJob } from './party-job';

export const RING_RECURRENCE_MODEL = 'ring-recurrence';

export function ringRecurrenceJob(): PartyJob {
  return {
    model: RING_RECURRENCE_MODEL,
    policies: ['full'],
    input: 'ids',
    vocabSize: 0,
    maxContext: MAX_PROMPT_TOKENS + MAX_NEW_TOKENS,
    fracBits: 0,
    start: async (ctx: PartyContext): Promise<JobRun> => {
      const seq: bigint[] = [];
      let lag = 0;
      return {
        generate: (prompt, maxNewTokens) => {
          lag ||= prompt.data.length;
          return recurrence(ctx, seq, lag, prompt, maxNewTokens);
        },
      };
    },
  };
}

/** Append the prompt's words to `seq` (this party's shares) and extend it by maxNewTokens words. */
async function* recurrence(ctx: PartyContext, seq: bigint[], n: number, prompt: RingTensor, maxNewTokens: number): AsyncGenerator<bigint> {
  seq.push(...prompt.data);
  const start = seq.length;
  const y = new BigUint64Array(start + maxNewTokens);
  y.set(seq);
  const one = ctx.party === 0 ? 1n : 0n;
  for (let t = start; t < start + maxNewTokens; t++) {
    // 1. y_{t−1} · y_{t−n}
    const p = await beaverMul(ctx, tensor([1], y.subarray(t - 1, t).slice()), tensor([1], y.subarray(t - n, t - n + 1).slice()));
    // 2. + 1 (public constant: P0 only)
    y[t] = BigInt.asUintN(64, p.data[0] + one);
    // 3. this party's share of the new "token"
    seq.push(y[t]);
    yield y[t];
  }
}

/** The plaintext sequence the job computes on shares. */
export function ringRecurrenceReference(prompt: readonly bigint[], maxNewTokens: number): bigint[] {
  return ringRecurrenceTurns([{ prompt, maxNewTokens }])[0];
}

/** The plaintext new words of each turn of a multi-turn session. */
export function ringRecurrenceTurns(turns: readonly { prompt: readonly bigint[]; maxNewTokens: number }[]): bigint[][] {
  const y: bigint[] = [], n = turns[0].prompt.length;
  return turns.map(({ prompt, maxNewTokens }) => {
    y.push(...prompt.map((v) => BigInt.asUintN(64, v)));
    const start = y.length;
    for (let t = start; t < start + maxNewTokens; t++) y.push(BigInt.asUintN(64, y[t - 1] * y[t - n] + 1n));
    return y.slice(start);
  });
}

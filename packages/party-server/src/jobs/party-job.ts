/**
 * The job a party server runs inside a session, behind a small interface so the session machinery
 * (links, seeds, limits, errors, streaming) does not depend on what is computed:
 *   - `secure-generate-job.ts`: the secure transformer (greedy decoding of a secret prompt);
 *   - `ring-recurrence-job.ts`: a tiny real MPC job for fast tests of the machinery.
 * Both parties run the same job on their shares; the job yields this party's share of each new
 * token id, never the id itself.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import type { SamplingParams } from '@mpcache/mpcache';
import type { InputEncoding } from '../wire/client-messages';

/** A session's public parameters, sampling included (SamplingParams: greedy when absent). */
export interface JobParams extends SamplingParams {
  /** Several turns: `generate` is called once per turn, each continuing the same sequence. */
  readonly multiTurn?: boolean;
  /** End a turn after this token id (the iterator then finishes early); only jobs with a vocabulary. */
  readonly stopToken?: number;
  readonly sessionId: string;
  readonly policy: string;
  readonly maxNewTokens: number;
}

export interface PartyJob {
  /** The model this server serves; a client's `open` must name it. */
  readonly model: string;
  /** KV-cache policies a client may ask for; the first is the default. */
  readonly policies: readonly string[];
  /** Why a known policy is not offered (shown in the client's error), e.g. no trained gate. */
  readonly unavailablePolicies?: Readonly<Record<string, string>>;
  /** How the client encodes the prompt: token ids, or one-hot rows of vocabSize words. */
  readonly input: InputEncoding;
  /** Token ids are < vocabSize (0: outputs are ring elements, not tokens). */
  readonly vocabSize: number;
  /** promptTokens + maxNewTokens − 1 ≤ maxContext. */
  readonly maxContext: number;
  readonly fracBits: number;
  /**
   * The id of the owner's sharing this job serves (public; the share file's `shareSet`). P1 sends it
   * in its hello and P0 refuses a session whose parties hold shares of different sharings.
   */
  readonly shareSet?: string;
  /** Per session, once the peer and dealer links are up: set up (e.g. mask the weights). */
  start(ctx: PartyContext, params: JobParams): Promise<JobRun>;
}

export interface JobRun {
  /**
   * This party's share of each new token id, in order, maxNewTokens of them (fewer when the session
   * has a stopToken and the turn produced it: the iterator ends right after it). `prompt` is this
   * party's share, shape (promptTokens) for 'ids' or (promptTokens, vocabSize) for 'onehot'.
   * Called once per turn: a later call continues the sequence after the earlier turns' prompts and
   * every token they generated (the last generated token enters the context first).
   */
  generate(prompt: RingTensor, maxNewTokens: number): AsyncIterable<bigint>;
}

/** Words per prompt token in the client's share. */
export function inputWidth(job: Pick<PartyJob, 'input' | 'vocabSize'>): number {
  return job.input === 'onehot' ? job.vocabSize : 1;
}

/**
 * A session's public options besides model, policy and maxNewTokens — sampling (temperature, topK,
 * topP), multiTurn and stopToken — as envelope fields of a client's `open` and of P1's hello to P0 (which must
 * carry the same). One encoder and one validator for both messages.
 */
import { ProtocolError, type Envelope } from '@mpcache/mpc-core';
import { samplingProblem, type SamplingParams } from '@mpcache/mpcache';

/** The optional envelope keys of SamplingParams. */
export const SAMPLING_KEYS: readonly string[] = ['temperature', 'topK', 'topP'];
/** Largest top-k a message may carry (the job checks it against its vocabulary). */
export const MAX_TOP_K = 1 << 20;

/** The sampling fields to put in an envelope: only those that differ from greedy / no truncation. */
export function samplingFields(p: SamplingParams): SamplingParams {
  return {
    ...(p.temperature ? { temperature: p.temperature } : {}), ...(p.topK !== undefined ? { topK: p.topK } : {}), ...(p.topP !== undefined ? { topP: p.topP } : {}),
  };
}

/** The optional session fields of an open / hello: sampling, multiTurn and stopToken. */
export const SESSION_OPTION_KEYS: readonly string[] = [...SAMPLING_KEYS, 'multiTurn', 'stopToken'];
/** Largest stop token id a message may carry (the job checks it against its vocabulary). */
export const MAX_STOP_TOKEN = 2 ** 31 - 1;

/** A session's options besides model, policy and maxNewTokens (public; both parties must agree). */
export interface SessionOptions extends SamplingParams {
  readonly multiTurn?: boolean;
  /**
   * A token id (e.g. EOS) at which a turn ends early: the parties open, after each token, whether it
   * is this one (1 round, 1 byte per party), so where the output stops becomes public.
   */
  readonly stopToken?: number;
}

/** The session option fields to put in an envelope: sampling as samplingFields, the others when set. */
export function sessionOptionFields(p: SessionOptions): SessionOptions {
  return { ...samplingFields(p), ...(p.multiTurn ? { multiTurn: true } : {}), ...(p.stopToken !== undefined ? { stopToken: p.stopToken } : {}) };
}

/** The optional session fields of an open / hello (envelopeSampling; multiTurn a boolean; stopToken an id). */
export function envelopeSessionOptions(env: Envelope, what: string): SessionOptions {
  const m = env.multiTurn, stop = env.stopToken;
  if (m !== undefined && typeof m !== 'boolean') throw new ProtocolError(`${what}: field "multiTurn" expected a boolean`, 'MPC_ERR_BAD_MESSAGE');
  if (stop !== undefined && !(typeof stop === 'number' && Number.isSafeInteger(stop) && stop >= 0 && stop <= MAX_STOP_TOKEN)) {
    throw new ProtocolError(`${what}: field "stopToken" expected an integer in [0, ${MAX_STOP_TOKEN}]`, 'MPC_ERR_BAD_MESSAGE');
  }
  return { ...envelopeSampling(env, what), ...(m ? { multiTurn: true } : {}), ...(stop !== undefined ? { stopToken: stop as number } : {}) };
}

/** The optional sampling fields of an open / hello, checked by samplingProblem (MAX_TOP_K bounds k). */
export function envelopeSampling(env: Envelope, what: string): SamplingParams {
  const p = { temperature: env.temperature, topK: env.topK, topP: env.topP } as SamplingParams;
  const problem = samplingProblem(p, MAX_TOP_K);
  if (problem) throw new ProtocolError(`${what}: field ${problem}`, 'MPC_ERR_BAD_MESSAGE');
  return samplingFields(p);
}

/**
 * A session's public options besides model, policy and maxNewTokens — sampling (temperature, topK,
 * topP) and multiTurn — as envelope fields of a client's `open` and of P1's hello to P0 (which must
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

/** The optional session fields of an open / hello: sampling and multiTurn. */
export const SESSION_OPTION_KEYS: readonly string[] = [...SAMPLING_KEYS, 'multiTurn'];

/** A session's options besides model, policy and maxNewTokens (public; both parties must agree). */
export interface SessionOptions extends SamplingParams {
  readonly multiTurn?: boolean;
}

/** The session option fields to put in an envelope: sampling as samplingFields, multiTurn only when true. */
export function sessionOptionFields(p: SessionOptions): SessionOptions {
  return { ...samplingFields(p), ...(p.multiTurn ? { multiTurn: true } : {}) };
}

/** The optional session fields of an open / hello (envelopeSampling, and multiTurn: a boolean). */
export function envelopeSessionOptions(env: Envelope, what: string): SessionOptions {
  const m = env.multiTurn;
  if (m !== undefined && typeof m !== 'boolean') throw new ProtocolError(`${what}: field "multiTurn" expected a boolean`, 'MPC_ERR_BAD_MESSAGE');
  return { ...envelopeSampling(env, what), ...(m ? { multiTurn: true } : {}) };
}

/** The optional sampling fields of an open / hello, checked by samplingProblem (MAX_TOP_K bounds k). */
export function envelopeSampling(env: Envelope, what: string): SamplingParams {
  const p = { temperature: env.temperature, topK: env.topK, topP: env.topP } as SamplingParams;
  const problem = samplingProblem(p, MAX_TOP_K);
  if (problem) throw new ProtocolError(`${what}: field ${problem}`, 'MPC_ERR_BAD_MESSAGE');
  return samplingFields(p);
}

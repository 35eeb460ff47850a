/** Messages between the local-cluster orchestrator (main thread, dealer) and its party workers (party-messages.ts). */
import type { PartyCaseResult } from '../bench/run-op-case';
import type { FromPartyOf, NetProfile, PartyInitOf, PartyReadyBase, ToPartyOf } from './party-messages';

/** The local cluster's own init fields. */
export interface WorkerSetup {
  readonly fracBits: number;
  readonly net: NetProfile;
}

/** One bench op case, `reps` timed repetitions. */
export interface BenchOpJob {
  readonly name: string;
  readonly reps: number;
  readonly seed: string;
}

export type WorkerInit = PartyInitOf<WorkerSetup>;
export type ToWorker = ToPartyOf<WorkerSetup, BenchOpJob>;
export type FromWorker = FromPartyOf<PartyReadyBase, PartyCaseResult>;

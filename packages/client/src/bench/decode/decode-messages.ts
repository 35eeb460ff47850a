/**
 * IPC messages between the `bench decode` orchestrator (dealer, main process) and its two party
 * processes (child_process.fork with `serialization: 'advanced'`, so typed arrays and bigints pass
 * as they are): the PartyCluster wire (cluster/party-messages.ts) with a decode row as the job.
 * Only public data crosses: keys' PUBLIC halves, URLs, shapes, costs, timings.
 */
import type { SamplingParams } from '@mpcache/mpcache';
import type { SpeculationStats } from '@mpcache/protocols';
import type { Cost } from '@mpcache/mpc-core';
import type { FromPartyOf, NetProfile, PartyInitOf, ToPartyOf } from '../../cluster/party-messages';

export type { NetProfile } from '../../cluster/party-messages';

/** The decode cluster's own init fields. */
export interface DecodePartySetup {
  readonly model: string;
  readonly fracBits: number;
  readonly net: NetProfile;
}

export type PartyInit = PartyInitOf<DecodePartySetup>;

/** One row of the report: a policy at a context length, `tokens` measured decoding steps. */
export interface DecodeRowSpec {
  readonly policy: string;
  /** Context length n: the cache the decoding steps attend ends at n positions (see decode-row.ts). */
  readonly seqLen: number;
  /** Measured decoding steps (after the warm-up). */
  readonly tokens: number;
  /**
   * Decoding steps run after the warm-up token and before the measured ones (bench-decode.ts's
   * DEFAULT_WARMUP_STEPS): the first decoding step has no recorded dealer plan yet, so its requests
   * go to the dealer on demand.
   */
  readonly warmupSteps: number;
  /** Attended positions per head per step for budgeted policies (policy-config.ts convention). */
  readonly budget: number;
  /** Public seed of the bench's token shares. */
  readonly seed: string;
  /** Sampling (Generator options; default greedy). */
  readonly sampling?: SamplingParams;
}

export type ToParty = ToPartyOf<DecodePartySetup, DecodeRowSpec>;

/** One decoding step as one party measured it. */
export interface PartyStep {
  /** Cached rows per layer the step attended over (after its own row was appended). */
  readonly kvLen: number;
  /** Wall time of the step on this party (from a common start), ms. */
  readonly ms: number;
  /** Part of `ms` spent waiting on the dealer (CorrelationSource.dealerWaitMs). */
  readonly dealerWaitMs: number;
  /** This party's process CPU time (user + system) over the step, ms (cpu-time.ts). */
  readonly cpuMs: number;
  /** The step's start and end on the machine's clock (epochMs): the window of the dealer's CPU. */
  readonly startAt: number;
  readonly endAt: number;
  /** Dealer requests sent ahead from recorded plans (issued), taken as planned (hits), plans dropped (misses). */
  readonly speculation: SpeculationStats;
  /** This party's ledger difference over the step (exact, counted from the frames). */
  readonly cost: Cost;
  /** Attended rows per head, per layer (full cache: kvLen). */
  readonly keptByLayer: number[];
  /** Ledger difference per scope path (depth ≤ 3), with wall ms: the per-section breakdown. */
  readonly sections: Record<string, Cost & { ms?: number }>;
}

export interface PartyRowResult {
  readonly party: 0 | 1;
  /** Rows per layer after the warm start (the policy's prompt-end state; shared zeros, masked once). */
  readonly warmRows: number;
  /** Untimed preparation: warming the cache and the policy's warm start. */
  readonly warmMs: number;
  /** Cost of the warm-up (a 1-token prefill at the warmed cache; not in the means). */
  readonly warmup: PartyStep;
  /** The unmeasured decoding steps after it (DecodeRowSpec.warmupSteps; not in the means). */
  readonly warmupSteps: PartyStep[];
  readonly steps: PartyStep[];
  /** Peak resident memory sampled during the row (MB = 2^20 B). */
  readonly peakRssMB: number;
  /** The process's lifetime peak (resourceUsage().maxRSS), MB. */
  readonly maxRssMB: number;
}

export interface PartyReady {
  readonly type: 'ready';
  /** Loading, sharing and masking the weights (ms) and the memory after freeing the float weights. */
  readonly setupMs: number;
  readonly rssMB: number;
  readonly maxRssMB: number;
  readonly maskCost: Cost;
}

export type FromParty = FromPartyOf<PartyReady, PartyRowResult>;

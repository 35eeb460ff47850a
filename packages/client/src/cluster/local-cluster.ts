/**
 * A dealer and two parties on one machine for `bench ops`: the dealer in this thread, P0 and P1 in
 * two worker threads (party-worker.ts), connected by real loopback WebSockets (P0↔P1, P_b↔dealer).
 * The orchestration is PartyCluster's; this file names the jobs.
 */
import type { PartyCaseResult } from '../bench/run-op-case';
import type { BenchOpJob, WorkerSetup } from './cluster-messages';
import { PartyCluster } from './party-cluster';
import { compiledEntry, threadLauncher } from './party-launcher';

export type LocalClusterOptions = WorkerSetup;

export class LocalCluster {
  private constructor(private readonly cluster: PartyCluster<WorkerSetup, BenchOpJob, PartyCaseResult>) {}

  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const launch = threadLauncher(compiledEntry('cluster/party-worker.js'));
    return new LocalCluster(await PartyCluster.start({ launch, init: { fracBits: opts.fracBits, net: opts.net } }));
  }

  /** Settles when the dealer has served both parties (or failed). */
  get dealerDone(): Promise<void> {
    return this.cluster.dealerDone;
  }

  /** Run one bench op case on both parties. */
  benchOp(name: string, reps: number, seed: string): Promise<[PartyCaseResult, PartyCaseResult]> {
    return this.cluster.run({ name, reps, seed });
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}

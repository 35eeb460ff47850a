/** Bench parties in two worker threads over loopback WebSockets (see cluster/local-cluster.ts). */
import { LocalCluster } from '../cluster/local-cluster';
import type { BenchParties, BenchPartiesOptions } from './bench-parties';

export async function startWorkerParties(opts: BenchPartiesOptions): Promise<BenchParties> {
  const cluster = await LocalCluster.start({ fracBits: opts.fracBits, net: opts.net });
  return {
    runCase: (name, reps, seed) => cluster.benchOp(name, reps, seed),
    close: () => cluster.close(),
  };
}

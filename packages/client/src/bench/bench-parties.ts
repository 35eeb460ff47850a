/**
 * Two bench parties and a dealer. `memory`: both parties in this thread over an in-memory channel
 * (protocol logic only; the two parties share one core). `ws`: P0 and P1 in two worker threads
 * (two cores) over loopback WebSockets, the dealer in this thread reached over WebSockets too.
 */
import { LINK_PROFILES } from '@mpcache/mpc-core';
import { localParties, runBoth } from '@mpcache/protocols';
import { runOpCase, type PartyCaseResult } from './run-op-case';
import { standardOpCases } from './op-cases';
import { startWorkerParties } from './worker-parties';

export interface BenchParties {
  runCase(name: string, reps: number, seed: string): Promise<[PartyCaseResult, PartyCaseResult]>;
  close(): Promise<void>;
}

export interface BenchPartiesOptions {
  transport: 'ws' | 'memory';
  net: 'none' | 'lan' | 'wan';
  fracBits: number;
}

export async function startBenchParties(opts: BenchPartiesOptions): Promise<BenchParties> {
  if (opts.transport === 'ws') return startWorkerParties(opts);
  const link = LINK_PROFILES[opts.net];
  const parties = localParties({ fracBits: opts.fracBits, channel: { p0: { link }, p1: { link } } });
  const cases = new Map(standardOpCases().map((c) => [c.name, c]));
  return {
    runCase: (name, reps, seed) => {
      const c = cases.get(name);
      if (!c) throw new RangeError(`unknown op case "${name}"`);
      return runBoth(parties, (ctx) => runOpCase(ctx, c, reps, seed));
    },
    close: async () => {
      parties.ctx[0].channel.close('bench done');
    },
  };
}

/**
 * PartyCluster through its thread launcher (LocalCluster, the `bench ops --transport ws` parties):
 * a job runs on both parties and gives the same opened output and the same online cost as the
 * in-process parties (`--transport memory`); a failed job rejects, and fails every later job (the
 * peer would otherwise wait forever); close ends both worker threads. The process launcher is
 * exercised end to end by bench-decode.test.ts.
 *
 * Runs the compiled party code (npm test builds first; locally: npx tsc -b packages/client).
 */
import { LocalCluster } from '../src/cluster/local-cluster';
import { startBenchParties } from '../src/bench/bench-parties';
import { standardOpCases } from '../src/bench/op-cases';
import type { PartyCaseResult } from '../src/bench/run-op-case';

const FRAC_BITS = 12, SEED = 'party-cluster-test';

/** The opened output as plain bigints (a typed array from a worker thread is of another realm under jest). */
const opened = ([r0, r1]: [PartyCaseResult, PartyCaseResult]) => Array.from(r0.output.data, (w, i) => BigInt.asUintN(64, w + r1.output.data[i]));

test('a job runs on both threads as in one process; a failure fails that job and every later one', async () => {
  const c = standardOpCases().find((x) => x.name.startsWith('mul['))!; // exact: opened outputs must agree word for word
  const memory = await startBenchParties({ transport: 'memory', net: 'none', fracBits: FRAC_BITS });
  const want = await memory.runCase(c.name, 1, SEED);
  await memory.close();

  const cluster = await LocalCluster.start({ fracBits: FRAC_BITS, net: 'none' });
  try {
    const got = await cluster.benchOp(c.name, 1, SEED);
    const [a, b] = [opened(got), opened(want)];
    expect(a.length).toBe(b.length);
    expect(a.length).toBeGreaterThan(0);
    expect(a.filter((w, i) => w !== b[i]).length).toBe(0);
    for (const p of [0, 1]) {
      expect(got[p].cost.rounds).toBe(want[p].cost.rounds);
      expect(got[p].cost.bytesSent).toBe(want[p].cost.bytesSent);
      expect(got[p].offlineBytes).toBe(want[p].offlineBytes);
    }
    await expect(cluster.benchOp('no-such-case', 1, SEED)).rejects.toThrow('unknown op case "no-such-case"');
    await expect(cluster.benchOp(c.name, 1, SEED)).rejects.toThrow('unknown op case "no-such-case"');
  } finally {
    await cluster.close();
  }
});

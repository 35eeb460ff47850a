/**
 * DecodeCluster — the processes of `bench decode`: the dealer in this (orchestrator) process on a
 * loopback WebSocket listener, P0 and P1 as two child processes (decode-party-process.ts) linked by
 * a loopback WebSocket with the `--net` emulation. Seeds are agreed by X25519 + HKDF; the dealer
 * never joins the online exchange. The orchestrator holds no weights: its memory is the dealer's
 * queue of generated-but-not-yet-fetched messages. The orchestration is PartyCluster's; this file
 * sets the processes up and names the jobs.
 */
import { PartyCluster } from '../../cluster/party-cluster';
import { compiledEntry, processLauncher } from '../../cluster/party-launcher';
import { RUNTIME_NODE_FLAGS } from '../../runtime/node-flags';
import { withMallocTunables } from '../../runtime/malloc-tunables';
import { BENCH_MAX_FRAME_BYTES } from './bench-limits';
import type { DecodePartySetup, DecodeRowSpec, NetProfile, PartyReady, PartyRowResult } from './decode-messages';

/**
 * The dealer's memo of operand masks (keyed-value-cache.ts), 2^28 words = 2 GiB: all of GPT-2-small's
 * weights (≈ 124 M words) and a 4K K/V cache (75 M words). With the default 512 MiB the dealer
 * re-expanded the masks that did not fit — the tied 38.6 M-word embedding twice — every token
 * (≈ 0.9 s of dealer CPU per token at GPT-2-small, 1024, measured 2026-11-26).
 */
const BENCH_DEALER_CACHE_WORDS = 2 ** 28;

export interface DecodeClusterOptions {
  readonly model: string;
  readonly fracBits: number;
  readonly net: NetProfile;
  /** Extra V8 flags for the parties (e.g. a larger heap). */
  readonly partyExecArgv?: readonly string[];
  /** Time for both parties to load and mask their weights; default 30 min. */
  readonly setupTimeoutMs?: number;
}

export class DecodeCluster {
  private constructor(private readonly cluster: PartyCluster<DecodePartySetup, DecodeRowSpec, PartyRowResult, PartyReady>) {}

  static async start(opts: DecodeClusterOptions): Promise<DecodeCluster> {
    const execArgv = ['--expose-gc', ...RUNTIME_NODE_FLAGS, ...(opts.partyExecArgv ?? [])];
    const launch = processLauncher(compiledEntry('bench/decode/decode-party-process.js'), {
      serialization: 'advanced', execArgv, env: withMallocTunables(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const cluster = await PartyCluster.start<DecodePartySetup, DecodeRowSpec, PartyRowResult, PartyReady>({
      launch,
      init: { model: opts.model, fracBits: opts.fracBits, net: opts.net },
      dealer: { keyedCacheWords: BENCH_DEALER_CACHE_WORDS },
      dealerChannel: { maxFrameBytes: BENCH_MAX_FRAME_BYTES },
      helloTimeoutMs: 60_000,
      readyTimeoutMs: opts.setupTimeoutMs ?? 30 * 60_000,
    });
    return new DecodeCluster(cluster);
  }

  /** What each party reported once its weights were masked: [P0's, P1's]. */
  get ready(): [PartyReady, PartyReady] {
    return this.cluster.ready;
  }

  /** Run one row on both parties; resolves with [P0's, P1's] results. */
  runRow(spec: DecodeRowSpec): Promise<[PartyRowResult, PartyRowResult]> {
    return this.cluster.run(spec);
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}

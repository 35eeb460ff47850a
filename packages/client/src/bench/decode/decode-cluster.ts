/**
 * DecodeCluster — the processes of `bench decode`: the dealer in this (orchestrator) process on a
 * loopback WebSocket listener, P0 and P1 as two child processes (decode-party-process.ts) linked by
 * a loopback WebSocket with the `--net` emulation. Seeds are agreed by X25519 + HKDF; the dealer
 * never joins the online exchange. The orchestrator holds no weights: its memory is the dealer's
 * queue of generated-but-not-yet-fetched messages.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { agreeSeed, generateKeyPair, listenWs, type Channel, type WsListener } from '@mpcache/mpc-core';
import { DealerSession, serveDealerSession } from '@mpcache/protocols';
import { allCorrelationSpecs } from '@mpcache/party-server';
import { BENCH_MAX_FRAME_BYTES } from './bench-limits';
import type { DecodeRowSpec, FromParty, NetProfile, PartyReady, PartyRowResult, ToParty } from './decode-messages';

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

/** The compiled party entry (children run compiled code, also when this file runs under ts-jest). */
function partyPath(): string {
  for (const p of [join(__dirname, 'decode-party-process.js'), resolve(__dirname, '../../../dist/bench/decode/decode-party-process.js')]) {
    if (existsSync(p)) return p;
  }
  throw new Error('decode-party-process.js not found: run `npm run build` first');
}

export class DecodeCluster {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: PartyRowResult) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  private constructor(
    private readonly parties: [ChildProcess, ChildProcess],
    private readonly listener: WsListener,
    readonly ready: [PartyReady, PartyReady],
  ) {
    for (const p of parties) {
      p.on('message', (m: FromParty) => this.onMessage(m));
      p.on('exit', (code, signal) => this.fail(new Error(`a bench party exited (code ${code}, signal ${signal})`)));
    }
  }

  static async start(opts: DecodeClusterOptions): Promise<DecodeCluster> {
    const sessionId = randomBytes(8).toString('hex');
    const dealerKeys = generateKeyPair();
    const execArgv = ['--expose-gc', ...(opts.partyExecArgv ?? [])];
    // glibc: serve every allocation ≥ 128 KiB by mmap, so freed tensors go back to the OS and the
    // sampled RSS follows live memory (with the default dynamic threshold, the float weights and an
    // earlier row's K/V cache stay resident after they are freed)
    const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072' };
    const parties = [0, 1].map(() => fork(partyPath(), [], { serialization: 'advanced', execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })) as [ChildProcess, ChildProcess];
    let listener: WsListener | undefined;
    try {
      const pub = (await Promise.all(parties.map((p) => nextMessage(p, 'hello', 60_000)))).map((h) => (h as { publicKey: Uint8Array }).publicKey);
      const session = new DealerSession(
        agreeSeed(dealerKeys, pub[0], sessionId, 'dealer-p0'),
        agreeSeed(dealerKeys, pub[1], sessionId, 'dealer-p1'),
        { keyedCacheWords: BENCH_DEALER_CACHE_WORDS },
      );
      const dealerChannels: (Channel | undefined)[] = [undefined, undefined];
      let bothConnected!: () => void;
      const connected = new Promise<void>((r) => (bothConnected = r));
      listener = await listenWs({ host: '127.0.0.1', port: 0, channel: { maxFrameBytes: BENCH_MAX_FRAME_BYTES } }, (ch, req) => {
        const p = req.url === '/p0' ? 0 : req.url === '/p1' ? 1 : -1;
        if (p < 0 || dealerChannels[p]) return ch.close('unknown or duplicate party');
        dealerChannels[p] = ch;
        if (dealerChannels[0] && dealerChannels[1]) bothConnected();
      });
      const timeout = opts.setupTimeoutMs ?? 30 * 60_000;
      const ready = parties.map((p) => nextMessage(p, 'ready', timeout));
      const listening = nextMessage(parties[0], 'listening', 60_000);
      for (const p of [0, 1] as const) {
        post(parties[p], {
          type: 'init', party: p, sessionId, dealerUrl: listener.url, dealerPublicKey: dealerKeys.publicKey,
          peerPublicKey: pub[1 - p], model: opts.model, fracBits: opts.fracBits, net: opts.net,
        });
      }
      const { url } = (await listening) as { url: string };
      post(parties[1], { type: 'connect', peerUrl: url });
      await connected;
      listener.stopAccepting();
      serveDealerSession(session, dealerChannels as [Channel, Channel], allCorrelationSpecs()).catch(() => undefined);
      const r = (await Promise.all(ready)) as [PartyReady, PartyReady];
      return new DecodeCluster(parties, listener, r);
    } catch (e) {
      for (const p of parties) p.kill('SIGKILL');
      await listener?.close();
      throw e;
    }
  }

  /** Run one row on both parties; resolves with [P0's, P1's] results. */
  runRow(spec: DecodeRowSpec): Promise<[PartyRowResult, PartyRowResult]> {
    const run = (p: ChildProcess) =>
      new Promise<PartyRowResult>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        post(p, { type: 'row', id, spec });
      });
    return Promise.all([run(this.parties[0]), run(this.parties[1])]) as Promise<[PartyRowResult, PartyRowResult]>;
  }

  async close(): Promise<void> {
    this.failure ??= new Error('bench cluster closed');
    await Promise.all(this.parties.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      const kill = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => { clearTimeout(kill); resolve(); });
      if (p.connected) post(p, { type: 'close' });
      else p.kill('SIGTERM');
    })));
    await this.listener.close();
  }

  private onMessage(m: FromParty): void {
    if (m.type === 'rowDone') {
      this.pending.get(m.id)?.resolve(m.result);
      this.pending.delete(m.id);
    } else if (m.type === 'failed') {
      this.fail(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
    }
  }

  /** A failure on either party fails every pending row (the other party would wait forever). */
  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

function post(p: ChildProcess, m: ToParty): void {
  p.send(m);
}

function nextMessage(p: ChildProcess, type: FromParty['type'], timeoutMs: number): Promise<FromParty> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`bench party: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: FromParty) => {
      if (m.type === type) done(undefined, m);
      else if (m.type === 'failed') done(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
    };
    const onExit = (code: number | null) => done(new Error(`bench party exited (code ${code}) before "${type}"`));
    function done(err?: Error, m?: FromParty) {
      clearTimeout(timer);
      p.off('message', on);
      p.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    p.on('message', on);
    p.once('exit', onExit);
  });
}

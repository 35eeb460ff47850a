/**
 * A dealer and two parties on one machine: the dealer in this thread, P0 and P1 in two worker
 * threads, connected by real loopback WebSockets (P0↔P1, P_b↔dealer). Seeds are agreed by X25519 +
 * HKDF; the dealer never joins the online exchange.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { agreeSeed, generateKeyPair, listenWs, type Channel, type WsListener } from '@mpcache/mpc-core';
import { DealerSession, serveDealerSession } from '@mpcache/protocols';
import { allCorrelationSpecs } from '@mpcache/party-server';
import type { FromWorker, ToWorker } from './cluster-messages';
import type { PartyCaseResult } from '../bench/run-op-case';

export interface LocalClusterOptions {
  fracBits: number;
  net: 'none' | 'lan' | 'wan';
}

function workerPath(): string {
  // Compiled code sits beside this file; under ts-jest (src/*.ts) use the build output.
  const here = join(__dirname, 'party-worker.js');
  if (existsSync(here)) return here;
  const built = resolve(__dirname, '../../dist/cluster/party-worker.js');
  if (existsSync(built)) return built;
  throw new Error('party-worker.js not found: run `npm run build` first');
}

export class LocalCluster {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: PartyCaseResult) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly workers: [Worker, Worker],
    private readonly listener: WsListener,
    readonly dealerDone: Promise<void>,
  ) {}

  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const sessionId = randomBytes(8).toString('hex');
    const dealerKeys = generateKeyPair();
    const workers = [new Worker(workerPath()), new Worker(workerPath())] as [Worker, Worker];
    const hello = await Promise.all(workers.map((w) => nextMessage(w, 'hello')));
    const pub = hello.map((h) => (h as { publicKey: Uint8Array }).publicKey);

    const session = new DealerSession(
      agreeSeed(dealerKeys, pub[0], sessionId, 'dealer-p0'),
      agreeSeed(dealerKeys, pub[1], sessionId, 'dealer-p1'),
    );
    const dealerChannels: (Channel | undefined)[] = [undefined, undefined];
    let bothConnected!: () => void;
    const connected = new Promise<void>((r) => (bothConnected = r));
    const listener = await listenWs({ host: '127.0.0.1', port: 0 }, (ch, req) => {
      const p = req.url === '/p0' ? 0 : req.url === '/p1' ? 1 : -1;
      if (p < 0 || dealerChannels[p]) return ch.close('unknown or duplicate party');
      dealerChannels[p] = ch;
      if (dealerChannels[0] && dealerChannels[1]) bothConnected();
    });
    const ready = workers.map((w) => nextMessage(w, 'ready'));
    const listening = nextMessage(workers[0], 'listening');
    for (const p of [0, 1] as const) {
      post(workers[p], {
        type: 'init', party: p, sessionId, dealerUrl: listener.url, dealerPublicKey: dealerKeys.publicKey,
        peerPublicKey: pub[1 - p], fracBits: opts.fracBits, net: opts.net,
      });
    }
    const { url } = (await listening) as { url: string };
    post(workers[1], { type: 'connect', peerUrl: url });
    await connected;
    listener.stopAccepting();
    const dealerDone = serveDealerSession(session, dealerChannels as [Channel, Channel], allCorrelationSpecs());
    dealerDone.catch(() => undefined);
    await Promise.all(ready);
    const cluster = new LocalCluster(workers, listener, dealerDone);
    for (const w of workers) w.on('message', (m: FromWorker) => cluster.onMessage(m));
    return cluster;
  }

  /** Run one bench op case on both parties. */
  benchOp(name: string, reps: number, seed: string): Promise<[PartyCaseResult, PartyCaseResult]> {
    const run = (w: Worker) =>
      new Promise<PartyCaseResult>((resolve, reject) => {
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        post(w, { type: 'benchOp', id, name, reps, seed });
      });
    return Promise.all([run(this.workers[0]), run(this.workers[1])]) as Promise<[PartyCaseResult, PartyCaseResult]>;
  }

  async close(): Promise<void> {
    for (const w of this.workers) post(w, { type: 'close' });
    await Promise.all(this.workers.map((w) => new Promise<void>((r) => { w.once('exit', () => r()); setTimeout(() => void w.terminate(), 2000); })));
    await this.listener.close();
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'benchOpDone') {
      this.pending.get(m.id)?.resolve(m.result);
      this.pending.delete(m.id);
    } else if (m.type === 'failed') {
      const err = Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code });
      if (m.id !== undefined) {
        this.pending.get(m.id)?.reject(err);
        this.pending.delete(m.id);
      } else for (const p of this.pending.values()) p.reject(err);
    }
  }
}

function post(w: Worker, m: ToWorker): void {
  w.postMessage(m);
}

function nextMessage(w: Worker, type: FromWorker['type']): Promise<FromWorker> {
  return new Promise((resolve, reject) => {
    const on = (m: FromWorker) => {
      if (m.type === type) {
        w.off('message', on);
        resolve(m);
      } else if (m.type === 'failed') {
        w.off('message', on);
        reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
      }
    };
    w.on('message', on);
    w.once('error', reject);
  });
}

/**
 * PartyCluster — a dealer and two parties on one machine: the dealer in this (orchestrator) process
 * on a loopback WebSocket listener, P0 and P1 started by a PartyLauncher (worker threads or child
 * processes), linked to each other by a loopback WebSocket (P1 dials P0) and to the dealer by one
 * each. Seeds are agreed by X25519 + HKDF from the public keys the parties send in their hellos
 * (party-messages.ts); the dealer never joins the online exchange.
 *
 * Start-up: both hellos → dealer session and listener → init to both → P0's listening URL → connect
 * to P1 → both dealer links → serve the dealer → both ready. A failed start-up kills both parties.
 * Then `run(job)` sends one job to both parties and resolves with both results. A failure on either
 * party, or either party's exit, fails every pending job and every later one (the other party would
 * wait for its peer forever).
 */
import { randomBytes } from 'node:crypto';
import { agreeSeed, generateKeyPair, listenWs, newLinkNonce, type Channel, type WsChannelOptions, type WsListener } from '@mpcache/mpc-core';
import { DealerSession, serveDealerSession, type DealerSessionOptions } from '@mpcache/protocols';
import { allCorrelationSpecs } from '@mpcache/party-server';
import type { PartyEndpoint, PartyLauncher } from './party-launcher';
import { errorFromParty, type FromPartyOf, type PartyHello, type PartyReadyBase, type ToPartyOf } from './party-messages';

export interface PartyClusterOptions<Extra> {
  readonly launch: PartyLauncher;
  /** The cluster's own init fields (both parties get the same). */
  readonly init: Extra;
  readonly dealer?: DealerSessionOptions;
  /** Options of the dealer's links to the parties (e.g. maxFrameBytes). */
  readonly dealerChannel?: WsChannelOptions;
  /** Time for each party's hello and for P0's listening URL; default: no limit. */
  readonly helloTimeoutMs?: number;
  /** Time for both parties to set up (ready); default: no limit. */
  readonly readyTimeoutMs?: number;
}

type Pending<R> = { resolve: (r: R) => void; reject: (e: Error) => void };

export class PartyCluster<Extra, Job, Result, Ready extends PartyReadyBase = PartyReadyBase> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<Result>>();
  private failure: Error | undefined;

  private constructor(
    private readonly parties: [PartyEndpoint, PartyEndpoint],
    private readonly listener: WsListener,
    /** What each party reported once set up: [P0's, P1's]. */
    readonly ready: [Ready, Ready],
    /** Settles when the dealer has served both parties (or failed). */
    readonly dealerDone: Promise<void>,
  ) {
    for (const p of parties) {
      p.onMessage((m) => this.onMessage(m as FromPartyOf<PartyReadyBase, Result>));
      p.onExit((reason) => this.fail(new Error(`a bench party exited (${reason})`)));
    }
  }

  static async start<Extra, Job, Result, Ready extends PartyReadyBase = PartyReadyBase>(
    opts: PartyClusterOptions<Extra>,
  ): Promise<PartyCluster<Extra, Job, Result, Ready>> {
    const sessionId = randomBytes(8).toString('hex');
    const dealerKeys = generateKeyPair();
    const parties = [opts.launch(), opts.launch()] as [PartyEndpoint, PartyEndpoint];
    const post = (p: PartyEndpoint, m: ToPartyOf<Extra, Job>) => p.send(m);
    let listener: WsListener | undefined;
    try {
      const hellos = await Promise.all(parties.map((p) => nextMessage(p, 'hello', opts.helloTimeoutMs)));
      const pub = hellos.map((h) => (h as PartyHello).publicKey), nonces = hellos.map((h) => (h as PartyHello).nonce);
      const dealerNonces = [newLinkNonce(), newLinkNonce()];
      const session = new DealerSession(
        agreeSeed(dealerKeys, pub[0], sessionId, 'dealer-p0', [dealerNonces[0], nonces[0]]),
        agreeSeed(dealerKeys, pub[1], sessionId, 'dealer-p1', [dealerNonces[1], nonces[1]]),
        opts.dealer,
      );
      const dealerChannels: (Channel | undefined)[] = [undefined, undefined];
      let bothConnected!: () => void;
      const connected = new Promise<void>((r) => (bothConnected = r));
      listener = await listenWs({ host: '127.0.0.1', port: 0, channel: opts.dealerChannel }, (ch, req) => {
        const p = req.url === '/p0' ? 0 : req.url === '/p1' ? 1 : -1;
        if (p < 0 || dealerChannels[p]) return ch.close('unknown or duplicate party');
        dealerChannels[p] = ch;
        if (dealerChannels[0] && dealerChannels[1]) bothConnected();
      });
      const ready = parties.map((p) => nextMessage(p, 'ready', opts.readyTimeoutMs));
      const listening = nextMessage(parties[0], 'listening', opts.helloTimeoutMs);
      for (const p of [0, 1] as const) {
        post(parties[p], {
          type: 'init', party: p, sessionId, dealerUrl: listener.url, dealerPublicKey: dealerKeys.publicKey,
          peerPublicKey: pub[1 - p], dealerNonce: dealerNonces[p], peerNonce: nonces[1 - p], ...opts.init,
        } as ToPartyOf<Extra, Job>);
      }
      const { url } = (await listening) as { url: string };
      post(parties[1], { type: 'connect', peerUrl: url });
      await connected;
      listener.stopAccepting();
      const dealerDone = serveDealerSession(session, dealerChannels as [Channel, Channel], allCorrelationSpecs());
      dealerDone.catch(() => undefined);
      const r = (await Promise.all(ready)) as [Ready, Ready];
      return new PartyCluster<Extra, Job, Result, Ready>(parties, listener, r, dealerDone);
    } catch (e) {
      for (const p of parties) p.kill();
      await listener?.close();
      throw e;
    }
  }

  /** Run one job on both parties; resolves with [P0's, P1's] results. */
  run(job: Job): Promise<[Result, Result]> {
    const run = (p: PartyEndpoint) =>
      new Promise<Result>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        const id = this.nextId++;
        this.pending.set(id, { resolve, reject });
        p.send({ type: 'job', id, job } satisfies ToPartyOf<Extra, Job>);
      });
    return Promise.all([run(this.parties[0]), run(this.parties[1])]) as Promise<[Result, Result]>;
  }

  async close(): Promise<void> {
    this.failure ??= new Error('bench cluster closed');
    await Promise.all(this.parties.map((p) => p.stop()));
    await this.listener.close();
  }

  private onMessage(m: FromPartyOf<PartyReadyBase, Result>): void {
    if (m.type === 'jobDone') {
      this.pending.get(m.id)?.resolve(m.result);
      this.pending.delete(m.id);
    } else if (m.type === 'failed') {
      this.fail(errorFromParty(m));
    }
  }

  /** A failure on either party fails every pending job (the other party would wait forever). */
  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** The party's next message of `type`; rejects on its `failed`, its exit, or after timeoutMs. */
function nextMessage(p: PartyEndpoint, type: string, timeoutMs?: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined
      ? undefined
      : setTimeout(() => done(new Error(`bench party: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const offMessage = p.onMessage((raw) => {
      const m = raw as FromPartyOf<PartyReadyBase, unknown>;
      if (m.type === type) done(undefined, m);
      else if (m.type === 'failed') done(errorFromParty(m));
    });
    const offExit = p.onExit((reason) => done(new Error(`bench party exited (${reason}) before "${type}"`)));
    function done(err?: Error, m?: unknown) {
      clearTimeout(timer);
      offMessage();
      offExit();
      if (err) reject(err);
      else resolve(m);
    }
  });
}

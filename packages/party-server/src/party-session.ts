/**
 * PartySession — one client session on a party server: its links (peer, dealer), seeds, ledger,
 * job, and the one error handler.
 *
 *   open ──links + seeds + job.start──▶ ready ──generate──▶ running ──all tokens, FIN──▶ (ended)
 *     │                                   │ idle timeout        │ any error
 *     └──────────── fail(err): error to the client, close every link with the reason ───────┘
 *   and from any state: the client's cancel (end notice to the peer, then close), or the peer's
 *   end notice ──▶ (ended, canceled)
 *
 * Links: P1 dials P0 at `ws://p0/session/<id>/peer` (hello carries P1's public key and the session
 * parameters, which must equal what P0's client asked for); each party dials the dealer at
 * `ws://dealer/session/<id>/p<b>`. Seeds: agreeSeed over X25519 + HKDF, salted with the session id
 * and the link's two fresh nonces (from the hellos):
 * "p0-p1" with the peer, "dealer-p<b>" with the dealer. The peer link carries the session's ledger
 * (online bytes and rounds); the dealer link has none (CorrelationSource counts its replies as
 * offline bytes).
 *
 * Client link: the prompt share arrives sealed and each token share leaves sealed (ClientSeal,
 * agreed in `open` between the client's per-session key and this server's long-term key).
 *
 * Cancel: the client's cancel ends the session here, and the peer is told on the peer link first;
 * the peer's end notice ends it here as canceled too (peer-end-notice.ts: why, and from when each
 * party sends and trusts a notice). A single-turn session's normal end has no such race: each
 * party sends FIN before it waits for the other's, and a link that closes after this party's FIN
 * is no failure.
 *
 * Errors: everything a session does runs inside try/catch blocks that end in `fail`, which sends
 * the client an error naming the session, closes the session's links with the reason (so the other
 * party and the dealer fail that session too, and free it), and removes it from the server. Bad input
 * to `generate` (wrong share length, a seal that does not open, prompt over the context) throws to the caller instead and
 * leaves the session ready: the client gets the error and loses nothing.
 */
import {
  agreeSeed,
  ChannelClosedError,
  diffCost,
  LimitError,
  ProtocolError,
  tensor,
  TimeoutError,
  WsChannel,
  type Cost,
} from '@mpcache/mpc-core';
import { ChannelDealerLink, CorrelationSource, makePartyContext, type PartyContext } from '@mpcache/protocols';
import { inputWidth, type JobRun } from './jobs/party-job';
import type { ClientLink, SessionHost } from './session-host';
import { SESSION_CLOSE_CODES } from './session-close-codes';
import { connectDealer, connectPeer, type PeerLinkSetup } from './session-links';
import { PeerEndNotice } from './peer-end-notice';
import type { SessionOutcome } from './server-metrics';
import { ClientSeal, sealPlace } from './wire/client-seal';
import type { PartyCost, PartyMessage } from './wire/client-messages';
import { sessionOptionFields } from './wire/session-options';
import { attachmentWords, wordBytes } from './wire/message-frame';
import { decodeSync, encodeSync, FIN_TAG, recvWithin, SYNC_TAG, type SessionParams } from './wire/server-hello';
import { errorCode, errorFields } from './wire/wire-error';

export type { ClientLink, PartyServerConfig, PeerArrival, SessionHost } from './session-host';

export type SessionState = 'opening' | 'ready' | 'running' | 'closed';

export class PartySession {
  private state: SessionState = 'opening';
  private readonly links: WsChannel[] = [];
  private ctx?: PartyContext;
  private run?: JobRun;
  private seal?: ClientSeal;
  /** Turns completed (multi-turn sessions) and the positions they took: prompts and new tokens. */
  private turn = 0;
  private positions = 0;
  private idleTimer?: NodeJS.Timeout;
  /** Set once this party has sent FIN: the peer may now close the link at any time. */
  private draining = false;
  /** Sends and takes the end notice (END_TAG) on the peer link. */
  private readonly endNotice: PeerEndNotice;

  constructor(
    private readonly host: SessionHost,
    readonly id: string,
    readonly params: SessionParams,
    readonly client: ClientLink,
    /** The client's X25519 public key for this session (from `open`). */
    private readonly clientKey: Uint8Array,
  ) {
    this.endNotice = new PeerEndNotice(host.config.role, { ended: () => this.peerEnded(), malformed: (e) => this.fail(e) });
  }

  get status(): SessionState {
    return this.state;
  }

  /** Links, seeds and the job's setup; replies `opened`. Never rejects: errors go to `fail`. */
  async open(): Promise<void> {
    const cfg = this.host.config;
    let releaseSetup: (() => void) | undefined; // P0: its setup slot, held until the job has started
    try {
      try {
        this.seal = ClientSeal.agree('party', cfg.keys, this.clientKey, this.id, cfg.role);
      } catch (e) {
        throw new ProtocolError(`session ${this.id}: clientKey: ${(e as Error).message}`, 'MPC_ERR_BAD_MESSAGE');
      }
      const track = (ch: WsChannel, who: string) => this.track(ch, who);
      const trackPeer = (ch: WsChannel, who: string) => this.trackPeer(ch, who);
      const admit = async () => {
        releaseSetup = await this.host.setupQueue.acquire(cfg.setupQueueTimeoutMs, `P0: session ${this.id}`);
        this.assertOpen();
      };
      const [dealer, peer] = await Promise.all([
        connectDealer(cfg, this.id, track),
        connectPeer(cfg, this.id, this.params, this.host.peerArrivals, trackPeer, admit).then((p) => this.linkPeer(p)),
      ]);
      const source = new CorrelationSource(cfg.role, dealer.seed, new ChannelDealerLink(dealer.channel), peer.ledger);
      const common = agreeSeed(cfg.keys, peer.publicKey, this.id, 'p0-p1', peer.nonces);
      const ctx = makePartyContext(cfg.role, peer.channel, peer.ledger, source, common, cfg.job.fracBits);
      const run = await cfg.job.start(ctx, { sessionId: this.id, policy: this.params.policy, maxNewTokens: this.params.maxNewTokens, ...sessionOptionFields(this.params) });
      this.assertOpen();
      this.ctx = ctx;
      this.run = run;
      this.state = 'ready';
      this.armIdleTimer();
      const { job } = cfg;
      this.client.send({
        type: 'opened',
        sessionId: this.id,
        info: { party: cfg.role, input: job.input, vocabSize: job.vocabSize, maxContext: job.maxContext, fracBits: job.fracBits },
        publicKey: cfg.keys.publicKey,
      });
      cfg.log(`P${cfg.role}: session ${this.id} ready (${this.params.model}, ${this.params.policy}, ${this.params.maxNewTokens} new tokens)`);
    } catch (e) {
      this.fail(e);
    } finally {
      releaseSetup?.();
    }
  }

  /**
   * Start a turn of the job on this party's prompt share (`maxNewTokens`: this turn's count, default
   * the open's). Throws (and leaves the session as it was) on misuse or bad input; once started,
   * errors go to `fail`. A multi-turn session returns to ready after each turn; others end.
   */
  generate(promptTokens: number, sealed: Uint8Array, maxNewTokens = this.params.maxNewTokens): void {
    const { job } = this.host.config;
    if (this.state !== 'ready') {
      const what = this.params.multiTurn ? 'an open session between turns' : 'an open session that has not generated yet';
      throw new ProtocolError(`session ${this.id} is ${this.state}: generate needs ${what}`, 'MPC_ERR_BAD_MESSAGE');
    }
    if (maxNewTokens > this.params.maxNewTokens) {
      throw new ProtocolError(`session ${this.id}: a turn of ${maxNewTokens} new tokens exceeds the session's maxNewTokens ${this.params.maxNewTokens}`, 'MPC_ERR_BAD_MESSAGE');
    }
    if (this.positions + promptTokens + maxNewTokens - 1 > job.maxContext) {
      const before = this.turn ? ` after ${this.positions} positions of earlier turns` : '';
      throw new LimitError(
        `session ${this.id}: a prompt of ${promptTokens} tokens and ${maxNewTokens} new tokens${before} exceed the context of ${job.maxContext} positions`,
        'MPC_ERR_PROMPT_TOO_LONG',
      );
    }
    const width = inputWidth(job);
    const share = this.seal!.open(sealPlace.generate(this.turn, promptTokens), sealed, `session ${this.id}: prompt share`);
    const words = attachmentWords(share, promptTokens * width, `session ${this.id}: prompt share (${promptTokens}×${width} words)`);
    this.state = 'running';
    clearTimeout(this.idleTimer);
    void this.runJob(tensor(job.input === 'onehot' ? [promptTokens, width] : [promptTokens], words), maxNewTokens);
  }

  /** Drop the session at the client's request (no error reply), telling the peer first. */
  cancel(): void {
    if (this.state === 'closed') return;
    this.host.config.log(`P${this.host.config.role}: session ${this.id} canceled by the client`);
    this.endNotice.send('canceled');
    this.end('canceled', 'canceled by the client');
  }

  /** The one error handler: tell the client, close every link with the reason, free the session. */
  fail(err: unknown): void {
    if (this.state === 'closed') return;
    const code = errorCode(err);
    this.host.config.log(`P${this.host.config.role}: session ${this.id} failed (${code}): ${(err as Error)?.message ?? ''}`);
    this.client.send({ type: 'error', sessionId: this.id, error: errorFields(err) });
    this.end('failed', `failed (${code})`);
  }

  // ---------------------------------------------------------------- job

  private async runJob(prompt: ReturnType<typeof tensor>, maxNewTokens: number): Promise<void> {
    const cfg = this.host.config, ctx = this.ctx!, other = `P${1 - cfg.role}`;
    const n = prompt.shape[0], turn = this.turn;
    try {
      // 1. agree on the turn's public shape with the peer
      ctx.channel.send(SYNC_TAG, encodeSync({ promptTokens: n, maxNewTokens }));
      const theirs = decodeSync(await recvWithin(ctx.channel, SYNC_TAG, cfg.syncTimeoutMs, `session ${this.id}: start from ${other}`), other);
      if (theirs.promptTokens !== n || theirs.maxNewTokens !== maxNewTokens) {
        throw new ProtocolError(
          `session ${this.id}: P${cfg.role} got a prompt of ${n} tokens for ${maxNewTokens} new ones, ${other} ${theirs.promptTokens} for ${theirs.maxNewTokens}`,
          'MPC_ERR_BAD_MESSAGE',
        );
      }
      // 2. stream this party's share of each token, sealed, with the cost the ledger measured for it
      const start = ctx.ledger.snapshot(), t0 = performance.now();
      let before = start, t = t0, index = 0;
      for await (const share of this.run!.generate(prompt, maxNewTokens)) {
        this.assertOpen();
        const now = performance.now(), snap = ctx.ledger.snapshot();
        const sealed = this.seal!.seal(sealPlace.token(turn, index), wordBytes(new BigUint64Array([share])));
        const cost = partyCost(diffCost(snap, before), now - t);
        this.host.metrics.token(cost);
        this.client.send({ type: 'token', sessionId: this.id, index: index++, sealed, cost });
        before = snap;
        t = now;
      }
      const stopped = this.params.stopToken !== undefined && index >= 1 && index < maxNewTokens;
      if (index !== maxNewTokens && !stopped) throw new RangeError(`session ${this.id}: the job produced ${index} tokens, expected ${maxNewTokens}`);
      const done = () => this.client.send({ type: 'done', sessionId: this.id, tokens: index, cost: partyCost(diffCost(ctx.ledger.snapshot(), start), performance.now() - t0) });
      if (this.params.multiTurn) {
        // 3a. a chat: ready for the next turn (or the client's cancel, or the idle timeout)
        this.positions += n + index;
        this.turn++;
        this.state = 'ready';
        this.armIdleTimer();
        done();
        cfg.log(`P${cfg.role}: session ${this.id} turn ${turn} done (${index} tokens)`);
        return;
      }
      // 3b. FIN both ways before closing, so the close cannot drop a message the peer still needs
      this.draining = true;
      ctx.channel.send(FIN_TAG, new Uint8Array(0));
      await recvWithin(ctx.channel, FIN_TAG, cfg.syncTimeoutMs, `session ${this.id}: end from ${other}`);
      done();
      cfg.log(`P${cfg.role}: session ${this.id} done (${index} tokens)`);
      this.end('done', 'done');
    } catch (e) {
      this.fail(e);
    }
  }

  // ---------------------------------------------------------------- links

  /**
   * Keep a link so `end` closes it, and fail the session when the other end closes it first (also
   * while the session idles between open and generate); a link that arrives after the end is closed.
   */
  private track(ch: WsChannel, who: string): WsChannel {
    if (this.state === 'closed') {
      ch.close(`session ${this.id} already ended`);
      throw new ChannelClosedError(`session ${this.id} already ended`);
    }
    this.links.push(ch);
    void ch.whenSocketClosed().then(() => {
      if (!this.draining) this.fail(new ChannelClosedError(`session ${this.id}: the link to ${who} closed`));
    });
    return ch;
  }

  /** `track` for the peer link, which the end notice follows from then on (peer-end-notice.ts). */
  private trackPeer(ch: WsChannel, who: string): WsChannel {
    this.track(ch, who);
    this.endNotice.linkTracked(ch);
    return ch;
  }

  /** The peer link is up, both hellos through: the end notice may now go both ways. */
  private linkPeer(setup: PeerLinkSetup): PeerLinkSetup {
    this.endNotice.linkUp(setup.channel);
    return setup;
  }

  /** The peer ended the session (its client's cancel came first): end it as canceled here too. */
  private peerEnded(): void {
    if (this.state === 'closed') return;
    const cfg = this.host.config, other = `P${1 - cfg.role}`;
    cfg.log(`P${cfg.role}: session ${this.id} canceled by the client (${other} got the cancel first)`);
    // The client canceled and ignores this; were the notice not true, the client would not wait in vain.
    this.client.send({ type: 'error', sessionId: this.id, error: errorFields(new ChannelClosedError(`session ${this.id}: ${other} ended it: canceled by the client`)) });
    this.end('canceled', 'canceled by the client');
  }

  /** Fail the session if no generate arrives within the idle timeout (after open, or between turns). */
  private armIdleTimer(): void {
    const ms = this.host.config.idleTimeoutMs;
    this.idleTimer = setTimeout(() => this.fail(new TimeoutError(`session ${this.id}: no generate request within ${ms} ms`)), ms);
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new ChannelClosedError(`session ${this.id} ended`);
  }

  private end(outcome: SessionOutcome, reason: string): void {
    this.state = 'closed';
    this.host.metrics.sessionEnded(outcome);
    clearTimeout(this.idleTimer);
    // the close code carries the outcome to the dealer (session-close-codes.ts)
    for (const l of this.links) l.closeWithCode(SESSION_CLOSE_CODES[outcome], `session ${this.id} ${reason}`.slice(0, 120));
    if (this.host.config.role === 0) this.host.peerArrivals.cancel(this.id, new ChannelClosedError(`session ${this.id} ${reason}`));
    this.host.sessionEnded(this);
  }
}

function partyCost(c: Cost, ms: number): PartyCost {
  return { ms, bytesSent: c.bytesSent, bytesReceived: c.bytesReceived, rounds: c.rounds, offlineBytes: c.offlineBytes };
}

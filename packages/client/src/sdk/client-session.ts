/**
 * ClientSession — one session on both parties, from the client's side: open, generate once, stream.
 *
 * The client is the only one who ever sees the prompt or a token: it secret-shares the prompt (one
 * share to each party: token ids, or one-hot rows when the job asks for them), receives each party's
 * share of every new token id and adds them. Each token comes with the cost the parties' ledgers
 * measured for it. Shares travel sealed (party-server ClientSeal): the session draws a fresh X25519
 * key pair, sends its public half in `open` and agrees one seal per party with the public key the
 * party returns in `opened` — which must equal the pinned key, when one is given.
 *
 * A multi-turn session (a chat) takes one `generate` per turn: each continues the same sequence
 * (earlier prompts, every generated token, then the new prompt) until `cancel` ends it.
 *
 * Validation at this API (STYLE §6): prompt length against MAX_PROMPT_TOKENS and the session's
 * context (over all turns), every token id against the vocabulary (the prompt's, and every
 * reconstructed one's). Every wait for a party has a time limit (responseTimeoutMs: TimeoutError,
 * and the session is canceled on both parties). Misuse: a second generate on a
 * single-turn session, or generate after cancel, throws ProtocolError locally.
 */
import {
  LimitError,
  MAX_PROMPT_TOKENS,
  ProtocolError,
  share,
  tensor,
  TimeoutError,
  type PartyId,
} from '@mpcache/mpc-core';
import {
  encodeClientRequest,
  errorFromWire,
  wordBytes,
  type PartyCost,
  type PartyMessage,
  type SessionInfo,
} from '@mpcache/party-server';
import { AsyncQueue } from './async-queue';
import { SessionSeals, type PartyKeyPins } from './session-seals';

/** How a session reaches the parties (implemented by MpcacheClient). */
export interface SessionTransport {
  send(party: PartyId, request: Uint8Array): void;
  /** The session ended: stop routing its messages. */
  forget(sessionId: string): void;
}

export interface GeneratedToken {
  readonly index: number;
  /** The reconstructed value: a token id (or a ring element for jobs without a vocabulary). */
  readonly value: bigint;
  /** Client wall time from the previous token (the request, for the first) to both shares of this one. */
  readonly ms: number;
  /** Online bytes sent by both parties for this token. */
  readonly bytes: number;
  /** Communication rounds for this token (P0's ledger; both parties count the same). */
  readonly rounds: number;
  /** Dealer bytes to both parties for this token. */
  readonly offlineBytes: number;
  readonly parties: readonly [PartyCost, PartyCost];
}

export type SessionPhase = 'opening' | 'ready' | 'generating' | 'finished';


/** What a session asks the parties for (public), and the keys it pins. */
export interface SessionSpec {
  readonly model: string;
  readonly policy: string;
  /** Tokens per turn (a turn may ask for fewer). */
  readonly maxNewTokens: number;
  readonly temperature: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly multiTurn: boolean;
  /** A token id at which each turn ends early (public: the parties learn where the output stops). */
  readonly stopToken?: number;
  readonly pins: PartyKeyPins;
  /** How long the session waits for a party's next message (its opened, a token, done) before a TimeoutError. */
  readonly responseTimeoutMs: number;
}

export interface TurnOptions {
  /** This turn's new tokens (default and maximum: the session's maxNewTokens). */
  readonly maxNewTokens?: number;
}

export class ClientSession {
  /**
   * Messages from P0 and P1 for this session, in order; at most a turn's worth can be pending (its
   * opened, every token, done and an error): a party that sends more fails the session.
   */
  readonly inbox: readonly [AsyncQueue<PartyMessage>, AsyncQueue<PartyMessage>];
  private phase: SessionPhase = 'opening';
  private info_?: SessionInfo;
  private readonly seals: SessionSeals;
  /** Turns completed, and the positions they took (prompts and new tokens). */
  private turn = 0;
  private positions = 0;
  /** Each party's cost of the last turn (from its `done`). */
  totals?: readonly [PartyCost, PartyCost];

  constructor(
    private readonly transport: SessionTransport,
    readonly id: string,
    readonly spec: SessionSpec,
  ) {
    this.seals = new SessionSeals(id, spec.pins);
    const inbox = (p: PartyId) => new AsyncQueue<PartyMessage>(spec.maxNewTokens + 3, () =>
      new ProtocolError(`session ${id}: P${p} sent more than ${spec.maxNewTokens + 3} messages ahead of this client`, 'MPC_ERR_BAD_MESSAGE'));
    this.inbox = [inbox(0), inbox(1)];
  }

  get maxNewTokens(): number {
    return this.spec.maxNewTokens;
  }

  /** Turns completed (a multi-turn session's next generate continues after them). */
  get turnsDone(): number {
    return this.turn;
  }

  get info(): SessionInfo {
    if (!this.info_) throw new ProtocolError(`session ${this.id} is not open yet`, 'MPC_ERR_BAD_MESSAGE');
    return this.info_;
  }

  get state(): SessionPhase {
    return this.phase;
  }

  /** Send `open` to both parties and wait for both `opened` (or the first error). */
  async open(): Promise<void> {
    const { model, policy, maxNewTokens, temperature, topK, topP, multiTurn, stopToken } = this.spec;
    const req = encodeClientRequest({ type: 'open', sessionId: this.id, model, policy, maxNewTokens, clientKey: this.seals.publicKey, temperature, topK, topP, multiTurn, stopToken });
    this.transport.send(0, req);
    this.transport.send(1, req);
    try {
      const [a, b] = await Promise.all([this.expect(0, 'opened'), this.expect(1, 'opened')]);
      if (a.type !== 'opened' || b.type !== 'opened') throw new Error('unreachable');
      if (a.info.party !== 0 || b.info.party !== 1) {
        throw new ProtocolError(`session ${this.id}: the server given as P0 is P${a.info.party}, as P1 is P${b.info.party}`, 'MPC_ERR_BAD_MESSAGE');
      }
      const same = a.info.input === b.info.input && a.info.vocabSize === b.info.vocabSize && a.info.maxContext === b.info.maxContext && a.info.fracBits === b.info.fracBits;
      if (!same) throw new ProtocolError(`session ${this.id}: P0 and P1 announce different jobs`, 'MPC_ERR_BAD_MESSAGE');
      this.seals.agree([a.publicKey, b.publicKey]);
      this.info_ = a.info;
      this.phase = 'ready';
    } catch (e) {
      this.cancel();
      throw e;
    }
  }

  /**
   * Generate the turn's tokens (maxNewTokens) after `prompt` (token ids). Yields each token as soon
   * as both shares are in; leaving the loop early cancels the session on both parties. A multi-turn
   * session is ready for the next turn once the loop ends.
   */
  async *generate(prompt: readonly (number | bigint)[], opts: TurnOptions = {}): AsyncGenerator<GeneratedToken> {
    if (this.phase !== 'ready') {
      throw new ProtocolError(`session ${this.id} is ${this.phase}: generate needs an open session${this.spec.multiTurn ? ' between turns' : ', once'}`, 'MPC_ERR_BAD_MESSAGE');
    }
    const info = this.info;
    const n = prompt.length, newTokens = opts.maxNewTokens ?? this.maxNewTokens;
    if (!Number.isInteger(newTokens) || newTokens < 1 || newTokens > this.maxNewTokens) {
      throw new RangeError(`"maxNewTokens" of a turn expected an integer in [1, ${this.maxNewTokens}] (the session's), got ${newTokens}`);
    }
    if (n < 1) throw new RangeError(`"prompt" expected at least 1 token, got 0`);
    if (n > MAX_PROMPT_TOKENS) throw new LimitError(`prompt of ${n} tokens exceeds MAX_PROMPT_TOKENS ${MAX_PROMPT_TOKENS}`, 'MPC_ERR_PROMPT_TOO_LONG');
    if (this.positions + n + newTokens - 1 > info.maxContext) {
      const before = this.turn ? ` after ${this.positions} positions of earlier turns` : '';
      throw new LimitError(`prompt of ${n} tokens + ${newTokens} new tokens${before} exceed the context of ${info.maxContext} positions`, 'MPC_ERR_PROMPT_TOO_LONG');
    }
    const x = encodeInput(prompt, info);
    const shares = share(x), turn = this.turn;
    const turnTokens = opts.maxNewTokens === undefined ? {} : { maxNewTokens: newTokens };
    this.phase = 'generating';
    let finished = false;
    try {
      for (const p of [0, 1] as const) {
        const sealed = this.seals.sealPrompt(p, turn, n, wordBytes(shares[p].data));
        this.transport.send(p, encodeClientRequest({ type: 'generate', sessionId: this.id, promptTokens: n, sealed, ...turnTokens }));
      }
      let t = performance.now();
      let produced = 0;
      for (let i = 0; i < newTokens; i++) {
        const [a, b] = await Promise.all([this.expect(0, 'token'), this.expect(1, 'token')]);
        if (a.type !== 'token' || b.type !== 'token') throw new Error('unreachable');
        if (a.index !== i || b.index !== i) throw new ProtocolError(`session ${this.id}: token #${i} arrived as #${a.index} / #${b.index}`, 'MPC_ERR_BAD_MESSAGE');
        const now = performance.now();
        const value = BigInt.asUintN(64, this.seals.tokenShare(0, turn, a.index, a.sealed) + this.seals.tokenShare(1, turn, b.index, b.sealed));
        if (info.vocabSize > 0 && value >= BigInt(info.vocabSize)) {
          throw new ProtocolError(`session ${this.id}: token #${i} reconstructs to no id in [0, ${info.vocabSize})`, 'MPC_ERR_BAD_MESSAGE');
        }
        yield {
          index: i,
          value,
          ms: now - t,
          bytes: a.cost.bytesSent + b.cost.bytesSent,
          rounds: a.cost.rounds,
          offlineBytes: a.cost.offlineBytes + b.cost.offlineBytes,
          parties: [a.cost, b.cost],
        };
        t = performance.now();
        produced = i + 1;
        if (this.spec.stopToken !== undefined && value === BigInt(this.spec.stopToken)) break; // the parties stop here too
      }
      const [d0, d1] = await Promise.all([this.expect(0, 'done'), this.expect(1, 'done')]);
      if (d0.type !== 'done' || d1.type !== 'done') throw new Error('unreachable');
      if (d0.tokens !== produced || d1.tokens !== produced) {
        throw new ProtocolError(`session ${this.id}: the parties ended the turn after ${d0.tokens} / ${d1.tokens} tokens, this client counted ${produced}`, 'MPC_ERR_BAD_MESSAGE');
      }
      this.totals = [d0.cost, d1.cost];
      finished = true;
      if (this.spec.multiTurn) {
        this.turn++;
        this.positions += n + produced;
        this.phase = 'ready';
      } else {
        this.phase = 'finished';
        this.transport.forget(this.id);
      }
    } finally {
      if (!finished) this.cancel();
    }
  }

  /** Drop the session on both parties (no-op once finished); how a multi-turn session ends. */
  cancel(): void {
    if (this.phase === 'finished') return;
    this.phase = 'finished';
    const req = encodeClientRequest({ type: 'cancel', sessionId: this.id });
    for (const p of [0, 1] as const) {
      try {
        this.transport.send(p, req);
      } catch {
        // that connection is gone, and with it the session on that party
      }
    }
    this.transport.forget(this.id);
    const gone = new ProtocolError(`session ${this.id} canceled`, 'MPC_ERR_BAD_MESSAGE');
    for (const q of this.inbox) q.fail(gone);
  }

  /** The next message from `party`: `type`, or its error rethrown. */
  private async expect(party: PartyId, type: PartyMessage['type']): Promise<PartyMessage> {
    const ms = this.spec.responseTimeoutMs;
    const m = await this.inbox[party].shift(ms, () => new TimeoutError(`session ${this.id}: P${party} sent no "${type}" within ${ms} ms`));
    if (m.type === 'error') throw errorFromWire(m.error, `P${party}`, this.id);
    if (m.type !== type) throw new ProtocolError(`session ${this.id}: P${party} sent "${m.type}", expected "${type}"`, 'MPC_ERR_BAD_MESSAGE');
    return m;
  }
}

/** The prompt as the job takes it: ids (n) or one-hot rows (n, vocabSize) of integer 0/1. */
function encodeInput(prompt: readonly (number | bigint)[], info: SessionInfo) {
  const n = prompt.length, V = info.vocabSize;
  const ids = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const v = prompt[i];
    if (V > 0) {
      const id = Number(v);
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`"prompt" token #${i} expected an id in [0, ${V})`);
      ids[i] = BigInt(id);
    } else {
      ids[i] = BigInt.asUintN(64, BigInt(v));
    }
  }
  if (info.input === 'ids') return tensor([n], ids);
  const rows = new BigUint64Array(n * V);
  for (let i = 0; i < n; i++) rows[i * V + Number(ids[i])] = 1n;
  return tensor([n, V], rows);
}

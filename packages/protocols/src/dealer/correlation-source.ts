/**
 * The party side of the dealer: `take(spec, params)` returns this party's material for the next
 * correlation, drawn from the party's own dealer stream plus the dealer's message (counted in the
 * ledger as offline bytes). A `DealerLink` carries the request to the dealer: in-process (tests,
 * single-process runs) or over a Channel to a dealer service (party-server).
 *
 * Material can be ready before it is taken, two ways:
 *   prefetch(requests)  a known sequence, fetched and expanded now (offline phase; a different
 *                       request later is an error, MPC_ERR_DEALER_MISMATCH)
 *   planned(key, fn)    speculative: run block `fn`, recording its requests under the public
 *                       `key`; when `key` ran before, its recorded requests go to the dealer at
 *                       once (at most SPECULATION_WINDOW outstanding), so the dealer generates
 *                       while the parties compute. A request not at the head of the plan skips to
 *                       its next occurrence in flight (the skipped material's indices are simply
 *                       never used), or, if it is not planned, is served on demand while the plan
 *                       goes on (MAX_STRIKES such takes in a row drop it) — both parties see the
 *                       same public control flow, so they skip the same material. A wrong guess
 *                       costs the dealer the skipped work only.
 *                       With `next` (the block expected after this one), once this block's plan is
 *                       all in flight the next block's plan follows it into the window, so the
 *                       dealer is already generating the next block's first material when this
 *                       block ends (no stall at block boundaries). The guess is public too: the
 *                       next block's key and operands, and its start predicted from this block's
 *                       plan length; a next block that turns out different drops those requests,
 *                       and one whose plan was recorded after the guess (the block before ran the
 *                       same key with other sizes) keeps the requests its recording also has and
 *                       sends the recording's others at once (realign).
 */
import { AesCtrPrg, ProtocolError, type Ledger, type PartyId } from '@mpcache/mpc-core';
import { PartyGen, type CorrelationSpec } from './correlation';
import type { DealerSession } from './dealer-session';
import { CorrelationPlans } from './correlation-plans';
import { KeyedStreams } from './keyed-streams';

/** Speculative requests kept in flight ahead of the takes (bounds the prepared material's memory). */
export const SPECULATION_WINDOW = 48;
/**
 * A window with room for fewer requests than this is topped up later: requests leave in batches of
 * at least this many (one write, one wake-up of the dealer) instead of one per take. A plan's last
 * requests go at once.
 */
export const REQUEST_BATCH = 8;
/** Unplanned takes in a row after which a block's plan is dropped. */
export const MAX_STRIKES = 32;
/** The ledger scope (top level) of speculative material that no take used (bytes counted on arrival). */
export const UNUSED_SPECULATION_SCOPE = 'dealer speculation (unused)';

export interface DealerLink {
  fetch<P>(index: number, spec: CorrelationSpec<P, unknown>, params: P): Promise<Uint8Array>;
  /** Run `fn`, whose fetches send their requests together where the link can (one write). */
  together<T>(fn: () => T): T;
}

export class InProcessDealerLink implements DealerLink {
  constructor(
    private readonly session: DealerSession,
    private readonly party: PartyId,
  ) {}

  async fetch<P>(index: number, spec: CorrelationSpec<P, unknown>, params: P): Promise<Uint8Array> {
    return this.session.fetch(this.party, index, spec, params);
  }

  /** Nothing to batch in process. */
  together<T>(fn: () => T): T {
    return fn();
  }
}

interface Prepared {
  readonly key: string;
  /** Expanded material, or its promise while the dealer's reply is on the way (speculative). */
  readonly material: unknown;
  readonly speculative: boolean;
  /** Sent ahead for the block expected after the current one (planned's `next`). */
  upcoming?: boolean;
}

interface Produced<M> {
  readonly material: M;
  readonly bytes: number;
}

interface Speculation {
  readonly plan: readonly CorrelationRequest[];
  next: number;
}

/** Counters of the speculative prefetch (planned blocks). */
export interface SpeculationStats {
  /** Requests sent ahead from a plan. */
  issued: number;
  /** Of those, taken as planned. */
  hits: number;
  /** Takes while speculating that were not in the plan (served on demand). */
  misses: number;
  /** Planned requests never taken (skipped over, or left when the block ended or the plan was dropped). */
  skipped: number;
  /** Takes served on demand (nothing prepared for them: outside any plan, or misses); each waits a dealer round trip. */
  onDemand: number;
}

export interface CorrelationRequest {
  readonly spec: CorrelationSpec<unknown, unknown>;
  readonly params: unknown;
}

/** The block expected after the current planned block: its plan key and operand keys (public). */
export interface NextBlock {
  readonly key: string;
  readonly operandKeys: readonly string[];
}

/** The running planned block. */
interface Block {
  readonly recorded: CorrelationRequest[];
  /** Takes when it began, and the length of the plan it replays (undefined: none). */
  readonly start: number;
  readonly planLength: number | undefined;
  /** Asked once, when this block's plan is all in flight: the block that follows. */
  readonly next?: () => NextBlock | undefined;
}

/** The next block's plan, sent ahead while the current block runs. */
interface Upcoming extends NextBlock {
  readonly speculation: Speculation;
}

export class CorrelationSource {
  private readonly stream: AesCtrPrg;
  private readonly keyed: KeyedStreams;
  private index = 0;
  /** Takes so far (`taken`). */
  private takes = 0;
  private readonly prepared: Prepared[] = [];
  /** When set, every take is appended here (to prefetch the same sequence for a later run). */
  recording: CorrelationRequest[] | undefined;
  /** Counters of planned blocks' speculative requests. */
  readonly speculationStats: SpeculationStats = { issued: 0, hits: 0, misses: 0, skipped: 0, onDemand: 0 };
  private readonly plans = new CorrelationPlans();
  private block: Block | undefined;
  private speculation: Speculation | undefined;
  private upcoming: Upcoming | undefined;
  /** Unplanned takes in a row while speculating (MAX_STRIKES drop the plan). */
  private strikes = 0;
  private waiting = 0;
  private waitStart = 0;
  /**
   * The last finished generator, kept so that PartyGen's hidden class outlives the full GCs between
   * correlations and the specs' optimized code with it (retain-shape.ts; finished, it holds no message).
   */
  private lastGen: PartyGen | undefined;
  /**
   * Milliseconds the online phase spent waiting for material: not prefetched (dealer round trip +
   * generation + expanding this party's share), or sent ahead but not arrived yet. Benchmarks
   * report online time with and without it.
   */
  dealerWaitMs = 0;

  constructor(
    readonly party: PartyId,
    seedWithDealer: Uint8Array,
    private readonly link: DealerLink,
    private readonly ledger: Ledger,
  ) {
    this.stream = new AesCtrPrg(seedWithDealer);
    this.keyed = new KeyedStreams(seedWithDealer);
  }

  /**
   * Correlations taken so far: identical on both parties and increasing with every take, so it
   * names objects created between takes session-uniquely (masked operands' keys). Not the dealer
   * index: requests sent ahead (prefetch, planned blocks) advance that one early.
   */
  get taken(): number {
    return this.takes;
  }

  async take<P, M>(spec: CorrelationSpec<P, M>, params: P): Promise<M> {
    this.takes++;
    const request = { spec: spec as CorrelationSpec<unknown, unknown>, params };
    this.recording?.push(request);
    this.block?.recorded.push(request);
    const ready = this.prepared[0];
    if (ready) {
      const key = requestKey(spec, params);
      if (ready.key === key && !ready.speculative) {
        this.prepared.shift();
        return ready.material as M;
      }
      if (!ready.speculative) {
        throw new ProtocolError(`prefetched "${ready.key.split(':')[0]}" but the protocol asked for "${spec.name}"`, 'MPC_ERR_DEALER_MISMATCH');
      }
      // speculative: the head, or a later planned request after a stretch the run left out
      // (e.g. fewer quick-select passes than the plan's run) — skip to it
      const j = this.prepared.findIndex((p) => p.key === key && !p.upcoming);
      if (j >= 0) {
        this.discardSpeculative(j);
        const hit = this.prepared.shift()!;
        this.speculationStats.hits++;
        this.strikes = 0;
        this.topUp();
        const { material, bytes } = await this.waitFor(hit.material as Promise<Produced<M>>);
        this.ledger.recordOffline(bytes); // counted in the taking scope, as an on-demand take is
        return material;
      }
      // not planned (e.g. more quick-select passes than the plan's run): on demand, keeping the
      // plan for what follows, until MAX_STRIKES such takes in a row say the plan is off
      this.speculationStats.misses++;
      if (++this.strikes >= MAX_STRIKES) this.dropSpeculation();
    }
    this.speculationStats.onDemand++;
    const { material, bytes } = await this.waitFor(this.produce(spec, params));
    this.ledger.recordOffline(bytes);
    return material;
  }

  /** Await material, counting the time at least one take waits (concurrent takes of fused branches wait together). */
  private async waitFor<M>(material: Promise<M>): Promise<M> {
    if (this.waiting++ === 0) this.waitStart = performance.now();
    try {
      return await material;
    } finally {
      if (--this.waiting === 0) this.dealerWaitMs += performance.now() - this.waitStart;
    }
  }

  /**
   * Run the block `fn` under the public plan key `key` (header): its requests are recorded as the
   * key's plan, and if the key ran before, its recorded requests are fetched ahead. Blocks that
   * differ only in their masked operands share a key and list their operands' keys in the same
   * order (`operandKeys`, correlation-plans.ts). Blocks do not nest (an inner call just runs `fn`);
   * the key must be derived from public values only.
   */
  async planned<T>(key: string, fn: () => Promise<T>, operandKeys: readonly string[] = [], next?: () => NextBlock | undefined): Promise<T> {
    if (this.block) return fn();
    const start = this.takes, up = this.upcoming;
    this.upcoming = undefined;
    let plan: readonly CorrelationRequest[] | undefined;
    if (up && up.key === key) {
      // the guessed next block: its requests in flight become this block's; the rest of its plan
      // is renamed from the actual start and operands (requests sent under a wrong guess of either,
      // e.g. an operand the previous block replaced after the guess, just miss). A plan recorded
      // since the guess (the block before ran this key and its sizes changed) replaces the guessed
      // one: what went ahead is kept as far as it agrees with it, the rest is dropped at once
      for (const p of this.prepared) p.upcoming = false;
      const recorded = this.plans.replay(key, start, operandKeys);
      plan = recorded ?? up.speculation.plan;
      this.speculation = { plan, next: recorded ? this.realign(recorded) : up.speculation.next };
    } else {
      if (up) this.dropSpeculation(); // a different block than guessed: forget what was sent for it
      plan = this.prepared.length === 0 ? this.plans.replay(key, start, operandKeys) : undefined; // start: in takes
      if (plan) this.speculation = { plan, next: 0 };
    }
    const block: Block = { recorded: [], start, planLength: plan?.length, next };
    this.block = block;
    this.topUp();
    try {
      const result = await fn();
      this.plans.set(key, block.recorded, operandKeys, start);
      return result;
    } finally {
      this.block = undefined;
      this.endBlock(); // requests planned but not taken (a shorter run than the plan's)
    }
  }

  /** Keep up to SPECULATION_WINDOW planned requests in flight: this block's, then the next block's. */
  private topUp(): void {
    const s = this.speculation;
    if (s) {
      this.issue(s, false);
      if (s.next < s.plan.length) return;
      this.speculation = undefined;
    }
    const u = this.upcomingSpeculation();
    if (u) this.issue(u, true);
  }

  private issue(s: Speculation, upcoming: boolean): void {
    const room = SPECULATION_WINDOW - this.prepared.length;
    if (room < Math.min(REQUEST_BATCH, s.plan.length - s.next)) return;
    this.link.together(() => {
      while (this.prepared.length < SPECULATION_WINDOW && s.next < s.plan.length) {
        const r = s.plan[s.next++];
        if (!isValid(r)) continue; // a predicted request the dealer would refuse (and end the session for)
        this.prepared.push(this.send(r, upcoming));
      }
    });
  }

  /** Send a planned request ahead. */
  private send(r: CorrelationRequest, upcoming: boolean): Prepared {
    const material = this.produce(r.spec, r.params);
    material.catch(() => undefined); // a failed link fails the take that awaits it, not the process
    this.speculationStats.issued++;
    return { key: requestKey(r.spec, r.params), material, speculative: true, upcoming };
  }

  /** The next block's plan (made once per block, when the block's own plan is all in flight). */
  private upcomingSpeculation(): Speculation | undefined {
    if (this.upcoming) return this.upcoming.speculation;
    const b = this.block;
    if (!b?.next || b.planLength === undefined) return undefined;
    const n = b.next();
    if (!n) return undefined;
    const plan = this.plans.replay(n.key, b.start + b.planLength, n.operandKeys);
    if (!plan) return undefined;
    this.upcoming = { key: n.key, operandKeys: [...n.operandKeys], speculation: { plan, next: 0 } };
    return this.upcoming.speculation;
  }

  /**
   * A block starts on `plan` while the guessed plan's requests are in flight: keep those that `plan`
   * also has, in its order (longest common subsequence), send the requests of `plan` that fall
   * between them now, forget the others; returns where `plan` goes on. A guess that was right
   * changes nothing; one whose sizes were off (a recording made since says so) costs the dealer the
   * forgotten requests only, instead of every take of the block missing them.
   */
  private realign(plan: readonly CorrelationRequest[]): number {
    const sent = this.prepared;
    if (sent.some((p) => !p.speculative)) return plan.length; // prefetched material: no speculation over it
    const n = sent.length, m = Math.min(plan.length, 2 * n + SPECULATION_WINDOW);
    const keys = plan.slice(0, m).map((r) => (isValid(r) ? requestKey(r.spec, r.params) : ''));
    // the usual case, a right guess: what went ahead is the plan's beginning (invalid entries were never sent)
    let at = 0, matched = 0;
    while (matched < n && at < m) {
      if (keys[at] === '') at++;
      else if (keys[at] === sent[matched].key) (at++, matched++);
      else break;
    }
    if (matched === n) return at;
    // lcs[i][j]: longest common subsequence of sent[i..] and keys[j..]
    const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] = sent[i].key === keys[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    const kept: Prepared[] = [], dropped: Prepared[] = [];
    let i = 0, j = 0, next = 0;
    while (i < n && j < m && lcs[i][j] > 0) {
      if (sent[i].key === keys[j]) {
        for (; next < j; next++) if (keys[next] !== '') kept.push(this.send(plan[next], false)); // between kept ones
        kept.push(sent[i++]);
        next = ++j;
      } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
        dropped.push(sent[i++]);
      } else {
        j++;
      }
    }
    dropped.push(...sent.slice(i));
    this.prepared.splice(0, n, ...kept);
    this.forget(dropped);
    return next;
  }

  /** Forget the first n prepared (speculative) items. */
  private discardSpeculative(n: number): void {
    this.forget(this.prepared.splice(0, n));
  }

  /** End the speculation (this block's and the next one's) and forget all speculative material still prepared. */
  private dropSpeculation(): void {
    this.strikes = 0;
    this.speculation = undefined;
    this.upcoming = undefined;
    let first = this.prepared.length;
    while (first > 0 && this.prepared[first - 1].speculative) first--;
    this.forget(this.prepared.splice(first));
  }

  /** A block ended: forget its own speculative material still prepared, keep what went ahead for the next. */
  private endBlock(): void {
    this.strikes = 0;
    this.speculation = undefined;
    const stale = this.prepared.filter((p) => p.speculative && !p.upcoming);
    if (stale.length === 0) return;
    const keep = this.prepared.filter((p) => !p.speculative || p.upcoming);
    this.prepared.splice(0, this.prepared.length, ...keep);
    this.forget(stale);
  }

  /**
   * Speculative material never taken: its indices are skipped by both parties alike. The dealer
   * sends it all the same, so its bytes are counted when they arrive — in a top-level scope of their
   * own (UNUSED_SPECULATION_SCOPE), not in whatever protocol is running then.
   */
  private forget(items: readonly Prepared[]): void {
    for (const p of items) {
      this.speculationStats.skipped++;
      (p.material as Promise<Produced<unknown>>).then(
        (m) => this.ledger.rootScope(UNUSED_SPECULATION_SCOPE, () => this.ledger.recordOffline(m.bytes)), () => undefined);
    }
  }

  /**
   * Offline phase: fetch and expand the material for a known sequence of requests now, so the
   * online phase never waits on the dealer (public shapes make the sequence known in advance).
   */
  async prefetch(requests: readonly CorrelationRequest[]): Promise<void> {
    for (const r of requests) {
      const { material, bytes } = await this.produce(r.spec, r.params);
      this.ledger.recordOffline(bytes);
      this.prepared.push({ key: requestKey(r.spec, r.params), material, speculative: false });
    }
  }

  /** Number of prefetched correlations not yet used. */
  get preparedCount(): number {
    return this.prepared.length;
  }

  /** Fetch and expand the next correlation (the caller records its offline bytes). */
  private async produce<P, M>(spec: CorrelationSpec<P, M>, params: P): Promise<Produced<M>> {
    const message = await this.link.fetch(this.index++, spec, params);
    const g = new PartyGen(this.party, this.stream, message, this.keyed);
    const material = spec.deal(g, params);
    g.finish(spec.name);
    this.lastGen = g;
    return { material, bytes: message.length };
  }
}

function isValid(r: CorrelationRequest): boolean {
  try {
    r.spec.validate(r.params);
    return true;
  } catch {
    return false;
  }
}

function requestKey(spec: CorrelationSpec<unknown, unknown> | CorrelationSpec<never, unknown>, params: unknown): string {
  return `${spec.name}:${JSON.stringify(params)}`;
}

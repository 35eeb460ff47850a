/**
 * The dealer's state for one session: its two streams (seeded by the dealer–P0 and dealer–P1
 * seeds) and the queue of generated-but-not-yet-fetched messages.
 *
 * Both parties request the same sequence of correlations (index 0, 1, 2, …). The first request for
 * an index generates the material for both parties; the other party's half waits in the queue until
 * it asks for the same index, and the dealer checks that both asked for the same kind and params.
 * The dealer never sees any input, share or opened value and takes no part in the online phase.
 *
 * Size: before generating, the spec's `messageBytes(params)` (both parties together) must be within
 * `maxRequestBytes`, else the request gets a LimitError MPC_ERR_DEALER_REQUEST_TOO_LARGE and nothing
 * is generated; after generating, the messages must have exactly that size (else an Error: a spec
 * whose size function is wrong, a bug, never a party's fault).
 * Work: before generating, the spec's `generationWork(params)` (dealer-work.ts) must be within
 * `maxRequestWork`, else a LimitError MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK and nothing is generated
 * (bytes alone do not bound it: a matmul triple with a long inner dimension sends little and computes
 * much); after generating, the work DealerGen counted plus the FSS PRG words must be within it (else
 * an Error: a spec whose work function falls short). `largestRequestWork` is the session's largest.
 * Session work: the requests' stated work, summed over the session (`totalWork`), may reach at most
 * `maxSessionWork`; a request that would pass it gets a LimitError MPC_ERR_DEALER_SESSION_WORK before
 * anything is generated (a party that keeps asking: each request under the request limit, the
 * session's dealer CPU unbounded otherwise).
 * Backlog: the halves queued for the party that has not asked yet may total at most
 * `maxBacklogBytes`; a request whose queued half would pass it gets a LimitError
 * MPC_ERR_DEALER_BACKLOG before anything is generated (one party ran that far ahead of the other: a
 * stuck or misbehaving peer, since the parties request in step). `largestBacklogBytes` is the
 * session's high-water mark (public: sizes follow from params).
 */
import {
  AesCtrPrg, concatWithHeadroom, LimitError, MAX_DEALER_BACKLOG_BYTES, MAX_DEALER_REQUEST_BYTES, MAX_DEALER_REQUEST_WORK, MAX_DEALER_SESSION_WORK,
  ProtocolError, type PartyId,
} from '@mpcache/mpc-core';
import { fssAesBlocks } from '../fss/fss-prg';
import { DealerGen, type CorrelationSpec } from './correlation';
import { DEALER_MESSAGE_HEADROOM } from './dealer-wire';
import { totalDealerBytes } from './dealer-bytes';
import { KeyedStreams } from './keyed-streams';
import { DEFAULT_KEYED_CACHE_WORDS, KeyedValueCache } from './keyed-value-cache';

/** What a dealer session admits (header). */
export interface DealerLimits {
  /** Largest request, in bytes of its messages to both parties. Default MAX_DEALER_REQUEST_BYTES. */
  readonly maxRequestBytes?: number;
  /** Most bytes queued for a party that has not asked for them yet. Default MAX_DEALER_BACKLOG_BYTES. */
  readonly maxBacklogBytes?: number;
  /** Most work one request may take, in word operations (dealer-work.ts). Default MAX_DEALER_REQUEST_WORK. */
  readonly maxRequestWork?: number;
  /** Most work all of a session's requests may take together, in word operations. Default MAX_DEALER_SESSION_WORK. */
  readonly maxSessionWork?: number;
}

/** The limits with their defaults, each checked to be a non-negative safe integer. */
export function dealerLimits(o: DealerLimits): Required<DealerLimits> {
  return {
    maxRequestBytes: assertDealerLimit(o.maxRequestBytes ?? MAX_DEALER_REQUEST_BYTES, 'maxRequestBytes'),
    maxBacklogBytes: assertDealerLimit(o.maxBacklogBytes ?? MAX_DEALER_BACKLOG_BYTES, 'maxBacklogBytes'),
    maxRequestWork: assertDealerLimit(o.maxRequestWork ?? MAX_DEALER_REQUEST_WORK, 'maxRequestWork'),
    maxSessionWork: assertDealerLimit(o.maxSessionWork ?? MAX_DEALER_SESSION_WORK, 'maxSessionWork'),
  };
}

export interface DealerSessionOptions extends DealerLimits {
  /** Budget (8-byte words) of the memo of keyed operand masks; 0 disables it. Default 2^26. */
  keyedCacheWords?: number;
}

interface Pending {
  readonly key: string;
  readonly message: Uint8Array;
  readonly forParty: PartyId;
}

export class DealerSession {
  private readonly s0: AesCtrPrg;
  private readonly s1: AesCtrPrg;
  private readonly priv = AesCtrPrg.fromEntropy();
  private readonly keyed: readonly [KeyedStreams, KeyedStreams];
  /** Operand masks B expanded once per session, not once per product (keyed-value-cache.ts). */
  readonly keyedValues: KeyedValueCache | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextToGenerate = 0;
  private readonly limits: Required<DealerLimits>;
  /** Bytes of the queued halves. */
  private backlogBytes = 0;
  /** The most bytes queued at once so far. */
  largestBacklogBytes = 0;
  /** Bytes sent to each party so far. */
  readonly bytesSent: [number, number] = [0, 0];
  /** The largest correlation generated so far, bytes to both parties (public: sizes follow from params). */
  largestRequestBytes = 0;
  /** The most work one generated correlation took, word operations as its spec states (public, from params). */
  largestRequestWork = 0;
  /** The work of every correlation generated so far, as their specs state (public, from params). */
  totalWork = 0;
  /**
   * The last generator, emptied, kept so that DealerGen's hidden class outlives the full GCs between
   * requests and the specs' optimized code with it (mpc-core retain-shape.ts).
   */
  private lastGen: DealerGen | undefined;

  constructor(seedP0: Uint8Array, seedP1: Uint8Array, opts: DealerSessionOptions = {}) {
    this.s0 = new AesCtrPrg(seedP0);
    this.s1 = new AesCtrPrg(seedP1);
    this.keyed = [new KeyedStreams(seedP0), new KeyedStreams(seedP1)];
    const budget = opts.keyedCacheWords ?? DEFAULT_KEYED_CACHE_WORDS;
    this.keyedValues = budget > 0 ? new KeyedValueCache(this.keyed, budget) : undefined;
    this.limits = dealerLimits(opts);
  }

  /** The dealer message for `party`'s `index`-th correlation. */
  fetch<P>(party: PartyId, index: number, spec: CorrelationSpec<P, unknown>, params: P): Uint8Array {
    const key = `${spec.name}:${JSON.stringify(params)}`;
    const p = this.pending.get(index);
    if (p) {
      if (p.forParty !== party) throw mismatch(`party ${party} asked twice for correlation #${index}`);
      if (p.key !== key) {
        throw mismatch(`parties disagree on correlation #${index}: "${spec.name}" vs "${p.key.split(':')[0]}"`);
      }
      this.pending.delete(index);
      this.backlogBytes -= p.message.length;
      this.bytesSent[party] += p.message.length;
      return p.message;
    }
    if (index !== this.nextToGenerate) {
      throw mismatch(`party ${party} asked for correlation #${index}, next to generate is #${this.nextToGenerate}`);
    }
    const size = spec.messageBytes(params), total = totalDealerBytes(size);
    if (!(total <= this.limits.maxRequestBytes)) {
      throw new LimitError(
        `party ${party}: correlation #${index} ("${spec.name}") would be ${total} B of dealer material, above the dealer's limit of ${this.limits.maxRequestBytes} B per request`,
        'MPC_ERR_DEALER_REQUEST_TOO_LARGE',
      );
    }
    const work = spec.generationWork(params);
    if (!(work <= this.limits.maxRequestWork)) {
      throw new LimitError(
        `party ${party}: correlation #${index} ("${spec.name}") would take ${work} word operations to generate, above the dealer's limit of ${this.limits.maxRequestWork} per request`,
        'MPC_ERR_DEALER_REQUEST_TOO_MUCH_WORK',
      );
    }
    if (!(this.totalWork + work <= this.limits.maxSessionWork)) {
      throw new LimitError(
        `party ${party}: correlation #${index} ("${spec.name}") would bring the session's dealer work to ${this.totalWork + work} word operations, above the dealer's limit of ${this.limits.maxSessionWork} per session`,
        'MPC_ERR_DEALER_SESSION_WORK',
      );
    }
    const other: PartyId = party === 0 ? 1 : 0, queued = this.backlogBytes + size[other];
    if (!(queued <= this.limits.maxBacklogBytes)) {
      throw new LimitError(
        `party ${party}: correlation #${index} ("${spec.name}") would queue ${queued} B of dealer material that party ${other} has not asked for yet, above the dealer's limit of ${this.limits.maxBacklogBytes} B (party ${other} is ${this.pending.size} correlations behind)`,
        'MPC_ERR_DEALER_BACKLOG',
      );
    }
    this.nextToGenerate++;
    const g = new DealerGen(this.s0, this.s1, this.priv, this.keyed, this.keyedValues);
    const aes0 = fssAesBlocks(); // generation is synchronous: nothing else runs the FSS PRG meanwhile
    spec.deal(g, params);
    const counted = g.work + 2 * (fssAesBlocks() - aes0);
    const m0 = concatWithHeadroom(g.toP0, DEALER_MESSAGE_HEADROOM); // room for the wire's headers: sent without a copy
    const m1 = concatWithHeadroom(g.toP1, DEALER_MESSAGE_HEADROOM);
    g.toP0.length = g.toP1.length = 0;
    this.lastGen = g;
    if (m0.length !== size[0] || m1.length !== size[1]) {
      throw new Error(`correlation "${spec.name}": generated ${m0.length} + ${m1.length} B, its messageBytes says ${size[0]} + ${size[1]} B`);
    }
    if (counted > work) throw new Error(`correlation "${spec.name}": generating it counted ${counted} word operations, its generationWork says at most ${work}`);
    this.largestRequestBytes = Math.max(this.largestRequestBytes, total);
    this.largestRequestWork = Math.max(this.largestRequestWork, work);
    this.totalWork += work;
    this.pending.set(index, { key, message: other === 0 ? m0 : m1, forParty: other });
    this.backlogBytes = queued;
    this.largestBacklogBytes = Math.max(this.largestBacklogBytes, queued);
    const mine = party === 0 ? m0 : m1;
    this.bytesSent[party] += mine.length;
    return mine;
  }

  /** Correlations generated for one party but not yet fetched by the other. */
  get backlog(): number {
    return this.pending.size;
  }
}

/** A dealer limit from a caller's options, bytes or work (`name` for the message): a non-negative integer. */
export function assertDealerLimit(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`"${name}" expected a non-negative integer, got ${v}`);
  return v;
}

function mismatch(msg: string): ProtocolError {
  return new ProtocolError(msg, 'MPC_ERR_DEALER_MISMATCH');
}

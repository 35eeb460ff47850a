/**
 * The dealer's state for one session: its two streams (seeded by the dealer–P0 and dealer–P1
 * seeds) and the queue of generated-but-not-yet-fetched messages.
 *
 * Both parties request the same sequence of correlations (index 0, 1, 2, …). The first request for
 * an index generates the material for both parties; the other party's half waits in the queue until
 * it asks for the same index, and the dealer checks that both asked for the same kind and params.
 * The dealer never sees any input, share or opened value and takes no part in the online phase.
 */
import { AesCtrPrg, ProtocolError, type PartyId } from '@mpcache/mpc-core';
import { concatBytes, DealerGen, type CorrelationSpec } from './correlation';
import { KeyedStreams } from './keyed-streams';
import { DEFAULT_KEYED_CACHE_WORDS, KeyedValueCache } from './keyed-value-cache';

export interface DealerSessionOptions {
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
  /** Bytes sent to each party so far. */
  readonly bytesSent: [number, number] = [0, 0];

  constructor(seedP0: Uint8Array, seedP1: Uint8Array, opts: DealerSessionOptions = {}) {
    this.s0 = new AesCtrPrg(seedP0);
    this.s1 = new AesCtrPrg(seedP1);
    this.keyed = [new KeyedStreams(seedP0), new KeyedStreams(seedP1)];
    const budget = opts.keyedCacheWords ?? DEFAULT_KEYED_CACHE_WORDS;
    this.keyedValues = budget > 0 ? new KeyedValueCache(this.keyed, budget) : undefined;
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
      this.bytesSent[party] += p.message.length;
      return p.message;
    }
    if (index !== this.nextToGenerate) {
      throw mismatch(`party ${party} asked for correlation #${index}, next to generate is #${this.nextToGenerate}`);
    }
    this.nextToGenerate++;
    const g = new DealerGen(this.s0, this.s1, this.priv, this.keyed, this.keyedValues);
    spec.deal(g, params);
    const m0 = concatBytes(g.toP0);
    const m1 = concatBytes(g.toP1);
    const other: PartyId = party === 0 ? 1 : 0;
    this.pending.set(index, { key, message: other === 0 ? m0 : m1, forParty: other });
    const mine = party === 0 ? m0 : m1;
    this.bytesSent[party] += mine.length;
    return mine;
  }

  /** Correlations generated for one party but not yet fetched by the other. */
  get backlog(): number {
    return this.pending.size;
  }
}

function mismatch(msg: string): ProtocolError {
  return new ProtocolError(msg, 'MPC_ERR_DEALER_MISMATCH');
}

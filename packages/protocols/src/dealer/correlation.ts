/**
 * Correlation specs: one function per kind of correlated randomness, run in three modes so the
 * dealer and both parties can never disagree on how material is drawn.
 *
 * A spec `deal(g, params)` describes the material with these primitives of `DealGen`:
 *   - random(n):     additive shares of a uniform value; each party draws its share from its own
 *                    dealer stream (P_b ↔ dealer seed); nothing is sent.
 *   - own(p, n):     words only party p draws from its stream (e.g. FSS root seeds, a permutation).
 *   - derived(n, f): a value the dealer computes; P1's share comes from P1's stream, P0 receives its
 *                    share as a correction word (8 B per element, offline bytes).
 *   - send(p, n, f): bytes the dealer computes and sends to party p or to both (FSS correction words).
 *   - keyed(key, lane, offset, n): like random(n), but addressed by a public key so a later
 *                    correlation can name the same value again (keyed-streams.ts); nothing is sent.
 * In dealer mode the generator holds both streams: `value()` of random/derived material is the
 * reconstructed secret, and the spec's returned material is discarded. In party mode `value()`
 * throws, the spec returns that party's material, and `derived`/`send` read the dealer's message.
 * A spec also states `messageBytes(params)`, the exact size of what `derived`/`send` produce for each
 * party (dealer-bytes.ts), and `generationWork(params)`, the word operations generating it takes
 * (dealer-work.ts), so the dealer can bound a request by both before generating it.
 */
import type { AesCtrPrg, PartyId } from '@mpcache/mpc-core';
import { ProtocolError } from '@mpcache/mpc-core';
import type { DealerBytes } from './dealer-bytes';
import { KEYED_CALL_WORK, type DealerWork } from './dealer-work';
import type { KeyedStreams } from './keyed-streams';
import type { KeyedValueCache } from './keyed-value-cache';

// An alias, not `BigInt.asUintN(…)` at each use: inside a vm context (jest) the global lookup stops V8
// lowering the call to a native 64-bit op (≈250 ns/elem instead of ≈1 ns, measured on Node 20.20).
const { asUintN } = BigInt;

export interface Dealt {
  /** This party's share (party mode). In dealer mode: P0's share, unused. */
  readonly share: BigUint64Array;
  /** The secret value (dealer mode only). */
  value(): BigUint64Array;
}

export interface DealGen {
  readonly mode: 'dealer' | PartyId;
  random(n: number): Dealt;
  own(p: PartyId, n: number): BigUint64Array | undefined;
  /** In dealer mode, the words `own(p, n)` drew for party p are also returned here. */
  derived(n: number, f: () => BigUint64Array): Dealt;
  send(to: PartyId | 'both', nBytes: number, f: () => Uint8Array): Uint8Array | undefined;
  /** Random words drawn by the dealer only, from a stream no party can reproduce. */
  dealerPrivate(n: number): BigUint64Array | undefined;
  /**
   * Shares of words [offset, offset + n) of lane `lane` of the uniform value named `key`: the same
   * key always gives the same value in this session. Nothing is sent; the sequential streams are
   * not advanced. In dealer mode the words are computed only when `share`/`value()` is read.
   */
  keyed(key: string, lane: number, offset: number, n: number): Dealt;
  /**
   * Dealer mode, optional: the keyed value's first rows·cols words as a matrix in 8-row panels when
   * the dealer's memo holds it that way (KeyedValueCache.panelValue), else undefined (use keyed).
   */
  keyedPanels?(key: string, lane: number, rows: number, cols: number): BigUint64Array | undefined;
}

export interface CorrelationSpec<P, M> {
  /** Registry name, used on the wire to the dealer service. */
  readonly name: string;
  /** Check params from the wire (throws RangeError/TypeError); also documents them. */
  validate(params: unknown): P;
  /**
   * Exact bytes of the dealer's messages to P0 and P1 for (validated) params, computed without
   * generating anything (dealer-bytes.ts): the dealer's request limit, checked against `deal`.
   */
  messageBytes(params: P): DealerBytes;
  /**
   * Word operations the dealer spends generating it for (validated) params (dealer-work.ts: words
   * drawn + words computed, a multiply-add counting one), exact or a tight upper bound, computed
   * without generating anything: the dealer's work limit, checked against what DealerGen counts.
   */
  generationWork(params: P): DealerWork;
  deal(g: DealGen, params: P): M;
}

/** A spec from its parts; every spec states both its bytes and its work (neither may be omitted). */
export function defineCorrelation<P, M>(
  name: string,
  validate: (params: unknown) => P,
  messageBytes: (params: P) => DealerBytes,
  generationWork: (params: P) => DealerWork,
  deal: (g: DealGen, params: P) => M,
): CorrelationSpec<P, M> {
  return { name, validate, messageBytes, generationWork, deal };
}

// ------------------------------------------------------------------ dealer mode

function addWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] + b[i]);
  return out;
}

function subWords(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] - b[i]);
  return out;
}

const u8 = (w: BigUint64Array) => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);

/**
 * Runs specs with both dealer streams and collects the messages to P0 and P1. `work` counts the word
 * operations of its primitives as dealer-work.ts defines them (draws, and the result words of random
 * values, derived values, messages and keyed values, each keyed-stream call's setup); what a spec's callbacks compute besides (FSS
 * AES, multiply-adds, permutations) is not seen here.
 */
export class DealerGen implements DealGen {
  readonly mode = 'dealer' as const;
  readonly toP0: Uint8Array[] = [];
  readonly toP1: Uint8Array[] = [];
  /** Word operations counted so far (dealer-work.ts). */
  work = 0;

  constructor(
    private readonly s0: AesCtrPrg,
    private readonly s1: AesCtrPrg,
    private readonly priv: AesCtrPrg,
    private readonly keyedStreams?: readonly [KeyedStreams, KeyedStreams],
    /** The session's memo of keyed values (keyed-value-cache.ts); without it values are recomputed. */
    private readonly keyedValues?: KeyedValueCache,
  ) {}

  random(n: number): Dealt {
    const a0 = this.s0.words(n);
    const a1 = this.s1.words(n);
    this.work += 2 * n;
    let v: BigUint64Array | undefined;
    return {
      share: a0,
      value: () => {
        if (!v) this.work += n;
        return (v ??= addWords(a0, a1));
      },
    };
  }

  own(p: PartyId, n: number): BigUint64Array {
    this.work += n;
    return (p === 0 ? this.s0 : this.s1).words(n);
  }

  derived(n: number, f: () => BigUint64Array): Dealt {
    const v = f();
    if (v.length !== n) throw new RangeError(`derived: expected ${n} words, got ${v.length}`);
    const x1 = this.s1.words(n);
    const x0 = subWords(v, x1);
    this.work += 3 * n; // the value, P1's share, P0's correction
    this.toP0.push(u8(x0));
    return { share: x0, value: () => v };
  }

  send(to: PartyId | 'both', nBytes: number, f: () => Uint8Array): Uint8Array {
    const bytes = f();
    if (bytes.length !== nBytes) throw new RangeError(`send: expected ${nBytes} bytes, got ${bytes.length}`);
    this.work += Math.ceil(nBytes / 8);
    if (to !== 1) this.toP0.push(bytes);
    if (to !== 0) this.toP1.push(bytes);
    return bytes;
  }

  dealerPrivate(n: number): BigUint64Array {
    this.work += n;
    return this.priv.words(n);
  }

  keyed(key: string, lane: number, offset: number, n: number): Dealt {
    const ks = this.keyedStreams;
    if (!ks) throw new Error('keyed: this dealer session has no keyed streams');
    const memo = this.keyedValues;
    let a0: BigUint64Array | undefined, v: BigUint64Array | undefined;
    const share0 = () => {
      if (!a0) this.work += n + KEYED_CALL_WORK;
      return (a0 ??= ks[0].words(key, lane, offset, n));
    };
    const fresh = () => {
      const a = share0(), b = ks[1].words(key, lane, offset, n);
      this.work += 2 * n + KEYED_CALL_WORK; // P1's words and the sum
      return addWords(a, b);
    };
    const cached = (m: KeyedValueCache) => {
      const before = m.expandedWork, out = m.value(key, lane, offset, n);
      this.work += m.expandedWork - before; // only what the memo did not hold yet
      return out;
    };
    return {
      get share() {
        return share0();
      },
      value: () => (v ??= memo ? cached(memo) : fresh()),
    };
  }

  keyedPanels(key: string, lane: number, rows: number, cols: number): BigUint64Array | undefined {
    return this.keyedValues?.panelValue(key, lane, rows, cols);
  }
}

// ------------------------------------------------------------------ party mode

const NO_BYTES = new Uint8Array(0);

/** Runs specs on one party's stream and the dealer's message to it. */
export class PartyGen implements DealGen {
  private off = 0;

  constructor(
    readonly mode: PartyId,
    private readonly stream: AesCtrPrg,
    private message: Uint8Array,
    private readonly keyedStreams?: KeyedStreams,
  ) {}

  random(n: number): Dealt {
    const share = this.stream.words(n);
    return { share, value: notInPartyMode };
  }

  own(p: PartyId, n: number): BigUint64Array | undefined {
    return p === this.mode ? this.stream.words(n) : undefined;
  }

  derived(n: number): Dealt {
    const share = this.mode === 1 ? this.stream.words(n) : this.readWords(n);
    return { share, value: notInPartyMode };
  }

  send(to: PartyId | 'both', nBytes: number): Uint8Array | undefined {
    if (to !== 'both' && to !== this.mode) return undefined;
    return this.readBytes(nBytes);
  }

  dealerPrivate(): undefined {
    return undefined;
  }

  keyed(key: string, lane: number, offset: number, n: number): Dealt {
    if (!this.keyedStreams) throw new Error('keyed: this correlation source has no keyed streams');
    return { share: this.keyedStreams.words(key, lane, offset, n), value: notInPartyMode };
  }

  /**
   * Throws unless the whole dealer message was consumed; then lets go of the message (the material
   * holds the views it needs), so a finished generator costs nothing to keep (CorrelationSource keeps
   * its last one: retain-shape.ts).
   */
  finish(name: string): void {
    if (this.off !== this.message.length) {
      throw new ProtocolError(
        `dealer message for "${name}" has ${this.message.length} bytes, spec used ${this.off}`,
        'MPC_ERR_DEALER_MISMATCH',
      );
    }
    this.message = NO_BYTES;
    this.off = 0;
  }

  private readBytes(n: number): Uint8Array {
    if (this.off + n > this.message.length) {
      throw new ProtocolError(
        `dealer message too short: need ${this.off + n} bytes, have ${this.message.length}`,
        'MPC_ERR_DEALER_MISMATCH',
      );
    }
    // A view, not a copy, when the part starts 8-byte aligned: each part of a message is a disjoint
    // range read once, so the material may even be modified in place (copying cost ≈ 80 ms per
    // decoding step: 40 MB of argmax keys). Unaligned parts are copied, so every part handed out
    // starts 8-byte aligned (consumers view key words and leaf words as BigUint64Array).
    const view = this.message.subarray(this.off, this.off + n);
    this.off += n;
    return view.byteOffset % 8 === 0 ? view : new Uint8Array(view); // a copy even of a Buffer (whose slice is a view)
  }

  private readWords(n: number): BigUint64Array {
    const b = this.readBytes(8 * n);
    return new BigUint64Array(b.buffer, b.byteOffset, n);
  }
}

function notInPartyMode(): never {
  throw new Error('a party cannot see a dealer value');
}

export { concatBytes } from '@mpcache/mpc-core';

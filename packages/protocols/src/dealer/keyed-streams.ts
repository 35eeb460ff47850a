/**
 * Keyed dealer streams: random words addressed by (key, lane, offset) instead of by position in the
 * sequential dealer stream, so that a later correlation can use the same secret again.
 *
 * Why: a masked operand (weights, a growing K/V cache) keeps one mask B for its whole life, and
 * every later product triple (A, A·B) needs B at the dealer. The dealer keeps no state between
 * correlations; instead B's shares are derived from the party–dealer seeds by a public key:
 *   share_b = AES-128-CTR keyed by deriveSeed(seed_b, "keyed/<key>"), counter block = lane ‖ block,
 * so the dealer can recompute B (both shares) whenever a product spec names the key, and party b
 * computes only its own share. Lanes (one per batch entry, e.g. per head) occupy the high 64 bits of
 * the counter, so their streams never overlap. A key must name one value for the whole session
 * (masked-operand.ts derives keys from the unique correlation index at creation).
 * Cost: one HKDF per key (cached, ≈ 50 µs), one AES-CTR cipher per (lane, call).
 */
import { AesCtrPrg, deriveSeed } from '@mpcache/mpc-core';

export class KeyedStreams {
  private readonly seeds = new Map<string, Uint8Array>();

  /** @param root the 16-byte party–dealer seed. */
  constructor(private readonly root: Uint8Array) {}

  /** Words [offset, offset + n) of lane `lane` of the stream named `key`. */
  words(key: string, lane: number, offset: number, n: number): BigUint64Array {
    if (!Number.isSafeInteger(lane) || lane < 0 || !Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`keyed stream: invalid lane ${lane} or offset ${offset}`);
    }
    const iv = new Uint8Array(16);
    const view = new DataView(iv.buffer);
    view.setBigUint64(0, BigInt(lane), false);
    view.setBigUint64(8, BigInt(Math.floor(offset / 2)), false); // a 16-byte counter block holds 2 words
    const prg = new AesCtrPrg(this.seed(key), iv);
    if (offset % 2 === 1) prg.words(1);
    return prg.words(n);
  }

  private seed(key: string): Uint8Array {
    let s = this.seeds.get(key);
    if (!s) this.seeds.set(key, (s = deriveSeed(this.root, `keyed/${key}`)));
    return s;
  }
}

/**
 * Distinct ranking keys for selection (fss.md §5 step 1), shared by topK and topKBitonic.
 *
 *   key = v·2^L + (2^L − 1 − idx),   L = ⌈log2 n⌉
 *
 * Keys of different items always differ, so comparisons never tie; among equal values the LOWER index
 * has the larger key and wins. The index enters as a shared column (P0 holds idx, P1 holds 0 before any
 * shuffle), so the key can be rebuilt locally after the rows were shuffled.
 * Range: comparisons run on a `bits`-bit signed range, so |key_a − key_b| < 2^{bits−1}, which holds when
 * |v| < 2^{bits−2−L} (checked by the caller's contract, not at run time: the values are secret).
 * Distinct values (`distinct`: the caller packed its own tie-break, as MPCache's cluster scores
 * S·2^B + cluster index do) are their own keys, L = 0: the index is not packed twice, which saves
 * ⌈log2 n⌉ bits of every comparison.
 */
import { ShapeError, type PartyId, type RingTensor } from '@mpcache/mpc-core';

/** L = ⌈log2 n⌉ (0 for n = 1). */
export function indexBits(n: number): number {
  let L = 0;
  while (2 ** L < n) L++;
  return L;
}

/**
 * Index bits packed into the keys: L = ⌈log2 n⌉, or 0 for values the caller made distinct already
 * (`distinct`: e.g. a score with its own index in the low bits), which are then the keys as they are.
 */
export const keyIndexBits = (n: number, distinct = false): number => (distinct ? 0 : indexBits(n));

/** The largest |v| allowed for n items compared on a `bits`-bit range: 2^{bits−2−L} − 1 (L = keyIndexBits). */
export function maxRankedValue(n: number, bits: number, distinct = false): bigint {
  return (1n << BigInt(bits - 2 - keyIndexBits(n, distinct))) - 1n;
}

export function checkSelection(v: RingTensor, k: number, bits: number, what: string, distinct = false): { rows: number; n: number } {
  if (v.shape.length !== 1 && v.shape.length !== 2) {
    throw new ShapeError(`${what}: expected values of shape (n) or (rows, n), got (${v.shape.join(', ')})`);
  }
  const rows = v.shape.length === 2 ? v.shape[0] : 1;
  const n = v.shape[v.shape.length - 1];
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`${what}: k must be in [1, ${n}], got ${k}`);
  const L = keyIndexBits(n, distinct);
  if (!Number.isInteger(bits) || bits < L + 3 || bits > 64) {
    throw new RangeError(`${what}: comparison bits must be in [${L + 3}, 64], got ${bits}`);
  }
  return { rows, n };
}

/** Payload width w for a payload of shape [...v.shape, w] (0 without payload). */
export function payloadWidth(v: RingTensor, payload: RingTensor | undefined, what: string): number {
  if (!payload) return 0;
  const s = payload.shape;
  if (s.length !== v.shape.length + 1 || v.shape.some((d, i) => s[i] !== d)) {
    throw new ShapeError(`${what}: payload expected shape (${[...v.shape, 'w'].join(', ')}), got (${s.join(', ')})`);
  }
  return s[s.length - 1];
}

/**
 * The rows × n items as a (rows·n) × (2 + w) matrix of this party's shares: column 0 = v,
 * column 1 = original index (P0 holds it, P1 holds 0), then the payload columns.
 */
export function itemMatrix(party: PartyId, v: RingTensor, payload: RingTensor | undefined, n: number, w: number): BigUint64Array {
  const total = v.data.length, cols = 2 + w;
  const out = new BigUint64Array(total * cols);
  for (let i = 0; i < total; i++) {
    out[i * cols] = v.data[i];
    if (party === 0) out[i * cols + 1] = BigInt(i % n);
    if (payload) out.set(payload.data.subarray(i * w, i * w + w), i * cols + 2);
  }
  return out;
}

/**
 * Keys of every item of an item matrix (column 0 = v, column 1 = idx); with `distinct` the values
 * themselves (the caller guarantees they differ).
 */
export function rankingKeys(party: PartyId, items: BigUint64Array, cols: number, L: number, distinct = false): BigUint64Array {
  const count = items.length / cols, out = new BigUint64Array(count);
  if (distinct) {
    for (let i = 0; i < count; i++) out[i] = items[i * cols];
    return out;
  }
  const shift = BigInt(L), top = party === 0 ? (1n << shift) - 1n : 0n;
  for (let i = 0; i < count; i++) out[i] = BigInt.asUintN(64, (items[i * cols] << shift) + top - items[i * cols + 1]);
  return out;
}

/** Output shape helper: drop the rows axis when the input was 1-D. */
export function outShape(oneD: boolean, rows: number, ...rest: number[]): number[] {
  return oneD ? rest : [rows, ...rest];
}

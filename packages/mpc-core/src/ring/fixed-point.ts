/**
 * Fixed-point encoding in Z_2^64.
 *
 * A real x is stored as round(x · 2^fracBits) mod 2^64 (two's complement). Encoding rounds to
 * nearest (ties away from zero, as Math.round on |x|); decoding reads the top bit as the sign.
 * Representable range: |x| < 2^(63 − fracBits). Default fracBits = 12 (CrypTen uses 16).
 */
import { ShapeError } from '../errors';

export const DEFAULT_FRAC_BITS = 12;

const TWO_64 = 1n << 64n;
const TWO_63 = 1n << 63n;

/** Encode one real to a ring element (bigint in [0, 2^64)). */
export function encodeScalar(x: number, fracBits = DEFAULT_FRAC_BITS): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`cannot encode non-finite value`);
  const scaled = x * 2 ** fracBits;
  const r = Math.sign(scaled) * Math.round(Math.abs(scaled));
  if (Math.abs(r) >= 2 ** 63) throw new RangeError(`value out of fixed-point range (fracBits ${fracBits})`);
  return BigInt.asUintN(64, BigInt(r));
}

/** Decode one ring element to a real. */
export function decodeScalar(v: bigint, fracBits = DEFAULT_FRAC_BITS): number {
  const s = v >= TWO_63 ? v - TWO_64 : v;
  return Number(s) / 2 ** fracBits;
}

/** Encode an array of reals. Fast path: values whose scaled magnitude < 2^53 go through Number. */
export function encode(xs: ArrayLike<number>, fracBits = DEFAULT_FRAC_BITS): BigUint64Array {
  const out = new BigUint64Array(xs.length);
  const scale = 2 ** fracBits;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const scaled = x * scale;
    if (!(Math.abs(scaled) < 2 ** 53)) {
      out[i] = encodeScalar(x, fracBits);
      continue;
    }
    const r = scaled < 0 ? -Math.round(-scaled) : Math.round(scaled);
    out[i] = BigInt.asUintN(64, BigInt(r));
  }
  return out;
}

/** Decode ring elements to reals (Float64Array). */
export function decode(vs: BigUint64Array, fracBits = DEFAULT_FRAC_BITS): Float64Array {
  const out = new Float64Array(vs.length);
  const signed = new BigInt64Array(vs.buffer, vs.byteOffset, vs.length);
  const scale = 2 ** -fracBits;
  for (let i = 0; i < vs.length; i++) out[i] = Number(signed[i]) * scale;
  return out;
}

/** Encode integers (no scaling), e.g. token ids or indices. */
export function encodeInts(xs: ArrayLike<number>): BigUint64Array {
  const out = new BigUint64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isInteger(xs[i])) throw new ShapeError(`encodeInts expected integers at index ${i}`);
    out[i] = BigInt.asUintN(64, BigInt(xs[i]));
  }
  return out;
}

/** Decode ring elements as signed integers. */
export function decodeInts(vs: BigUint64Array): number[] {
  const signed = new BigInt64Array(vs.buffer, vs.byteOffset, vs.length);
  return Array.from(signed, (v) => Number(v));
}

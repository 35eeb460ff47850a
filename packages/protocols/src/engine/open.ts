/**
 * Openings: the only place that exchanges share bytes with the peer.
 *
 * Rounds:  1 per call, however many tensors are opened (one frame per direction per round)
 * Online:  per element, ⌈bits/8⌉ bytes sent per party (bits = 64 by default; bits = 1 packs 8 per byte)
 * Opens:   exactly the values passed in — callers pass only masked values (x + r with r fresh and
 *          uniform) or values the protocol declares public.
 * Values opened mod 2^bits come back reduced mod 2^bits.
 */
import { ProtocolError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from './context';

// An alias, not `BigInt.asUintN(…)` at each use: inside a vm context (jest) the global lookup stops V8
// lowering the call to a native 64-bit op (≈250 ns/elem instead of ≈1 ns, measured on Node 20.20).
const { asUintN } = BigInt;

export interface OpenPart {
  readonly x: BigUint64Array;
  /** Open only x mod 2^bits (1 ≤ bits ≤ 64). */
  readonly bits?: number;
}

/** Bytes one party sends to open n elements at this width. */
export function openBytes(n: number, bits = 64): number {
  return bits === 1 ? Math.ceil(n / 8) : n * Math.ceil(bits / 8);
}

/** Open several word arrays in one round; returns the opened (reconstructed) values. */
export async function openMany(ctx: PartyContext, parts: readonly OpenPart[]): Promise<BigUint64Array[]> {
  const tag = ctx.seq++;
  const frame = packParts(parts);
  ctx.channel.send(tag, frame);
  const peer = await ctx.channel.recv(tag);
  if (peer.length !== frame.length) {
    throw new ProtocolError(`opening #${tag}: expected ${frame.length} bytes, got ${peer.length}`, 'MPC_ERR_BAD_LENGTH');
  }
  ctx.ledger.recordRound();
  const theirs = unpackParts(peer, parts);
  return parts.map((p, i) => addMod(p.x, theirs[i], p.bits ?? 64));
}

/** Open one word array (1 round, 8 B/elem at 64 bits). */
export async function openWords(ctx: PartyContext, x: BigUint64Array, bits = 64): Promise<BigUint64Array> {
  return (await openMany(ctx, [{ x, bits }]))[0];
}

/** Open a shared tensor. */
export async function openTensor(ctx: PartyContext, x: RingTensor, bits = 64): Promise<RingTensor> {
  return { shape: [...x.shape], data: await openWords(ctx, x.data, bits) };
}

/** One-way transfer (a shuffle pass, a reveal to one side): 1 round for both parties. */
export async function sendWords(ctx: PartyContext, x: BigUint64Array): Promise<void> {
  const tag = ctx.seq++;
  ctx.channel.send(tag, new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  ctx.ledger.recordRound();
}

export async function recvWords(ctx: PartyContext, n: number): Promise<BigUint64Array> {
  const tag = ctx.seq++;
  const b = await ctx.channel.recv(tag);
  if (b.length !== 8 * n) {
    throw new ProtocolError(`message #${tag}: expected ${8 * n} bytes, got ${b.length}`, 'MPC_ERR_BAD_LENGTH');
  }
  ctx.ledger.recordRound();
  return toWords(b, n);
}

// ------------------------------------------------------------------ packing

function toWords(b: Uint8Array, n: number): BigUint64Array {
  if (b.byteOffset % 8 === 0) return new BigUint64Array(b.buffer, b.byteOffset, n);
  return new BigUint64Array(b.slice().buffer, 0, n);
}

function packParts(parts: readonly OpenPart[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += openBytes(p.x.length, p.bits ?? 64);
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) off = packInto(out, off, p.x, p.bits ?? 64);
  return out;
}

function packInto(out: Uint8Array, off: number, x: BigUint64Array, bits: number): number {
  const src = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (bits === 64) {
    out.set(src, off);
    return off + src.length;
  }
  if (bits === 1) {
    for (let i = 0; i < x.length; i++) if (src[8 * i] & 1) out[off + (i >> 3)] |= 1 << (i & 7);
    return off + Math.ceil(x.length / 8);
  }
  const w = Math.ceil(bits / 8);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < w; j++) out[off + i * w + j] = src[8 * i + j];
  return off + x.length * w;
}

function unpackParts(b: Uint8Array, parts: readonly OpenPart[]): BigUint64Array[] {
  const res: BigUint64Array[] = [];
  let off = 0;
  for (const p of parts) {
    const n = p.x.length, bits = p.bits ?? 64;
    const out = new BigUint64Array(n);
    const dst = new Uint8Array(out.buffer);
    if (bits === 64) dst.set(b.subarray(off, off + 8 * n));
    else if (bits === 1) for (let i = 0; i < n; i++) dst[8 * i] = (b[off + (i >> 3)] >> (i & 7)) & 1;
    else {
      const w = Math.ceil(bits / 8);
      for (let i = 0; i < n; i++) for (let j = 0; j < w; j++) dst[8 * i + j] = b[off + i * w + j];
    }
    off += openBytes(n, bits);
    res.push(out);
  }
  return res;
}

function addMod(a: BigUint64Array, b: BigUint64Array, bits: number): BigUint64Array {
  const out = new BigUint64Array(a.length);
  if (bits === 64) {
    for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] + b[i]);
  } else {
    const k = bits;
    for (let i = 0; i < a.length; i++) out[i] = asUintN(k, a[i] + b[i]);
  }
  return out;
}

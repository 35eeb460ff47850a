/**
 * bitMaskMatrix / bitMaskedMatmul — a shared 0/1 matrix O (lanes, k, C) opened with ONE BIT per
 * entry, Ô = O ⊕ B for a dealer bit mask B, then any number of products Y = O·X (gather) or
 * Y = Oᵀ·X (scatter) with fresh shared X, each opening only E = X − A. MPCache's one-hot rows
 * (selections.ts): a masked operand (masked-operand.ts) would open O − B at 8 B per entry.
 *
 * Rounds:    0 to mask (a take); each product 1 (open E; the matrix's first product also opens Ô in
 *            the same round), or openBitMask alone 1
 * Online:    ⌈n/8⌉ B per party once per matrix (n = lanes·k·C, 1 bit per entry packed, engine/open.ts),
 *            plus 8·|X| B per product
 * Offline:   mask: 8·n B to P0 (correction word of [B]; P1's share from its stream)
 *            product: A (|X| words) from the parties' streams, M (lanes·k·C·m words, m = columns of
 *            X) from P1's stream and 8·lanes·k·C·m B to P0 — bitMaskedMatmulCost
 * Accuracy:  exact in the ring
 * Opens:     Ô = O ⊕ B, uniform: B is uniform and masks one matrix once (one key per matrix, and the
 *            matrix opens its Ô once); E = X − A, uniform (A fresh per product)
 * Steps:     1. mask: take [B] in Z_2^64 for B = lsb of the keyed value named by the matrix's key
 *               (the dealer recomputes B from the key for every later product)
 *            2. product: take (A, M); open E = X − A (and lsb(O_b + [B]_b), packed, if not yet open)
 *            3. Y = Ô·X̃ + (S∘[B])·E + Σ_c S[l,c]·[M[l,c,t]] — local (X̃ = A + [P0]·E)
 * Why: lsb is additive mod 2, lsb(O_0 + B_0 + O_1 + B_1) = lsb(O + B) = O ⊕ B for bits O, B, and
 *   O = Ô + (1 − 2Ô)·B = Ô + S∘B is linear in [B] with the PUBLIC sign S = 1 − 2Ô ∈ {±1}. With
 *   X = E + A:  O·X = Ô·X + (S∘B)·E + Σ_c S[l,c]·B[l,c]·A[c,t], and the last sum needs shares of the
 *   UNCONTRACTED M[l,c,t] = B[l,c]·A[c,t] (gather) or B[l,c]·A[l,t] (scatter): the sign is public
 *   only after the opening, so the dealer cannot contract over c (or l) for the parties.
 * Trade: a masked operand opens 8·n B once and takes contracted triples (8·k·m or 8·C·m B); this
 *   opens n/8 B and takes 8·n·m B per product. Worth it when online bytes cost more than dealer bytes.
 *   MPCache at gpt2-small, context 4096 (U = 12, k = 12, C = 74, s = m = 16) per leading layer:
 *   −83,916 B online per party; offline +85 KB (mask) and 1.36 MB per product instead of 18–114 KB.
 * Local work: one pass over M (n·m words, a select-add per word, in WebAssembly since session 23); that shape's gather + scatter took
 *   ≈ 6 ms for both parties and the in-process dealer together (Node 20.20, 2026-11).
 * Shapes:    O (lanes, k, C). Gather X (lanes, C, m) → Y (lanes, k, m); transpose: X (lanes, k, m) →
 *            Y (lanes, C, m). M is laid out (lanes, k, C, m) in both.
 */
import { ProtocolError, shapeStr, ShapeError, sizeOf, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation, type DealGen } from '../dealer/correlation';
import { bytesToP0 } from '../dealer/dealer-bytes';
import { derivedWork, keyedValueWork, randomWork } from '../dealer/dealer-work';
import { sessionKey } from '../dealer/correlation-plans';
import { MAX_CORRELATION_ELEMENTS } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openBytes, openMany, type OpenPart } from '../engine/open';
import { addWords, subWords } from '../engine/words';
import { validateDim } from './masked-operand';
import { FssLayout, wordBytes } from '../fss/fss-wasm';

/** A 0/1 matrix (lanes, rows, cols) masked by bits: my share of B, and Ô once opened. */
export class BitMaskedMatrix {
  private opened: Uint8Array | null = null;
  private pending: BigUint64Array | null;

  /** @param pending my share of O + B, until Ô is opened (then dropped) */
  constructor(
    readonly key: string,
    readonly lanes: number,
    readonly rows: number,
    readonly cols: number,
    readonly bShare: BigUint64Array,
    pending: BigUint64Array,
  ) {
    this.pending = pending;
  }

  get shape(): number[] {
    return [this.lanes, this.rows, this.cols];
  }

  get isOpen(): boolean {
    return this.opened !== null;
  }

  /** The public Ô = O ⊕ B, one byte (0/1) per entry, (lanes, rows, cols). Throws before the opening. */
  get hat(): Uint8Array {
    if (!this.opened) throw new Error(`bit-masked matrix ${this.key}: Ô is not opened yet`);
    return this.opened;
  }

  /** The opening part of Ô (my share of O + B, 1 bit), or null if already opened or in flight. */
  takePending(): OpenPart | null {
    const x = this.pending;
    this.pending = null;
    return x ? { x, bits: 1 } : null;
  }

  /** Store the opened bits (words 0/1, as openMany returns them at 1 bit). */
  setOpened(bits: BigUint64Array): void {
    const hat = new Uint8Array(bits.length);
    for (let i = 0; i < bits.length; i++) hat[i] = Number(bits[i]);
    this.opened = hat;
  }
}

export interface BitMaskParams {
  readonly key: string;
  readonly lanes: number;
  readonly rows: number;
  readonly cols: number;
}

export interface BitMaskedProductParams extends BitMaskParams {
  /** Columns of X. */
  readonly m: number;
  /** Y = Oᵀ·X (scatter) instead of O·X (gather). */
  readonly transpose: boolean;
}

/** One party's shares of a product triple: a ~ X, and M (lanes, rows, cols, m). */
export interface BitMaskedProductTriple {
  readonly a: BigUint64Array;
  readonly mm: BigUint64Array;
}

/** B of lane h as 0/1 words: the lsb of the keyed uniform value `key`, lane h (dealer mode only). */
function maskBits(g: DealGen, p: BitMaskParams, h: number): BigUint64Array {
  const v = g.keyed(p.key, h, 0, p.rows * p.cols).value(), out = new BigUint64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] & 1n;
  return out;
}

/** My arithmetic share of B (lanes, rows, cols) ∈ {0,1}: P1's from its stream, P0's as correction words. */
// work: B recomputed from the keyed streams per lane, and its derived bits
export const bitMaskShares = defineCorrelation('bitMaskShares', (q) => validateParams(q, false) as BitMaskParams, (p) => bytesToP0(8 * p.lanes * p.rows * p.cols), (p) => p.lanes * keyedValueWork(p.rows * p.cols) + derivedWork(p.lanes * p.rows * p.cols), (g, p) => {
  const n = p.rows * p.cols;
  return g.derived(p.lanes * n, () => {
    const out = new BigUint64Array(p.lanes * n);
    for (let h = 0; h < p.lanes; h++) out.set(maskBits(g, p, h), h * n);
    return out;
  }).share;
});

// work: A drawn, B recomputed per lane, and the derived M (lanes·k·C·m words, each a copy of A's word or 0)
const bitProductWork = (p: BitMaskedProductParams) =>
  randomWork(p.lanes * (p.transpose ? p.rows : p.cols) * p.m) + p.lanes * keyedValueWork(p.rows * p.cols) + derivedWork(p.lanes * p.rows * p.cols * p.m);

export const bitMaskedProductTriples = defineCorrelation('bitMaskedProductTriples', (q) => validateParams(q, true) as BitMaskedProductParams, (p) => bytesToP0(8 * p.lanes * p.rows * p.cols * p.m), bitProductWork, (g, p) => {
  const { lanes, rows: k, cols: C, m } = p, nIn = p.transpose ? k : C;
  const a = g.random(lanes * nIn * m);
  const mm = g.derived(lanes * k * C * m, () => {
    const av = a.value(), out = new BigUint64Array(lanes * k * C * m);
    for (let h = 0; h < lanes; h++) {
      const b = maskBits(g, p, h);
      for (let l = 0; l < k; l++) {
        for (let c = 0; c < C; c++) {
          if (b[l * C + c] === 0n) continue;
          const src = (h * nIn + (p.transpose ? l : c)) * m; // M[l,c,·] = B[l,c]·A[c,·] (or A[l,·])
          out.set(av.subarray(src, src + m), ((h * k + l) * C + c) * m);
        }
      }
    }
    return out;
  });
  return { a: a.share, mm: mm.share };
});

/** Keys that named a bit mask, per dealer source: a key masks one matrix only (see bitMaskMatrix). */
const usedMaskKeys = new WeakMap<object, Set<string>>();

/**
 * Take O's bit mask (0 rounds, a key for the matrix's life); Ô opens with the first product or openBitMask.
 * `opts.key` names the mask (default: sessionKey of the take count). A caller that names it must keep
 * it session-unique — one key masks one matrix (B is a function of the key, and Ô, Ô' under one key
 * would open O ⊕ O'); a name predictable before the matrix exists lets a planned block that uses
 * the matrix have its material sent ahead (MPCache's followers, secure-mpcache-policy.ts). A reused
 * key is refused (ProtocolError MPC_ERR_KEY_REUSE).
 */
export async function bitMaskMatrix(ctx: PartyContext, o: RingTensor, opts: { key?: string } = {}): Promise<BitMaskedMatrix> {
  if (o.shape.length !== 3) throw new ShapeError(`bitMaskMatrix: "o" expected (lanes, rows, cols), got ${shapeStr(o.shape)}`);
  const [lanes, rows, cols] = o.shape;
  return ctx.ledger.scope('bitMaskMatrix', async () => {
    // 1. take [B] under a session-unique key (the dealer recomputes B from it for each product)
    const key = opts.key ?? sessionKey(ctx.dealer.taken);
    let used = usedMaskKeys.get(ctx.dealer);
    if (!used) usedMaskKeys.set(ctx.dealer, (used = new Set()));
    if (used.has(key)) throw new ProtocolError(`bitMaskMatrix: the key "${key}" already masked a matrix in this session`, 'MPC_ERR_KEY_REUSE');
    used.add(key);
    const b = await ctx.dealer.take(bitMaskShares, { key, lanes, rows, cols });
    return new BitMaskedMatrix(key, lanes, rows, cols, b, addWords(o.data, b));
  });
}

/** Open Ô = O ⊕ B on its own (1 round, ⌈n/8⌉ B); fuses with other openings through fuseRounds. */
export async function openBitMask(ctx: PartyContext, o: BitMaskedMatrix): Promise<void> {
  const part = o.takePending();
  if (!part) return;
  return ctx.ledger.scope('openBitMask', async () => {
    const [bits] = await openMany(ctx, [part]);
    o.setOpened(bits);
  });
}

/**
 * Y = O·X, or Oᵀ·X with `transpose`, one round. The first product of a matrix also opens Ô (mutates
 * `o`): do not overlap it with other calls on the same matrix.
 */
export async function bitMaskedMatmul(ctx: PartyContext, x: RingTensor, o: BitMaskedMatrix, opts: { transpose?: boolean } = {}): Promise<RingTensor> {
  const transpose = opts.transpose ?? false, { lanes, rows: k, cols: C } = o;
  const [nIn, nOut] = transpose ? [k, C] : [C, k];
  if (x.shape.length !== 3 || x.shape[0] !== lanes || x.shape[1] !== nIn) {
    throw new ShapeError(`bitMaskedMatmul: "x" expected (${lanes}, ${nIn}, m) for O${transpose ? 'ᵀ' : ''} of ${shapeStr(o.shape)}, got ${shapeStr(x.shape)}`);
  }
  const m = x.shape[2];
  return ctx.ledger.scope('bitMaskedMatmul', async () => {
    // 2. take (A, M); open E = X − A, and Ô if this is the matrix's first product
    const t = await ctx.dealer.take(bitMaskedProductTriples, { key: o.key, lanes, rows: k, cols: C, m, transpose });
    const parts: OpenPart[] = [{ x: subWords(x.data, t.a) }];
    const hatPart = o.takePending();
    if (hatPart) parts.push(hatPart);
    const [E, hatBits] = await openMany(ctx, parts);
    if (hatPart) o.setOpened(hatBits);
    // 3. Y = Ô·X̃ + (S∘[B])·E + Σ S·[M], S = 1 − 2Ô
    const y = combineProduct(lanes * nOut * m, o.hat, o.bShare, t.mm, ctx.party === 0 ? addWords(t.a, E) : t.a, E, lanes, k, C, m, transpose);
    return { shape: [lanes, nOut, m], data: y };
  });
}

/**
 * Step 3 of bitMaskedMatmul, y = Ô·X̃ + (S∘[B])·E + Σ S·[M] (yWords words), in the FSS WebAssembly module
 * (assembly/bit-masked-kernels.ts): one select-add pass over M. MPCache at 4096, a party's CPU
 * profile: ≈ 24 ms per token in the BigInt loop it replaced, ≈ 9 ms now (copies in and out included).
 */
function combineProduct(
  yWords: number, hat: Uint8Array, bb: BigUint64Array, mm: BigUint64Array, xt: BigUint64Array, E: BigUint64Array,
  lanes: number, k: number, C: number, m: number, transpose: boolean,
): BigUint64Array {
  const L = new FssLayout(), n = lanes * k * C;
  const hatAt = L.region(n), bbAt = L.region(8 * n), mmAt = L.region(8 * n * m);
  const xtAt = L.region(8 * xt.length), eAt = L.region(8 * E.length), yAt = L.region(8 * yWords);
  const mem = L.commit();
  mem.set(hat.subarray(0, n), hatAt);
  mem.set(wordBytes(bb, 0, n), bbAt);
  mem.set(wordBytes(mm, 0, n * m), mmAt);
  mem.set(wordBytes(xt, 0, xt.length), xtAt);
  mem.set(wordBytes(E, 0, E.length), eAt);
  mem.fill(0, yAt, yAt + 8 * yWords); // the kernel accumulates into y
  L.kx.bitMaskedCombine(lanes, k, C, m, transpose ? 1 : 0, hatAt, bbAt, mmAt, xtAt, eAt, yAt);
  const y = new BigUint64Array(yWords);
  wordBytes(y, 0, yWords).set(mem.subarray(yAt, yAt + 8 * yWords));
  return y;
}

function validateParams(q0: unknown, product: boolean): BitMaskParams | BitMaskedProductParams {
  const q = (q0 ?? {}) as Record<string, unknown>, key = q.key, what = product ? 'bitMaskedProductTriples' : 'bitMaskShares';
  if (typeof key !== 'string' || !/^[\w./-]{1,64}$/.test(key)) throw new TypeError(`${what}: invalid key`);
  const [lanes, rows, cols] = ['lanes', 'rows', 'cols'].map((f) => validateDim(q[f], f));
  if (!product) {
    if (lanes * rows * cols > MAX_CORRELATION_ELEMENTS) throw new RangeError(`${what}: too large`);
    return { key, lanes, rows, cols };
  }
  if (typeof q.transpose !== 'boolean') throw new TypeError(`${what}: "transpose" expected a boolean`);
  const m = validateDim(q.m, 'm');
  if (lanes * rows * cols * m > MAX_CORRELATION_ELEMENTS) throw new RangeError(`${what}: too large`);
  return { key, lanes, rows, cols, m, transpose: q.transpose };
}

/** Cost of bitMaskMatrix for O of `oShape` (lanes, k, C): a take only. */
export const bitMaskMatrixCost = (oShape: readonly number[]) => ({ rounds: 0, bytesSent: 0, offlineBytes: 8 * sizeOf(oShape) });

/** Cost of openBitMask (when not opened by a product). */
export const openBitMaskCost = (oShape: readonly number[]) => ({ rounds: 1, bytesSent: openBytes(sizeOf(oShape), 1), offlineBytes: 0 });

/** Cost of bitMaskedMatmul per party; `opens`: the matrix's first product, which also opens Ô. */
export const bitMaskedMatmulCost = (oShape: readonly number[], xShape: readonly number[], opens = false) => ({
  rounds: 1,
  bytesSent: 8 * sizeOf(xShape) + (opens ? openBytes(sizeOf(oShape), 1) : 0),
  offlineBytes: 8 * sizeOf(oShape) * xShape[2],
});

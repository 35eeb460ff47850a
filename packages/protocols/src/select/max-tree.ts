/**
 * maxTree / argmaxTree / minMaxTree — row-wise max (and argmax, or min and max together) over the
 * last axis of a rows × L tensor by a tournament tree of 1-round compare-and-selects (fss.md §4c).
 * All rows share the same rounds.
 * minMaxTree: the first level compares each pair once, the larger goes on to a max tree and the
 * smaller (a + b − larger, local) to a min tree (a max tree over the negated smaller ones):
 * ⌈3L/2⌉ − 2 comparisons per row instead of 2(L − 1) for two trees, in the same ⌈log2 L⌉ rounds.
 *
 * Rounds:    ⌈log2 L⌉ (0 for L = 1); argmax with oneHot: 2·⌈log2 L⌉ (a backward pass of Beaver
 *            products turns the per-node selection bits into the one-hot)
 * Online:    per row, L − 1 comparisons in total: max 8 B each; argmax 16 B each (value and index
 *            difference opened together); oneHot adds one Beaver product (16 B) per comparison
 * Offline:   per comparison dreluSelectCost (m = 2 for max, m = 3 for argmax), all levels in one
 *            dealer request; oneHot adds a Beaver triple (8 B) per comparison. maxTreeCost /
 *            argmaxTreeCost give the exact totals.
 * Accuracy:  exact while every difference x_i − x_j of a row fits the signed `bits` range
 *            (e.g. |x| < 2^(bits−2)). Ties: the LOWEST index wins (deterministic).
 *            maxTree with coarse comparisons (lowBits > 0): one of the row's values, at least
 *            max − ⌈log2 L⌉·2^lowBits (each level can only lose to a value less than 2^lowBits below).
 * Opens:     per comparison (x_l − x_r) + r, (i_l − i_r) + s with fresh uniform r, s (relu.ts).
 * Steps:     1. level 0: the L values of each row (and indices i, held by P0)
 *            2. per level: pair neighbours (0,1), (2,3), …; ONE selectCompare over all pairs of all
 *               rows (left wins ties, and the left element always has the lower indices); an odd
 *               leftover is carried to the next level unchanged as its last element
 *            3. (oneHot) top-down: a node's weight w splits into w·g (left) and w − w·g (right),
 *               g = [left ≥ right] of that node; one batched Beaver product per level
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost } from '../beaver/beaver-mul';
import type { PartyContext } from '../engine/context';
import { assertBits } from '../fss/dcf-less-than';
import { dreluSelect, dreluSelectCost, sliceSelectKeys, takeSelectKeys } from './relu';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface MaxTreeOptions {
  /** Signed comparison range k (differences of a row must fit in [−2^(k−1), 2^(k−1))). */
  bits?: number;
  /**
   * Coarse comparisons (relu.ts SelectParams.lowBits): pairs closer than 2^lowBits may be ordered
   * either way (the max is then one of them); narrower DCF keys. Default 0 (exact).
   */
  lowBits?: number;
}

export interface ArgmaxTreeOptions extends MaxTreeOptions {
  /** Also return the one-hot of the argmax (rows × L); doubles the rounds. */
  oneHot?: boolean;
}

export interface ArgmaxTreeResult {
  readonly max: RingTensor; // (rows)
  /** Shared integer index in [0, L) of the (lowest-index) maximum. */
  readonly index: RingTensor; // (rows)
  readonly oneHot?: RingTensor; // (rows, L)
}

/** Row-wise max over the last axis; x is (rows, L) or (L). */
export async function maxTree(ctx: PartyContext, x: RingTensor, opts: MaxTreeOptions = {}): Promise<RingTensor> {
  const { rows, L } = dims(x, 'maxTree');
  const { bits, lowBits } = comparisonWidth(opts, 'maxTree');
  return ctx.ledger.scope('maxTree', async () => (await tournament(ctx, x.data, null, rows, L, bits, false, lowBits)).max);
}

/** Row-wise min and max over the last axis (one shared first level); x is (rows, L) or (L). */
export async function minMaxTree(ctx: PartyContext, x: RingTensor, opts: MaxTreeOptions = {}): Promise<{ max: RingTensor; min: RingTensor }> {
  const { rows, L } = dims(x, 'minMaxTree');
  const { bits, lowBits } = comparisonWidth(opts, 'minMaxTree');
  return ctx.ledger.scope('minMaxTree', async () => {
    if (L === 1) return { max: { shape: [rows], data: x.data.slice() }, min: { shape: [rows], data: x.data.slice() } };
    // 1. one compare-and-select per pair: the larger, and the smaller as a + b − larger
    const pairs = L >> 1, odd = L & 1, half = pairs + odd, v = x.data;
    const c = new BigUint64Array(rows * pairs), right = new BigUint64Array(rows * pairs);
    for (let row = 0; row < rows; row++) {
      for (let p = 0; p < pairs; p++) {
        const l = row * L + 2 * p, q = row * pairs + p;
        right[q] = v[l + 1];
        c[q] = asUintN(64, v[l] - v[l + 1]);
      }
    }
    const res = await dreluSelect(ctx, c, [], bits, lowBits);
    // 2. rows of the larger ones, then rows of the negated smaller ones (an odd last value joins both)
    const y = new BigUint64Array(2 * rows * half);
    for (let row = 0; row < rows; row++) {
      for (let p = 0; p < pairs; p++) {
        const l = row * L + 2 * p, q = row * pairs + p, big = asUintN(64, right[q] + res.prod[q]);
        y[row * half + p] = big;
        y[(rows + row) * half + p] = asUintN(64, big - v[l] - v[l + 1]);
      }
      if (odd) {
        y[row * half + pairs] = v[row * L + L - 1];
        y[(rows + row) * half + pairs] = asUintN(64, -v[row * L + L - 1]);
      }
    }
    // 3. one tournament over both halves
    const top = (await tournament(ctx, y, null, 2 * rows, half, bits, false, lowBits)).max.data;
    const min = new BigUint64Array(rows);
    for (let row = 0; row < rows; row++) min[row] = asUintN(64, -top[rows + row]);
    return { max: { shape: [rows], data: top.slice(0, rows) }, min: { shape: [rows], data: min } };
  });
}

/** Row-wise max and argmax (lowest index on ties), optionally with the one-hot. */
export async function argmaxTree(ctx: PartyContext, x: RingTensor, opts: ArgmaxTreeOptions = {}): Promise<ArgmaxTreeResult> {
  const { rows, L } = dims(x, 'argmaxTree');
  const bits = opts.bits ?? 64;
  assertBits(bits);
  return ctx.ledger.scope('argmaxTree', async () => {
    // 1. indices 0..L−1 of every row as shares (P0 holds them)
    const idx = new BigUint64Array(rows * L);
    if (ctx.party === 0) for (let q = 0; q < rows * L; q++) idx[q] = BigInt(q % L);
    const t = await tournament(ctx, x.data, idx, rows, L, bits, opts.oneHot ?? false);
    return { max: t.max, index: { shape: [rows], data: t.index! }, oneHot: t.oneHot };
  });
}

interface Level {
  len: number; // elements per row at this level (before pairing)
  ge: BigUint64Array; // (rows × ⌊len/2⌋) [left ≥ right]
}

async function tournament(
  ctx: PartyContext, x0: BigUint64Array, idx0: BigUint64Array | null,
  rows: number, L: number, bits: number, oneHot: boolean, lowBits = 0,
): Promise<{ max: RingTensor; index?: BigUint64Array; oneHot?: RingTensor }> {
  let vals = x0, idx = idx0, len = L;
  const levels: Level[] = [];
  // every level's comparisons in one dealer request (rows·(L − 1) in all, linear in L, so a decoder
  // step's request is predicted from the last steps'; per-level counts would follow L's parity bits)
  const keys = L > 1 ? await takeSelectKeys(ctx, rows * (L - 1), bits, idx ? 1 : 0, lowBits) : null;
  let used = 0;
  // 2. one batched selectCompare per level
  while (len > 1) {
    const pairs = len >> 1, odd = len & 1, next = pairs + odd;
    const c = new BigUint64Array(rows * pairs), right = new BigUint64Array(rows * pairs);
    const dIdx = idx ? new BigUint64Array(rows * pairs) : null, rIdx = idx ? new BigUint64Array(rows * pairs) : null;
    for (let row = 0; row < rows; row++) {
      for (let p = 0; p < pairs; p++) {
        const l = row * len + 2 * p, q = row * pairs + p;
        right[q] = vals[l + 1];
        c[q] = asUintN(64, vals[l] - vals[l + 1]);
        if (idx) {
          rIdx![q] = idx[l + 1];
          dIdx![q] = asUintN(64, idx[l] - idx[l + 1]);
        }
      }
    }
    const res = await dreluSelect(ctx, c, dIdx ? [dIdx] : [], bits, lowBits, sliceSelectKeys(keys!, used, used + rows * pairs));
    used += rows * pairs;
    const nv = new BigUint64Array(rows * next), ni = idx ? new BigUint64Array(rows * next) : null;
    for (let row = 0; row < rows; row++) {
      for (let p = 0; p < pairs; p++) {
        const q = row * pairs + p;
        nv[row * next + p] = asUintN(64, right[q] + res.prod[q]); // max = right + DReLU·(left − right)
        if (ni) ni[row * next + p] = asUintN(64, rIdx![q] + res.sel[0][q]);
      }
      if (odd) {
        nv[row * next + pairs] = vals[row * len + len - 1];
        if (ni) ni[row * next + pairs] = idx![row * len + len - 1];
      }
    }
    if (oneHot) levels.push({ len, ge: res.bit });
    vals = nv;
    idx = ni;
    len = next;
  }
  const max: RingTensor = { shape: [rows], data: vals.slice() };
  if (!oneHot) return { max, index: idx ?? undefined };
  // 3. top-down: weights of the winners, split by each node's selection bit
  let w = new BigUint64Array(rows);
  if (ctx.party === 0) w.fill(1n);
  for (let li = levels.length - 1; li >= 0; li--) {
    const { len: lvLen, ge } = levels[li];
    const pairs = lvLen >> 1, odd = lvLen & 1, up = pairs + odd;
    const wp = new BigUint64Array(rows * pairs);
    for (let row = 0; row < rows; row++) for (let p = 0; p < pairs; p++) wp[row * pairs + p] = w[row * up + p];
    const wl = await beaverMul(ctx, { shape: [rows * pairs], data: wp }, { shape: [rows * pairs], data: ge });
    const nw = new BigUint64Array(rows * lvLen);
    for (let row = 0; row < rows; row++) {
      for (let p = 0; p < pairs; p++) {
        const q = row * pairs + p;
        nw[row * lvLen + 2 * p] = wl.data[q];
        nw[row * lvLen + 2 * p + 1] = asUintN(64, wp[q] - wl.data[q]);
      }
      if (odd) nw[row * lvLen + lvLen - 1] = w[row * up + pairs];
    }
    w = nw;
  }
  return { max, index: idx ?? undefined, oneHot: { shape: [rows, L], data: w } };
}

/** The options' comparison width and coarse bits, checked (default 64 bits, exact). */
function comparisonWidth(opts: MaxTreeOptions, what: string): { bits: number; lowBits: number } {
  const bits = opts.bits ?? 64, lowBits = opts.lowBits ?? 0;
  assertBits(bits);
  if (!Number.isInteger(lowBits) || lowBits < 0 || lowBits > bits - 2) throw new RangeError(`${what}: lowBits expected an integer in [0, bits − 2], got ${lowBits}`);
  return { bits, lowBits };
}

function dims(x: RingTensor, what: string): { rows: number; L: number } {
  if (x.shape.length !== 1 && x.shape.length !== 2) {
    throw new ShapeError(`"${what}" expected shape (rows, L) or (L), got (${x.shape.join(', ')})`);
  }
  const L = x.shape[x.shape.length - 1], rows = x.shape.length === 2 ? x.shape[0] : 1;
  if (L < 1) throw new ShapeError(`"${what}" expected L ≥ 1, got (${x.shape.join(', ')})`);
  return { rows, L };
}

/** Exact cost of a row-wise max over (rows, L). */
export function maxTreeCost(rows: number, L: number, bits = 64, lowBits = 0) {
  const cmp = dreluSelectCost(rows * (L - 1), bits, 0, lowBits);
  return { rounds: Math.ceil(Math.log2(L)), bytesSent: cmp.bytesSent, offlineBytes: cmp.offlineBytes };
}

/** Exact cost of minMaxTree over (rows, L). */
export function minMaxTreeCost(rows: number, L: number, bits = 64, lowBits = 0) {
  if (L === 1) return { rounds: 0, bytesSent: 0, offlineBytes: 0 };
  const first = dreluSelectCost(rows * (L >> 1), bits, 0, lowBits), rest = maxTreeCost(2 * rows, (L >> 1) + (L & 1), bits, lowBits);
  return { rounds: 1 + rest.rounds, bytesSent: first.bytesSent + rest.bytesSent, offlineBytes: first.offlineBytes + rest.offlineBytes };
}

/** Exact cost of a row-wise argmax over (rows, L), with or without the one-hot. */
export function argmaxTreeCost(rows: number, L: number, bits = 64, oneHot = false) {
  const n = rows * (L - 1), depth = Math.ceil(Math.log2(L));
  const cmp = dreluSelectCost(n, bits, 1), mul = beaverMulCost(n);
  return oneHot
    ? { rounds: 2 * depth, bytesSent: cmp.bytesSent + mul.bytesSent, offlineBytes: cmp.offlineBytes + mul.offlineBytes }
    : { rounds: depth, bytesSent: cmp.bytesSent, offlineBytes: cmp.offlineBytes };
}

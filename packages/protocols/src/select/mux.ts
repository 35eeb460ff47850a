/**
 * Selection: mux with a shared bit, and 1-round compare-and-select of two shared tensors
 * (selectCompare → maxOf / minOf / argmax of a pair), plus clip (fss.md §4c).
 *
 * mux(c, x, y) = c ? x : y = y + c·(x − y), c a shared 0/1 bit (any source):
 *   Rounds 1, Online 16 B/elem, Offline one Beaver triple (8 B/elem to P0) — beaverMulCost.
 * selectCompare(x, y, payloads) = (x ≥ y ? x : y, and x ≥ y ? px : py for each payload pair):
 *   Rounds 1, Online 8·(1 + P) B/elem, Offline dreluSelectCost(n, k, P) (relu.ts; m = 2 + P words
 *   per DCF key: max is m = 2, argmax of a pair m = 3).
 *   Ties select x (DReLU(0) = 1): put the lower index first for lowest-index-wins tie-breaking.
 * maxOf / minOf: 1 round (min = x + y − max, local). clip(x, lo, hi) = min(max(x, lo), hi): 2 rounds.
 * Accuracy:  exact in the ring while x − y (x − lo, hi − x) stays in the signed `bits` range
 *            [−2^(k−1), 2^(k−1)); outside it the comparison flips silently.
 * Opens:     mux: c + u, (x − y) + v (Beaver); compare: (x − y) + r, (px − py) + s_j (relu.ts).
 * Steps:     (selectCompare) 1. c = x − y, δ_j = px_j − py_j  — local
 *            2. dreluSelect(c, δ): one round, gives [DReLU(c)·c], [DReLU(c)·δ_j], [DReLU(c)]
 *            3. max = y + DReLU·c;  sel_j = py_j + DReLU·δ_j  — local
 */
import { assertSameShape, type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { beaverMul, beaverMulCost } from '../beaver/beaver-mul';
import type { PartyContext } from '../engine/context';
import { assertBits } from '../fss/dcf-less-than';
import { dreluSelect, dreluSelectCost } from './relu';

/** c ? x : y for a shared bit c (arithmetic shares of 0/1); one Beaver product. */
export async function mux(ctx: PartyContext, c: RingTensor, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  assertSameShape(x, y, 'mux');
  assertSameShape(c, x, 'mux');
  return ctx.ledger.scope('mux', async () => {
    const d = await beaverMul(ctx, c, { shape: x.shape, data: subW(x.data, y.data) });
    return { shape: [...x.shape], data: addW(y.data, d.data) };
  });
}

export interface SelectCompareResult {
  /** max(x, y) elementwise (x on ties). */
  readonly max: RingTensor;
  /** For each payload pair (px, py): x ≥ y ? px : py. */
  readonly selected: RingTensor[];
  /** [x ≥ y] as shares of 0/1. */
  readonly ge: RingTensor;
}

/** One round: max(x, y) and the payloads of the larger side (x wins ties). */
export async function selectCompare(
  ctx: PartyContext,
  x: RingTensor,
  y: RingTensor,
  payloads: readonly (readonly [RingTensor, RingTensor])[] = [],
  bits = 64,
): Promise<SelectCompareResult> {
  assertSameShape(x, y, 'selectCompare');
  for (const [px, py] of payloads) {
    assertSameShape(px, x, 'selectCompare payload');
    assertSameShape(py, x, 'selectCompare payload');
  }
  assertBits(bits);
  return ctx.ledger.scope('selectCompare', () => selectCompareWords(ctx, x, y, payloads, bits));
}

async function selectCompareWords(
  ctx: PartyContext,
  x: RingTensor,
  y: RingTensor,
  payloads: readonly (readonly [RingTensor, RingTensor])[],
  bits: number,
): Promise<SelectCompareResult> {
  const shape = [...x.shape];
  // 1. c = x − y, δ_j = px − py
  const c = subW(x.data, y.data);
  const deltas = payloads.map(([px, py]) => subW(px.data, py.data));
  // 2. one round
  const res = await dreluSelect(ctx, c, deltas, bits);
  // 3. max = y + DReLU·(x − y), sel_j = py + DReLU·(px − py)
  return {
    max: { shape, data: addW(y.data, res.prod) },
    selected: payloads.map(([, py], j) => ({ shape: [...shape], data: addW(py.data, res.sel[j]) })),
    ge: { shape: [...shape], data: res.bit },
  };
}

/** max(x, y), 1 round. */
export async function maxOf(ctx: PartyContext, x: RingTensor, y: RingTensor, bits = 64): Promise<RingTensor> {
  return ctx.ledger.scope('maxOf', async () => (await selectCompare(ctx, x, y, [], bits)).max);
}

/** min(x, y) = x + y − max(x, y), 1 round. */
export async function minOf(ctx: PartyContext, x: RingTensor, y: RingTensor, bits = 64): Promise<RingTensor> {
  return ctx.ledger.scope('minOf', async () => {
    const mx = (await selectCompare(ctx, x, y, [], bits)).max;
    return { shape: [...x.shape], data: subW(addW(x.data, y.data), mx.data) };
  });
}

/**
 * clip(x, lo, hi) = min(max(x, lo), hi); lo/hi are shared tensors of x's shape or public ring
 * constants (bigint, e.g. encodeScalar(−14)). 2 rounds. Requires lo ≤ hi.
 */
export async function clip(
  ctx: PartyContext,
  x: RingTensor,
  lo: RingTensor | bigint,
  hi: RingTensor | bigint,
  bits = 64,
): Promise<RingTensor> {
  return ctx.ledger.scope('clip', async () => {
    const l = bound(ctx.party, lo, x), h = bound(ctx.party, hi, x);
    const up = (await selectCompare(ctx, x, l, [], bits)).max; // max(x, lo)
    const mx = (await selectCompare(ctx, up, h, [], bits)).max; // max(up, hi)
    return { shape: [...x.shape], data: subW(addW(up.data, h.data), mx.data) }; // min(up, hi)
  });
}

/** A public constant as shares (P0 holds it) or a shared tensor as is. */
function bound(party: PartyId, b: RingTensor | bigint, like: RingTensor): RingTensor {
  if (typeof b !== 'bigint') {
    assertSameShape(b, like, 'clip bound');
    return b;
  }
  return { shape: [...like.shape], data: new BigUint64Array(like.data.length).fill(party === 0 ? BigInt.asUintN(64, b) : 0n) };
}

function subW(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const o = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = BigInt.asUintN(64, a[i] - b[i]);
  return o;
}

function addW(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const o = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = BigInt.asUintN(64, a[i] + b[i]);
  return o;
}

export const muxCost = (n: number) => beaverMulCost(n);
export const selectCompareCost = (n: number, bits = 64, payloads = 0) => dreluSelectCost(n, bits, payloads);
export const maxOfCost = (n: number, bits = 64) => dreluSelectCost(n, bits, 0);
export const minOfCost = maxOfCost;
export const clipCost = (n: number, bits = 64) => {
  const one = dreluSelectCost(n, bits, 0);
  return { rounds: 2, bytesSent: 2 * one.bytesSent, offlineBytes: 2 * one.offlineBytes };
};

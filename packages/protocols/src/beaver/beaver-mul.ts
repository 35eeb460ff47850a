/**
 * beaverMul — elementwise product of two shared tensors in Z_2^64 (no truncation).
 *
 * Rounds:    1   (open e = x − a and f = y − b together)
 * Online:    16 B/elem sent per party (two 8-byte openings)
 * Offline:   one triple (a, b, c = a·b) per element; a, b and P1's c from seeds, 8 B/elem to P0
 * Accuracy:  exact in the ring
 * Opens:     e = x − a, f = y − b: uniform, because a and b are uniform and used once
 * Steps:     1. take a triple
 *            2. open e, f in one round
 *            3. z = c + E·ỹ + a·F with ỹ = b + [P0]F — local (the shared Beaver core, beaver-core.ts)
 * Also beaverSquare (x², 1 round, 8 B/elem, square pair (a, a²)).
 */
import { assertSameShape, mulElem, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { validateCount } from '../dealer/validate';
import { mulWords, subWords } from '../engine/words';
import { beaverCombine, beaverProduct, reshare } from './beaver-core';

export interface MulTriple {
  a: BigUint64Array;
  b: BigUint64Array;
  c: BigUint64Array;
}

// work: a, b and the derived c
export const mulTriples = defineCorrelation('mulTriples', validateCount, (n) => bytesToP0(8 * n), (n) => 2 * randomWork(n) + derivedWork(n), (g, n: number): MulTriple => {
  const a = g.random(n);
  const b = g.random(n);
  const c = g.derived(n, () => mulWords(a.value(), b.value()));
  return { a: a.share, b: b.share, c: c.share };
});

// work: a and the derived a²
export const squarePairs = defineCorrelation('squarePairs', validateCount, (n) => bytesToP0(8 * n), (n) => randomWork(n) + derivedWork(n), (g, n: number) => {
  const a = g.random(n);
  const c = g.derived(n, () => mulWords(a.value(), a.value()));
  return { a: a.share, c: c.share };
});

export async function beaverMul(ctx: PartyContext, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  assertSameShape(x, y, 'beaverMul');
  return ctx.ledger.scope('beaverMul', async () => {
    const n = x.data.length;
    // 1. take a triple
    const t = await ctx.dealer.take(mulTriples, n);
    // 2.–3. open e = x − a and f = y − b in one round; z = c + E·ỹ + a·F (beaver-core.ts)
    return beaverProduct(ctx, mulElem, x, y, {
      a: { shape: x.shape, data: t.a },
      b: { shape: x.shape, data: t.b },
      c: { shape: x.shape, data: t.c },
    });
  });
}

export async function beaverSquare(ctx: PartyContext, x: RingTensor): Promise<RingTensor> {
  return ctx.ledger.scope('beaverSquare', async () => {
    const n = x.data.length;
    const t = await ctx.dealer.take(squarePairs, n);
    const a: RingTensor = { shape: x.shape, data: t.a };
    const [E] = await openMany(ctx, [{ x: subWords(x.data, t.a) }]);
    const e: RingTensor = { shape: x.shape, data: E };
    // x² = (E + a)² = c + E·(a + [P0]E) + a·E: the Beaver core with y = x, b = a, F = E
    return beaverCombine(mulElem, e, e, a, reshare(ctx.party, a, e), { shape: x.shape, data: t.c });
  });
}

export const beaverMulCost = (n: number) => ({ rounds: 1, bytesSent: 16 * n, offlineBytes: totalDealerBytes(mulTriples.messageBytes(n)) });
export const beaverSquareCost = (n: number) => ({ rounds: 1, bytesSent: 8 * n, offlineBytes: totalDealerBytes(squarePairs.messageBytes(n)) });

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
 *            3. z = c + e·b + f·a (+ e·f on P0) — local
 * Also beaverSquare (x², 1 round, 8 B/elem, square pair (a, a²)).
 */
import { assertSameShape, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { validateCount } from '../dealer/validate';

export interface MulTriple {
  a: BigUint64Array;
  b: BigUint64Array;
  c: BigUint64Array;
}

export const mulTriples = defineCorrelation('mulTriples', validateCount, (g, n: number): MulTriple => {
  const a = g.random(n);
  const b = g.random(n);
  const c = g.derived(n, () => {
    const av = a.value(), bv = b.value(), out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(64, av[i] * bv[i]);
    return out;
  });
  return { a: a.share, b: b.share, c: c.share };
});

export const squarePairs = defineCorrelation('squarePairs', validateCount, (g, n: number) => {
  const a = g.random(n);
  const c = g.derived(n, () => {
    const av = a.value(), out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = BigInt.asUintN(64, av[i] * av[i]);
    return out;
  });
  return { a: a.share, c: c.share };
});

export async function beaverMul(ctx: PartyContext, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  assertSameShape(x, y, 'beaverMul');
  return ctx.ledger.scope('beaverMul', async () => {
    const n = x.data.length;
    // 1. take a triple
    const t = await ctx.dealer.take(mulTriples, n);
    // 2. open e = x − a and f = y − b in one round
    const e = new BigUint64Array(n), f = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      e[i] = BigInt.asUintN(64, x.data[i] - t.a[i]);
      f[i] = BigInt.asUintN(64, y.data[i] - t.b[i]);
    }
    const [E, F] = await openMany(ctx, [{ x: e }, { x: f }]);
    // 3. z = c + E·b + F·a (+ E·F on P0)
    const z = new BigUint64Array(n);
    const p0 = ctx.party === 0;
    for (let i = 0; i < n; i++) {
      let v = t.c[i] + E[i] * t.b[i] + F[i] * t.a[i];
      if (p0) v += E[i] * F[i];
      z[i] = BigInt.asUintN(64, v);
    }
    return { shape: [...x.shape], data: z };
  });
}

export async function beaverSquare(ctx: PartyContext, x: RingTensor): Promise<RingTensor> {
  return ctx.ledger.scope('beaverSquare', async () => {
    const n = x.data.length;
    const t = await ctx.dealer.take(squarePairs, n);
    const e = new BigUint64Array(n);
    for (let i = 0; i < n; i++) e[i] = BigInt.asUintN(64, x.data[i] - t.a[i]);
    const [E] = await openMany(ctx, [{ x: e }]);
    // x² = (E + a)² = c + 2E·a + E²
    const z = new BigUint64Array(n);
    const p0 = ctx.party === 0;
    for (let i = 0; i < n; i++) {
      let v = t.c[i] + 2n * E[i] * t.a[i];
      if (p0) v += E[i] * E[i];
      z[i] = BigInt.asUintN(64, v);
    }
    return { shape: [...x.shape], data: z };
  });
}

export const beaverMulCost = (n: number) => ({ rounds: 1, bytesSent: 16 * n, offlineBytes: 8 * n });
export const beaverSquareCost = (n: number) => ({ rounds: 1, bytesSent: 8 * n, offlineBytes: 8 * n });

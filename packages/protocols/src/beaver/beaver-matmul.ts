/**
 * beaverMatmul — matrix product of two shared tensors in Z_2^64 (no truncation):
 * (m×k)·(k×n), batched (B…×m×k)·(B…×k×n), and a batch of left operands against one right operand
 * (B…×m×k)·(k×n).
 *
 * Rounds:    1   (open E = X − A and F = Y − B together)
 * Online:    8·(|X| + |Y|) B sent per party
 * Offline:   one matmul triple (A, B, C = A·B); A, B and P1's C from seeds, 8·|Z| B to P0
 *            (C's correction word), 0 B to P1
 * Accuracy:  exact in the ring
 * Opens:     E = X − A, F = Y − B: uniform, because A and B are uniform and used once
 * Steps:     1. take a matmul triple shaped like (X, Y)
 *            2. open E, F in one round
 *            3. Z = C + E·Ỹ + A·F with Ỹ = B + [P0]F — local, two matmuls per party (beaver-core.ts)
 * When one operand is fixed and used many times (weights, cached K/V), mask it once instead:
 * masked-operand.ts opens only the fresh operand per call.
 */
import { MAX_TENSOR_RANK, matmul, shapeStr, ShapeError, sizeOf, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, productWork, randomWork } from '../dealer/dealer-work';
import { MAX_CORRELATION_ELEMENTS } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { beaverProduct } from './beaver-core';

export interface MatmulTripleParams {
  /** Shape of the left operand X (rank ≥ 2). */
  readonly x: readonly number[];
  /** Shape of the right operand Y (rank 2, or X's batch dims followed by k×n). */
  readonly y: readonly number[];
}

/** One party's shares of a matmul triple: a ~ X, b ~ Y, c = a·b. */
export interface MatmulTriple {
  readonly a: BigUint64Array;
  readonly b: BigUint64Array;
  readonly c: BigUint64Array;
}

/** C's correction word to P0: 8 B per output element. */
const matmulTripleBytes = (p: MatmulTripleParams) => bytesToP0(8 * sizeOf(matmulShape(p.x, p.y)));

/**
 * Work: A and B drawn, the derived C, and C = A·B's multiply-adds, |X|·n for Y's n columns (every
 * batch of X's rows against its k×n operand): m·k·n per product, however little C sends.
 */
const matmulTripleWork = (p: MatmulTripleParams) => {
  const out = sizeOf(matmulShape(p.x, p.y)), k = p.x[p.x.length - 1], n = p.y[p.y.length - 1];
  return randomWork(sizeOf(p.x)) + randomWork(sizeOf(p.y)) + derivedWork(out) + productWork(sizeOf(p.x) / (k || 1), k, n);
};

export const matmulTriples = defineCorrelation('matmulTriples', validateMatmulTripleParams, matmulTripleBytes, matmulTripleWork, (g, p): MatmulTriple => {
  const a = g.random(sizeOf(p.x));
  const b = g.random(sizeOf(p.y));
  const outShape = matmulShape(p.x, p.y);
  const c = g.derived(sizeOf(outShape), () => matmul({ shape: p.x, data: a.value() }, { shape: p.y, data: b.value() }).data);
  return { a: a.share, b: b.share, c: c.share };
});

/** Z = X·Y on shares, one round. */
export async function beaverMatmul(ctx: PartyContext, x: RingTensor, y: RingTensor): Promise<RingTensor> {
  const outShape = matmulShape(x.shape, y.shape);
  return ctx.ledger.scope('beaverMatmul', async () => {
    // 1. take a matmul triple shaped like (X, Y)
    const t = await ctx.dealer.take(matmulTriples, { x: [...x.shape], y: [...y.shape] });
    // 2.–3. open E, F in one round; Z = C + E·Ỹ + A·F
    return beaverProduct(ctx, matmul, x, y, {
      a: { shape: x.shape, data: t.a },
      b: { shape: y.shape, data: t.b },
      c: { shape: outShape, data: t.c },
    });
  });
}

/**
 * Output shape of X·Y under the rules above; throws ShapeError with both shapes otherwise.
 * Batch dims of Y, when present, must equal X's (no other broadcasting).
 */
export function matmulShape(xShape: readonly number[], yShape: readonly number[]): number[] {
  const rx = xShape.length, ry = yShape.length;
  const bad = (why: string) => new ShapeError(`matmul ${shapeStr(xShape)} · ${shapeStr(yShape)}: ${why}`);
  if (rx < 2 || ry < 2) throw bad('both operands need rank ≥ 2');
  if (xShape[rx - 1] !== yShape[ry - 2]) throw bad('inner dimensions differ');
  if (ry > 2 && (ry !== rx || yShape.slice(0, -2).some((d, i) => d !== xShape[i]))) {
    throw bad('batch dimensions differ');
  }
  return [...xShape.slice(0, -1), yShape[ry - 1]];
}

function validateMatmulTripleParams(p: unknown): MatmulTripleParams {
  const q = p as { x?: unknown; y?: unknown };
  if (typeof p !== 'object' || p === null) throw new TypeError('matmulTriples: expected { x, y }');
  const x = validateShape(q.x, 'x'), y = validateShape(q.y, 'y');
  const out = sizeOf(matmulShape(x, y));
  if (out > MAX_CORRELATION_ELEMENTS) throw new RangeError('matmulTriples: output too large');
  return { x, y };
}

function validateShape(s: unknown, what: string): number[] {
  if (!Array.isArray(s) || s.length < 2 || s.length > MAX_TENSOR_RANK) {
    throw new TypeError(`matmulTriples: "${what}" expected a shape of rank 2..${MAX_TENSOR_RANK}`);
  }
  for (const d of s) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new RangeError(`matmulTriples: "${what}" invalid dimension`);
  }
  if (sizeOf(s as number[]) > MAX_CORRELATION_ELEMENTS) throw new RangeError(`matmulTriples: "${what}" too large`);
  return s as number[];
}

/** Cost of beaverMatmul(X, Y), per party; offline bytes are P0's (P1 receives none). */
export const beaverMatmulCost = (xShape: readonly number[], yShape: readonly number[]) => ({
  rounds: 1,
  bytesSent: 8 * (sizeOf(xShape) + sizeOf(yShape)),
  offlineBytes: totalDealerBytes(matmulTripleBytes({ x: xShape, y: yShape })),
});

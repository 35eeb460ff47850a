/**
 * mulBroadcast — out_ij = x_ij · y_i · z_j for shared x (rows × L), a per-row factor y (rows) and a
 * per-column factor z (L), each optional, in ONE round by a three-factor Beaver triple with
 * broadcasting (softmax: e·(1/s) per row; LayerNorm: (x − μ)·rsqrt per row·γ per column).
 *
 * Rounds:    1   (open E = x − a, F = y − b, G = z − c together)
 * Online:    8·(rows·L + rows·[y] + L·[z]) B sent per party — the broadcast factors are opened
 *            once, not per element
 * Offline:   to P0 only: 8·rows·L·([y] + [z] + 2·[y]·[z]) B (the derived [ab], [ac], [bc], [abc]);
 *            a, b, c come from the parties' dealer streams
 * Accuracy:  exact in the ring (no truncation; the caller truncates the product)
 * Opens:     E, F, G: uniform because a, b, c are uniform and used once
 * Steps:     1. take a (rows×L), b (rows), c (L) and the derived products ab, ac, bc, abc
 *            2. open E, F, G in one round
 *            3. xyz = (E + a)(F + b)(G + c)
 *                   = EFG + EF·c + EG·b + FG·a + E·bc + F·ac + G·ab + abc   — local (P0 adds EFG)
 * An absent factor is the public constant 1 (F = 1, b = 0): its terms vanish.
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateGrid } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openMany, type OpenPart } from '../engine/open';
import { mulWords, repeatPerColumn, repeatPerRow } from '../engine/words';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface BroadcastParams {
  readonly rows: number;
  readonly L: number;
  readonly hasY: boolean;
  readonly hasZ: boolean;
}

interface BroadcastTriple {
  a: BigUint64Array;
  b: BigUint64Array;
  c: BigUint64Array;
  ab: BigUint64Array;
  ac: BigUint64Array;
  bc: BigUint64Array;
  abc: BigUint64Array;
}

function validateBroadcast(p: unknown): BroadcastParams {
  const q = p as BroadcastParams;
  if (typeof q !== 'object' || q === null) throw new TypeError('broadcastTriples params: expected an object');
  validateGrid(q.rows, q.L);
  return { rows: q.rows, L: q.L, hasY: q.hasY === true, hasZ: q.hasZ === true };
}

/** To P0: [ab] with y, [ac] with z, [bc] and [abc] with both, 8 B per element each. */
const broadcastBytes = ({ rows, L, hasY, hasZ }: BroadcastParams) => {
  const Y = hasY ? 1 : 0, Z = hasZ ? 1 : 0;
  return bytesToP0(8 * rows * L * (Y + Z + 2 * Y * Z));
};

/** Work: a, b, c drawn and the derived products (their broadcasts of b and c are covered by the products' words). */
const broadcastWork = ({ rows, L, hasY, hasZ }: BroadcastParams) => {
  const Y = hasY ? 1 : 0, Z = hasZ ? 1 : 0;
  return randomWork(rows * L) + Y * randomWork(rows) + Z * randomWork(L) + (Y + Z + 2 * Y * Z) * derivedWork(rows * L);
};

export const broadcastTriples = defineCorrelation('broadcastTriples', validateBroadcast, broadcastBytes, broadcastWork, (g, p: BroadcastParams): BroadcastTriple => {
  const { rows, L } = p, n = rows * L, zero = new BigUint64Array(n);
  const a = g.random(n);
  const b = p.hasY ? g.random(rows) : undefined;
  const c = p.hasZ ? g.random(L) : undefined;
  // b (per row) and c (per column) broadcast to (rows, L) once; products by mulWords
  const B = () => repeatPerRow(b!.value(), L), C = () => repeatPerColumn(c!.value(), rows);
  const ab = b ? g.derived(n, () => mulWords(a.value(), B())).share : zero;
  const ac = c ? g.derived(n, () => mulWords(a.value(), C())).share : zero;
  const bc = b && c ? g.derived(n, () => mulWords(B(), C())).share : zero;
  const abc = b && c ? g.derived(n, () => mulWords(mulWords(a.value(), B()), C())).share : zero;
  return { a: a.share, b: b?.share ?? new BigUint64Array(rows), c: c?.share ?? new BigUint64Array(L), ab, ac, bc, abc };
});

/** x (rows, L) times y (rows) per row and z (L) per column; y or z may be null. */
export async function mulBroadcast(ctx: PartyContext, x: RingTensor, y: RingTensor | null, z: RingTensor | null): Promise<RingTensor> {
  const L = x.shape[x.shape.length - 1] ?? 1, n = x.data.length, rows = L ? n / L : 0;
  if (y && y.data.length !== rows) throw new ShapeError(`mulBroadcast: x has ${rows} rows, y has ${y.data.length} elements`);
  if (z && z.data.length !== L) throw new ShapeError(`mulBroadcast: x rows have ${L} columns, z has ${z.data.length} elements`);
  return ctx.ledger.scope('mulBroadcast', async () => {
    // 1. take the triple
    const t = await ctx.dealer.take(broadcastTriples, { rows, L, hasY: y !== null, hasZ: z !== null });
    // 2. open E, F, G in one round
    const parts: OpenPart[] = [{ x: sub(x.data, t.a) }];
    if (y) parts.push({ x: sub(y.data, t.b) });
    if (z) parts.push({ x: sub(z.data, t.c) });
    const opened = await openMany(ctx, parts);
    const E = opened[0];
    const F = y ? opened[1] : new BigUint64Array(rows).fill(1n);
    const G = z ? opened[y ? 2 : 1] : new BigUint64Array(L).fill(1n);
    // 3. EFG + EF·c + EG·b + FG·a + E·bc + F·ac + G·ab + abc
    // (each product wrapped on its own: a BigInt product of three or four u64 words is not lowered by V8
    //  and allocates, ≈ 0.3 µs/elem; wrapped, the loop runs at a few ns per element — Node 20.20, 2026-11)
    const out = new BigUint64Array(n), p0 = ctx.party === 0 ? 1n : 0n;
    const { a, c, ab, ac, bc, abc } = t;
    for (let i = 0, q = 0; i < rows; i++) {
      const Fi = F[i], bi = t.b[i];
      for (let j = 0; j < L; j++, q++) {
        const e = E[q], Gj = G[j], FG = asUintN(64, Fi * Gj), eF = asUintN(64, e * Fi), eG = asUintN(64, e * Gj);
        const s1 = asUintN(64, asUintN(64, p0 * eF) * Gj + eF * c[j]);
        const s2 = asUintN(64, eG * bi + FG * a[q]);
        const s3 = asUintN(64, e * bc[q] + Fi * ac[q]);
        out[q] = asUintN(64, s1 + s2 + s3 + Gj * ab[q] + abc[q]);
      }
    }
    return { shape: [...x.shape], data: out };
  });
}

function sub(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = asUintN(64, a[i] - b[i]);
  return out;
}

/** Exact cost (offline: P0's, P1 gets none) of mulBroadcast on (rows, L). */
export function mulBroadcastCost(rows: number, L: number, hasY: boolean, hasZ: boolean) {
  const Y = hasY ? 1 : 0, Z = hasZ ? 1 : 0;
  return { rounds: 1, bytesSent: 8 * (rows * L + rows * Y + L * Z), offlineBytes: totalDealerBytes(broadcastBytes({ rows, L, hasY, hasZ })) };
}

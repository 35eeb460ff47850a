/**
 * The Beaver core shared by every bilinear product: elementwise mul, square, matmul, and the
 * masked-operand matmul. The products differ only in the bilinear op ⊗, passed as a typed function.
 *
 * Rounds:    1   (open E = x − a and F = y − b together; 0 extra when F is already public)
 * Online:    8 B per opened element per party
 * Offline:   the caller's triple (a, b, c = a ⊗ b)
 * Accuracy:  exact in the ring
 * Opens:     E = x − a and F = y − b, uniform because a and b are uniform and used once
 * Steps:     1. (caller) take a triple
 *            2. open E, F in one round
 *            3. z = c + E ⊗ ỹ + a ⊗ F — local, where ỹ = b + [P0]·F is a fresh sharing of y
 * Why ỹ: Σ_b (c + E⊗ỹ_b + a_b⊗F) = a⊗b + E⊗(b + F) + a⊗F = (E + a)⊗(F + b) = x⊗y. Writing it with ỹ
 * needs two ⊗ per party instead of three, and a masked operand simply stores its ỹ (masked-operand.ts).
 */
import type { PartyId, RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { openMany } from '../engine/open';
import { addWords, asUintN, subWords } from '../engine/words';

/** A map that is linear in each argument (mod 2^64): mulElem, matmul, matmul with a transposed y. */
export type Bilinear<Y> = (x: RingTensor, y: Y) => RingTensor;

/** One party's shares of a Beaver triple for ⊗: c = a ⊗ b. */
export interface BeaverTriple {
  readonly a: RingTensor;
  readonly b: RingTensor;
  readonly c: RingTensor;
}

/** Open E = x − a and F = y − b in one round and combine (steps 2–3). */
export async function beaverProduct(
  ctx: PartyContext,
  op: Bilinear<RingTensor>,
  x: RingTensor,
  y: RingTensor,
  t: BeaverTriple,
): Promise<RingTensor> {
  // 2. open E = x − a and F = y − b in one round
  const [E, F] = await openMany(ctx, [{ x: subWords(x.data, t.a.data) }, { x: subWords(y.data, t.b.data) }]);
  const e = { shape: x.shape, data: E }, f = { shape: y.shape, data: F };
  // 3. z = c + E ⊗ ỹ + a ⊗ F
  return beaverCombine(op, e, f, t.a, reshare(ctx.party, t.b, f), t.c);
}

/** Step 3 alone: z = c + E ⊗ ỹ + a ⊗ F (for protocols whose F was opened earlier). `op` must return a fresh tensor. */
export function beaverCombine<Y>(op: Bilinear<Y>, E: RingTensor, F: Y, a: RingTensor, yTilde: Y, c: RingTensor): RingTensor {
  const z = op(E, yTilde);
  const aF = op(a, F).data, cd = c.data, zd = z.data;
  for (let i = 0; i < zd.length; i++) zd[i] = asUintN(64, zd[i] + aF[i] + cd[i]);
  return z;
}

/** ỹ = b + [P0]·F: P0 adds the opened F to its mask share, P1 keeps b. ỹ0 + ỹ1 = y. */
export function reshare(party: PartyId, b: RingTensor, F: RingTensor): RingTensor {
  if (party === 1) return b;
  return { shape: b.shape, data: addWords(b.data, F.data) };
}

/**
 * Additive secret sharing over Z_2^64: x = x0 + x1 mod 2^64.
 *
 * - share(x, prg): x1 uniform from the PRG, x0 = x − x1 (the dealer/client side, tests).
 * - reconstruct(x0, x1).
 * - zeroSharing: both parties draw the same mask z from their common P0–P1 seed; P0 holds −z
 *   and P1 holds z (shares of 0). An input owner that is P0 then holds x − z and P1 holds z with
 *   no message at all; an owner outside the pair (the client) sends one share to each party.
 */
import { AesCtrPrg } from '../prg/aes-ctr-prg';
import { add, sub, type RingTensor, neg } from '../ring/ring-tensor';

export type PartyId = 0 | 1;

/** Split x into two additive shares; share 1 is drawn from `prg` (default: fresh OS entropy). */
export function share(x: RingTensor, prg: AesCtrPrg = AesCtrPrg.fromEntropy()): [RingTensor, RingTensor] {
  const x1: RingTensor = { shape: [...x.shape], data: prg.words(x.data.length) };
  return [sub(x, x1), x1];
}

export function reconstruct(x0: RingTensor, x1: RingTensor): RingTensor {
  return add(x0, x1);
}

/** This party's share of zero from the P0–P1 common PRG (both parties must call in the same order). */
export function zeroShare(party: PartyId, common: AesCtrPrg, shape: readonly number[]): RingTensor {
  let n = 1;
  for (const d of shape) n *= d;
  const z: RingTensor = { shape: [...shape], data: common.words(n) };
  return party === 0 ? neg(z) : z;
}

/**
 * Input sharing by a party that owns x, without any message: the owner's share is x + zeroShare,
 * the other party's share is its zeroShare. `x` is ignored (may be undefined) for the non-owner.
 */
export function shareOwnInput(
  party: PartyId,
  owner: PartyId,
  common: AesCtrPrg,
  shape: readonly number[],
  x?: RingTensor,
): RingTensor {
  const z = zeroShare(party, common, shape);
  if (party !== owner) return z;
  if (!x) throw new TypeError('shareOwnInput: the owner must pass its input');
  return add(x, z);
}

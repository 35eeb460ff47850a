/**
 * zeroTest / equal — [x ≡ 0 (mod 2^k)] and [x ≡ y (mod 2^k)] as arithmetic shares of 0/1 (fss.md §4d).
 * With |x| < 2^k (resp. |x − y| < 2^k) this is exactly [x = 0] (resp. [x = y]).
 *
 * Rounds:    1   (open x̂ = (x + r) mod 2^k)
 * Online:    ⌈k/8⌉ B/elem sent per party (8 for k = 64; k = 1: one bit per element, packed)
 * Offline:   one DPF key pair per element (n = k, ν = 1): 16k B to each party (dpfKeyBytes(k, 1));
 *            r is drawn from the parties' own dealer streams (nothing sent for it)
 * Accuracy:  exact, no failure probability, for every x (the test is modulo 2^k by construction)
 * Opens:     x̂ = (x + r) mod 2^k, uniform because r is uniform and single-use
 * Steps:     1. take (r, DPF keys for α = r mod 2^k, β = 1)
 *            2. open x̂ = (x + r) mod 2^k
 *            3. [x = 0]_b = Eval_DPF(b, key_b, x̂) — local (x̂ = α ⇔ x ≡ 0)
 */
import { assertSameShape, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { openBytes } from '../engine/open';
import { dpfEvalPoint } from '../fss/dpf-eval';
import { maskedDpfOfflineBytes, openMaskedIndex } from './masked-dpf';

function checkBits(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > 64) throw new RangeError(`zeroTest: bits must be in [1, 64], got ${k}`);
}

/** [x ≡ 0 mod 2^bits] for every element of x (same shape). */
export async function zeroTest(ctx: PartyContext, x: RingTensor, bits = 64): Promise<RingTensor> {
  checkBits(bits);
  return ctx.ledger.scope('zeroTest', async () => {
    // 1–2. take the masked DPFs, open x̂ = (x + r) mod 2^k
    const { mat, xHat } = await openMaskedIndex(ctx, x, bits, 1);
    // 3. local point evaluation at x̂
    return { shape: [...x.shape], data: dpfEvalPoint(mat.keys, xHat) };
  });
}

/** [x ≡ y mod 2^bits]: the zero test of x − y (local difference). */
export async function equal(ctx: PartyContext, x: RingTensor, y: RingTensor, bits = 64): Promise<RingTensor> {
  assertSameShape(x, y, 'equal');
  const d = new BigUint64Array(x.data.length);
  for (let i = 0; i < d.length; i++) d[i] = BigInt.asUintN(64, x.data[i] - y.data[i]);
  return ctx.ledger.scope('equal', () => zeroTest(ctx, { shape: x.shape, data: d }, bits));
}

/** Cost of zeroTest/equal on n elements at width `bits`; offlineBytes = dealer bytes to both parties. */
export const zeroTestCost = (n: number, bits = 64) => ({
  rounds: 1,
  bytesSent: openBytes(n, bits),
  offlineBytes: maskedDpfOfflineBytes(n, bits, 1),
});

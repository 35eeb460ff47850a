/**
 * oneHot — shares of the one-hot row e_idx ∈ {0,1}^C for each shared index idx ∈ [0, C) (fss.md §4d).
 *
 * Rounds:    1   (open î = (idx + r) mod N, N = 2^n, n = max(1, ⌈log2 C⌉))
 * Online:    ⌈n/8⌉ B per index sent per party (1 B for C ≤ 256, 2 B for C ≤ 65536; for C ≤ 2 one bit per
 *            index, packed)
 * Offline:   one DPF key pair per index (n, ν = min(n, 3)): dpfKeyBytes(n, ν) = 16(n − ν) + 8·2^ν B to
 *            each party; r from the parties' own dealer streams
 * Accuracy:  exact when 0 ≤ idx < C (an idx ≥ C or negative yields e_{idx mod N} with slots ≥ C cut off)
 * Opens:     î = (idx + r) mod N, uniform (r uniform, single-use)
 * Steps:     1. take (r, DPF keys for α = r mod N, β = 1)
 *            2. open î = (idx + r) mod N
 *            3. D_b = full-domain Eval_DPF(b, key_b) (N words); [e_k]_b = D_b[(î − k) mod N], k < C — local
 * Check: D0[j] + D1[j] = [j = r mod N], so e_k = [î − k ≡ r] = [k ≡ idx (mod N)].
 * Local work: ≈ 0.75·N AES blocks per index (ν = 3) plus N word additions.
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { openBytes } from '../engine/open';
import { dpfEvalFullRotated } from '../fss/dpf-eval';
import { fullDomainNu } from '../fss/dpf-keygen';
import { maskedDpfOfflineBytes, openMaskedIndex } from './masked-dpf';

/** n = max(1, ⌈log2 C⌉): DPF input bits for a one-hot over C slots. */
export function oneHotBits(C: number): number {
  let n = 1;
  while (2 ** n < C) n++;
  return n;
}

/** For n indices (any shape, flattened) returns shares of the n×C one-hot matrix. */
export async function oneHot(ctx: PartyContext, idx: RingTensor, C: number): Promise<RingTensor> {
  if (!Number.isInteger(C) || C < 1 || C > 2 ** 24) throw new ShapeError(`oneHot: C must be in [1, 2^24], got ${C}`);
  const bits = oneHotBits(C), nu = fullDomainNu(bits);
  const count = idx.data.length;
  return ctx.ledger.scope('oneHot', async () => {
    // 1–2. take the masked DPFs, open î = (idx + r) mod N
    const { mat, xHat } = await openMaskedIndex(ctx, idx, bits, nu);
    // 3. full-domain evaluation, then a public rotation: e_k = D[(î − k) mod N]
    const out = dpfEvalFullRotated(mat.keys, xHat, C);
    return { shape: [count, C], data: out };
  });
}

/** Cost of oneHot over `count` indices and C slots; offlineBytes = dealer bytes to both parties. */
export function oneHotCost(count: number, C: number) {
  const bits = oneHotBits(C);
  return { rounds: 1, bytesSent: openBytes(count, bits), offlineBytes: maskedDpfOfflineBytes(count, bits, fullDomainNu(bits)) };
}

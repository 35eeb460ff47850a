/**
 * lookupTable — shares of T(x mod 2^m) for public tables T: [0, 2^m) → Z_2^64 (fss.md §4e).
 * Several tables on the same x share one DPF key and one opening.
 *
 * Rounds:    1   (open x̂ = (x + r) mod 2^m)
 * Online:    ⌈m/8⌉ B/elem sent per party (m = 1: one bit per element, packed), whatever the number of tables
 * Offline:   one DPF key pair per element (n = m, ν = min(m, 3)): 16(m − ν) + 8·2^ν B to each party
 *            (144 B for m = 8, 208 B for m = 12); r from the parties' own dealer streams
 * Accuracy:  exact table lookup at index x mod 2^m. Only the low m bits of x matter, so a signed x in
 *            [−2^{m−1}, 2^{m−1}) indexes T[x mod 2^m]: build such tables with `tableOf(m, f, true)`.
 * Opens:     x̂ = (x + r) mod 2^m, uniform (r uniform, single-use)
 * Steps:     1. take (r, DPF keys for α = r mod 2^m, β = 1)
 *            2. open x̂ = (x + r) mod 2^m
 *            3. D_b = full-domain Eval_DPF(b, key_b);  [T(x)]_b = Σ_j D_b[j] · T[(x̂ − j) mod 2^m] — local
 * Check: Σ_j (D0[j] + D1[j]) T[(x̂ − j)] = T[x̂ − (r mod 2^m)] = T[x mod 2^m].
 * Local work per element: ≈ 0.75·2^m AES blocks plus 2^m multiply-adds per table, done as one ring matmul
 * (count × 2^m)·(2^m × tables) on mpc-core's wasm kernel after rotating each D row by its x̂.
 */
import { matmulWords, ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { openBytes } from '../engine/open';
import { dpfEvalFullRotated } from '../fss/dpf-eval';
import { fullDomainNu } from '../fss/dpf-keygen';
import { maskedDpfOfflineBytes, openMaskedIndex } from './masked-dpf';

/** Largest table width: a 2^16 table costs 2^16 multiply-adds per element and table. */
export const MAX_LUT_BITS = 16;

/**
 * A table of 2^m ring words from f(v). With `signed`, index v stands for the m-bit two's-complement
 * value (v ≥ 2^{m−1} means v − 2^m), matching a signed x read mod 2^m.
 */
export function tableOf(m: number, f: (v: number) => bigint, signed = false): BigUint64Array {
  const N = 2 ** m, t = new BigUint64Array(N);
  for (let v = 0; v < N; v++) t[v] = BigInt.asUintN(64, f(signed && v >= N / 2 ? v - N : v));
  return t;
}

/** For each table T_t, shares of T_t(x mod 2^m), shaped like x. */
export async function lookupTable(
  ctx: PartyContext,
  x: RingTensor,
  m: number,
  tables: readonly BigUint64Array[],
): Promise<RingTensor[]> {
  if (!Number.isInteger(m) || m < 1 || m > MAX_LUT_BITS) throw new RangeError(`lookupTable: m must be in [1, ${MAX_LUT_BITS}], got ${m}`);
  const N = 2 ** m;
  tables.forEach((t, i) => {
    if (t.length !== N) throw new ShapeError(`lookupTable: table ${i} expected ${N} entries, got ${t.length}`);
  });
  const count = x.data.length;
  return ctx.ledger.scope('lookupTable', async () => {
    // 1–2. take the masked DPFs, open x̂ = (x + r) mod 2^m
    const { mat, xHat } = await openMaskedIndex(ctx, x, m, fullDomainNu(m));
    // 3. full-domain evaluation; Σ_j D[j]·T[(x̂ − j) mod N] = Σ_u D[(x̂ − u) mod N]·T[u], so rotate each
    //    row of D by its x̂ and multiply by the N × tables matrix of the tables (ring matmul kernel)
    const nt = tables.length;
    const tmat = new BigUint64Array(N * nt);
    for (let t = 0; t < nt; t++) for (let u = 0; u < N; u++) tmat[u * nt + t] = tables[t][u];
    const outs = tables.map(() => new BigUint64Array(count));
    dpfEvalFullRotated(mat.keys, xHat, N, undefined, (k0, cnt, Drot) => {
      const prod = matmulWords(Drot, tmat, cnt, N, nt); // cnt × tables
      for (let i = 0; i < cnt; i++) for (let t = 0; t < nt; t++) outs[t][k0 + i] = prod[i * nt + t];
    });
    return outs.map((data) => ({ shape: [...x.shape], data }));
  });
}

/** Cost of lookupTable on `count` elements at width m (any number of tables). */
export function lookupTableCost(count: number, m: number) {
  return { rounds: 1, bytesSent: openBytes(count, m), offlineBytes: maskedDpfOfflineBytes(count, m, fullDomainNu(m)) };
}

/**
 * d2oRevealVariances — D2O's layer allocation input on shares (eviction-baselines.md §6.1, §6.5):
 * per layer and head, the unbiased variance over positions of the prompt's attention column sums
 * a_j (the H2O scores at the prompt's end), computed exactly in the ring and OPENED; the capacities
 * then follow in public (cache/d2o.ts d2oCapacitiesFromVariances).
 *
 * OPT-IN LEAK (D2oOptions.revealLayerBudgets): L·H reals per prompt, the variance of each head's
 * attention density, from which the layer capacities (public anyway: they fix the compacted shapes)
 * follow. Off by default: makeSecurePolicy runs D2O with uniform capacities.
 *
 * Rounds:    2 (one beaverSquare round over every a_j and every Σa; one opening)
 * Online:    8·units·(n + 1) + 8·units B per party (units = layers·heads)
 * Offline:   8·units·(n + 1) B (square pairs, to P0)
 * Accuracy:  exact: N = n·Σa² − (Σa)² at scale 2f (|N| < n³·2^{2f}: Σ_j a_j = n queries), var = N /
 *            (n(n − 1)·2^{2f}) in float64
 * Opens:     the Beaver openings (masked) and N of every unit
 * Steps:     1. [a_j²], [(Σa)²] by one beaverSquare      2. N = n·Σ[a_j²] − [(Σa)²] (local)
 *            3. open N; var = N/(n(n − 1)) decoded at scale 2f
 */
import { decodeScalar } from '@mpcache/mpc-core';
import { beaverSquare, beaverSquareCost, openWords, type PartyContext } from '@mpcache/protocols';

const { asUintN } = BigInt;

/** Per unit (row of `density`, (units, n) at scale f): the opened variance over its n entries. */
export async function d2oRevealVariances(ctx: PartyContext, density: BigUint64Array, units: number, n: number): Promise<number[]> {
  const x = new BigUint64Array(units * (n + 1));
  for (let u = 0; u < units; u++) {
    let s = 0n;
    for (let j = 0; j < n; j++) { x[u * (n + 1) + j] = density[u * n + j]; s += density[u * n + j]; }
    x[u * (n + 1) + n] = asUintN(64, s);
  }
  const y = (await beaverSquare(ctx, { shape: [x.length], data: x })).data, N = new BigUint64Array(units), bn = BigInt(n);
  for (let u = 0; u < units; u++) {
    let s2 = 0n;
    for (let j = 0; j < n; j++) s2 += y[u * (n + 1) + j];
    N[u] = asUintN(64, bn * s2 - y[u * (n + 1) + n]);
  }
  const opened = await openWords(ctx, N);
  return Array.from(opened, (v) => (n > 1 ? decodeScalar(v, 2 * ctx.fracBits) / (n * (n - 1)) : 0));
}

export function d2oRevealVariancesCost(units: number, n: number) {
  const sq = beaverSquareCost(units * (n + 1));
  return { rounds: sq.rounds + 1, bytesSent: sq.bytesSent + 8 * units, offlineBytes: sq.offlineBytes };
}

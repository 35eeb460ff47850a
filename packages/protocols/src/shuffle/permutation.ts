/**
 * Row permutations of n×w word matrices and the holder's uniform permutation (fss.md §5).
 *
 * Convention: Permute_π(X)[i] = X[π(i)] (row i of the output is row π(i) of the input).
 * A permutation is a Uint32Array of length n holding each of 0..n−1 once.
 *
 * drawPermutation runs Fisher–Yates on 32-bit draws with rejection sampling (so every permutation is
 * exactly equally likely), taking its words from the holder's dealer stream through `g.own`. The dealer
 * and the holder see the same words in the same order, so both derive the same π; the other party
 * draws nothing. Rejections (probability < bound/2^32 per draw) pull further words the same way.
 * drawCommonPermutation does the same from the parties' common PRG (a permutation the dealer does not know).
 */
import type { AesCtrPrg, PartyId } from '@mpcache/mpc-core';
import type { DealGen } from '../dealer/correlation';
import type { DealerWork } from '../dealer/dealer-work';

/** Permute_π(X) for an n×w matrix stored row-major (out[i] = x[π(i)]). */
export function permuteRows(x: BigUint64Array, perm: Uint32Array, w: number): BigUint64Array {
  const n = perm.length;
  const out = new BigUint64Array(n * w);
  if (w === 1) {
    for (let i = 0; i < n; i++) out[i] = x[perm[i]];
    return out;
  }
  for (let i = 0; i < n; i++) {
    const src = perm[i] * w;
    out.set(x.subarray(src, src + w), i * w);
  }
  return out;
}

/** π⁻¹ (π⁻¹(π(i)) = i). */
export function invertPermutation(perm: Uint32Array): Uint32Array {
  const inv = new Uint32Array(perm.length);
  for (let i = 0; i < perm.length; i++) inv[perm[i]] = i;
  return inv;
}

/** π∘σ as a permutation: (π∘σ)(i) = π(σ(i)). */
export function composePermutations(pi: Uint32Array, sigma: Uint32Array): Uint32Array {
  const out = new Uint32Array(pi.length);
  for (let i = 0; i < pi.length; i++) out[i] = pi[sigma[i]];
  return out;
}

/** Fisher–Yates on 32-bit draws with rejection sampling: every permutation exactly equally likely. */
function fisherYates(n: number, next: () => number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const bound = i + 1;
    const limit = Math.floor(2 ** 32 / bound) * bound;
    let v = next();
    while (v >= limit) v = next();
    const j = v % bound;
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

/** 32-bit draws from the words of `first`, then of `more()` one word at a time (rejections). */
function wordDraws(first: BigUint64Array, more: () => BigUint64Array): () => number {
  let pool = new Uint32Array(first.buffer, first.byteOffset, 2 * first.length);
  let pos = 0;
  return () => {
    if (pos === pool.length) {
      const w = more();
      pool = new Uint32Array(w.buffer, w.byteOffset, 2);
      pos = 0;
    }
    return pool[pos++];
  };
}

/** Words for the n − 1 draws of Fisher–Yates without rejections. */
const drawWords = (n: number) => Math.ceil(Math.max(0, n - 1) / 2);

/**
 * A uniform permutation of n elements from `holder`'s dealer stream (dealer and holder get the same
 * one; the other party gets undefined and draws nothing).
 */
export function drawPermutation(g: DealGen, holder: PartyId, n: number): Uint32Array | undefined {
  const first = g.own(holder, drawWords(n));
  if (!first) return undefined;
  return fisherYates(n, wordDraws(first, () => g.own(holder, 1) as BigUint64Array));
}

/**
 * A uniform permutation of n elements from a PRG both parties hold (ctx.common, seeded between P0
 * and P1): the same on both, unknown to the dealer.
 */
export function drawCommonPermutation(prg: AesCtrPrg, n: number): Uint32Array {
  return fisherYates(n, wordDraws(prg.words(drawWords(n)), () => prg.words(1)));
}

/** Block-diagonal uniform permutation: each of `blocks` groups of n/blocks rows permuted by `draw(size)` on its own. */
export function blockPermutation(n: number, blocks: number, draw: (size: number) => Uint32Array | undefined): Uint32Array | undefined {
  if (blocks === 1) return draw(n);
  const size = n / blocks;
  const out = new Uint32Array(n);
  for (let b = 0; b < blocks; b++) {
    const p = draw(size);
    if (!p) return undefined;
    for (let i = 0; i < size; i++) out[b * size + i] = b * size + p[i];
  }
  return out;
}

/**
 * A block's fixed cost in drawBlockPermutation, its draw call and arrays: ≈ 1.5 µs measured for blocks
 * of 0 or 1 rows (Node 20.20, 2026-11-28), the time of ≈ 2^10 matmul multiply-adds (dealer-work.ts).
 */
export const PERMUTATION_BLOCK_WORK = 2 ** 10;

/**
 * The dealer's work for drawBlockPermutation(n, blocks) (dealer-work.ts): at most n words drawn —
 * ⌈(s − 1)/2⌉ per block of s, plus ⌈s/2⌉ for rejections (each rejects with probability < s/2^32, so
 * s ≤ 2^28 expects fewer than s/15 rejected draws, and ⌈s/2⌉ words hold s of them) — n entries, n
 * more placing the blocks when there are several, and each block's fixed cost.
 */
export const blockPermutationWork = (n: number, blocks: number): DealerWork => n + n + (blocks > 1 ? n : 0) + blocks * PERMUTATION_BLOCK_WORK;

/** Block-diagonal uniform permutation from `holder`'s dealer stream (drawPermutation per block). */
export function drawBlockPermutation(g: DealGen, holder: PartyId, n: number, blocks: number): Uint32Array | undefined {
  return blockPermutation(n, blocks, (size) => drawPermutation(g, holder, size));
}

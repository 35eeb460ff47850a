/**
 * argmaxPacked — row-wise argmax over the last axis by a max tree over distinct packed keys
 * key_i = x_i·2^P + (2^P − 1 − i), P = max(1, ⌈log2 L⌉) (the ranking keys of ranking-keys.ts):
 * the winning key carries its index in its low P bits, so the tree selects values only (DCF keys
 * with m = 2, 8 B per comparison) instead of value and index (argmaxTree: m = 3, 16 B), and the
 * comparisons may be coarse (relu.ts `lowBits`: key differences below the resolution are not
 * resolved), which narrows every DCF key to n = bits − resolutionBits + 1 input bits.
 *
 * Rounds:    ⌈log2 L⌉ (0 for L = 1)
 * Online:    8 B per comparison sent per party, rows·(L − 1) comparisons
 * Offline:   per comparison one DCF key per party, dcfKeyBytes(bits − resolutionBits + 1, 2), plus
 *            16 B of corrections to P0: argmaxPackedCost. Greedy decoding over 32,000 logits at
 *            bits 46, resolution 24 (2^-8 at scale 2^32): 31,999 keys of n = 23 (24.6 MB to P0),
 *            against argmaxTree's n = 31, m = 3 at bits 32 (41.2 MB)
 * Accuracy:  x[index] > max − ⌈log2 L⌉·2^resolutionBits (a comparison whose values differ by less
 *            than 2^resolutionBits may go either way, and only those); the exact argmax whenever the
 *            row maximum exceeds every other value by at least 2^resolutionBits. Which of several
 *            near-equal values wins is unspecified (not necessarily the lowest index).
 *            Precondition: |x_i − x_j| < 2^(bits−1) within a row, bits + P + 1 ≤ 64.
 * Opens:     those of maxTree: (key_l − key_r) + r per comparison, r fresh and uniform.
 * Output:    shares of the index CORRECT MOD 2^P only (index = −1 − key* mod 2^P): open or use it
 *            mod 2^P (oneHot over L ≤ 2^P slots does), or rebuild an exact index from the one-hot.
 * Indices:   by default item i's index is its position i (public). With `indices` (shares of
 *            DISTINCT integers in [0, indexRange), e.g. topK's vocabulary ids) the keys pack those
 *            instead, P = ⌈log2 indexRange⌉, and the output is the winner's secret index: the same
 *            rounds and bytes (top-k sampling: generator.ts).
 * Steps:     1. key_i = x_i·2^P + [P0]·(2^P − 1) − idx_i — local (idx_i = [P0]·i by default)
 *            2. key* = maxTree(keys) on K = bits + P + 1 bits, lowBits S = resolutionBits − 1 + P
 *               (|c| ≥ 2^S whenever |Δx| ≥ 2^resolutionBits; |c| < 2^(K−1) − 2^S always)
 *            3. index = [P0]·(2^P − 1) − key* mod 2^P — local
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { maxTree, maxTreeCost } from './max-tree';
import { indexBits } from './ranking-keys';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface ArgmaxPackedOptions {
  /** Signed range of the row differences: |x_i − x_j| < 2^(bits−1). */
  readonly bits: number;
  /** Values closer than 2^resolutionBits may be ranked either way (1 ≤ resolutionBits < bits). */
  readonly resolutionBits: number;
  /** Shares of the items' indices (shape of x; distinct integers in [0, indexRange)); default: positions. */
  readonly indices?: RingTensor;
  /** The indices' exclusive upper bound (≥ L; required with `indices`, default L), which fixes P. */
  readonly indexRange?: number;
}

export interface ArgmaxPackedResult {
  /** Shares of the winner's index, correct mod 2^indexBits. */
  readonly index: RingTensor; // (rows)
  /** P = the index bits of the packing. */
  readonly indexBits: number;
}

/** Row-wise argmax of x (rows, L) or (L) by packed keys (see the header for the index's modulus). */
export async function argmaxPacked(ctx: PartyContext, x: RingTensor, opts: ArgmaxPackedOptions): Promise<ArgmaxPackedResult> {
  const { rows, L } = dims(x);
  const { P, K, S } = packing(L, opts);
  const idx = opts.indices;
  if (idx && (idx.data.length !== x.data.length || idx.shape.join() !== x.shape.join())) {
    throw new ShapeError(`"argmaxPacked" indices expected shape (${x.shape.join(', ')}), got (${idx.shape.join(', ')})`);
  }
  return ctx.ledger.scope('argmaxPacked', async () => {
    // 1. packed keys
    const keys = new BigUint64Array(rows * L), shift = BigInt(P), top = (1n << shift) - 1n, p0 = ctx.party === 0;
    for (let q = 0, i = 0; q < keys.length; q++, i = i + 1 === L ? 0 : i + 1) {
      const own = idx ? idx.data[q] : p0 ? BigInt(i) : 0n;
      keys[q] = asUintN(64, (x.data[q] << shift) + (p0 ? top : 0n) - own);
    }
    // 2. the max key per row
    const best = await maxTree(ctx, { shape: [rows, L], data: keys }, { bits: K, lowBits: S });
    // 3. index = 2^P − 1 − key* (mod 2^P)
    const index = new BigUint64Array(rows);
    for (let r = 0; r < rows; r++) index[r] = asUintN(P, (p0 ? top : 0n) - best.data[r]);
    return { index: { shape: [rows], data: index }, indexBits: P };
  });
}

/** P (index bits), K (comparison bits) and S (ignored low bits) for rows of length L. */
function packing(L: number, opts: ArgmaxPackedOptions): { P: number; K: number; S: number } {
  const range = opts.indexRange ?? (opts.indices ? undefined : L);
  if (!Number.isInteger(range) || range! < L) throw new RangeError(`argmaxPacked: indexRange expected an integer ≥ ${L}${opts.indices ? ' with indices' : ''}, got ${range}`);
  const P = Math.max(1, indexBits(range!)), { bits, resolutionBits: res } = opts;
  if (!Number.isInteger(bits) || bits < 2 || bits + P + 1 > 64) {
    throw new RangeError(`argmaxPacked: bits expected an integer in [2, ${63 - P}] for rows of ${L}, got ${bits}`);
  }
  if (!Number.isInteger(res) || res < 1 || res >= bits) {
    throw new RangeError(`argmaxPacked: resolutionBits expected an integer in [1, ${bits - 1}], got ${res}`);
  }
  return { P, K: bits + P + 1, S: res - 1 + P };
}

function dims(x: RingTensor): { rows: number; L: number } {
  if ((x.shape.length !== 1 && x.shape.length !== 2) || x.shape[x.shape.length - 1] < 1) {
    throw new ShapeError(`"argmaxPacked" expected shape (rows, L) or (L) with L ≥ 1, got (${x.shape.join(', ')})`);
  }
  return { rows: x.shape.length === 2 ? x.shape[0] : 1, L: x.shape[x.shape.length - 1] };
}

/** Exact cost of argmaxPacked over (rows, L) (offline: dealer bytes to both parties). */
export function argmaxPackedCost(rows: number, L: number, opts: ArgmaxPackedOptions) {
  const { K, S } = packing(L, opts);
  return maxTreeCost(rows, L, K, S);
}

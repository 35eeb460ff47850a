/**
 * topK — the k largest of each row of shared values (k public), by oblivious shuffle + quick-select on
 * revealed comparison bits (fss.md §5). Outputs: values, original indices (secret), the payload rows of
 * the selected items, and optionally the indicator mask and the one-hot rows in original order.
 *
 * Rounds:    2 (shuffle) + 2 per quick-select step (open x̂ of the comparisons, then reveal 1 bit each)
 *            + 1 if mask/oneHot (public unshuffle). Steps are data-independent in distribution; for
 *            n = 1024, k = 8, 4 pivots: 3.2 on average, at most 5 in 100 trials ⇒ ≈ 9.5 rounds, ≤ 13.
 * Online:    shuffle 8·rows·n·(2 + w) B per party; per comparison ⌈bits/8⌉ B + 1 bit; unshuffle
 *            8·rows·n·u B sent by P1 (u = k for oneHot, 1 for mask alone). topKCost(…) is exact given
 *            the step sizes the run reports (result.stepComparisons).
 * Offline:   shuffle 8·rows·n·(2 + w) B to each party (+ 8·rows·n·u to P0 for the unshuffle); one
 *            bit-LTZ (Z₂-output DCF) key pair per comparison (dcfLessThanZeroBitCost(1, bits)
 *            .offlineBytes), drawn in fixed-size chunks (comparison-pool.ts: < 1 chunk unused per run)
 * Accuracy:  exact when |v| < 2^{bits−2−L}, L = ⌈log2 n⌉ (maxRankedValue). Ties: the lower index wins.
 *            With `distinct` (the caller's values differ already) L = 0 and the values are the keys.
 * Opens:     the comparison bits [key_a < key_b] of SHUFFLED items with distinct keys: a function of the
 *            rank order of a uniform permutation that neither party knows, hence simulatable; the
 *            selected shuffled positions (uniformly random). Values, indices and ranks stay secret.
 *            The dealer, which draws the shuffle π (both halves), sees how many comparison chunks a
 *            run asks for, which follows those bits: so the items are permuted once more by σ from
 *            the parties' common PRG (local, free), and σ∘π is unknown to the dealer as well.
 * Steps:     1. items (v, idx, payload) → shuffle each row independently (blocks), unshuffle prepared;
 *               then permute each row by σ (common PRG)
 *            2. key = v·2^L + (2^L − 1 − idx), local on the shuffled shares
 *            3. until the boundary k is resolved: the planner picks comparisons; LTZ(key_a − key_b);
 *               reveal the bits; refine the buckets
 *            4. gather the selected shuffled rows → values, indices, payload (local)
 *            5. one-hot / mask: public U with U[j_ℓ][ℓ] = 1, unshufflePublic (one message)
 * Output order: descending rank with `sorted` (resolves every boundary 1..k, a few more comparisons),
 * ascending original index with `originalOrder` (static eviction keeps prompt order), otherwise the
 * shuffled order (random, independent of the data).
 * originalOrder: 6. a second topK over the k selected rows with value −idx, `sorted`, on a FRESH shuffle
 * (values, payload and one-hot rows ride along as payload). Revealing index comparisons on the first
 * shuffle would leak how value order and index order correlate; after a fresh shuffle they are again a
 * function of a uniform permutation. Comparisons there are narrow: L + ⌈log2 k⌉ + 3 bits.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '../engine/context';
import { openBytes, openWords } from '../engine/open';
import { dcfLessThanZeroBit, dcfLessThanZeroBitCost } from '../fss/ltz-bit';
import { blockPermutation, drawCommonPermutation, permuteRows } from '../shuffle/permutation';
import { obliviousShuffle, obliviousShuffleCost, unshufflePublic } from '../shuffle/shuffle';
import { QuickSelect, type QuickSelectOptions } from './quick-select';
import { ComparisonPool, comparisonChunk, pooledComparisonsOffline } from './comparison-pool';
import { checkSelection, indexBits, itemMatrix, keyIndexBits, outShape, payloadWidth, rankingKeys } from './ranking-keys';

export interface TopKOptions extends QuickSelectOptions {
  /** Signed comparison width (default 64); requires |v| < 2^{bits−2−⌈log2 n⌉} (2^{bits−2} with `distinct`). */
  bits?: number;
  /**
   * The values of a row are distinct (the caller packed its own tie-break into them): they are the
   * keys as they are, without the index bits (ranking-keys.ts), so `bits` may be ⌈log2 n⌉ narrower.
   * Equal values would then compare unequal neither way: the caller's contract, not checked.
   */
  distinct?: boolean;
  /** Rows carried along with the values: shape [...v.shape, w]. */
  payload?: RingTensor;
  /** Return the 0/1 indicator of the selected items in original order. */
  mask?: boolean;
  /** Return the one-hot rows (k × n per row) of the selected items in original order. */
  oneHot?: boolean;
  /** Order the outputs by descending value (default: random order). */
  sorted?: boolean;
  /** Order the outputs by ascending original index (one more shuffle and sort of the k rows). */
  originalOrder?: boolean;
}

export interface TopKResult {
  /** (rows?, k) selected values. */
  readonly values: RingTensor;
  /** (rows?, k) their original indices. */
  readonly indices: RingTensor;
  /** (rows?, k, w) their payload rows. */
  readonly payload?: RingTensor;
  /** (rows?, n) indicator in original order. */
  readonly mask?: RingTensor;
  /** (rows?, k, n): row ℓ is the one-hot of the ℓ-th output's original index. */
  readonly oneHot?: RingTensor;
  /** Comparisons made in each quick-select step (public; fixes the exact cost). */
  readonly stepComparisons: number[];
  /** With originalOrder: the steps of the second (ordering) pass. */
  readonly orderStepComparisons?: number[];
}

export async function topK(ctx: PartyContext, v: RingTensor, k: number, opts: TopKOptions = {}): Promise<TopKResult> {
  const bits = opts.bits ?? 64;
  const { rows, n } = checkSelection(v, k, bits, 'topK', opts.distinct);
  const w = payloadWidth(v, opts.payload, 'topK');
  const cols = 2 + w, oneD = v.shape.length === 1, L = keyIndexBits(n, opts.distinct);
  const uw = opts.oneHot ? k : opts.mask ? 1 : 0;
  return ctx.ledger.scope('topK', async () => {
    // 1. shuffle (v, idx, payload) rows, each row of values on its own
    const items = { shape: [rows * n, cols], data: itemMatrix(ctx.party, v, opts.payload, n, w) };
    const shuffled = await obliviousShuffle(ctx, items, {
      blocks: rows,
      unshuffle: uw ? 'public' : 'none',
      unshuffleWidth: uw,
    });
    const { handle } = shuffled;
    // 1b. then σ from the parties' common PRG, local: the dealer drew π, so only σ∘π hides the
    // rank order from it (the chunks of comparisons it is asked for follow the revealed bits)
    const sigma = blockPermutation(rows * n, rows, (size) => drawCommonPermutation(ctx.common, size))!;
    const y = { shape: shuffled.y.shape, data: permuteRows(shuffled.y.data, sigma, cols) };
    // 2. distinct keys on the shuffled shares
    const key = rankingKeys(ctx.party, y.data, cols, L, opts.distinct);
    // 3. quick-select on revealed comparison bits
    const targets = opts.sorted ? Array.from({ length: k }, (_, i) => i + 1) : [k];
    const plan = new QuickSelect(rows, n, targets, opts);
    const stepComparisons: number[] = [];
    let pool: ComparisonPool | null = null; // chunked dealer requests: predictable across runs
    for (let batch = plan.next(); batch.a.length > 0; batch = plan.next()) {
      const m = batch.a.length, diff = new BigUint64Array(m);
      for (let c = 0; c < m; c++) {
        const base = batch.row[c] * n;
        diff[c] = BigInt.asUintN(64, key[base + batch.a[c]] - key[base + batch.b[c]]);
      }
      pool ??= new ComparisonPool(ctx, bits, comparisonChunk(m));
      const lt = await dcfLessThanZeroBit(ctx, { shape: [m], data: diff }, bits, await pool.take(m)); // XOR shares: open mod 2
      plan.apply(await openWords(ctx, lt.data, 1));
      stepComparisons.push(m);
    }
    // 4. gather the selected shuffled rows
    const sel = Array.from({ length: rows }, (_, r) => plan.top(r, k));
    const values = new BigUint64Array(rows * k), indices = new BigUint64Array(rows * k);
    const pay = new BigUint64Array(rows * k * w);
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < k; l++) {
        const src = (r * n + sel[r][l]) * cols, dst = r * k + l;
        values[dst] = y.data[src];
        indices[dst] = y.data[src + 1];
        pay.set(y.data.subarray(src + 2, src + cols), dst * w);
      }
    }
    const result: TopKResult = {
      values: { shape: outShape(oneD, rows, k), data: values },
      indices: { shape: outShape(oneD, rows, k), data: indices },
      payload: w ? { shape: outShape(oneD, rows, k, w), data: pay } : undefined,
      stepComparisons,
    };
    if (!uw) return opts.originalOrder ? toOriginalOrder(ctx, result, rows, n, k, oneD) : result;
    // 5. public unshuffle of U: column ℓ marks the ℓ-th selected shuffled position
    const u = new BigUint64Array(rows * n * uw);
    // (row σ(i) of the dealer's shuffle is row i of y)
    for (let r = 0; r < rows; r++) for (let l = 0; l < k; l++) u[sigma[r * n + sel[r][l]] * uw + (uw === 1 ? 0 : l)] = 1n;
    const back = (await unshufflePublic(ctx, handle, { shape: [rows * n, uw], data: u })).data;
    const mask = new BigUint64Array(rows * n);
    for (let i = 0; i < rows * n; i++) {
      let s = 0n;
      for (let l = 0; l < uw; l++) s += back[i * uw + l];
      mask[i] = BigInt.asUintN(64, s);
    }
    let oneHot: RingTensor | undefined;
    if (opts.oneHot) {
      const oh = new BigUint64Array(rows * k * n);
      for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let l = 0; l < k; l++) oh[(r * k + l) * n + i] = back[(r * n + i) * k + l];
      oneHot = { shape: outShape(oneD, rows, k, n), data: oh };
    }
    const full = { ...result, mask: opts.mask ? { shape: outShape(oneD, rows, n), data: mask } : undefined, oneHot };
    return opts.originalOrder ? toOriginalOrder(ctx, full, rows, n, k, oneD) : full;
  });
}

/** 6. Re-sort the k selected rows by ascending original index (fresh shuffle inside topK). */
async function toOriginalOrder(ctx: PartyContext, r: TopKResult, rows: number, n: number, k: number, oneD: boolean): Promise<TopKResult> {
  const w = r.payload ? r.payload.shape[r.payload.shape.length - 1] : 0, oh = r.oneHot ? n : 0;
  const cw = 1 + w + oh; // carried columns: value, payload, one-hot row
  const negIdx = new BigUint64Array(rows * k), carry = new BigUint64Array(rows * k * cw);
  for (let i = 0; i < rows * k; i++) {
    negIdx[i] = BigInt.asUintN(64, -r.indices.data[i]);
    carry[i * cw] = r.values.data[i];
    if (w) carry.set((r.payload as RingTensor).data.subarray(i * w, i * w + w), i * cw + 1);
    if (oh) carry.set((r.oneHot as RingTensor).data.subarray(i * n, i * n + n), i * cw + 1 + w);
  }
  const inner = await topK(ctx, { shape: [rows, k], data: negIdx }, k, {
    bits: orderBits(n, k),
    sorted: true,
    payload: { shape: [rows, k, cw], data: carry },
  });
  const c = (inner.payload as RingTensor).data;
  const values = new BigUint64Array(rows * k), pay = new BigUint64Array(rows * k * w), ohs = new BigUint64Array(rows * k * oh);
  const indices = new BigUint64Array(rows * k);
  for (let i = 0; i < rows * k; i++) {
    indices[i] = BigInt.asUintN(64, -inner.values.data[i]);
    values[i] = c[i * cw];
    pay.set(c.subarray(i * cw + 1, i * cw + 1 + w), i * w);
    ohs.set(c.subarray(i * cw + 1 + w, (i + 1) * cw), i * oh);
  }
  return {
    ...r,
    values: { shape: outShape(oneD, rows, k), data: values },
    indices: { shape: outShape(oneD, rows, k), data: indices },
    payload: w ? { shape: outShape(oneD, rows, k, w), data: pay } : undefined,
    oneHot: oh ? { shape: outShape(oneD, rows, k, n), data: ohs } : undefined,
    orderStepComparisons: inner.stepComparisons,
  };
}

/** Comparison width of the ordering pass: keys −idx·2^{L'} + …, |idx| < 2^L, L' = ⌈log2 k⌉. */
const orderBits = (n: number, k: number) => Math.min(64, indexBits(n) + indexBits(k) + 3);

/**
 * Exact cost of a topK run given its public step sizes: rounds, bytesSent per party (P0, P1) and the
 * dealer's bytes to both parties.
 */
export function topKCost(
  rows: number,
  n: number,
  k: number,
  stepComparisons: readonly number[],
  opts: TopKOptions = {},
  orderStepComparisons: readonly number[] = [],
): { rounds: number; bytesSentPerParty: [number, number]; offlineBytes: number } {
  const bits = opts.bits ?? 64, w = opts.payload ? opts.payload.shape[opts.payload.shape.length - 1] : 0;
  const uw = opts.oneHot ? k : opts.mask ? 1 : 0;
  const shuffle = obliviousShuffleCost(rows * n, 2 + w, uw ? 'public' : 'none', uw);
  let cmpBytes = 0;
  for (const m of stepComparisons) cmpBytes += dcfLessThanZeroBitCost(m, bits).bytesSent + openBytes(m, 1);
  const cmpOffline = pooledComparisonsOffline(stepComparisons, bits);
  const unshuffleBytes = 8 * rows * n * uw;
  const own = {
    rounds: shuffle.rounds + 2 * stepComparisons.length + (uw ? 1 : 0),
    bytesSentPerParty: [shuffle.bytesSent + cmpBytes, shuffle.bytesSent + cmpBytes + unshuffleBytes] as [number, number],
    offlineBytes: shuffle.offlineBytes + cmpOffline,
  };
  if (!opts.originalOrder) return own;
  // the ordering pass: topK over (rows, k) carrying value, payload and one-hot columns
  const cw = 1 + w + (opts.oneHot ? n : 0);
  const inner = topKCost(rows, k, k, orderStepComparisons, {
    bits: orderBits(n, k),
    sorted: true,
    payload: { shape: [rows, k, cw], data: new BigUint64Array(0) },
  });
  return {
    rounds: own.rounds + inner.rounds,
    bytesSentPerParty: [own.bytesSentPerParty[0] + inner.bytesSentPerParty[0], own.bytesSentPerParty[1] + inner.bytesSentPerParty[1]],
    offlineBytes: own.offlineBytes + inner.offlineBytes,
  };
}

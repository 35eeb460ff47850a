/**
 * topKBitonic — the k largest of each row (k public) by an oblivious compare-exchange network: nothing
 * is revealed, every output is secret. The fallback to topK (shuffle + quick-select).
 *
 * Rounds:    per network stage 1 when the payload has w ≤ 1 columns (selectCompare: DCF with the value
 *            and the payload column as extra words), else 2 (LTZ, then one Beaver product for the swap);
 *            + 1 for mask/oneHot. Stages: with N = 2^⌈log2 n⌉, K = 2^⌈log2 k⌉, κ = log2 K:
 *            κ(κ+1)/2 to sort blocks of K, then log2(N/K)·(1 + κ) to merge-and-prune
 *            (n = 1024, k = 8: 6 + 7·4 = 34 stages ⇒ 34 rounds, 68 with a wide payload).
 * Online:    per compare-exchange: w ≤ 1: 8·(2 + w) B; else ⌈bits/8⌉ + 8·(1 + cols) B, cols = 2 + w
 * Offline:   per compare-exchange: w ≤ 1: one select key pair (m = 3 + w words); else one LTZ key pair
 *            + 8·cols B (1×1·1×cols matmul triple) — topKBitonicCost(…) is exact; the tests assert it
 * Accuracy:  exact when |v| < 2^{bits−2−L}, L = ⌈log2 n⌉. Ties: the lower index wins (distinct keys).
 * Opens:     only masked values (DCF inputs, Beaver differences): nothing about the data
 * Steps:     1. items (v, idx, payload), padded to N with sentinels of key −2^{bits−2} (below every
 *               real key); key = v·2^L + (2^L − 1 − idx) is linear in (v, idx), so it is recomputed
 *               locally after every stage
 *            2. bitonic sort of blocks of K, alternately descending/ascending
 *            3. while more than one block: half-cleaner between blocks 2b, 2b+1 keeps the larger of
 *               each pair (the top K of the two, as a bitonic block), then a bitonic merge of each block
 *            4. the first k of the final descending block → values, indices, payload (descending)
 *            5. mask / oneHot: oneHot(indices, n) (1 round), mask = column sums
 * Compare-exchange (hi, lo), the larger item ends at hi; a pruning pair keeps only hi:
 *   1 round: selectCompare(key_hi, key_lo; payloads v, p) → max key, its v and p; its idx follows from
 *            key = v·2^L + (2^L − 1 − idx); the lo side is (x_hi + x_lo) − (new x_hi) for every column
 *   2 rounds: c = LTZ(key_hi − key_lo) = [key_hi < key_lo]; t = c·(x_lo − x_hi) for all columns;
 *            x_hi += t; x_lo −= t
 */
import type { PartyId, RingTensor } from '@mpcache/mpc-core';
import { beaverMatmul, beaverMatmulCost } from '../beaver/beaver-matmul';
import type { PartyContext } from '../engine/context';
import { dcfLessThanZero, dcfLessThanZeroCost } from '../fss/dcf-less-than';
import { selectCompare, selectCompareCost } from './mux';
import { oneHot as oneHotRows, oneHotCost } from './one-hot';
import { checkSelection, indexBits, itemMatrix, outShape, payloadWidth, rankingKeys } from './ranking-keys';
import type { TopKOptions, TopKResult } from './top-k';

/** One network stage on every row: pairs (hi, lo) of row-local positions; `prune` keeps hi only. */
interface Stage {
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly prune: boolean;
  /** Row length after the stage. */
  readonly len: number;
}

const pow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

/** The whole network for one row (same for every row). */
export function bitonicTopKNetwork(n: number, k: number): Stage[] {
  const N = pow2(n), K = Math.min(pow2(k), N);
  const stages: Stage[] = [];
  const merge = (len: number, size: number, stride: number) => {
    const hi: number[] = [], lo: number[] = [];
    for (let i = 0; i < len; i++) {
      const j = i ^ stride;
      if (j <= i) continue;
      const desc = (i & size) === 0; // runs of `size` alternate descending/ascending
      hi.push(desc ? i : j);
      lo.push(desc ? j : i);
    }
    stages.push({ hi: Uint32Array.from(hi), lo: Uint32Array.from(lo), prune: false, len });
  };
  for (let size = 2; size <= K; size *= 2) for (let s = size / 2; s >= 1; s /= 2) merge(N, size, s);
  for (let len = N; len > K; ) {
    const hi: number[] = [], lo: number[] = [];
    for (let b = 0; b < len / (2 * K); b++) for (let t = 0; t < K; t++) (hi.push(2 * b * K + t), lo.push((2 * b + 1) * K + t));
    len /= 2;
    stages.push({ hi: Uint32Array.from(hi), lo: Uint32Array.from(lo), prune: true, len });
    for (let s = K / 2; s >= 1; s /= 2) merge(len, K, s);
  }
  return stages;
}

export async function topKBitonic(ctx: PartyContext, v: RingTensor, k: number, opts: TopKOptions = {}): Promise<TopKResult> {
  const bits = opts.bits ?? 64;
  const { rows, n } = checkSelection(v, k, bits, 'topKBitonic');
  const w = payloadWidth(v, opts.payload, 'topKBitonic');
  const cols = 2 + w, oneD = v.shape.length === 1, L = indexBits(n), N = pow2(n);
  return ctx.ledger.scope('topKBitonic', async () => {
    // 1. items padded to N per row with sentinels
    let x = padItems(ctx.party, itemMatrix(ctx.party, v, opts.payload, n, w), rows, n, N, cols, bits, L);
    let len = N;
    // 2–3. the network, one stage at a time, all rows together
    for (const st of bitonicTopKNetwork(n, k)) {
      x = await compareExchange(ctx, { x, rows, len, cols, st, L, bits });
      len = st.len;
    }
    // 4. first k of each row's final (descending) block
    const values = new BigUint64Array(rows * k), indices = new BigUint64Array(rows * k), pay = new BigUint64Array(rows * k * w);
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < k; l++) {
        const src = (r * len + l) * cols, dst = r * k + l;
        values[dst] = x[src];
        indices[dst] = x[src + 1];
        pay.set(x.subarray(src + 2, src + cols), dst * w);
      }
    }
    const idx: RingTensor = { shape: outShape(oneD, rows, k), data: indices };
    const result: TopKResult = {
      values: { shape: outShape(oneD, rows, k), data: values },
      indices: idx,
      payload: w ? { shape: outShape(oneD, rows, k, w), data: pay } : undefined,
      stepComparisons: [],
    };
    if (!opts.mask && !opts.oneHot) return result;
    // 5. one-hot rows of the secret indices; mask = their sum
    const oh = (await oneHotRows(ctx, idx, n)).data; // (rows·k) × n
    const mask = new BigUint64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < k; l++) for (let i = 0; i < n; i++) mask[r * n + i] += oh[(r * k + l) * n + i];
    }
    for (let i = 0; i < mask.length; i++) mask[i] = BigInt.asUintN(64, mask[i]);
    return {
      ...result,
      mask: opts.mask ? { shape: outShape(oneD, rows, n), data: mask } : undefined,
      oneHot: opts.oneHot ? { shape: outShape(oneD, rows, k, n), data: oh } : undefined,
    };
  });
}

function padItems(party: PartyId, items: BigUint64Array, rows: number, n: number, N: number, cols: number, bits: number, L: number) {
  if (N === n) return items;
  const out = new BigUint64Array(rows * N * cols);
  // sentinel: v = −2^{bits−2−L}, idx = 2^L − 1 ⇒ key = −2^{bits−2} (P0 holds the constants)
  const sv = BigInt.asUintN(64, -(1n << BigInt(bits - 2 - L))), si = (1n << BigInt(L)) - 1n;
  for (let r = 0; r < rows; r++) {
    out.set(items.subarray(r * n * cols, (r + 1) * n * cols), r * N * cols);
    if (party === 0) for (let i = n; i < N; i++) (out[(r * N + i) * cols] = sv), (out[(r * N + i) * cols + 1] = si);
  }
  return out;
}

/** One compare-exchange stage over rows × len items of `cols` words (v, idx, payload…). */
interface StageArgs {
  readonly x: BigUint64Array;
  readonly rows: number;
  readonly len: number;
  readonly cols: number;
  readonly st: Stage;
  readonly L: number;
  readonly bits: number;
}

/** Columns (v, idx, payload) that fit the 1-round selectCompare (value + at most one payload word). */
const oneRound = (cols: number) => cols <= 3;

async function compareExchange(ctx: PartyContext, a: StageArgs): Promise<BigUint64Array> {
  return oneRound(a.cols) ? compareSelect(ctx, a) : compareSwap(ctx, a);
}

/** 1 round: the DCF selects the larger key together with its v (and payload column). */
async function compareSelect(ctx: PartyContext, a: StageArgs): Promise<BigUint64Array> {
  const { x, rows, len, cols, st, L, bits } = a;
  const per = st.hi.length, P = rows * per;
  const key = rankingKeys(ctx.party, x, cols, L);
  const kh = new BigUint64Array(P), kl = new BigUint64Array(P);
  const col = (c: number, side: Uint32Array) => {
    const out = new BigUint64Array(P);
    for (let r = 0; r < rows; r++) for (let p = 0; p < per; p++) out[r * per + p] = x[(r * len + side[p]) * cols + c];
    return { shape: [P], data: out };
  };
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < per; p++) (kh[r * per + p] = key[r * len + st.hi[p]]), (kl[r * per + p] = key[r * len + st.lo[p]]);
  }
  const pays: [RingTensor, RingTensor][] = [[col(0, st.hi), col(0, st.lo)]];
  if (cols === 3) pays.push([col(2, st.hi), col(2, st.lo)]);
  const res = await selectCompare(ctx, { shape: [P], data: kh }, { shape: [P], data: kl }, pays, bits);
  const shift = BigInt(L), top = ctx.party === 0 ? (1n << shift) - 1n : 0n;
  const out = st.prune ? new BigUint64Array(rows * st.len * cols) : x.slice();
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < per; p++) {
      const q = r * per + p, h = r * len + st.hi[p], l = r * len + st.lo[p];
      const dst = st.prune ? r * st.len + p : h;
      const v = res.selected[0].data[q];
      const nv = [v, BigInt.asUintN(64, (v << shift) + top - res.max.data[q]), cols === 3 ? res.selected[1].data[q] : 0n];
      for (let c = 0; c < cols; c++) {
        out[dst * cols + c] = nv[c];
        if (!st.prune) out[l * cols + c] = BigInt.asUintN(64, x[h * cols + c] + x[l * cols + c] - nv[c]);
      }
    }
  }
  return out;
}

/** 2 rounds: LTZ of the key difference, then one Beaver product swaps every column. */
async function compareSwap(ctx: PartyContext, a: StageArgs): Promise<BigUint64Array> {
  const { x, rows, len, cols, st, L, bits } = a;
  const per = st.hi.length, P = rows * per;
  const key = rankingKeys(ctx.party, x, cols, L);
  const diff = new BigUint64Array(P), d = new BigUint64Array(P * cols);
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < per; p++) {
      const h = r * len + st.hi[p], l = r * len + st.lo[p], q = r * per + p;
      diff[q] = BigInt.asUintN(64, key[h] - key[l]);
      for (let c = 0; c < cols; c++) d[q * cols + c] = BigInt.asUintN(64, x[l * cols + c] - x[h * cols + c]);
    }
  }
  const c = await dcfLessThanZero(ctx, { shape: [P], data: diff }, bits);
  const t = (await beaverMatmul(ctx, { shape: [P, 1, 1], data: c.data }, { shape: [P, 1, cols], data: d })).data;
  const out = st.prune ? new BigUint64Array(rows * st.len * cols) : x.slice();
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < per; p++) {
      const q = r * per + p, h = r * len + st.hi[p], l = r * len + st.lo[p];
      const dst = st.prune ? r * st.len + p : h; // pruning pairs are enumerated in new-position order
      for (let cc = 0; cc < cols; cc++) {
        const tv = t[q * cols + cc];
        out[dst * cols + cc] = BigInt.asUintN(64, x[h * cols + cc] + tv);
        if (!st.prune) out[l * cols + cc] = BigInt.asUintN(64, x[l * cols + cc] - tv);
      }
    }
  }
  return out;
}

/** Exact cost of topKBitonic: rounds, bytesSent per party, dealer bytes to both parties. */
export function topKBitonicCost(rows: number, n: number, k: number, opts: TopKOptions = {}) {
  const bits = opts.bits ?? 64, w = opts.payload ? opts.payload.shape[opts.payload.shape.length - 1] : 0, cols = 2 + w;
  let rounds = 0, bytesSent = 0, offlineBytes = 0;
  for (const st of bitonicTopKNetwork(n, k)) {
    const P = rows * st.hi.length;
    const parts = oneRound(cols)
      ? [selectCompareCost(P, bits, cols - 1)]
      : [dcfLessThanZeroCost(P, bits), beaverMatmulCost([P, 1, 1], [P, 1, cols])];
    for (const c of parts) {
      rounds += c.rounds;
      bytesSent += c.bytesSent;
      offlineBytes += c.offlineBytes;
    }
  }
  if (opts.mask || opts.oneHot) {
    const oh = oneHotCost(rows * k, n);
    rounds += oh.rounds;
    bytesSent += oh.bytesSent;
    offlineBytes += oh.offlineBytes;
  }
  return { rounds, bytesSent, offlineBytes };
}

/**
 * compactRows — keep the top-k cached rows by a secret score and drop the rest, by ONE oblivious
 * shuffle of (key, K rows, V rows, extra columns) + quick-select on revealed comparison bits of the
 * shuffled distinct keys (eviction-baselines.md B4; protocols' topK with payload). The kept rows
 * leave the selection as shares and are installed with `SecureLayerCache.replace` (masked once).
 *
 * Rounds:    topK (2 shuffle + 2 per quick-select step; + the ordering pass with originalOrder)
 *            + 2 per layer cache replaced (fused into 2 for all caches: fuseRounds)
 * Online:    shuffle 8·R·n·(2 + w) B per party, w = payload width; comparisons; replace 16·lanes·k·d
 *            B per cache (K and V re-masked)
 * Offline:   topK's (shuffle correlation, DCF keys); replace: none
 * k = 0:     no topK (every candidate goes, public): only the tail rows are re-installed
 * Accuracy:  exact. Keys are score·2^B + position (B = ⌈log2 n⌉), distinct, so ties go to the newer
 *            position as in the plaintext twins (top-k-kept.ts `ranksAbove`)
 * Opens:     topK's (comparison bits of shuffled distinct keys), the replace's masked rows
 * Steps:     1. keys (local); payload rows: per selection unit, the K and V rows of every cache it
 *               governs (a layer: all lanes of each cache; a lane: that lane's rows) + extra columns
 *            2. topK(keys, k, payload) — originalOrder keeps the kept rows in position order
 *            3. per cache: kept rows + the public tail rows (e.g. a recent window) → replace
 * Granularity: 'layer' (one unit, rows shared by every lane: static eviction, TOVA) or 'lane' (one
 * unit per KV head with its own permutation: H2O, SnapKV, CAKE; MHA models have lanes = heads).
 */
import { concatFlat, type RingTensor } from '@mpcache/mpc-core';
import { fuseRounds, indexBits, topK, topKCost, type FormulaCost, type PartyContext } from '@mpcache/protocols';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import type { DeadSlotState } from './dead-slot-state';

const { asUintN } = BigInt;

export interface CompactOptions {
  granularity: 'layer' | 'lane';
  /** Keep the kept rows in ascending position order (MPCache: clusters need adjacency). */
  originalOrder?: boolean;
  /** Rows ≥ candidates (public positions) appended after the kept rows unchanged, in order. */
  tailFrom?: number;
  /** Extra per-candidate columns carried along (units, n, e): e.g. accumulated scores. */
  extra?: RingTensor;
}

export interface CompactResult {
  /** The extra columns of the kept rows (units, k, e), in output order. */
  readonly extra?: RingTensor;
  /** Quick-select comparisons per step (public; fixes the exact cost). */
  readonly steps: number[];
  readonly orderSteps?: number[];
}

/**
 * Keep, per unit, the k candidates (rows [0, n)) with the highest score; every cache in `caches`
 * follows the same selection. `scores` is (units, n) at any scale with |score| < 2^(61 − 2⌈log2 n⌉).
 */
export async function compactRows(
  ctx: PartyContext, caches: readonly SecureLayerCache[], scores: RingTensor, k: number, opts: CompactOptions,
): Promise<CompactResult> {
  const [units, n] = scores.shape, lanes = caches[0].lanes, d = caches[0].headDim, perLane = opts.granularity === 'lane';
  if (perLane && units !== lanes) throw new RangeError(`compactRows: ${units} score rows for ${lanes} lanes`);
  const e = opts.extra ? opts.extra.shape[2] : 0, rowW = (perLane ? 2 * d : 2 * lanes * d) * caches.length, W = rowW + e;
  return ctx.ledger.scope('compact rows', async () => {
    // 1.–2. keys and payload, then top-k with the rows as payload (k = 0: every candidate goes,
    //    nothing to rank or carry)
    const rank = () => {
      const B = BigInt(indexBits(n)), p0 = ctx.party === 0, keys = new BigUint64Array(units * n), pay = new BigUint64Array(units * n * W);
      for (let u = 0; u < units; u++) for (let j = 0; j < n; j++) keys[u * n + j] = asUintN(64, (scores.data[u * n + j] << B) + (p0 ? BigInt(j) : 0n));
      caches.forEach((cache, ci) => {
        for (let h = 0; h < lanes; h++) {
          const K = cache.keys.laneShare(h), V = cache.values.laneShare(h);
          for (let j = 0; j < n; j++) {
            const o = perLane ? (h * n + j) * W + ci * 2 * d : j * W + (ci * lanes + h) * 2 * d;
            pay.set(K.subarray(j * d, (j + 1) * d), o);
            pay.set(V.subarray(j * d, (j + 1) * d), o + d);
          }
        }
      });
      if (opts.extra) for (let r = 0; r < units * n; r++) pay.set(opts.extra.data.subarray(r * e, (r + 1) * e), r * W + rowW);
      return topK(ctx, { shape: [units, n], data: keys }, k, { payload: { shape: [units, n, W], data: pay }, originalOrder: opts.originalOrder });
    };
    const res = k === 0
      ? { payload: { shape: [units, 0, W], data: new BigUint64Array(0) }, stepComparisons: [], orderStepComparisons: [] }
      : await rank();
    const kept = (res.payload as RingTensor).data;
    // 3. kept rows (+ public tail) into each cache
    const tailFrom = opts.tailFrom ?? caches[0].length, tail = caches[0].length - tailFrom, rows = k + tail;
    const installs = caches.map((cache, ci) => {
      const K = new BigUint64Array(lanes * rows * d), V = new BigUint64Array(lanes * rows * d);
      for (let h = 0; h < lanes; h++) {
        for (let j = 0; j < k; j++) {
          const o = perLane ? (h * k + j) * W + ci * 2 * d : j * W + (ci * lanes + h) * 2 * d;
          K.set(kept.subarray(o, o + d), (h * rows + j) * d);
          V.set(kept.subarray(o + d, o + 2 * d), (h * rows + j) * d);
        }
        if (tail > 0) {
          K.set(cache.keys.laneShare(h).subarray(tailFrom * d), (h * rows + k) * d);
          V.set(cache.values.laneShare(h).subarray(tailFrom * d), (h * rows + k) * d);
        }
      }
      return (c: PartyContext) => cache.replace(c, { shape: [lanes, rows, d], data: K }, { shape: [lanes, rows, d], data: V });
    });
    await fuseRounds(ctx, installs);
    let extra: RingTensor | undefined;
    if (opts.extra) {
      const parts: BigUint64Array[] = [];
      for (let r = 0; r < units * k; r++) parts.push(kept.subarray(r * W + rowW, (r + 1) * W));
      extra = { shape: [units, k, e], data: concatFlat(parts) };
    }
    return { extra, steps: res.stepComparisons, orderSteps: res.orderStepComparisons };
  });
}

export interface CompactRowsShape {
  /** Selection units (lanes for 'lane' granularity, 1 for 'layer') and candidates per unit. */
  readonly units: number;
  readonly n: number;
  /** Kept candidates per unit. */
  readonly k: number;
  readonly lanes: number;
  readonly headDim: number;
  /** Caches following the selection. */
  readonly caches: number;
  /** Rows of each cache afterwards: k + the public tail. */
  readonly rows: number;
  readonly granularity: 'layer' | 'lane';
  readonly originalOrder?: boolean;
  /** Extra columns carried per candidate. */
  readonly extraWidth?: number;
}

/** The exact cost of one compactRows given the step sizes it returned (public; the header's formula). */
export function compactRowsCost(s: CompactRowsShape, res: { readonly steps: readonly number[]; readonly orderSteps?: readonly number[] }): FormulaCost {
  const { units, n, k, lanes, headDim: d } = s;
  const W = (s.granularity === 'lane' ? 2 * d : 2 * lanes * d) * s.caches + (s.extraWidth ?? 0);
  const t = k === 0 ? { rounds: 0, bytesSentPerParty: [0, 0], offlineBytes: 0 }
    : topKCost(units, n, k, res.steps, { payload: { shape: [units, n, W], data: new BigUint64Array(0) }, originalOrder: s.originalOrder }, res.orderSteps);
  return { rounds: t.rounds + 2, bytesSent: t.bytesSentPerParty[0] + s.caches * 16 * lanes * s.rows * d, offlineBytes: t.offlineBytes };
}

/** Benchmarks only (policy `warm`): replace a cache of zero rows by its first `rows` rows (zeros), re-masked. */
export async function keepZeroRows(ctx: PartyContext, cache: SecureLayerCache, rows: number): Promise<void> {
  if (rows >= cache.length) return;
  const shape = [cache.lanes, rows, cache.headDim], zeros = () => ({ shape, data: new BigUint64Array(shape[0] * shape[1] * shape[2]) });
  await cache.replace(ctx, zeros(), zeros());
}

/**
 * Benchmarks only: the warm start of a dead-slot layer (H2O, TOVA, D2O, CAKE, Attention-Gate): the
 * zero cache cut to its first `rows` rows as the prompt's compaction would leave it, every slot alive
 * with score 0 in `state`.
 */
export async function warmDeadSlots(ctx: PartyContext, cache: SecureLayerCache, rows: number, state: DeadSlotState): Promise<void> {
  await keepZeroRows(ctx, cache, rows);
  state.install(cache.length, new BigUint64Array(state.units * cache.length));
}

/**
 * compareThresholds — for a shared x and public thresholds C_0 < … < C_{t−1}, shares of
 * b_c = [x ≥ C_c] AND of b_c·x for every c, from ONE opening and ONE DCF key per element.
 *
 * Rounds:    1   (open x̂ = x + r, the full 64 bits)
 * Online:    8 B/elem sent per party, whatever the number of thresholds
 * Offline:   per element one DCF key (n = k − 1, m = 2 payload words): dcfKeyBytes(k − 1, 2) B to
 *            EACH party, plus [ρ], [ρ·r] to P0 (16 B); r from the parties' own streams
 * Accuracy:  exact, provided every x − C_c lies in [−2^{k−1}, 2^{k−1}) (k = the comparison width)
 * Opens:     x̂ = x + r, uniform (r uniform, used once)
 * Steps:     1. take r, [ρ] (ρ = bit_{k−1}(r)), [ρ·r] and a DCF key for α = r mod 2^{k−1},
 *               β = (1 − 2ρ, (1 − 2ρ)·r)
 *            2. open x̂ = x + r
 *            3. for each c (local): ẑ = x̂ − C_c = (x − C_c) + r;  a = bit_{k−1}(ẑ);
 *               y = Eval_DCF(ẑ mod 2^{k−1});  [w] = [ρ] + y0, [w·r] = [ρ·r] + y1   (w = ρ ⊕ carry)
 *               [L] = a + (1 − 2a)[w]          L = [x − C_c < 0]   (fss.md §4a)
 *               [L·r] = a[r] + (1 − 2a)[w·r]                       (fss.md §4c)
 *               [b] = 1 − [L],   [b·x] = x̂·[b] − [r] + [L·r]      since x = x̂ − r
 * Why one key serves every threshold: all thresholds use the same mask r, so the comparisons of
 * x − C_c are the same DCF (α = r mod 2^{k−1}) evaluated at the public points x̂ − C_c; evaluating a
 * key at several points derived from one opened value is fine (fss.md §0), and the shifts C_c are
 * public, so nothing beyond x̂ is opened.
 * Local work: t DCF evaluations per element (k − 1 levels, 2 AES blocks each), in batches of
 * ≈ EVAL_CHUNK_KEYS keys replicated per threshold.
 */
import { ShapeError, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation } from '../dealer/correlation';
import { bytesToP0, sumDealerBytes, totalDealerBytes } from '../dealer/dealer-bytes';
import { derivedWork, randomWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { openWords } from '../engine/open';
import { dcfEval, EVAL_CHUNK_KEYS } from '../fss/dcf-eval';
import { dcfKeysBytes, dcfKeysWork, dealDcfKeys, type DcfKeys } from '../fss/dcf-keygen';
import { defaultFssPrg } from '../fss/dpf-keygen';

// Local alias: BigInt.asUintN through the global costs ≈ 250 ns/elem under jest's vm (engine/words.ts).
const { asUintN } = BigInt;

export interface ThresholdParams {
  readonly count: number;
  /** Comparison width k (2 ≤ k ≤ 64). */
  readonly k: number;
}

export interface ThresholdMaterial {
  readonly r: BigUint64Array;
  readonly rho: BigUint64Array;
  readonly rhoR: BigUint64Array;
  readonly keys: DcfKeys;
}

function validateThresholdParams(p: unknown): ThresholdParams {
  const q = p as ThresholdParams;
  if (typeof q !== 'object' || q === null) throw new TypeError('thresholdCompare params: expected an object');
  validateCount(q.count);
  if (!Number.isInteger(q.k) || q.k < 2 || q.k > 64) throw new RangeError('thresholdCompare: k must be in [2, 64]');
  return { count: q.count, k: q.k };
}

/** [ρ], [ρ·r] to P0 and one (k − 1)-bit DCF key with 2 payload words per element to each party. */
const thresholdBytes = ({ count, k }: ThresholdParams) => sumDealerBytes(bytesToP0(16 * count), dcfKeysBytes({ n: k - 1, m: 2, count }));

/** Work: [r], the derived [ρ], [ρ·r], and the DCF keys' generation (dcfKeysWork). */
const thresholdWork = ({ count, k }: ThresholdParams) => randomWork(count) + 2 * derivedWork(count) + dcfKeysWork({ n: k - 1, m: 2, count });

export const thresholdCompareCorrelation = defineCorrelation(
  'thresholdCompare',
  validateThresholdParams,
  thresholdBytes,
  thresholdWork,
  (g, { count, k }: ThresholdParams): ThresholdMaterial => {
    const K = BigInt(k - 1), low = (1n << K) - 1n;
    const r = g.random(count);
    const rho = g.derived(count, () => r.value().map((v) => (v >> K) & 1n));
    const rhoR = g.derived(count, () => r.value().map((v) => asUintN(64, ((v >> K) & 1n) * v)));
    const keys = dealDcfKeys(g, defaultFssPrg(), { n: k - 1, m: 2, count }, () => {
      const rv = r.value(), alpha = new BigUint64Array(count), beta = new BigUint64Array(2 * count);
      for (let i = 0; i < count; i++) {
        const s = asUintN(64, 1n - 2n * ((rv[i] >> K) & 1n));
        alpha[i] = rv[i] & low;
        beta[2 * i] = s;
        beta[2 * i + 1] = asUintN(64, s * rv[i]);
      }
      return { alpha, beta };
    });
    return { r: r.share, rho: rho.share, rhoR: rhoR.share, keys };
  },
);

/** Receives this party's shares of b = [x_i ≥ C_c] and b·x_i. */
export type ThresholdVisitor = (c: number, i: number, b: bigint, bx: bigint) => void;

/**
 * Steps 1–3 for every element of x and every threshold; `visit` gets the shares (no arrays of
 * t × n words are kept, so many thresholds cost time, not memory).
 */
export async function compareThresholds(
  ctx: PartyContext,
  x: RingTensor,
  thresholds: readonly bigint[],
  k: number,
  visit: ThresholdVisitor,
): Promise<void> {
  if (thresholds.length === 0) throw new ShapeError('compareThresholds: no thresholds');
  const n = x.data.length;
  await ctx.ledger.scope('compareThresholds', async () => {
    // 1. take the material
    const mat = await ctx.dealer.take(thresholdCompareCorrelation, { count: n, k });
    // 2. open x̂ = x + r
    const masked = new BigUint64Array(n);
    for (let i = 0; i < n; i++) masked[i] = asUintN(64, x.data[i] + mat.r[i]);
    const xHat = await openWords(ctx, masked);
    // 3. evaluate the key of element i at x̂_i − C_c, in blocks of elements × all thresholds
    const t = thresholds.length, K = BigInt(k - 1), low = (1n << K) - 1n, p0 = ctx.party === 0 ? 1n : 0n;
    const block = Math.max(1, Math.floor(EVAL_CHUNK_KEYS / t));
    const C = BigUint64Array.from(thresholds, (c) => asUintN(64, c));
    for (let e0 = 0; e0 < n; e0 += block) {
      const e1 = Math.min(n, e0 + block), len = e1 - e0;
      const pts = new BigUint64Array(len * t);
      for (let c = 0; c < t; c++) for (let i = 0; i < len; i++) pts[c * len + i] = asUintN(64, xHat[e0 + i] - C[c]) & low;
      const y = dcfEval(defaultFssPrg(), ctx.party, mat.keys, pts, { from: e0, to: e1, times: t });
      for (let c = 0; c < t; c++) {
        for (let i = 0; i < len; i++) {
          const e = e0 + i, q = c * len + i;
          const a = (asUintN(64, xHat[e] - C[c]) >> K) & 1n, s = 1n - 2n * a;
          const w = mat.rho[e] + y[2 * q], wr = mat.rhoR[e] + y[2 * q + 1];
          const L = p0 * a + s * w, Lr = a * mat.r[e] + s * wr;
          const b = asUintN(64, p0 - L);
          visit(c, e, b, asUintN(64, xHat[e] * b - mat.r[e] + Lr));
        }
      }
    }
  });
}

/** Cost of compareThresholds on `count` elements at width k (any number of thresholds). */
export function compareThresholdsCost(count: number, k: number) {
  return { rounds: 1, bytesSent: 8 * count, offlineBytes: totalDealerBytes(thresholdBytes({ count, k })) };
}

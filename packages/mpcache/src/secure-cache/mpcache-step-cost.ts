/**
 * mpcacheStepCost — the exact cost of one leading layer's MPCache step on shares (cluster bounds of
 * newly completed clusters, scores, level-by-level top-k, one-hot, logit gather and scatter),
 * composed from the protocols' own cost formulas. Quick-select step sizes are public and
 * data-independent in distribution; pass the ones the run reported (LeaderStep.steps).
 * When the step defers its bounds (boundsDeferrable: every fresh cluster in the forced tail), they
 * are not in this cost: clusterBoundsCost is what attention runs beside the softmax, and their
 * representatives are appended by the NEXT step's product (`pendingBefore` there).
 *
 * Returned per party: rounds, bytesSent (both parties send the same here), and offlineBytes = the
 * dealer's bytes to both parties together.
 */
import {
  maskedMatmulCost, maxTreeCost, minMaxTreeCost, oneHotCost, reluCost, sumCosts, topKCost, truncRoundCost, type FormulaCost,
} from '@mpcache/protocols';
import { boundsCompareBits, boundsDeferrable } from './cluster-bounds';
import type { ClusterPlan } from './secure-cluster-selector';
import { clusterTopKBits, planLayout } from './secure-cluster-selector';
import { blockSelectionCost } from './selections';

export interface MpcacheStepShape {
  readonly lanes: number;
  /** Query heads per lane (decode: groups). */
  readonly rows: number;
  readonly headDim: number;
  readonly fracBits: number;
  readonly sizes: readonly number[];
  readonly alpha: number | 'exact';
  readonly plan: ClusterPlan;
  /** Complete clusters per level before the step (bounds already computed). */
  readonly doneBefore: readonly number[];
  /** Quick-select steps per level as reported. */
  readonly steps: readonly (readonly number[])[];
  /** Representatives a previous step computed but did not append (its deferred bounds); default 0. */
  readonly pendingBefore?: number;
}

/** The bounds shape: per level, the clusters completed since the last update. */
export interface ClusterBoundsShape {
  readonly lanes: number;
  readonly headDim: number;
  readonly fracBits: number;
  readonly sizes: readonly number[];
  readonly alpha: number | 'exact';
  readonly fresh: readonly number[];
}

/** SecureClusterBounds.update: finest level from the keys, coarser ones from children, α mix. */
export function clusterBoundsCost(b: ClusterBoundsShape): FormulaCost {
  const { sizes, fresh, fracBits: f } = b, L = sizes.length, ld = b.lanes * b.headDim, bits = boundsCompareBits(f);
  if (fresh[L - 1] <= 0) return sumCosts([]);
  const parts = [minMaxTreeCost(fresh[L - 1] * ld, sizes[L - 1], bits)];
  for (let i = L - 2; i >= 0 && fresh[i] > 0; i--) parts.push(maxTreeCost(2 * fresh[i] * ld, sizes[i] / sizes[i + 1], bits));
  if (b.alpha !== 'exact') parts.push(truncRoundCost(fresh.reduce((a, x) => a + x, 0) * ld, f));
  return sumCosts(parts);
}

export function mpcacheStepCost(s: MpcacheStepShape): FormulaCost {
  const { lanes, rows, headDim: d, fracBits: f, sizes, plan } = s, L = sizes.length, U = lanes * rows;
  const w = s.alpha === 'exact' ? 2 * d : d;
  const parts: FormulaCost[] = [];
  // bounds of clusters completed since the last step, unless they wait for the softmax
  const fresh = sizes.map((size, i) => Math.floor(plan.nTok / size) - s.doneBefore[i]);
  const deferred = boundsDeferrable(sizes, s.doneBefore, plan.nTok, plan.tailStart), computed = deferred ? 0 : fresh.reduce((a, b) => a + b, 0);
  if (!deferred) parts.push(clusterBoundsCost({ lanes, headDim: d, fracBits: f, sizes, alpha: s.alpha, fresh }));
  // scores over every representative (pending and new ones appended in the same round)
  const R = s.doneBefore.reduce((a, b) => a + b, 0) + computed, appended = (s.pendingBefore ?? 0) + computed;
  if (s.alpha === 'exact') parts.push(reluCost(U * d, boundsCompareBits(f)));
  parts.push(maskedMatmulCost([lanes, rows, w], [lanes, rows, R], lanes * appended * w), truncRoundCost(U * R, f));
  // level-by-level top-k (payload: index + descendants' scores)
  let n = plan.c0;
  for (let i = 0; i < L; i++) {
    const k = plan.counts[i];
    let W = 1;
    for (let j = i + 1; j < L; j++) W += sizes[i] / sizes[j];
    if (k < n) {
      const t = topKCost(U, n, k, s.steps[i], { bits: clusterTopKBits(f, plan, sizes, i), distinct: true, payload: { shape: [U, n, W], data: new BigUint64Array(0) } });
      parts.push({ rounds: t.rounds, bytesSent: t.bytesSentPerParty[0], offlineBytes: t.offlineBytes });
      n = k;
    }
    if (i < L - 1) n *= sizes[i] / sizes[i + 1];
  }
  // one-hot rows, gather and scatter
  const layout = planLayout(plan, sizes);
  parts.push(oneHotCost(U * layout.k, layout.blocks));
  const g = blockSelectionCost(U, layout, true);
  parts.push(g.gather, g.scatter);
  return sumCosts(parts);
}

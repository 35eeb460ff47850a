/**
 * mpcacheStepCost — the exact cost of one leading layer's MPCache step on shares (cluster bounds of
 * newly completed clusters, scores, level-by-level top-k, one-hot, logit gather and scatter),
 * composed from the protocols' own cost formulas. Quick-select step sizes are public and
 * data-independent in distribution; pass the ones the run reported (LeaderStep.steps).
 *
 * Returned per party: rounds, bytesSent (both parties send the same here), and offlineBytes = the
 * dealer's bytes to both parties together.
 */
import {
  maskedMatmulCost, maxTreeCost, minMaxTreeCost, oneHotCost, reluCost, sumCosts, topKCost, truncRoundCost, type FormulaCost,
} from '@mpcache/protocols';
import { boundsCompareBits } from './cluster-bounds';
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
}

export function mpcacheStepCost(s: MpcacheStepShape): FormulaCost {
  const { lanes, rows, headDim: d, fracBits: f, sizes, plan } = s, L = sizes.length, U = lanes * rows, ld = lanes * d;
  const bits = boundsCompareBits(f), w = s.alpha === 'exact' ? 2 * d : d;
  const parts: FormulaCost[] = [];
  // bounds of clusters completed since the last step: finest from keys, coarser from children
  const fresh = sizes.map((size, i) => Math.floor(plan.nTok / size) - s.doneBefore[i]);
  if (fresh[L - 1] > 0) {
    parts.push(minMaxTreeCost(fresh[L - 1] * ld, sizes[L - 1], bits));
    for (let i = L - 2; i >= 0 && fresh[i] > 0; i--) parts.push(maxTreeCost(2 * fresh[i] * ld, sizes[i] / sizes[i + 1], bits));
    if (s.alpha !== 'exact') parts.push(truncRoundCost(fresh.reduce((a, b) => a + b, 0) * ld, f));
  }
  // scores over every representative (new ones appended in the same round)
  const R = sizes.reduce((a, size) => a + Math.floor(plan.nTok / size), 0), appended = fresh.reduce((a, b) => a + b, 0);
  if (s.alpha === 'exact') parts.push(reluCost(U * d, bits));
  parts.push(maskedMatmulCost([lanes, rows, w], [lanes, rows, R], lanes * appended * w), truncRoundCost(U * R, f));
  // level-by-level top-k (payload: index + descendants' scores)
  let n = plan.c0;
  for (let i = 0; i < L; i++) {
    const k = plan.counts[i];
    let W = 1;
    for (let j = i + 1; j < L; j++) W += sizes[i] / sizes[j];
    if (k < n) {
      const t = topKCost(U, n, k, s.steps[i], { bits: clusterTopKBits(f, plan, sizes, i, n), payload: { shape: [U, n, W], data: new BigUint64Array(0) } });
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

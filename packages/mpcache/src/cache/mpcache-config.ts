/**
 * MpcacheConfig — every public hyperparameter of MPCache in one typed object, with the defaults of
 * mpcache-algorithm.md §3, plus the cross-layer sharing schedule.
 *
 * Budget semantics (policy-config.ts): with a token budget B the dynamic stage attends at most B
 * positions per head: the forced clusters, plus ⌊(B − forced tokens)/s_last⌋ finest clusters
 * (`selection: 'budget'`); `selection: 'ratios'` uses the paper's level ratios alone
 * (k_i = ⌊ratio_i · C_i⌋) whatever B is.
 *
 * Static pool vs budget (flagged): the static stage keeps n_keep = max(⌈ρ_s·n⌉, ⌈m·B⌉) tokens with
 * m = `staticKeepBudgetMultiple` (default 4), capped at n. In the paper the static pool (ρ_s = 30 %
 * of n) is about 4× the attended budget (6–8 % of n); the floor keeps that ratio when budgets are a
 * large share of a short prompt (stories15M: B = 32..128 of n ≈ 150), where ⌈0.3·n⌉ alone would
 * leave the dynamic stage almost nothing to choose from. At long contexts (n = 4K, B = 6 %) ρ_s
 * governs and the floor is inactive. m = 0 gives the paper's ⌈ρ_s·n⌉ alone.
 */

export interface MpcacheConfig {
  /** Observation window w = ⌈ratio · n⌉ for the static scores. */
  observationWindowRatio: number;
  /** Window ratio above `longPromptTokens` (paper: 0.1 above 24K tokens). */
  longWindowRatio: number;
  longPromptTokens: number;
  /** ρ_s: static keep ratio, n_keep = ⌈ρ_s · n⌉. */
  staticKeepRatio: number;
  /** m in n_keep = max(⌈ρ_s·n⌉, ⌈m·budget⌉); 0 = the paper's ⌈ρ_s·n⌉ alone. */
  staticKeepBudgetMultiple: number;
  /** Always-kept prompt tokens at the start (attention sinks): token 0. */
  forcedSinks: number;
  /** Always-kept last prompt tokens (paper: 32). */
  forcedRecent: number;
  /** Cluster sizes, coarse to fine; each a multiple of the next (paper: [32, 16]). */
  clusterSizes: readonly number[];
  /** Level ratios k_i = ⌊ratio_i · C_i⌋ (paper: [0.5, 0.2]). */
  levelRatios: readonly number[];
  /** Representative mix r = α·max + (1 − α)·min (0.6), or 'exact' = Quest's bound (ablation). */
  alpha: number | 'exact';
  /** Forced coarse clusters at the start (sinks) and at the tail (the newest tokens, never scored). */
  forcedFirstClusters: number;
  forcedTailClusters: number;
  /** Below this many coarse clusters the dynamic stage attends everything (paper: 4). */
  minCoarseClusters: number;
  /** How the finest level's k is chosen: from the token budget, or from the level ratios. */
  selection: 'budget' | 'ratios';
  /** Cross-layer sharing: 'default' (independent {0, 1, L−2, L−1}, pairs (2m, 2m+1) otherwise),
   *  'none' (every layer selects), or leaderOf[l] per layer (leaderOf[l] ≤ l, a leader leads itself). */
  layerSharing: 'default' | 'none' | readonly number[];
}

export const MPCACHE_DEFAULTS: MpcacheConfig = Object.freeze({
  observationWindowRatio: 0.2,
  longWindowRatio: 0.1,
  longPromptTokens: 24 * 1024,
  staticKeepRatio: 0.3,
  staticKeepBudgetMultiple: 4,
  forcedSinks: 1,
  forcedRecent: 32,
  clusterSizes: Object.freeze([32, 16]),
  levelRatios: Object.freeze([0.5, 0.2]),
  alpha: 0.6,
  forcedFirstClusters: 1,
  forcedTailClusters: 1,
  minCoarseClusters: 4,
  selection: 'budget',
  layerSharing: 'default',
}) as MpcacheConfig;

/** Defaults merged with `overrides`, validated; throws RangeError naming the field. */
export function mpcacheConfig(overrides: Partial<MpcacheConfig> = {}): MpcacheConfig {
  const c: MpcacheConfig = { ...MPCACHE_DEFAULTS, ...overrides };
  const ratio = (k: keyof MpcacheConfig, v: number) => {
    if (!(v > 0 && v <= 1)) throw new RangeError(`"mpcache.${String(k)}" expected in (0, 1], got ${v}`);
  };
  ratio('observationWindowRatio', c.observationWindowRatio);
  ratio('longWindowRatio', c.longWindowRatio);
  ratio('staticKeepRatio', c.staticKeepRatio);
  if (!(c.staticKeepBudgetMultiple >= 0)) throw new RangeError(`"mpcache.staticKeepBudgetMultiple" expected ≥ 0, got ${c.staticKeepBudgetMultiple}`);
  for (const k of ['forcedSinks', 'forcedRecent', 'forcedFirstClusters', 'forcedTailClusters', 'minCoarseClusters', 'longPromptTokens'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new RangeError(`"mpcache.${k}" expected a non-negative integer, got ${c[k]}`);
  }
  const s = c.clusterSizes;
  if (s.length < 1 || s.some((v) => !Number.isInteger(v) || v < 1)) throw new RangeError(`"mpcache.clusterSizes" expected positive integers, got [${s.join(', ')}]`);
  for (let i = 1; i < s.length; i++) {
    if (s[i - 1] % s[i] !== 0 || s[i] >= s[i - 1]) throw new RangeError(`"mpcache.clusterSizes" each size must be a larger multiple of the next, got [${s.join(', ')}]`);
  }
  if (c.levelRatios.length !== s.length) throw new RangeError(`"mpcache.levelRatios" expected ${s.length} ratios (one per cluster level), got ${c.levelRatios.length}`);
  c.levelRatios.forEach((r) => ratio('levelRatios', r));
  if (c.alpha !== 'exact' && !(c.alpha >= 0 && c.alpha <= 1)) throw new RangeError(`"mpcache.alpha" expected in [0, 1] or 'exact', got ${c.alpha}`);
  return c;
}

/** Observation window w = ⌈ratio · n⌉ (the long-prompt ratio above longPromptTokens), at least 1. */
export function observationWindow(n: number, c: MpcacheConfig): number {
  const r = n > c.longPromptTokens ? c.longWindowRatio : c.observationWindowRatio;
  return Math.min(n, Math.max(1, Math.ceil(r * n)));
}

/** Static keep count n_keep = min(n, max(⌈ρ_s·n⌉, ⌈m·budget⌉)). */
export function staticKeepCount(n: number, budget: number, c: MpcacheConfig): number {
  const k = Math.ceil(c.staticKeepRatio * n - 1e-9);
  return Math.min(n, Math.max(k, Math.ceil(c.staticKeepBudgetMultiple * budget - 1e-9)));
}

/**
 * leaderOf[l]: the layer whose static kept set and per-head selection layer l uses (itself if it
 * selects). Default: layers 0, 1, L−2, L−1 independent; otherwise layer 2m leads 2m + 1.
 */
export function layerLeaders(nLayers: number, sharing: MpcacheConfig['layerSharing']): Int32Array {
  const out = Int32Array.from({ length: nLayers }, (_, l) => l);
  if (sharing === 'none') return out;
  if (sharing === 'default') {
    for (let l = 2; l < nLayers - 2; l++) if (l % 2 === 1 && l - 1 >= 2) out[l] = l - 1;
    return out;
  }
  if (sharing.length !== nLayers) throw new RangeError(`"mpcache.layerSharing" expected ${nLayers} entries, got ${sharing.length}`);
  sharing.forEach((lead, l) => {
    if (!Number.isInteger(lead) || lead < 0 || lead > l || sharing[lead] !== lead) {
      throw new RangeError(`"mpcache.layerSharing"[${l}] expected a leading layer ≤ ${l} that leads itself, got ${lead}`);
    }
    out[l] = lead;
  });
  return out;
}

/**
 * CorrelationPlans — the request sequences of recently run blocks, by a public key that names the
 * block and its shapes (e.g. "layer n=1 kv=1024"), so CorrelationSource can ask the dealer for a
 * block's material before the block needs it (correlation-source.ts `planned`).
 *
 * Why recording and not computing: a block's request sequence follows from public shapes only, but
 * writing it down per protocol would duplicate every protocol's control flow; the previous run of
 * the same block (the previous layer of the same decoding step, or the previous step's head) gives
 * it for free. A wrong guess (data-dependent control flow, e.g. quick-select's revealed pivots)
 * costs only the unused material: the source drops it and goes on on demand.
 *
 * Blocks that differ only in which masked operands they use (the layers of a transformer: same
 * shapes, each its own weights and K/V cache) share one plan: the block names its operands' keys in
 * a fixed order, and a replay renames the recorded block's keys to the replaying block's in the
 * requests' params (`replay`).
 *
 * Memory: at most `maxPlans` sequences (oldest dropped first), each an array of (spec, params).
 */
import type { CorrelationRequest } from './correlation-source';

export const DEFAULT_MAX_PLANS = 64;

interface Plan {
  readonly requests: readonly CorrelationRequest[];
  readonly operandKeys: readonly string[];
}

export class CorrelationPlans {
  private readonly plans = new Map<string, Plan>();

  constructor(readonly maxPlans = DEFAULT_MAX_PLANS) {}

  /** The plan of `key` for a block whose operands are `operandKeys` (same order as when recorded). */
  replay(key: string, operandKeys: readonly string[]): readonly CorrelationRequest[] | undefined {
    const plan = this.plans.get(key);
    if (!plan) return undefined;
    const renames = new Map<string, string>();
    if (plan.operandKeys.length === operandKeys.length) {
      plan.operandKeys.forEach((k, i) => k !== operandKeys[i] && renames.set(k, operandKeys[i]));
    }
    if (renames.size === 0) return plan.requests;
    return plan.requests.map((r) => ({ spec: r.spec, params: renameStrings(r.params, renames) }));
  }

  set(key: string, requests: readonly CorrelationRequest[], operandKeys: readonly string[]): void {
    this.plans.delete(key); // re-insert: most recent last
    this.plans.set(key, { requests, operandKeys });
    while (this.plans.size > this.maxPlans) this.plans.delete(this.plans.keys().next().value as string);
  }

  get size(): number {
    return this.plans.size;
  }
}

/** A copy of params (plain JSON data) with every string found in `renames` replaced. */
function renameStrings(v: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (typeof v === 'string') return renames.get(v) ?? v;
  if (Array.isArray(v)) return v.map((x) => renameStrings(x, renames));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = renameStrings(x, renames);
    return out;
  }
  return v;
}

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
 * Operands created INSIDE the block are named after the take count at their creation
 * (`sessionKey(taken)`, masked-operand.ts), so a replay that starts at another count renames every
 * session key recorded inside the block's range by the same offset.
 *
 * Memory: at most `maxPlans` sequences (oldest dropped first), each an array of (spec, params).
 */
import type { CorrelationRequest } from './correlation-source';

export const DEFAULT_MAX_PLANS = 64;

/** The session-unique key of an object created after `taken` takes (CorrelationSource.taken; masked operands). */
export const sessionKey = (taken: number): string => `mo${taken}`;
const SESSION_KEY = /^mo(\d+)$/;

interface Plan {
  readonly requests: readonly CorrelationRequest[];
  readonly operandKeys: readonly string[];
  /** CorrelationSource.taken when the block began (session keys made inside are named from it). */
  readonly start: number;
}

export class CorrelationPlans {
  private readonly plans = new Map<string, Plan>();

  constructor(readonly maxPlans = DEFAULT_MAX_PLANS) {}

  /**
   * The plan of `key` for a block that starts at take count `start` and whose operands are
   * `operandKeys` (same order as when recorded).
   */
  replay(key: string, start: number, operandKeys: readonly string[]): readonly CorrelationRequest[] | undefined {
    const plan = this.plans.get(key);
    if (!plan) return undefined;
    const renames = new Map<string, string>();
    if (plan.operandKeys.length === operandKeys.length) {
      plan.operandKeys.forEach((k, i) => k !== operandKeys[i] && k !== '' && operandKeys[i] !== '' && renames.set(k, operandKeys[i]));
    }
    const shift = start - plan.start, end = plan.start + plan.requests.length;
    const rename = (v: string): string => {
      const r = renames.get(v);
      if (r !== undefined) return r;
      const m = shift !== 0 ? SESSION_KEY.exec(v) : null;
      const i = m ? Number(m[1]) : -1;
      return i >= plan.start && i <= end ? sessionKey(i + shift) : v;
    };
    if (renames.size === 0 && shift === 0) return plan.requests;
    return plan.requests.map((r) => ({ spec: r.spec, params: renameStrings(r.params, rename) }));
  }

  set(key: string, requests: readonly CorrelationRequest[], operandKeys: readonly string[], start: number): void {
    this.plans.delete(key); // re-insert: most recent last
    this.plans.set(key, { requests, operandKeys, start });
    while (this.plans.size > this.maxPlans) this.plans.delete(this.plans.keys().next().value as string);
  }

  get size(): number {
    return this.plans.size;
  }
}

/** A copy of params (plain JSON data) with every string passed through `rename`. */
function renameStrings(v: unknown, rename: (s: string) => string): unknown {
  if (typeof v === 'string') return rename(v);
  if (Array.isArray(v)) return v.map((x) => renameStrings(x, rename));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = renameStrings(x, rename);
    return out;
  }
  return v;
}

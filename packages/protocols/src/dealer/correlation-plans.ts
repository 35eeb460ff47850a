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
 * Variants of one block (e.g. a layer at cache length 1230, then 1231: "layer n=1@kv=1230"): a key
 * `family@variant` never seen before is predicted from the family's last recorded variants (at
 * least two; requests aligned by spec name, longest common subsequence): each number continues
 * linearly in the variant's number x (v₃ + (v₃ − v₂)·(x − x₃)/(x₃ − x₂); 2·v₃ − v₂ for the next
 * step, so a size that grows by one row per step is exact, also across skipped variants), or, when
 * it alternates (v₁ = v₃ ≠ v₂ at consecutive x), takes v₂ at an odd distance and v₃ at an even one
 * (a pairwise tree over a row whose length changes parity). A wrong prediction (a size that jumps,
 * a data-dependent count) only misses. Predictions use recorded public params only.
 *
 * Extended blocks: a family whose name carries ' +' parts (e.g. "layer mpcache lead +c0.1", a layer
 * that also computes new cluster bounds) is its base family (the name before the first ' +') plus
 * some work. Until it can be predicted itself (two recorded variants; such steps may come once in 16
 * or 32), a variant replays its base family's plan for the same variant, recorded or predicted: the
 * base's requests hit, the extra work's are served on demand (misses that do not drop the plan).
 *
 * Memory: at most `maxPlans` sequences (oldest dropped first), each an array of (spec, params), and
 * two per family.
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
  /** Per family (the key before '@'): its last three recorded variants, older first. */
  private readonly families = new Map<string, { readonly key: string; readonly plan: Plan }[]>();

  constructor(readonly maxPlans = DEFAULT_MAX_PLANS) {}

  /**
   * The plan of `key` for a block that starts at take count `start` and whose operands are
   * `operandKeys` (same order as when recorded).
   */
  replay(key: string, start: number, operandKeys: readonly string[]): readonly CorrelationRequest[] | undefined {
    const base = baseKey(key);
    const plan = this.plans.get(key) ?? this.predicted(key) ?? (base === undefined ? undefined : this.plans.get(base) ?? this.predicted(base));
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
    const plan = { requests, operandKeys, start };
    this.plans.delete(key); // re-insert: most recent last
    this.plans.set(key, plan);
    while (this.plans.size > this.maxPlans) this.plans.delete(this.plans.keys().next().value as string);
    const at = key.indexOf('@');
    if (at < 0) return;
    const family = key.slice(0, at), seen = (this.families.get(family) ?? []).filter((v) => v.key !== key);
    this.families.delete(family);
    this.families.set(family, [...seen, { key, plan }].slice(-3));
    while (this.families.size > this.maxPlans) this.families.delete(this.families.keys().next().value as string);
  }

  /** A variant never recorded, predicted from its family's last two or three variants. */
  private predicted(key: string): Plan | undefined {
    const at = key.indexOf('@'), seen = at < 0 ? undefined : this.families.get(key.slice(0, at));
    if (!seen || seen.length < 2) return undefined;
    const last3 = seen.length === 3 ? seen : [undefined, ...seen];
    const [v1, v2, v3] = last3.map((v) => v?.plan.requests);
    const m2 = alignBySpec(v2!, v3!), m1 = v1 ? alignBySpec(v1, v3!) : undefined;
    const step = variantStep(key, last3.map((v) => v?.key));
    const requests = v3!.map((r, i) => {
      if (m2[i] < 0) return r;
      const j1 = m1 ? m1[i] : -1;
      return { spec: r.spec, params: continueParams(j1 >= 0 ? v1![j1].params : undefined, v2![m2[i]].params, r.params, step) };
    });
    return { ...seen[seen.length - 1].plan, requests };
  }
}

/** The same variant of the family that `key`'s family extends (header, Extended blocks), or undefined. */
function baseKey(key: string): string | undefined {
  const at = key.indexOf('@'), plus = key.indexOf(' +');
  return at < 0 || plus < 0 || plus > at ? undefined : key.slice(0, plus) + key.slice(at);
}

/** For each request of b, the index of its partner in a (−1: none): a longest common subsequence of spec names. */
function alignBySpec(a: readonly CorrelationRequest[], b: readonly CorrelationRequest[]): Int32Array {
  const n = a.length, m = b.length, w = m + 1, L = new Int32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = a[i].spec.name === b[j].spec.name ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  const match = new Int32Array(m).fill(-1);
  for (let i = 0, j = 0; i < n && j < m;) {
    if (a[i].spec.name === b[j].spec.name) match[j++] = i++;
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) i++;
    else j++;
  }
  return match;
}

/** Where the new variant lies from the last recorded one: t steps of (x₃ − x₂); whether an alternation flips. */
interface VariantStep {
  readonly t: number;
  readonly flips: boolean;
}

/** The single integer of a key's variant (after '@'), or undefined. */
function variantNumber(key: string | undefined): number | undefined {
  const m = key === undefined ? null : /^[^0-9]*(\d+)[^0-9]*$/.exec(key.slice(key.indexOf('@') + 1));
  return m ? Number(m[1]) : undefined;
}

/** The step to `key` from the recorded keys [k₁?, k₂, k₃]; one step on when the variants carry no single number. */
function variantStep(key: string, recorded: readonly (string | undefined)[]): VariantStep {
  const [x1, x2, x3] = recorded.map(variantNumber), x = variantNumber(key);
  if (x === undefined || x2 === undefined || x3 === undefined || x3 === x2) return { t: 1, flips: true };
  const consecutive = x1 !== undefined && x3 - x2 === 1 && x2 - x1 === 1;
  return { t: (x - x3) / (x3 - x2), flips: consecutive ? (x - x3) % 2 !== 0 : true };
}

/**
 * The params after c (the last of v1?, v2 = b, c): every number that is a non-negative integer in
 * b and c continues — if it alternates (a = c ≠ b), b at an odd step and c at an even one, else
 * c + (c − b)·t (kept at c when negative or not an integer); anything else, and any structure that
 * differs, as in c.
 */
function continueParams(a: unknown, b: unknown, c: unknown, step: VariantStep): unknown {
  if (typeof c === 'number') {
    if (typeof b !== 'number' || !Number.isSafeInteger(b) || !Number.isSafeInteger(c) || b < 0 || c < 0) return c;
    if (a === c && b !== c) return step.flips ? b : c;
    const next = c + (c - b) * step.t;
    return next >= 0 && Number.isSafeInteger(next) ? next : c;
  }
  const field = (x: unknown, k: string | number): unknown => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined);
  if (Array.isArray(c)) {
    if (!Array.isArray(b) || b.length !== c.length) return c;
    return c.map((x, i) => continueParams(Array.isArray(a) && a.length === c.length ? a[i] : undefined, b[i], x, step));
  }
  if (c !== null && typeof c === 'object') {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) return c;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(c)) out[k] = k in b ? continueParams(field(a, k), field(b, k), x, step) : x;
    return out;
  }
  return c;
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

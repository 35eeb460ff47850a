/**
 * Shared configuration of the KV-cache policies: names, what a policy knows about the model, the
 * budget convention, and the fixed-point rounding the policies' score paths emulate.
 *
 * Budget convention (every policy, so comparisons are at equal cost): `budget` B is the maximum
 * number of cached positions one head's query attends at a decoding step, the query's own
 * position included. Eviction policies therefore keep at most B − 1 older rows between steps.
 * Layer-adaptive methods (CAKE, D2O) keep B on average over layers. The prefill is dense for every
 * policy but Attention-Gate (which is trained under its own mask); prefill-time selection (SnapKV,
 * CAKE, MPCache's static eviction, H2O/TOVA's first eviction) is applied at the first decoding step.
 *
 * Fixed-point emulation: with `fracBits = f` the decoder hands the policies probabilities on the
 * 2^−f grid, and every policy rounds its own derived scores (dot products, mixes, means) to the grid
 * with `fxRound` at the points where the secure version truncates, documented per policy. Sums of
 * grid values need no rounding (they are exact in float64 at these magnitudes and in the ring).
 */

export type PolicyName =
  | 'full' | 'streamingllm' | 'h2o' | 'tova' | 'snapkv' | 'quest' | 'd2o' | 'cake'
  | 'attention-gate' | 'mpcache' | 'token-topk';

export const POLICY_NAMES: readonly PolicyName[] = Object.freeze([
  'full', 'streamingllm', 'h2o', 'tova', 'snapkv', 'quest', 'd2o', 'cake', 'attention-gate', 'mpcache', 'token-topk',
]);

/** The model dimensions a policy needs (a ModelConfig satisfies it). */
export interface PolicyModel {
  readonly nLayers: number;
  readonly nHeads: number;
  /** KV heads (grouped-query attention: fewer than nHeads, dividing it); default nHeads. */
  readonly nKvHeads?: number;
  readonly seqLen: number;
}

/**
 * The per-KV-head policies (H2O, D2O, CAKE, SnapKV) keep one kept set per (layer, KV head): on a
 * grouped-query model that is what evicting a row frees (the group's query heads share it), and what
 * their secure twins keep. The group's query heads vote together: their scores are summed.
 */
export function kvHeadCount(model: PolicyModel): number {
  return model.nKvHeads ?? model.nHeads;
}

/** Index of the (layer, KV head) unit of query head `head` (0 ≤ unit < nLayers · kvHeadCount). */
export function kvUnitOf(model: PolicyModel, layer: number, head: number): number {
  const kv = kvHeadCount(model);
  return layer * kv + Math.floor(head / (model.nHeads / kv));
}

/** Common constructor input of every budgeted policy. */
export interface PolicyContext {
  readonly model: PolicyModel;
  /** Attended positions per head per decoding step, the query's own included (≥ 2). */
  readonly budget: number;
  /** Fixed-point emulation grid 2^−fracBits, or null for float64. */
  readonly fracBits: number | null;
}

/** Validate a policy context at the factory boundary; throws RangeError naming the field. */
export function validatePolicyContext(ctx: PolicyContext): void {
  const { nLayers, nHeads, seqLen } = ctx.model;
  for (const [k, v] of [['nLayers', nLayers], ['nHeads', nHeads], ['seqLen', seqLen]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`"model.${k}" expected a positive integer, got ${v}`);
  }
  const kv = kvHeadCount(ctx.model);
  if (!Number.isInteger(kv) || kv < 1 || nHeads % kv !== 0) throw new RangeError(`"model.nKvHeads" expected a positive divisor of nHeads = ${nHeads}, got ${kv}`);
  if (!Number.isInteger(ctx.budget) || ctx.budget < 2) throw new RangeError(`"budget" expected an integer ≥ 2, got ${ctx.budget}`);
  const f = ctx.fracBits;
  if (f !== null && (!Number.isInteger(f) || f < 1 || f > 24)) throw new RangeError(`"fracBits" expected null or an integer in [1, 24], got ${f}`);
}

/** Round to the grid 2^−fracBits (nearest, ties up, as the decoder's roundToGrid); identity for null. */
export function fxRound(x: number, fracBits: number | null): number {
  if (fracBits === null) return x;
  const s = 2 ** fracBits;
  return Math.round(x * s) / s;
}

/**
 * The prompt bracket every policy tracks: positions < promptLength are prefill while it is open. A
 * policy that takes a chat's later turn in one pass (beginTurn/endTurn) tracks that bracket here too.
 */
export class PromptPhase {
  /** Prompt length of the current sequence; 0 when it started without a prefill bracket. */
  promptLength = 0;
  /** True between beginPrefill and endPrefill. */
  inPrefill = false;
  /** True between beginTurn and endTurn (a later turn's rows, one causal pass). */
  inTurn = false;

  /** Prefill or a turn: the queries attend every cached position (no per-step selection). */
  get dense(): boolean {
    return this.inPrefill || this.inTurn;
  }

  begin(promptLength: number): void {
    this.promptLength = promptLength;
    this.inPrefill = true;
  }

  end(): void {
    this.inPrefill = false;
  }

  beginTurn(): void {
    this.inTurn = true;
  }

  endTurn(): void {
    this.inTurn = false;
  }

  reset(): void {
    this.promptLength = 0;
    this.inPrefill = false;
    this.inTurn = false;
  }
}

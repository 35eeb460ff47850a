/**
 * runEval — the plaintext quality harness of the KV-cache policies on stories15M (the `mpcache eval`
 * CLI calls it and writes its result as `eval --json`, ARCHITECTURE.md).
 *
 * Per prompt (default: data/eval-prompts.json, 50 prompts of 150 tokens):
 *   1. one dense prefill, observed by every policy instance (policy × budget) at once (FanoutPolicy);
 *      policies that mask the prefill (Attention-Gate) get a prefill of their own;
 *   2. the full cache continues greedily: reference tokens y_1..y_{T+1}, T = maxNewTokens, and the
 *      reference next-token distributions;
 *   3. each policy, on a fork of the prefilled decoder, is teacher-forced on y: feeding y_t at
 *      position n + t − 1 gives its distribution for y_{t+1}, t = 1..T (every evaluated step is a
 *      decoding step under the policy; y_1 comes from the dense prefill and is not counted).
 * Row metrics, pooled over all steps of all prompts:
 *   agreement  = share of steps whose greedy token equals the full cache's (y_{t+1});
 *   meanKL     = mean KL(p_full ‖ p_policy) of the next-token distributions (nats);
 *   perplexity = exp(mean −log p_policy(y_{t+1})) of the full cache's greedy continuation (the
 *                'full' row is its floor);
 *   meanAttended / maxAttended = attended positions per head per decoding step (the budget check).
 * The 'full' row is reported once, with budget = the model's context (seqLen).
 * A policy that refuses some of the budgets (e.g. Quest with pages larger than the budget) is run at
 * the others, and each refused (policy, budget) is listed in `skipped` with the policy's reason; one
 * that refuses every budget, or an unknown name, fails the run before anything is computed.
 */
import { FullCache } from '../cache/kv-cache-policy';
import { assertPolicyName, makePolicy, SHORT_CONTEXT_OPTIONS, type PolicyConfig } from '../cache/make-policy';
import { randomAttentionGateWeights } from '../cache/attention-gate-weights';
import { argmax } from '../model/blocks';
import { loadStories15M, type LoadedModel } from '../model/load-stories15m';
import { ReferenceDecoder } from '../model/reference-decoder';
import { FanoutPolicy, masksPrefill, MeteredPolicy } from './policy-wrappers';
import { logSoftmax, NextTokenMetrics } from './metrics';
import { loadEvalPrompts, type EvalPrompt } from './eval-prompts';

export interface EvalRow {
  policy: string;
  budget: number;
  agreement: number;
  meanKL: number;
  perplexity: number;
  /** Evaluated decoding steps (prompts × maxNewTokens). */
  steps: number;
  meanAttended: number;
  maxAttended: number;
}

/** A labelled policy variant: `name` built with extra options (e.g. an ablation). */
export interface EvalPolicySpec {
  label: string;
  name: string;
  options: Omit<PolicyConfig, 'model' | 'fracBits'>;
}

export interface EvalOptions {
  /** Policy names (make-policy.ts) or labelled variants; 'full' adds the reference row. */
  policies: readonly (string | EvalPolicySpec)[];
  budgets: readonly number[];
  /** Prompts (token ids, BOS first) or EvalPrompt records; default: data/eval-prompts.json. */
  prompts?: readonly (EvalPrompt | readonly number[])[];
  /** Decoding steps evaluated per prompt; default 100. prompt + maxNewTokens must fit the context. */
  maxNewTokens?: number;
  /** Called once per finished row. */
  onRow?: (row: EvalRow) => void;
  /** Called after each prompt, with the rows pooled over the prompts done so far. */
  onProgress?: (p: { promptsDone: number; prompts: number; elapsedMs: number; rows: EvalRow[] }) => void;
  /** Fixed-point emulation of decoder and policies (e.g. 12); default float64. */
  fracBits?: number | null;
  /** Per-policy options; default SHORT_CONTEXT_OPTIONS and a random Attention-Gate (seed 1). */
  policyConfig?: Omit<PolicyConfig, 'model' | 'fracBits'>;
  /** The model; default loadStories15M(). */
  model?: LoadedModel;
}

/** A (policy, budget) the policy refused: why (its constructor's RangeError). */
export interface EvalSkip {
  policy: string;
  budget: number;
  reason: string;
}

export interface EvalResult {
  model: string;
  fracBits: number | null;
  prompts: number;
  maxNewTokens: number;
  /** The per-policy options used (JSON-safe summary). */
  policyOptions: Record<string, unknown>;
  rows: EvalRow[];
  /** Variants not run because the policy refused the budget (header). */
  skipped: EvalSkip[];
}

/** Run the harness (see header). Deterministic for given inputs. */
export function runEval(opts: EvalOptions): EvalResult {
  const model = opts.model ?? loadStories15M(), c = model.config;
  const T = opts.maxNewTokens ?? 100, fracBits = opts.fracBits ?? null;
  const prompts = (opts.prompts ?? loadEvalPrompts().prompts).map((p) => ('ids' in p ? p.ids : p) as readonly number[]);
  for (const ids of prompts) {
    if (ids.length < 1 || ids.length + T > c.seqLen) throw new RangeError(`prompt of ${ids.length} tokens + maxNewTokens ${T} must fit seqLen ${c.seqLen}`);
  }
  const policyConfig: PolicyConfig = {
    ...SHORT_CONTEXT_OPTIONS,
    attentionGate: { weights: randomAttentionGateWeights(c, 1) },
    ...opts.policyConfig, model: c, fracBits,
  };
  const specs = opts.policies.map((p) => (typeof p === 'string' ? { label: p, name: p, options: {} } : p));
  const { variants, skipped } = runnableVariants(specs.filter((p) => p.name !== 'full'), opts.budgets, policyConfig);
  const metrics = variants.map(() => new NextTokenMetrics(c.vocabSize));
  const meters = variants.map(() => ({ attended: 0, calls: 0, max: 0 }));
  const fullMetrics = new NextTokenMetrics(c.vocabSize);
  const refLogProbs = Array.from({ length: T }, () => new Float64Array(c.vocabSize));
  const t0 = Date.now();

  prompts.forEach((ids, pi) => {
    const policies = variants.map((v) => new MeteredPolicy(makePolicy(v.name, v.budget, v.config)));
    const shared = policies.filter((p) => !masksPrefill(p));
    // 1. one dense prefill for every policy that does not mask it
    const base = new ReferenceDecoder(model.weights, c, { kvPolicy: new FanoutPolicy(shared), fixedPointFracBits: fracBits ?? undefined });
    const prefillLogits = Float64Array.from(base.prefill(ids));
    // 2. the full cache's greedy continuation y_1..y_{T+1} and its distributions
    const ref = base.fork(new FullCache()), y = [argmax(prefillLogits)];
    for (let t = 0; t < T; t++) {
      const logits = ref.forward(y[t], ref.length);
      logSoftmax(logits, refLogProbs[t]);
      y.push(argmax(logits));
      fullMetrics.add(logits, refLogProbs[t], y[t + 1]);
    }
    // 3. each policy, teacher-forced on y
    policies.forEach((p, vi) => {
      let dec: ReferenceDecoder;
      if (masksPrefill(p)) {
        dec = new ReferenceDecoder(model.weights, c, { kvPolicy: p, fixedPointFracBits: fracBits ?? undefined });
        dec.prefill(ids);
      } else {
        dec = base.fork(p);
      }
      for (let t = 0; t < T; t++) metrics[vi].add(dec.forward(y[t], dec.length), refLogProbs[t], y[t + 1]);
      meters[vi].attended += p.attended; meters[vi].calls += p.calls; meters[vi].max = Math.max(meters[vi].max, p.maxAttended);
    });
    if (opts.onProgress) opts.onProgress({ promptsDone: pi + 1, prompts: prompts.length, elapsedMs: Date.now() - t0, rows: currentRows() });
  });

  function currentRows(): EvalRow[] {
    const out: EvalRow[] = [];
    if (specs.some((s) => s.name === 'full')) {
      out.push({ policy: 'full', budget: c.seqLen, agreement: fullMetrics.agreement, meanKL: fullMetrics.meanKL,
        perplexity: fullMetrics.perplexity, steps: fullMetrics.steps, meanAttended: NaN, maxAttended: NaN });
    }
    variants.forEach((v, i) => out.push({
      policy: v.label, budget: v.budget, agreement: metrics[i].agreement, meanKL: metrics[i].meanKL,
      perplexity: metrics[i].perplexity, steps: metrics[i].steps,
      meanAttended: meters[i].calls === 0 ? 0 : meters[i].attended / meters[i].calls, maxAttended: meters[i].max,
    }));
    return out;
  }
  const rows = currentRows();
  for (const row of rows) opts.onRow?.(row);
  const { attentionGate, ...rest } = policyConfig;
  return {
    model: c.name, fracBits, prompts: prompts.length, maxNewTokens: T,
    policyOptions: {
      ...rest, model: undefined,
      attentionGate: attentionGate && { ...attentionGate, weights: opts.policyConfig?.attentionGate?.weights ? 'user' : 'random(seed 1)' },
      variants: specs.filter((s) => typeof s !== 'string' && Object.keys(s.options).length > 0).map((s) => ({ label: s.label, name: s.name, options: s.options })),
    },
    rows,
    skipped,
  };
}

interface EvalVariant {
  label: string;
  name: string;
  budget: number;
  config: PolicyConfig;
}

/**
 * Every (policy, budget) pair the policy accepts, and the refused ones with the reason. Fails fast on
 * an unknown name and on a policy that refuses every budget (its options are wrong, not the budget).
 */
function runnableVariants(specs: readonly EvalPolicySpec[], budgets: readonly number[], base: PolicyConfig): { variants: EvalVariant[]; skipped: EvalSkip[] } {
  const variants: EvalVariant[] = [], skipped: EvalSkip[] = [];
  for (const spec of specs) {
    assertPolicyName(spec.name);
    const config = { ...base, ...spec.options } as PolicyConfig, refused: EvalSkip[] = [];
    for (const budget of budgets) {
      try {
        makePolicy(spec.name, budget, config);
        variants.push({ label: spec.label, name: spec.name, budget, config });
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        refused.push({ policy: spec.label, budget, reason: e.message });
      }
    }
    if (refused.length === budgets.length) throw new RangeError(`policy "${spec.label}" refuses every budget (${budgets.join(', ')}): ${refused[0].reason}`);
    skipped.push(...refused);
  }
  return { variants, skipped };
}

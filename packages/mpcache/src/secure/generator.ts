/**
 * Generator — greedy generation on the parties' side: `prefill(prompt)` runs the whole prompt in one
 * secure forward pass and yields the first new token, each `step()` feeds the previous token back
 * and yields the next. A token is the secure argmax of the logits; the parties hold only shares of
 * its id (which they send to the client, the only one who reconstructs it) and of its one-hot row
 * (which feeds the next step's embedding without any extra protocol).
 *
 * Per-step cost is read from this party's ledger (difference of totals around the call) plus wall
 * time: rounds, online bytes sent/received, offline (dealer) bytes, ms.
 *
 * The parties never learn when to stop: the client decides (e.g. on EOS) and tells them; in
 * `secureGenerate` that is `onToken` returning false.
 *
 * A chat's next turn: `extend(prompt)` continues the same sequence — the last generated token and
 * then the new prompt's tokens enter the cache, and the last one yields the next token. With a policy
 * that has `multiRowSteps` (every shipped one: the full cache; MPCache, Quest, token top-k: the turn
 * attends every cached row, as a prefill does; StreamingLLM, SnapKV, Attention-Gate: each row what
 * it would attend as a step; H2O, TOVA, CAKE, D2O: nothing evicted during the turn) that is one
 * causal forward pass over those n + 1 rows, about the cost of a prefill of n + 1 tokens; a policy
 * without it gets them one position at a time (ordinary decoding steps; their logits are dropped,
 * no argmax).
 */
import { add, diffCost, LimitError, MAX_NEW_TOKENS, shapeStr, ShapeError, type Cost, type RingTensor } from '@mpcache/mpc-core';
import { gumbelNoise, oneHot, openWords, type PartyContext } from '@mpcache/protocols';
import { embeddingPlanKey, SecureDecoder, type ForwardOptions, type SecureDecoderOptions } from './secure-decoder';
import { argmaxFits, greedyToken } from './secure-nonlinear';
import { samplingProblem, topKToken, topPToken, type SamplingParams } from './truncated-sampling';
import { assertFitsContext } from '../model/config';
import type { WeightShares } from './shared-weights';
import { maskModelWeights, type SecureWeights } from './secure-weights';

export interface StepCost extends Cost {
  readonly ms: number;
}

export interface GeneratedToken {
  /** Position of the token that produced these logits (the new token goes to position + 1). */
  readonly position: number;
  /** My share of the token id, (1): send it to the client. */
  readonly idShare: RingTensor;
  /** This step's cost on my ledger (prefill: the whole prompt). */
  readonly cost: StepCost;
}

/**
 * Sampling (SamplingParams, public): temperature T = 0 (default) is greedy; T > 0 samples from
 * softmax(logits / T) by the Gumbel-max trick — the dealer's shared noise T·g is added to the logits
 * before the same secure argmax (gumbelNoise: no extra round, 8 B per vocabulary entry offline);
 * topK restricts the sample to the k largest logits (topKToken), topP to the nucleus within them
 * (topPToken).
 */
export interface GeneratorOptions extends SecureDecoderOptions, SamplingParams {}

export class Generator {
  readonly decoder: SecureDecoder;
  readonly temperature: number;
  readonly topK: number | undefined;
  readonly topP: number | undefined;
  private next: RingTensor | null = null; // my share of the last token's one-hot row (1, vocabSize)

  constructor(private readonly ctx: PartyContext, readonly weights: SecureWeights, opts: GeneratorOptions = {}) {
    if (weights.fracBits !== ctx.fracBits) throw new RangeError(`weights use ${weights.fracBits} fractional bits, the context ${ctx.fracBits}`);
    const problem = samplingProblem(opts, weights.config.vocabSize);
    if (problem) throw new RangeError(problem);
    this.temperature = opts.temperature ?? 0;
    this.topK = opts.topK;
    this.topP = opts.topP;
    this.decoder = new SecureDecoder(weights, opts);
  }

  /**
   * Run the prompt (at the current position: 0 for a fresh generator or after reset()) and produce
   * the first new token. `prompt` is my share of the client's one-hot rows (n, vocabSize), or of its
   * token ids (n) (then a DPF one-hot, 1 round).
   */
  async prefill(prompt: RingTensor): Promise<GeneratedToken> {
    this.checkPrompt(prompt);
    this.decoder.kvPolicy.beginPrefill?.(prompt.shape[0]);
    const t = await this.measure(async (opts) => this.decoder.forward(this.ctx, await this.promptRows(prompt), opts));
    await this.decoder.kvPolicy.endPrefill?.(this.ctx, prompt.shape[0]);
    return t;
  }

  /**
   * Continue the sequence after generated tokens with more prompt tokens (a chat's next turn) and
   * produce the next new token. `prompt` as in prefill; the returned cost covers the whole turn start.
   */
  async extend(prompt: RingTensor): Promise<GeneratedToken> {
    const prev = this.next;
    if (!prev) throw new Error('Generator.extend() before prefill()');
    this.checkPrompt(prompt);
    const V = this.weights.config.vocabSize, n = prompt.shape[0];
    assertFitsContext(this.weights.config, this.decoder.length + 1 + n, 'positions');
    return this.measure(async (opts) => {
      const rows = await this.promptRows(prompt);
      if (this.decoder.kvPolicy.multiRowSteps) {
        const both = new BigUint64Array((n + 1) * V);
        both.set(prev.data);
        both.set(rows.data, V);
        return this.decoder.forward(this.ctx, { shape: [n + 1, V], data: both }, opts);
      }
      // the pending token, then every prompt token but the last: steps whose logits are dropped
      await this.decoder.forward(this.ctx, prev);
      for (let i = 0; i + 1 < n; i++) await this.decoder.forward(this.ctx, { shape: [1, V], data: rows.data.subarray(i * V, (i + 1) * V) });
      return this.decoder.forward(this.ctx, { shape: [1, V], data: rows.data.subarray((n - 1) * V) }, opts);
    });
  }

  /** A prompt share is one-hot rows (n, vocabSize) or token ids (n), n ≥ 1; ShapeError otherwise. */
  private checkPrompt(prompt: RingTensor): void {
    const V = this.weights.config.vocabSize;
    if (!(prompt.shape.length === 1 || (prompt.shape.length === 2 && prompt.shape[1] === V)) || prompt.shape[0] < 1) {
      throw new ShapeError(`"prompt" expected shape (n, ${V}) or (n), got ${shapeStr(prompt.shape)}`);
    }
  }

  /** The prompt as one-hot rows: token ids become rows by a DPF one-hot (1 round). */
  private async promptRows(prompt: RingTensor): Promise<RingTensor> {
    if (prompt.shape.length === 2) return prompt;
    return this.ctx.ledger.scope('token embedding', () => oneHot(this.ctx, prompt, this.weights.config.vocabSize));
  }

  /**
   * Whether the last generated token is `tokenId`, opened to both parties: the lsb of each party's
   * share of that entry of the token's one-hot row (1 round, 1 byte sent per party). A session that
   * stops at a token (a chat's EOS) makes this public per token — which is where its output ends,
   * what the client's own stop or the next turn would show anyway.
   */
  async lastTokenIs(tokenId: number): Promise<boolean> {
    const row = this.next;
    if (!row) throw new Error('Generator.lastTokenIs() before prefill()');
    const V = this.weights.config.vocabSize;
    if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= V) throw new RangeError(`"tokenId" expected an id in [0, ${V}), got ${tokenId}`);
    const bit = await this.ctx.ledger.scope('stop check', () => openWords(this.ctx, row.data.subarray(tokenId, tokenId + 1), 1));
    return bit[0] === 1n;
  }

  /** Benchmarks: append `rows` cached positions of shared zeros (SecureDecoder.warmCache), then prefill/step. */
  async warmCache(rows: number): Promise<void> {
    await this.decoder.warmCache(this.ctx, rows);
  }

  /** Start a new sequence at position 0 (no communication). */
  reset(): void {
    this.decoder.reset();
    this.next = null;
  }

  /** Feed the previous token and produce the next one. */
  async step(): Promise<GeneratedToken> {
    const prev = this.next;
    if (!prev) throw new Error('Generator.step() before prefill()');
    return this.measure((opts) => this.decoder.forward(this.ctx, prev, opts));
  }

  /** Rank the classifier's untruncated logits (scale 2f) when the packed argmax keys fit 64 bits. */
  private get untruncatedLogits(): boolean {
    return argmaxFits(2 * this.ctx.fracBits, this.weights.config.vocabSize);
  }

  /** Sampling: the logits plus the dealer's shared Gumbel noise T·g at their scale (local add); greedy: as they are. */
  private async withGumbelNoise(logits: RingTensor, scale: number): Promise<RingTensor> {
    if (this.temperature === 0) return logits;
    const noise = await this.ctx.dealer.take(gumbelNoise, { count: logits.data.length, temperature: this.temperature, fracBits: scale });
    return add(logits, { shape: logits.shape, data: noise });
  }

  private async measure(forward: (opts: ForwardOptions) => Promise<RingTensor>): Promise<GeneratedToken> {
    const L = this.ctx.ledger, before = L.snapshot(), t0 = performance.now(), raw = this.untruncatedLogits;
    const scale = (raw ? 2 : 1) * this.ctx.fracBits;
    const key = `argmax V=${this.weights.config.vocabSize} scale=${scale} T=${this.temperature}${this.topK ? ` k=${this.topK}` : ''}${this.topP ? ` p=${this.topP}` : ''}`;
    const logits = await forward({ untruncatedLogits: raw, next: () => ({ key, operandKeys: [] }) });
    // secure argmax (revealed to the client only), of logits + T·g when sampling (over the top k
    // logits with topK); the dealer may start on the next step's embedding meanwhile (wasted only
    // after the last token)
    const tok = await this.ctx.dealer.planned(key, () => L.scope('argmax', async () => {
      const noisy = await this.withGumbelNoise(logits, scale);
      if (this.topP !== undefined) return topPToken(this.ctx, logits, noisy, this.topK!, this.topP, this.temperature, scale);
      return this.topK ? topKToken(this.ctx, logits, noisy, this.topK, scale) : greedyToken(this.ctx, noisy, scale);
    }), [], () => ({ key: embeddingPlanKey(1), operandKeys: [] }));
    this.next = tok.oneHot;
    const cost: StepCost = { ...diffCost(L.snapshot(), before), ms: performance.now() - t0 };
    return { position: this.decoder.length - 1, idShare: tok.id, cost };
  }
}

export interface SecureGenerateOptions {
  ctx: PartyContext;
  /** Masked weights, or this party's weight shares (masked here, once). */
  weights: SecureWeights | WeightShares;
  /** My share of the prompt: one-hot rows (n, vocabSize) or ids (n). */
  promptShares: RingTensor;
  maxNewTokens: number;
  /** Called with every new token; return false to stop (the client's decision, e.g. on EOS). */
  onToken?: (token: GeneratedToken) => boolean | void | Promise<boolean | void>;
  decoder?: GeneratorOptions;
}

/** Greedy (or, with decoder.temperature, sampled) generation on one party; resolves with my shares of the new tokens' ids and their costs. */
export async function secureGenerate(opts: SecureGenerateOptions): Promise<GeneratedToken[]> {
  const { ctx, promptShares, maxNewTokens } = opts;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1 || maxNewTokens > MAX_NEW_TOKENS) {
    throw new RangeError(`"maxNewTokens" expected an integer in [1, ${MAX_NEW_TOKENS}], got ${maxNewTokens}`);
  }
  const weights = 'tensor' in opts.weights ? await maskModelWeights(ctx, opts.weights) : opts.weights;
  const c = weights.config;
  if (promptShares.shape[0] + maxNewTokens - 1 > c.seqLen) {
    throw new LimitError(`prompt (${promptShares.shape[0]}) + maxNewTokens (${maxNewTokens}) − 1 exceeds seqLen ${c.seqLen}`, 'MPC_ERR_PROMPT_TOO_LONG');
  }
  const gen = new Generator(ctx, weights, opts.decoder);
  const out: GeneratedToken[] = [];
  for (let t = await gen.prefill(promptShares); ; t = await gen.step()) {
    out.push(t);
    const go = await opts.onToken?.(t);
    if (go === false || out.length === maxNewTokens) return out;
  }
}

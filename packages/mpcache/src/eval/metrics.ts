/**
 * Next-token metrics of the quality harness, in float64: log-softmax, KL(p_ref ‖ p), and the pooled
 * accumulator behind `agreement`, `meanKL` and `perplexity` (one per policy × budget row).
 */
import { argmax } from '../model/blocks';

/** out = log softmax(logits) (max-subtracted). */
export function logSoftmax(logits: ArrayLike<number>, out: Float64Array = new Float64Array(logits.length)): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  const lse = m + Math.log(s);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** KL(p ‖ q) = Σ p·(log p − log q) from log-probabilities; terms with p = 0 contribute 0. */
export function klDivergence(logP: ArrayLike<number>, logQ: ArrayLike<number>): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  return Math.max(0, kl);
}

/** Pooled over every evaluated step of every prompt. */
export class NextTokenMetrics {
  steps = 0;
  private agree = 0;
  private kl = 0;
  private nll = 0;
  private readonly lp: Float64Array;

  constructor(vocabSize: number) {
    this.lp = new Float64Array(vocabSize);
  }

  /** One step: the policy's logits, the reference's log-probabilities and the reference's token. */
  add(logits: ArrayLike<number>, refLogProbs: Float64Array, refToken: number): void {
    logSoftmax(logits, this.lp);
    this.agree += argmax(logits) === refToken ? 1 : 0;
    this.kl += klDivergence(refLogProbs, this.lp);
    this.nll -= this.lp[refToken];
    this.steps++;
  }

  get agreement(): number { return this.steps === 0 ? NaN : this.agree / this.steps; }
  get meanKL(): number { return this.steps === 0 ? NaN : this.kl / this.steps; }
  get perplexity(): number { return this.steps === 0 ? NaN : Math.exp(this.nll / this.steps); }
}

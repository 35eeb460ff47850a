/**
 * StreamingLLM (Xiao et al., ICLR 2024) — attention sinks plus a recent window; eviction-baselines.md §2.
 *
 * Kept set at query position pos (len = pos + 1 cached positions): [0, sinks) ∪ [len − recent, len)
 * with recent = budget − sinks, the same for every layer and head. Positions are public, so the
 * secure version drops rows locally at zero cost (B7).
 *
 * Choices (flagged): prefill mode (b) "compress after prefill" by default, i.e. dense prefill and the
 * window from the first decoding step on, as later papers use it as a fixed-budget baseline; mode
 * (a) 'streaming' applies the window inside the prefill too. Keys keep their original RoPE
 * positions (no pos-shift): inside stories15M's 256-token context relative distances never exceed
 * training lengths, and for the contiguous window pos-shift and original positions coincide (§2.3).
 */
import { PromptPhase, type PolicyContext } from './policy-config';
import type { AttentionView, KVCachePolicy } from './kv-cache-policy';

export interface StreamingLlmOptions {
  /** Attention-sink tokens at the start (paper: 4). Capped at budget − 1. */
  sinks: number;
  /** 'compressAfterPrefill' (dense prefill) or 'streaming' (window inside the prefill too). */
  prefillMode: 'compressAfterPrefill' | 'streaming';
}

export const STREAMING_LLM_DEFAULTS: StreamingLlmOptions = { sinks: 4, prefillMode: 'compressAfterPrefill' };

/** Pure kept set: mask over positions [0, len) with the first `sinks` and the last `recent` set. */
export function streamingKeptMask(len: number, sinks: number, recent: number, out: Uint8Array = new Uint8Array(len)): Uint8Array {
  out.fill(0, 0, len);
  for (let p = 0; p < Math.min(sinks, len); p++) out[p] = 1;
  for (let p = Math.max(0, len - recent); p < len; p++) out[p] = 1;
  return out;
}

export class StreamingLlmPolicy implements KVCachePolicy {
  readonly name = 'streamingllm';
  private readonly phase = new PromptPhase();
  private readonly sinks: number;
  private readonly recent: number;
  private readonly mask: Uint8Array;

  constructor(private readonly ctx: PolicyContext, readonly opts: StreamingLlmOptions = STREAMING_LLM_DEFAULTS) {
    this.sinks = Math.min(Math.max(0, Math.floor(opts.sinks)), ctx.budget - 1);
    this.recent = ctx.budget - this.sinks;
    this.mask = new Uint8Array(ctx.model.seqLen);
  }

  /** Mode (a) windows the prefill itself: the policy needs its own prefill run. */
  get masksPrefill(): boolean {
    return this.opts.prefillMode === 'streaming';
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const len = view.pos + 1;
    if (len <= this.ctx.budget) return null;
    if (this.phase.inPrefill && this.opts.prefillMode === 'compressAfterPrefill') return null;
    return streamingKeptMask(len, this.sinks, this.recent, this.mask).subarray(0, len);
  }

  observe(): void {}
  beginPrefill(n: number): void { this.phase.begin(n); }
  endPrefill(): void { this.phase.end(); }
  reset(): void { this.phase.reset(); }
}

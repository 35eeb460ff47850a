/**
 * Policy wrappers for the quality harness.
 *   FanoutPolicy  — one dense prefill observed by many policies at once: forwards every event to
 *                   each of them and requires that none masks the prefill (the harness then forks
 *                   one decoder per policy from the shared prefill: ReferenceDecoder.fork).
 *   MeteredPolicy — delegates to a policy and counts, over decoding steps, the positions each head's
 *                   query attends (the own position always counts), to check the equal-budget rule.
 */
import type { AttentionView, CacheRowOverrides, KVCachePolicy } from '../cache/kv-cache-policy';

/** True if the policy masks attention inside the prefill (it cannot share a dense prefill). */
export function masksPrefill(p: KVCachePolicy): boolean {
  return (p as { masksPrefill?: boolean }).masksPrefill === true;
}

export class FanoutPolicy implements KVCachePolicy {
  readonly name = 'fanout';
  constructor(readonly policies: readonly KVCachePolicy[]) {}

  attendMask(view: AttentionView): Uint8Array | null {
    for (const p of this.policies) {
      if (p.attendMask(view) !== null) throw new RangeError(`policy "${p.name}" masks the prefill; it cannot share a dense prefill`);
    }
    return null;
  }

  observe(view: AttentionView, probs: Float64Array): void { for (const p of this.policies) p.observe(view, probs); }
  observeInput(layer: number, pos: number, xb: Float64Array): void { for (const p of this.policies) p.observeInput?.(layer, pos, xb); }
  beginPrefill(n: number): void { for (const p of this.policies) p.beginPrefill?.(n); }
  endPrefill(n: number): void { for (const p of this.policies) p.endPrefill?.(n); }
  reset(): void { for (const p of this.policies) p.reset(); }
}

export class MeteredPolicy implements KVCachePolicy {
  readonly name: string;
  /** Sum over decoding calls of attended positions, and the number of calls (one per layer, head, step). */
  attended = 0;
  calls = 0;
  maxAttended = 0;
  private decoding = true;

  constructor(readonly inner: KVCachePolicy) {
    this.name = inner.name;
  }

  get masksPrefill(): boolean {
    return masksPrefill(this.inner);
  }

  /** Mean attended positions per head per decoding step. */
  get meanAttended(): number {
    return this.calls === 0 ? 0 : this.attended / this.calls;
  }

  attendMask(view: AttentionView): Uint8Array | null {
    const m = this.inner.attendMask(view);
    if (this.decoding) {
      let a = view.pos + 1;
      if (m !== null) { a = m[view.pos] === 1 ? 0 : 1; for (let t = 0; t <= view.pos; t++) a += m[t]; }
      this.attended += a; this.calls++;
      if (a > this.maxAttended) this.maxAttended = a;
    }
    return m;
  }

  observe(view: AttentionView, probs: Float64Array): void { this.inner.observe(view, probs); }
  observeInput(layer: number, pos: number, xb: Float64Array): void { this.inner.observeInput?.(layer, pos, xb); }
  rowOverrides(view: AttentionView): CacheRowOverrides | null { return this.inner.rowOverrides?.(view) ?? null; }
  beginPrefill(n: number): void { this.decoding = false; this.inner.beginPrefill?.(n); }
  endPrefill(n: number): void { this.decoding = true; this.inner.endPrefill?.(n); }
  reset(): void { this.decoding = true; this.inner.reset(); }
}

/**
 * AttendedRowsMeter — a SecureKVCachePolicy decorator that records, per layer, how many cached rows
 * each head's query attended at the last decoding step (the selection's public `kept`, or the whole
 * cache when the policy returns null), and samples memory at every layer. Everything else, `warm`
 * included when the policy has it, is forwarded unchanged, so costs are the policy's own.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import type {
  SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy, SecureLayerCache,
} from '@mpcache/mpcache';

export class AttendedRowsMeter implements SecureKVCachePolicy {
  /** Attended rows per head at the last single-query call, per layer. */
  readonly keptByLayer: number[];
  readonly warm?: (ctx: PartyContext, caches: readonly SecureLayerCache[]) => Promise<void>;

  constructor(readonly inner: SecureKVCachePolicy, nLayers: number, private readonly onLayer: () => void = () => undefined) {
    this.keptByLayer = new Array<number>(nLayers).fill(0);
    const warm = inner.warm;
    if (warm) this.warm = (ctx, caches) => warm.call(inner, ctx, caches);
  }

  get name(): string {
    return this.inner.name;
  }

  async select(ctx: PartyContext, view: SecureAttentionView, logits: RingTensor): Promise<SecureAttentionSelection | null> {
    const s = await this.inner.select(ctx, view, logits);
    if (view.nQueries === 1) this.keptByLayer[view.layer] = s ? s.kept : view.cache.length;
    this.onLayer();
    return s;
  }

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor): Promise<void> {
    await this.inner.observe(ctx, view, probs);
    this.onLayer();
  }

  reset(): void {
    this.inner.reset();
    this.keptByLayer.fill(0);
  }

  beginPrefill(promptLength: number): void {
    this.inner.beginPrefill?.(promptLength);
  }

  async endPrefill(ctx: PartyContext, promptLength: number): Promise<void> {
    await this.inner.endPrefill?.(ctx, promptLength);
  }
}

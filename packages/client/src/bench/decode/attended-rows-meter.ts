/**
 * AttendedRowsMeter — a SecureKVCachePolicy decorator that records, per layer, how many cached rows
 * each head's query attended at the last decoding step (the selection's public `kept`, or the whole
 * cache when the policy returns null), and samples memory at every layer. Everything else — the
 * optional members included when the policy has them (warm, observeInput, the plan keys, wide
 * logits, needsProbs, takeBackground) — is forwarded unchanged, so costs are the policy's own.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import type {
  SecureAttentionSelection, SecureAttentionView, SecureKVCachePolicy,
} from '@mpcache/mpcache';

export class AttendedRowsMeter implements SecureKVCachePolicy {
  /** Attended rows per head at the last single-query call, per layer. */
  readonly keptByLayer: number[];
  readonly warm?: SecureKVCachePolicy['warm'];
  readonly observeInput?: SecureKVCachePolicy['observeInput'];
  readonly planKey?: SecureKVCachePolicy['planKey'];
  readonly planOperandKeys?: SecureKVCachePolicy['planOperandKeys'];
  readonly acceptsWideLogits?: boolean;
  readonly needsProbs?: SecureKVCachePolicy['needsProbs'];
  readonly takeBackground?: SecureKVCachePolicy['takeBackground'];

  constructor(readonly inner: SecureKVCachePolicy, nLayers: number, private readonly onLayer: () => void = () => undefined) {
    this.keptByLayer = new Array<number>(nLayers).fill(0);
    this.warm = inner.warm?.bind(inner);
    this.observeInput = inner.observeInput?.bind(inner);
    this.planKey = inner.planKey?.bind(inner);
    this.planOperandKeys = inner.planOperandKeys?.bind(inner);
    this.acceptsWideLogits = inner.acceptsWideLogits;
    this.needsProbs = inner.needsProbs?.bind(inner);
    this.takeBackground = inner.takeBackground?.bind(inner);
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

  async observe(ctx: PartyContext, view: SecureAttentionView, probs: RingTensor | null): Promise<void> {
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

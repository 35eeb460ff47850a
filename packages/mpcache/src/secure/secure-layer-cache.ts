/**
 * SecureLayerCache — one layer's secret-shared K/V cache: keys and values as masked operands
 * (nKvHeads lanes, one row per cached token, headDim columns). A row is masked ONCE, in the round of
 * the product that first uses it (maskedMatmul's `append`: keys in q·Kᵀ, values in P·V), so a
 * decoding step opens only the fresh q and P, never the cache.
 *
 * Memory: per party 2 (D and my share W̃) × 8 B per element for K and for V, i.e. 32·kvDim B per
 * cached token and layer (GPT-2-small, 4096 tokens, 12 layers: 1.2 GiB), with the operand's capacity
 * doubling as it grows.
 *
 * `replace` installs new rows (an eviction policy compacting the cache): fresh masked operands, two
 * rounds, 8 B per element.
 */
import { appendMaskedRows, maskOperand, maskOperandCost, sumCosts, type FormulaCost, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import { assertShape, type RingTensor } from '@mpcache/mpc-core';

export class SecureLayerCache {
  private constructor(
    readonly lanes: number,
    readonly headDim: number,
    private k: MaskedOperand,
    private v: MaskedOperand,
  ) {}

  /** An empty cache (no rounds: an empty operand only reserves its mask key). */
  static async create(ctx: PartyContext, lanes: number, headDim: number): Promise<SecureLayerCache> {
    const empty = () => ({ shape: [lanes, 0, headDim], data: new BigUint64Array(0) });
    const k = await maskOperand(ctx, empty());
    const v = await maskOperand(ctx, empty());
    return new SecureLayerCache(lanes, headDim, k, v);
  }

  /** Cached rows (kvLen). */
  get length(): number {
    return this.k.rows;
  }

  /** Masked keys, (lanes, kvLen, headDim). */
  get keys(): MaskedOperand {
    return this.k;
  }

  /** Masked values, (lanes, kvLen, headDim); may lag `keys` by the rows of the call in progress. */
  get values(): MaskedOperand {
    return this.v;
  }

  /** Append rows outside a product (2 rounds, 8 B per element): keys and values (lanes, r, headDim). */
  async appendRows(ctx: PartyContext, keys: RingTensor, values: RingTensor): Promise<void> {
    await appendMaskedRows(ctx, this.k, keys);
    await appendMaskedRows(ctx, this.v, values);
  }

  /** Replace every row: keys and values (lanes, r, headDim) as shares, masked once (2 rounds). */
  async replace(ctx: PartyContext, keys: RingTensor, values: RingTensor): Promise<void> {
    const r = keys.shape[1];
    assertShape(keys, [this.lanes, r, this.headDim], 'keys');
    assertShape(values, [this.lanes, r, this.headDim], 'values');
    await ctx.ledger.scope('kv cache replace', async () => {
      this.k = await maskOperand(ctx, keys);
      this.v = await maskOperand(ctx, values);
    });
  }
}

/** Exact cost of SecureLayerCache.appendRows or .replace with r rows per lane: keys and values masked, one round each. */
export const layerCacheRowsCost = (lanes: number, r: number, headDim: number): FormulaCost =>
  sumCosts([maskOperandCost([lanes, r, headDim]), maskOperandCost([lanes, r, headDim])]);

/**
 * The secure selections KV-cache policies hand to the attention (secure-kv-cache-policy.ts
 * `SecureAttentionSelection`): which logits the softmax sees and how its probabilities return.
 *
 *   DeadSlotSelection   every row stays; rows with a secret alive bit 0 get logit − DEAD_LOGIT_GAP
 *                       (local: P0 adds −GAP, both add GAP·alive). Lazy deletion for per-step
 *                       eviction (eviction-baselines.md B6): the cache's rows and their masks stay
 *                       valid, the softmax zeroes dead rows. No rounds, no bytes; no saving.
 *   BlockGatherSelection public forced rows plus, per unit (query head), k secret blocks of s
 *                       consecutive rows chosen by one-hot rows O (k × C) over the C blocks of a
 *                       public region: gather z_sel = O·blocks(z), scatter P_blocks = Oᵀ·p_sel
 *                       (mpcache-algorithm.md §2 "gather logits"). O is bit-masked
 *                       (protocols beaver/bit-masked-product.ts): Ô = O ⊕ B opens at 1 bit per
 *                       entry in the gather's round, so the scatter (and a follower layer reusing
 *                       the selection) opens only its fresh operand.
 *     gather:  1 round, 8·U·s·C + ⌈U·k·C/8⌉ B per party (z blocks and Ô; a follower 8·U·s·C),
 *              offline 8·U·k·C (P0's [B], once per O) + 8·U·k·C·s (B·A, uncontracted)
 *     scatter: 1 round, 8·U·s·k B per party, offline 8·U·k·C·s               (U = units, all lanes)
 *     (before, with O masked as a 64-bit operand: 8·U·k·C B online once, offline 8·U·s·(k + C))
 *
 * Logits come as (lanes, rows, kvLen) with rows = groups·nQueries; a unit is one row of one lane
 * (decode: one query head). Kept logits are ordered: forced rows, then block ℓ's s rows, ℓ < k.
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import {
  bitMaskedMatmul, bitMaskedMatmulCost, bitMaskMatrix, bitMaskMatrixCost, type BitMaskedMatrix, type PartyContext,
} from '@mpcache/protocols';
import type { SecureAttentionSelection } from '../secure/secure-kv-cache-policy';

/** Real-valued logit gap given to dead rows: the attention's causal filler, far below the exp clip. */
export const DEAD_LOGIT_GAP = 256;

const { asUintN } = BigInt;

/**
 * out[at + j] += gap·alive[from + j] − [P0]·gap for j < len (local): a row whose secret bit is 0 falls
 * by gap, a row whose bit is 1 keeps its logit.
 */
export function addAliveGap(ctx: PartyContext, out: BigUint64Array, at: number, alive: BigUint64Array, from: number, len: number, gap: bigint): void {
  const off = ctx.party === 0 ? gap : 0n;
  for (let j = 0; j < len; j++) out[at + j] = asUintN(64, out[at + j] + gap * alive[from + j] - off);
}

/**
 * Lazy deletion: alive (units, kvLen) shares of 0/1 with units = 1 (one set per layer, broadcast
 * to every lane) or units = lanes (one set per KV head), broadcast over each lane's rows.
 */
export class DeadSlotSelection implements SecureAttentionSelection {
  readonly kept: number;
  /**
   * `alive` (units, kvLen): units = 1 (one set per layer), the KV heads, or with `groups` > 1 the
   * query heads (units = KV heads · groups; row g·nQueries + t of KV head h is query head h·groups + g).
   */
  constructor(private readonly alive: BigUint64Array, private readonly units: number, readonly kvLen: number, private readonly groups = 1) {
    this.kept = kvLen;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, gap = encodeScalar(DEAD_LOGIT_GAP, ctx.fracBits), G = this.groups, rowsPerGroup = rows / G;
    const out = BigUint64Array.from(logits.data);
    for (let h = 0; h < lanes; h++) {
      for (let r = 0; r < rows; r++) {
        const ao = (this.units === 1 ? 0 : h * G + Math.floor(r / rowsPerGroup)) * n;
        addAliveGap(ctx, out, (h * rows + r) * n, this.alive, ao, n, gap);
      }
    }
    return { shape: [lanes, rows, n], data: out };
  }

  async scatter(_ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    return probs;
  }
}

/** The public layout of a block selection. */
export interface BlockLayout {
  /** Always-kept rows (public), ascending. */
  readonly forced: Int32Array;
  /** First row of block 0 of the region. */
  readonly regionStart: number;
  /** Rows per block (s) and blocks in the region (C). */
  readonly blockSize: number;
  readonly blocks: number;
  /** Selected blocks per unit (k). */
  readonly k: number;
}

/**
 * One-hot block selection. `onehot` is a bit-masked matrix (units, k, C), shared with followers;
 * create it with `blockSelection` (its Ô opens in the first gather's round).
 */
export class BlockGatherSelection implements SecureAttentionSelection {
  readonly kept: number;
  constructor(private readonly layout: BlockLayout, private readonly onehot: BitMaskedMatrix, private readonly kvLen: number) {
    this.kept = layout.forced.length + layout.k * layout.blockSize;
  }

  /** The bit-masked one-hot rows (Ô public after the first gather). */
  get operand(): BitMaskedMatrix {
    return this.onehot;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, U = lanes * rows, { forced, regionStart, blockSize: s, blocks: C, k } = this.layout;
    const z = logits.data, F = forced.length, kept = this.kept;
    // X = blocks(z) per unit: (U, C, s), X[u, c, t] = z[u, regionStart + c·s + t] (a contiguous run)
    const x = new BigUint64Array(U * C * s);
    for (let u = 0; u < U; u++) x.set(z.subarray(u * n + regionStart, u * n + regionStart + C * s), u * C * s);
    const y = await bitMaskedMatmul(ctx, { shape: [U, C, s], data: x }, this.onehot); // (U, k, s)
    const out = new BigUint64Array(U * kept);
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < F; j++) out[u * kept + j] = z[u * n + forced[j]];
      out.set(y.data.subarray(u * k * s, (u + 1) * k * s), u * kept + F);
    }
    return { shape: [lanes, rows, kept], data: out };
  }

  async scatter(ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    const [lanes, rows] = probs.shape, U = lanes * rows, { forced, regionStart, blockSize: s, blocks: C, k } = this.layout;
    const p = probs.data, F = forced.length, kept = this.kept, n = this.kvLen;
    // X = p_sel per unit: (U, k, s); Oᵀ·X = P_blocks (U, C, s)
    const x = new BigUint64Array(U * k * s);
    for (let u = 0; u < U; u++) x.set(p.subarray(u * kept + F, u * kept + F + k * s), u * k * s);
    const y = await bitMaskedMatmul(ctx, { shape: [U, k, s], data: x }, this.onehot, { transpose: true });
    const out = new BigUint64Array(U * n);
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < F; j++) out[u * n + forced[j]] = p[u * kept + j];
      out.set(y.data.subarray(u * C * s, (u + 1) * C * s), u * n + regionStart);
    }
    return { shape: [lanes, rows, n], data: out };
  }
}

/**
 * A block selection over one-hot rows (units, k, C): takes O's bit mask now (no round; Ô opens in
 * the first gather's round). Pass the returned selection's `operand` to `reuseBlockSelection` for
 * follower layers.
 */
export async function blockSelection(ctx: PartyContext, layout: BlockLayout, onehot: RingTensor, kvLen: number, maskKey?: string): Promise<BlockGatherSelection> {
  const [U, k, C] = onehot.shape;
  if (onehot.shape.length !== 3 || k !== layout.k || C !== layout.blocks) {
    throw new RangeError(`one-hot rows (${U}, ${k}, ${C}) do not fit k = ${layout.k}, C = ${layout.blocks}`);
  }
  return new BlockGatherSelection(layout, await bitMaskMatrix(ctx, onehot, { key: maskKey }), kvLen);
}

/** The same blocks over another layer's logits (cross-layer index sharing): Ô is already open. */
export function reuseBlockSelection(layout: BlockLayout, onehot: BitMaskedMatrix, kvLen: number): BlockGatherSelection {
  return new BlockGatherSelection(layout, onehot, kvLen);
}

/**
 * Costs of one gather and one scatter over U units; `fresh`: O's bit mask is taken for this
 * selection (its offline bytes counted in the gather) and Ô opens in this gather.
 */
export function blockSelectionCost(U: number, layout: BlockLayout, fresh: boolean) {
  const { blockSize: s, blocks: C, k } = layout, o = [U, k, C];
  const g = bitMaskedMatmulCost(o, [U, C, s], fresh), mask = bitMaskMatrixCost(o);
  const gather = fresh ? { ...g, offlineBytes: g.offlineBytes + mask.offlineBytes } : g;
  return { gather, scatter: bitMaskedMatmulCost(o, [U, k, s]) };
}

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
 *                       (mpcache-algorithm.md §2 "gather logits"). O is a masked operand, masked
 *                       in the gather's round, so the scatter (and a follower layer reusing the
 *                       selection) opens only its fresh operand.
 *     gather:  1 round, 8·U·(s·C + k·C) B per party (z blocks and O − B), offline 8·U·s·k B
 *     scatter: 1 round, 8·U·s·k B per party, offline 8·U·s·C B          (U = units, all lanes)
 *
 * Logits come as (lanes, rows, kvLen) with rows = groups·nQueries; a unit is one row of one lane
 * (decode: one query head). Kept logits are ordered: forced rows, then block ℓ's s rows, ℓ < k.
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import { maskedMatmul, maskedMatmulCost, maskOperand, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import type { SecureAttentionSelection } from '../secure/secure-kv-cache-policy';

/** Real-valued logit gap given to dead rows: the attention's causal filler, far below the exp clip. */
export const DEAD_LOGIT_GAP = 256;

const { asUintN } = BigInt;

/**
 * Lazy deletion: alive (units, kvLen) shares of 0/1 with units = 1 (one set per layer, broadcast
 * to every lane) or units = lanes (one set per KV head), broadcast over each lane's rows.
 */
export class DeadSlotSelection implements SecureAttentionSelection {
  readonly kept: number;
  constructor(private readonly alive: BigUint64Array, private readonly units: number, readonly kvLen: number) {
    this.kept = kvLen;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, gap = encodeScalar(DEAD_LOGIT_GAP, ctx.fracBits);
    const out = new BigUint64Array(logits.data.length), z = logits.data, a = this.alive, p0 = ctx.party === 0;
    for (let h = 0; h < lanes; h++) {
      const ao = (this.units === 1 ? 0 : h) * n;
      for (let r = 0; r < rows; r++) {
        const base = (h * rows + r) * n;
        for (let j = 0; j < n; j++) out[base + j] = asUintN(64, z[base + j] + gap * a[ao + j] - (p0 ? gap : 0n));
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
 * One-hot block selection. `onehot` is a masked operand (units, k, C), shared with followers;
 * create it with `maskBlockOneHots` inside the first gather (its D opens in that round).
 */
export class BlockGatherSelection implements SecureAttentionSelection {
  readonly kept: number;
  constructor(private readonly layout: BlockLayout, private op: MaskedOperand, private pending: RingTensor | null, private readonly kvLen: number) {
    this.kept = layout.forced.length + layout.k * layout.blockSize;
  }

  /** The masked one-hot operand (after the first gather). */
  get operand(): MaskedOperand {
    return this.op;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, U = lanes * rows, { forced, regionStart, blockSize: s, blocks: C, k } = this.layout;
    const z = logits.data, F = forced.length, kept = this.kept;
    // X = blocks(z)ᵀ per unit: (U, s, C), X[u, t, c] = z[u, regionStart + c·s + t]
    const x = new BigUint64Array(U * s * C);
    for (let u = 0; u < U; u++) for (let c = 0; c < C; c++) for (let t = 0; t < s; t++) x[(u * s + t) * C + c] = z[u * n + regionStart + c * s + t];
    const opts = this.pending ? { transpose: true, append: this.pending } : { transpose: true };
    const y = await maskedMatmul(ctx, { shape: [U, s, C], data: x }, this.op, opts); // (U, s, k)
    this.pending = null;
    const out = new BigUint64Array(U * kept);
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < F; j++) out[u * kept + j] = z[u * n + forced[j]];
      for (let l = 0; l < k; l++) for (let t = 0; t < s; t++) out[u * kept + F + l * s + t] = y.data[(u * s + t) * k + l];
    }
    return { shape: [lanes, rows, kept], data: out };
  }

  async scatter(ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    const [lanes, rows] = probs.shape, U = lanes * rows, { forced, regionStart, blockSize: s, blocks: C, k } = this.layout;
    const p = probs.data, F = forced.length, kept = this.kept, n = this.kvLen;
    // X = p_selᵀ per unit: (U, s, k); X·O = P_blocksᵀ (U, s, C)
    const x = new BigUint64Array(U * s * k);
    for (let u = 0; u < U; u++) for (let l = 0; l < k; l++) for (let t = 0; t < s; t++) x[(u * s + t) * k + l] = p[u * kept + F + l * s + t];
    const y = await maskedMatmul(ctx, { shape: [U, s, k], data: x }, this.op);
    const out = new BigUint64Array(U * n);
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < F; j++) out[u * n + forced[j]] = p[u * kept + j];
      for (let c = 0; c < C; c++) for (let t = 0; t < s; t++) out[u * n + regionStart + c * s + t] = y.data[(u * s + t) * C + c];
    }
    return { shape: [lanes, rows, n], data: out };
  }
}

/**
 * A block selection whose one-hot rows (units, k, C) are masked in its first gather (no extra
 * round). Pass the returned selection's `operand` to `reuseBlockSelection` for follower layers.
 */
export async function blockSelection(ctx: PartyContext, layout: BlockLayout, onehot: RingTensor, kvLen: number): Promise<BlockGatherSelection> {
  const [U, k, C] = onehot.shape;
  const op = await maskOperand(ctx, { shape: [U, 0, C], data: new BigUint64Array(0) }); // no rounds: reserves the key
  if (k !== layout.k || C !== layout.blocks) throw new RangeError(`one-hot rows (${U}, ${k}, ${C}) do not fit k = ${layout.k}, C = ${layout.blocks}`);
  return new BlockGatherSelection(layout, op, onehot, kvLen);
}

/** The same blocks over another layer's logits (cross-layer index sharing): O is already masked. */
export function reuseBlockSelection(layout: BlockLayout, op: MaskedOperand, kvLen: number): BlockGatherSelection {
  return new BlockGatherSelection(layout, op, null, kvLen);
}

/** Costs of one gather and one scatter over U units; `fresh`: O is masked in this gather. */
export function blockSelectionCost(U: number, layout: BlockLayout, fresh: boolean) {
  const { blockSize: s, blocks: C, k } = layout;
  const g = maskedMatmulCost([U, s, C], [U, s, k], fresh ? U * k * C : 0);
  const sc = maskedMatmulCost([U, s, k], [U, s, C]);
  return { gather: g, scatter: sc };
}

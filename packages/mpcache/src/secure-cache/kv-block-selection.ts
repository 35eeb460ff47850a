/**
 * BlockKvSelection — MPCache's other gather variant (mpcache-algorithm.md §2): gather the selected
 * K blocks with the one-hot rows, K_sel = O·K_blocks, and recompute the selected logits q·K_selᵀ;
 * the probabilities return as in BlockGatherSelection (scatter by the masked O, then the
 * attention's P·V over the masked V cache).
 *
 * Rounds:    gather 3 (O·K_blocks; q·K_selᵀ; truncation), scatter 1 (Ô opens with p_sel)
 * Online:    gather 8·U·k·C' (O − A) + 8·U·(d + k·s·d) (q, K_sel) + 8·U·k·s (trunc);
 *            scatter 8·U·k·s + ⌈U·k·C/8⌉ (Ô, 1 bit per entry)  (C' = blocks from row 0 to the
 *            region's end, U = query heads)
 * Offline:   masked-product triple 8·U·k·s·d, matmul triple 8·U·k·s, truncation pairs; for the
 *            scatter O's bit mask 8·U·k·C and the bit-masked product 8·U·k·C·s (selections.ts)
 * Accuracy:  selected logits within 1 ulp of q·k (truncPr), as the attention's own logits
 * Opens:     O − A, q − A', K_sel − B', the truncation's masked value (all fresh masks); Ô = O ⊕ B
 * Steps:     1. a masked view of the cache's K with rows of s keys (same mask stream: blocks of s
 *               consecutive rows are consecutive words), O padded with zero columns before the region;
 *               O's bit mask taken for the scatter (BlockGatherSelection, no round)
 *            2. K_sel = O·K_blocks in one round
 *            3. z_sel = truncPr(q·K_selᵀ); the forced rows' logits are taken from z (public rows)
 * Exact cost: blockKvSelectionCost (gather: O's bit mask taken, then the three rounds; scatter: the
 * bit-masked product that also opens Ô).
 * Measured against the logit gather (test secure-mpcache-gather.test.ts): in this decoder the
 * attention computes every logit anyway, so re-deriving the selected ones costs k·s·d opened
 * elements where the logit gather opens s·C — the logit gather is the default.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import {
  beaverMatmul, beaverMatmulCost, bitMaskedMatmulCost, bitMaskMatrixCost, MaskedOperand, maskedMatmul, maskedMatmulCost, sumCosts, truncPr, truncPrCost,
  type FormulaCost, type PartyContext,
} from '@mpcache/protocols';
import type { SecureAttentionSelection, SecureAttentionView } from '../secure/secure-kv-cache-policy';
import { blockSelection, type BlockGatherSelection, type BlockLayout } from './selections';

const { asUintN } = BigInt;

/** A masked view of `op` (lanes, rows, cols) as (lanes, blocks, s·cols) over its first blocks·s rows. */
export function blockView(party: 0 | 1, op: MaskedOperand, s: number, blocks: number): MaskedOperand {
  const lanes = op.lanes, w = s * op.cols, n = blocks * w, view = new MaskedOperand(op.key, lanes, w, true);
  const D = new BigUint64Array(lanes * n), B = new BigUint64Array(lanes * n);
  for (let h = 0; h < lanes; h++) {
    const d = op.laneD(h), m = op.laneShare(h);
    for (let i = 0; i < n; i++) {
      D[h * n + i] = d[i];
      B[h * n + i] = party === 0 ? asUintN(64, m[i] - d[i]) : m[i]; // appendOpened adds D back on P0
    }
  }
  view.appendOpened(party, D, B, blocks);
  return view;
}

export class BlockKvSelection implements SecureAttentionSelection {
  readonly kept: number;
  private scatterSel: BlockGatherSelection | null = null;

  constructor(private readonly layout: BlockLayout, private readonly onehot: RingTensor, private readonly view: SecureAttentionView, private readonly kvLen: number) {
    this.kept = layout.forced.length + layout.k * layout.blockSize;
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    const [lanes, rows, n] = logits.shape, U = lanes * rows, { forced, regionStart, blockSize: s, blocks: C, k } = this.layout;
    const d = this.view.headDim, before = regionStart / s, nb = before + C, F = forced.length;
    // 1. K as blocks; O padded to the blocks from row 0: (lanes, rows·k, nb); O's bit mask for the scatter
    const Kb = blockView(ctx.party, this.view.cache.keys, s, nb), o = this.onehot.data, x = new BigUint64Array(U * k * nb);
    for (let r = 0; r < U * k; r++) x.set(o.subarray(r * C, (r + 1) * C), r * nb + before);
    this.scatterSel = await blockSelection(ctx, this.layout, this.onehot, this.kvLen);
    // 2. K_sel = O·K_blocks, one round
    const ksel = await maskedMatmul(ctx, { shape: [lanes, rows * k, nb], data: x }, Kb);
    // 3. z_sel = q·K_selᵀ per query head: (U, 1, d)·(U, d, k·s)
    const kt = new BigUint64Array(U * d * k * s);
    for (let u = 0; u < U; u++) for (let j = 0; j < k * s; j++) for (let i = 0; i < d; i++) kt[(u * d + i) * k * s + j] = ksel.data[(u * k * s + j) * d + i];
    const q = { shape: [U, 1, d], data: this.view.q.data };
    const zsel = await truncPr(ctx, await beaverMatmul(ctx, q, { shape: [U, d, k * s], data: kt }));
    const out = new BigUint64Array(U * this.kept), z = logits.data;
    for (let u = 0; u < U; u++) {
      for (let j = 0; j < F; j++) out[u * this.kept + j] = z[u * n + forced[j]];
      out.set(zsel.data.subarray(u * k * s, (u + 1) * k * s), u * this.kept + F);
    }
    return { shape: [lanes, rows, this.kept], data: out };
  }

  async scatter(ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    if (!this.scatterSel) throw new Error('BlockKvSelection.scatter before gather');
    return this.scatterSel.scatter(ctx, probs);
  }
}

/**
 * Exact cost (offline: both parties) of one BlockKvSelection gather and scatter over U = lanes·rows
 * query heads of headDim d at fracBits f.
 */
export function blockKvSelectionCost(lanes: number, rows: number, layout: BlockLayout, d: number, fracBits: number): { gather: FormulaCost; scatter: FormulaCost } {
  const U = lanes * rows, { regionStart, blockSize: s, blocks: C, k } = layout, nb = regionStart / s + C, o = [U, k, C];
  const gather = sumCosts([
    bitMaskMatrixCost(o), // O's bit mask for the scatter (a take, no round)
    maskedMatmulCost([lanes, rows * k, nb], [lanes, rows * k, s * d]), // K_sel = O·K_blocks
    beaverMatmulCost([U, 1, d], [U, d, k * s]), truncPrCost(U * k * s, fracBits), // z_sel = truncPr(q·K_selᵀ)
  ]);
  return { gather, scatter: bitMaskedMatmulCost(o, [U, k, s], true) };
}

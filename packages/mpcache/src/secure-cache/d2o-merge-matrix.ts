/**
 * MergeMatrix — D2O's merged K/V rows on shares without rewriting any cached row
 * (eviction-baselines.md B6; cache/d2o.ts merge). Merging is linear in the rows, so every slot's
 * effective row is a combination of PHYSICAL rows, which lazy deletion keeps (victims stay as dead
 * rows until a compaction):  K_eff = M·K,  V_eff = M·V,  M = I + Oᵀ·W  per lane (KV head), where
 * merge t appends  o_t = one-hot of its target c* (integers)  and  w_t = b·(u·M_e − M_c*)/2
 * (scale f; b the pass bit, u the similarity, M_e and M_c* rows of M) — K_c* ← (K_c* + u·k_e)/2.
 * O and W are masked operands (lanes, T, C), masked once per merge (2·C elements per lane), so the
 * cached K/V rows and their masks are never touched.
 *
 * Attention through M (MergedDeadSlotSelection, dead slots as DeadSlotSelection):
 *   gather  z_eff = M·z = z + Oᵀ(W·z)       (q·K_effᵀ)      2 masked products + 1 truncation
 *   scatter p_phys = Mᵀ·p = p + Wᵀ(O·p)     (p·V_eff = p_phys·V; the victims' rows get weight)
 *                                                             2 masked products + 1 truncation
 *   per step and lane: 8·(2C + 2T) B each way (+ 8·C per truncation), 3 rounds each; T = merges
 *   since the last fold, C = the capacity (rows at the fold + compactEvery); slots past C (a chat
 *   turn's rows, which D2O folds M before merging into) are untouched.
 * fold: at each compaction K ← M·K, V ← M·V (re-masked: SecureLayerCache.replace), M ← I.
 * Memory: 2·(T·C) words + masks per lane; C·T ≤ (k + m)·m for a compaction period m.
 */
import type { RingTensor } from '@mpcache/mpc-core';
import { addWords, appendMaskedRows, fuseRounds, maskedMatmul, maskOperand, truncPr, type MaskedOperand, type PartyContext } from '@mpcache/protocols';
import type { SecureAttentionSelection } from '../secure/secure-kv-cache-policy';
import type { SecureLayerCache } from '../secure/secure-layer-cache';
import { DeadSlotSelection } from './selections';

/**
 * (U, m, n) → (U, m, C): the first min(n, C) columns, zero columns after them. M is the identity on
 * slots ≥ C (rows appended since M was made, e.g. a chat turn's, are never merge targets in it).
 */
function resize(x: RingTensor, C: number): RingTensor {
  const [U, m, n] = x.shape, w = Math.min(n, C), out = new BigUint64Array(U * m * C);
  for (let r = 0; r < U * m; r++) out.set(x.data.subarray(r * n, r * n + w), r * C);
  return { shape: [U, m, C], data: out };
}

/** A merge's row (U, 1, n) over the capacity: a slot beyond it cannot be recorded. */
function pad(x: RingTensor, C: number): RingTensor {
  if (x.shape[2] > C) throw new RangeError(`merge matrix: ${x.shape[2]} slots exceed its capacity ${C}`);
  return resize(x, C);
}

export class MergeMatrix {
  private constructor(readonly lanes: number, readonly capacity: number, private w: MaskedOperand, private o: MaskedOperand) {}

  /** M = I over `capacity` slots (no rounds: empty operands reserve their keys). */
  static async identity(ctx: PartyContext, lanes: number, capacity: number): Promise<MergeMatrix> {
    const empty = () => ({ shape: [lanes, 0, capacity], data: new BigUint64Array(0) });
    return new MergeMatrix(lanes, capacity, await maskOperand(ctx, empty()), await maskOperand(ctx, empty()));
  }

  /** Merges recorded (T). */
  get merges(): number {
    return this.w.rows;
  }

  /** x·Mᵀ row-wise (each row of x, (U, m, n) at any scale s, becomes M·x): x + (x·Wᵀ)·O. */
  async applyRows(ctx: PartyContext, x: RingTensor): Promise<RingTensor> {
    if (this.merges === 0) return x;
    const n = x.shape[2], y = await truncPr(ctx, await maskedMatmul(ctx, resize(x, this.capacity), this.w, { transpose: true }));
    const z = resize(await maskedMatmul(ctx, y, this.o), n);
    return { shape: x.shape, data: addWords(x.data, z.data) };
  }

  /** x·M row-wise (each row of x becomes Mᵀ·x): x + (x·Oᵀ)·W. */
  async applyCols(ctx: PartyContext, x: RingTensor): Promise<RingTensor> {
    if (this.merges === 0) return x;
    const n = x.shape[2], y = await maskedMatmul(ctx, resize(x, this.capacity), this.o, { transpose: true });
    const z = resize(await truncPr(ctx, await maskedMatmul(ctx, y, this.w)), n);
    return { shape: x.shape, data: addWords(x.data, z.data) };
  }

  /** Record merges: w (U, 1, n) at scale f, o (U, 1, n) integer one-hot rows; one round. */
  async append(ctx: PartyContext, w: RingTensor, o: RingTensor): Promise<void> {
    const C = this.capacity;
    await fuseRounds(ctx, [(c: PartyContext) => appendMaskedRows(c, this.w, pad(w, C)), (c: PartyContext) => appendMaskedRows(c, this.o, pad(o, C))]);
  }

  /** The effective rows M·K and M·V of `cache`, (lanes, kvLen, headDim) shares each. */
  async effectiveRows(ctx: PartyContext, cache: SecureLayerCache): Promise<{ keys: RingTensor; values: RingTensor }> {
    const U = this.lanes, n = cache.length, d = cache.headDim;
    // per lane the columns of K and V as rows, (U, 2d, n); each row r becomes M·r
    const x = new BigUint64Array(U * 2 * d * n);
    for (let h = 0; h < U; h++) {
      const k = cache.keys.laneShare(h), v = cache.values.laneShare(h);
      for (let j = 0; j < n; j++) {
        for (let c = 0; c < d; c++) {
          x[(h * 2 * d + c) * n + j] = k[j * d + c];
          x[(h * 2 * d + d + c) * n + j] = v[j * d + c];
        }
      }
    }
    const y = (await this.applyRows(ctx, { shape: [U, 2 * d, n], data: x })).data;
    const K = new BigUint64Array(U * n * d), V = new BigUint64Array(U * n * d);
    for (let h = 0; h < U; h++) {
      for (let c = 0; c < d; c++) {
        for (let j = 0; j < n; j++) {
          K[(h * n + j) * d + c] = y[(h * 2 * d + c) * n + j];
          V[(h * n + j) * d + c] = y[(h * 2 * d + d + c) * n + j];
        }
      }
    }
    return { keys: { shape: [U, n, d], data: K }, values: { shape: [U, n, d], data: V } };
  }

  /** Install M·K and M·V as the cache's rows (re-masked; no-op without merges). M itself is not reset. */
  async fold(ctx: PartyContext, cache: SecureLayerCache): Promise<void> {
    if (this.merges === 0) return;
    const { keys, values } = await this.effectiveRows(ctx, cache);
    await cache.replace(ctx, keys, values);
  }
}

/**
 * Attention through M with dead slots masked: gather M·z then the dead-slot gap; scatter Mᵀ·p.
 * `kept` remembers the softmax output over the slots (what the plaintext observes: a merged row's
 * probability at its own position), since observe receives Mᵀ·p.
 */
export class MergedDeadSlotSelection implements SecureAttentionSelection {
  readonly kept: number;
  probs: RingTensor | null = null;
  private readonly dead: DeadSlotSelection;

  constructor(private readonly m: MergeMatrix, alive: BigUint64Array, units: number, kvLen: number) {
    this.kept = kvLen;
    this.dead = new DeadSlotSelection(alive, units, kvLen);
  }

  async gather(ctx: PartyContext, logits: RingTensor): Promise<RingTensor> {
    return this.dead.gather(ctx, await this.m.applyRows(ctx, logits));
  }

  async scatter(ctx: PartyContext, probs: RingTensor): Promise<RingTensor> {
    this.probs = probs;
    return this.m.applyCols(ctx, probs);
  }
}

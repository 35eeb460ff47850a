/**
 * obliviousShuffle — shares of Permute_π(X) for a shared n×w matrix X, π = π0∘π1 known to nobody;
 * unshuffle / unshufflePublic undo it (fss.md §5, dealer permutation correlation).
 *
 * Rounds:    2   (two one-way messages in sequence: P1 → P0, then P0 → P1)
 * Online:    8nw B sent per party per shuffle; unshuffle the same; unshufflePublic 8nw' B sent by P1 only,
 *            1 round (one message)
 * Offline:   8nw B to each party (one Δ each); plus what the declared unshuffle needs, dealt in the same
 *            correlation because it reuses π0, π1: full 8nw' B to each party, public 8nw' B to P0 only
 * Accuracy:  exact (a permutation of ring shares)
 * Opens:     nothing. The holder H of a pass sees M = X_O + R (R from O's stream, unknown to H) and
 *            Δ = Permute_π(R) + Z (Z unknown to H); O sees nothing. Each party knows only its own πb,
 *            so the composite is uniform to each of them.
 * Steps:     pass(H, π, X):  1. O sends M = X_O + R  (one message, 8nw B)
 *                            2. H: Y_H = Permute_π(X_H + M) − Δ;  O: Y_O = Z      (sum = Permute_π(X))
 *            shuffle   = pass(P0, π0) then pass(P1, π1):  Y[i] = X[π0(π1(i))]
 *            unshuffle = pass(P1, π1⁻¹) then pass(P0, π0⁻¹)            (fresh R, Z, Δ; same π0, π1)
 *            unshufflePublic(U) = P1 forms V = Permute_{π1⁻¹}(U); pass(P0, π0⁻¹) with inputs (0, V)
 * Never reuse one handle for an unrelated matrix: each pass's R, Z, Δ are single-use (enforced).
 */
import { ShapeError, type PartyId, type RingTensor } from '@mpcache/mpc-core';
import { defineCorrelation, type DealGen } from '../dealer/correlation';
import { totalDealerBytes, type DealerBytes } from '../dealer/dealer-bytes';
import { drawWork, sendWork, type DealerWork } from '../dealer/dealer-work';
import { validateCount } from '../dealer/validate';
import type { PartyContext } from '../engine/context';
import { recvWords, sendWords } from '../engine/open';
import { blockPermutationWork, drawBlockPermutation, invertPermutation, permuteRows } from './permutation';

export type UnshuffleMode = 'none' | 'full' | 'public';

export interface ShuffleParams {
  /** Total rows; with `blocks` > 1 each block of n/blocks consecutive rows is permuted on its own. */
  readonly n: number;
  readonly blocks: number;
  readonly w: number;
  /** Which inverse the caller will need later, and its width w'. */
  readonly unshuffle: UnshuffleMode;
  readonly uw: number;
}

/** One party's material for one pass: the holder gets (π, Δ), the other party (R, Z). */
export interface PassMaterial {
  readonly holder: PartyId;
  readonly perm?: Uint32Array;
  readonly delta?: BigUint64Array;
  readonly r?: BigUint64Array;
  readonly z?: BigUint64Array;
}

export interface ShuffleMaterial {
  readonly forward: [PassMaterial, PassMaterial];
  readonly inverse: PassMaterial[];
  /** π1⁻¹ on P1 (for unshufflePublic's local step). */
  readonly pi1Inv?: Uint32Array;
}

function validateShuffle(p: unknown): ShuffleParams {
  const q = p as ShuffleParams;
  if (typeof q !== 'object' || q === null) throw new TypeError('shuffle params: expected an object');
  validateCount(q.n);
  validateCount(q.w);
  validateCount(q.uw);
  validateCount(q.n * Math.max(q.w, q.uw));
  validateCount(q.blocks);
  if (q.blocks < 1 || q.n % q.blocks !== 0) throw new RangeError('shuffle params: blocks must divide n');
  if (q.unshuffle !== 'none' && q.unshuffle !== 'full' && q.unshuffle !== 'public') {
    throw new TypeError('shuffle params: unshuffle must be none, full or public');
  }
  return { n: q.n, blocks: q.blocks, w: q.w, unshuffle: q.unshuffle, uw: q.uw };
}

/** Dealer side of one pass: R, Z from the other party's stream, Δ = Permute_π(R) + Z to the holder. */
function dealPass(g: DealGen, holder: PartyId, perm: Uint32Array | undefined, n: number, w: number): PassMaterial {
  const other: PartyId = holder === 0 ? 1 : 0;
  const r = g.own(other, n * w);
  const z = g.own(other, n * w);
  const bytes = g.send(holder, 8 * n * w, () => {
    const d = permuteRows(r as BigUint64Array, perm as Uint32Array, w);
    const zz = z as BigUint64Array;
    for (let i = 0; i < d.length; i++) d[i] = BigInt.asUintN(64, d[i] + zz[i]);
    return new Uint8Array(d.buffer);
  });
  if (g.mode === holder) {
    const b = bytes as Uint8Array;
    return { holder, perm, delta: new BigUint64Array(b.buffer, b.byteOffset, n * w) };
  }
  return { holder, r, z };
}

/** Δ of each forward pass to its holder (8nw B each); the declared inverse's Δs likewise at width uw. */
function shuffleBytes({ n, w, unshuffle, uw }: Pick<ShuffleParams, 'n' | 'w' | 'unshuffle' | 'uw'>): DealerBytes {
  const inv = unshuffle === 'full' ? [8 * n * uw, 8 * n * uw] : unshuffle === 'public' ? [8 * n * uw, 0] : [0, 0];
  return [8 * n * w + inv[0], 8 * n * w + inv[1]];
}

/** One pass's work: R and Z drawn (2nw), Permute_π(R) (nw), Δ = Permute_π(R) + Z sent (nw). */
const passWork = (n: number, w: number): DealerWork => drawWork(2 * n * w) + n * w + sendWork(8 * n * w);

/**
 * Work: π0 and π1 drawn (blockPermutationWork each) and inverted (n each), whatever the width: rows of
 * width 0 send nothing but still cost the permutations; then each forward pass at width w and each
 * pass of the declared inverse at width uw.
 */
function shuffleWork({ n, blocks, w, unshuffle, uw }: ShuffleParams): DealerWork {
  const inverse = unshuffle === 'full' ? 2 : unshuffle === 'public' ? 1 : 0;
  return 2 * (blockPermutationWork(n, blocks) + n) + 2 * passWork(n, w) + inverse * passWork(n, uw);
}

export const shuffleCorrelation = defineCorrelation('shuffle', validateShuffle, shuffleBytes, shuffleWork, (g, p: ShuffleParams): ShuffleMaterial => {
  const pi0 = drawBlockPermutation(g, 0, p.n, p.blocks);
  const pi1 = drawBlockPermutation(g, 1, p.n, p.blocks);
  const forward: [PassMaterial, PassMaterial] = [dealPass(g, 0, pi0, p.n, p.w), dealPass(g, 1, pi1, p.n, p.w)];
  const pi0Inv = pi0 && invertPermutation(pi0);
  const pi1Inv = pi1 && invertPermutation(pi1);
  const inverse: PassMaterial[] = [];
  if (p.unshuffle === 'full') inverse.push(dealPass(g, 1, pi1Inv, p.n, p.uw), dealPass(g, 0, pi0Inv, p.n, p.uw));
  if (p.unshuffle === 'public') inverse.push(dealPass(g, 0, pi0Inv, p.n, p.uw));
  return { forward, inverse, pi1Inv: p.unshuffle === 'public' ? pi1Inv : undefined };
});

/** The state needed to undo one shuffle (single use). */
export class ShuffleHandle {
  private used = false;
  constructor(
    readonly n: number,
    readonly mode: UnshuffleMode,
    readonly width: number,
    /** @internal */ readonly material: ShuffleMaterial,
  ) {}

  /** @internal Marks the inverse material as consumed; throws on a second use or the wrong mode. */
  consume(mode: UnshuffleMode, shape: readonly number[]): ShuffleMaterial {
    if (this.mode !== mode) throw new TypeError(`shuffle handle was dealt for unshuffle "${this.mode}", not "${mode}"`);
    if (this.used) throw new TypeError('shuffle handle already used: inverse material is single-use');
    const w = shape.length === 1 ? 1 : shape[1];
    if (shape[0] !== this.n || w !== this.width || shape.length > 2) {
      throw new ShapeError(`unshuffle expected shape (${this.n}, ${this.width}), got (${shape.join(', ')})`);
    }
    this.used = true;
    return this.material;
  }
}

/**
 * One pass (holder H applies its permutation): returns this party's share of Permute_π(X).
 * `x` is this party's n×w share (row-major).
 */
export async function shufflePass(ctx: PartyContext, m: PassMaterial, x: BigUint64Array): Promise<BigUint64Array> {
  if (ctx.party !== m.holder) {
    // 1. O sends M = X_O + R; O's output share is Z
    const r = m.r as BigUint64Array;
    const msg = new BigUint64Array(x.length);
    for (let i = 0; i < x.length; i++) msg[i] = BigInt.asUintN(64, x[i] + r[i]);
    await sendWords(ctx, msg);
    return m.z as BigUint64Array;
  }
  // 2. H: Permute_π(X_H + M) − Δ
  const msg = await recvWords(ctx, x.length);
  const perm = m.perm as Uint32Array, delta = m.delta as BigUint64Array;
  const w = x.length / (perm.length || 1);
  const out = new BigUint64Array(x.length);
  for (let i = 0; i < perm.length; i++) {
    const src = perm[i] * w, dst = i * w;
    for (let c = 0; c < w; c++) out[dst + c] = BigInt.asUintN(64, x[src + c] + msg[src + c] - delta[dst + c]);
  }
  return out;
}

function rowsAndWidth(x: RingTensor, what: string): [number, number] {
  if (x.shape.length === 1) return [x.shape[0], 1];
  if (x.shape.length === 2) return [x.shape[0], x.shape[1]];
  throw new ShapeError(`${what}: expected shape (n) or (n, w), got (${x.shape.join(', ')})`);
}

export interface ShuffleOptions {
  /** Inverse to prepare now (it needs the same π0, π1): 'full' (shared matrix) or 'public'. */
  unshuffle?: UnshuffleMode;
  /** Width w' of the matrix that will be unshuffled (default: w). */
  unshuffleWidth?: number;
  /** Shuffle each of `blocks` equal groups of consecutive rows independently (default 1). */
  blocks?: number;
}

/**
 * Shares of Y with Y[i] = X[π0(π1(i))] for a uniform secret π, plus the handle to undo it.
 * With `blocks`, π maps each block of rows onto itself (independent uniform permutations per block).
 */
export async function obliviousShuffle(
  ctx: PartyContext,
  x: RingTensor,
  opts: ShuffleOptions = {},
): Promise<{ y: RingTensor; handle: ShuffleHandle }> {
  const [n, w] = rowsAndWidth(x, 'obliviousShuffle');
  const mode = opts.unshuffle ?? 'none';
  const uw = mode === 'none' ? 0 : opts.unshuffleWidth ?? w;
  return ctx.ledger.scope('obliviousShuffle', async () => {
    const blocks = opts.blocks ?? 1;
    if (!Number.isInteger(blocks) || blocks < 1 || n % blocks !== 0) {
      throw new ShapeError(`obliviousShuffle: ${blocks} blocks do not divide ${n} rows`);
    }
    const mat = await ctx.dealer.take(shuffleCorrelation, { n, blocks, w, unshuffle: mode, uw });
    const y0 = await shufflePass(ctx, mat.forward[0], x.data);
    const y1 = await shufflePass(ctx, mat.forward[1], y0);
    return { y: { shape: [...x.shape], data: y1 }, handle: new ShuffleHandle(n, mode, uw, mat) };
  });
}

/** Shares of X from shares of the shuffled Y (handle dealt with unshuffle: 'full'). 2 rounds. */
export async function unshuffle(ctx: PartyContext, handle: ShuffleHandle, y: RingTensor): Promise<RingTensor> {
  const mat = handle.consume('full', y.shape);
  return ctx.ledger.scope('unshuffle', async () => {
    const v = await shufflePass(ctx, mat.inverse[0], y.data);
    return { shape: [...y.shape], data: await shufflePass(ctx, mat.inverse[1], v) };
  });
}

/**
 * Shares of Permute_{π⁻¹}(U) for a PUBLIC n×w' matrix U (both parties pass the same U; P0 ignores it):
 * row π(i) of the result is row i of U. One message (P1 → P0), 8nw' B.
 */
export async function unshufflePublic(ctx: PartyContext, handle: ShuffleHandle, u: RingTensor): Promise<RingTensor> {
  const mat = handle.consume('public', u.shape);
  return ctx.ledger.scope('unshufflePublic', async () => {
    const w = handle.width;
    // P1 enters V = Permute_{π1⁻¹}(U) as its share, P0 enters 0.
    const mine = ctx.party === 1 ? permuteRows(u.data, mat.pi1Inv as Uint32Array, w) : new BigUint64Array(u.data.length);
    return { shape: [...u.shape], data: await shufflePass(ctx, mat.inverse[0], mine) };
  });
}

/** Per-party costs; offlineBytes = dealer bytes to both parties together. */
export function obliviousShuffleCost(n: number, w: number, unshuffleMode: UnshuffleMode = 'none', uw = w) {
  const perParty = shuffleBytes({ n, w, unshuffle: unshuffleMode, uw });
  return { rounds: 2, bytesSent: 8 * n * w, offlineBytes: totalDealerBytes(perParty), offlineBytesPerParty: [perParty[0], perParty[1]] as [number, number] };
}

export const unshuffleCost = (n: number, w: number) => ({ rounds: 2, bytesSent: 8 * n * w, offlineBytes: 0 });

/** bytesSent per party: P1 sends the message, P0 sends nothing; both count 1 round. */
export const unshufflePublicCost = (n: number, w: number) => ({
  rounds: 1,
  bytesSentPerParty: [0, 8 * n * w] as [number, number],
  offlineBytes: 0,
});

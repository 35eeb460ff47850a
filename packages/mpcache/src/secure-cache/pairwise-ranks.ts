/**
 * pairwiseRanks — exact ranks among each unit's M distinct secret keys by comparing every pair once:
 * rank(u, x, m) is a share of #{y < m, y ≠ x : K_y > K_x}, for any prefix m ≤ M, so one batch of
 * comparisons serves every row that ranks a prefix of the keys (Attention-Gate's running top-k over a
 * masked prompt or a chat turn). keptBits then turns ranks into kept bits [rank < keep].
 *
 * Rounds:    1 (pairwiseRanks) + 1 (keptBits)
 * Comparisons: U·M(M − 1)/2 at 64 bits; one 32-bit comparison per rank given to keptBits
 *            (dcfLessThanZeroCost of each batch — exact)
 * Accuracy:  exact (distinct keys: ties broken by a slot index in the low bits)
 * Opens:     masked DCF inputs only
 */
import { dcfLessThanZero, type PartyContext } from '@mpcache/protocols';

const { asUintN } = BigInt;

/** Compare all pairs of U units' M keys (`key(u, x)` shares): the rank function. */
export async function pairwiseRanks(ctx: PartyContext, U: number, M: number, key: (u: number, x: number) => bigint): Promise<(u: number, x: number, m: number) => bigint> {
  // c_xy = [K_x > K_y] = [K_y − K_x < 0] for x < y
  const pairs = (M * (M - 1)) / 2, at = (x: number, y: number) => (x * (2 * M - x - 1)) / 2 + (y - x - 1), diff = new BigUint64Array(U * pairs);
  for (let u = 0; u < U; u++) for (let x = 0; x < M; x++) for (let y = x + 1; y < M; y++) diff[u * pairs + at(x, y)] = asUintN(64, key(u, y) - key(u, x));
  const c = pairs > 0 ? (await dcfLessThanZero(ctx, { shape: [diff.length], data: diff })).data : diff, one = ctx.party === 0 ? 1n : 0n;
  return (u, x, m) => {
    let cnt = 0n;
    for (let y = 0; y < m; y++) if (y !== x) cnt += y < x ? c[u * pairs + at(y, x)] : one - c[u * pairs + at(x, y)];
    return cnt;
  };
}

/** Kept bits [rank − keep < 0] (32-bit comparisons, one round; ranks < 2^31). */
export async function keptBits(ctx: PartyContext, ranks: readonly bigint[], keep: number | ((i: number) => number)): Promise<BigUint64Array> {
  if (ranks.length === 0) return new BigUint64Array(0);
  const p0 = ctx.party === 0, k = typeof keep === 'number' ? () => keep : keep;
  const counts = BigUint64Array.from(ranks, (r, i) => asUintN(64, r - (p0 ? BigInt(k(i)) : 0n)));
  return (await dcfLessThanZero(ctx, { shape: [counts.length], data: counts }, 32)).data;
}

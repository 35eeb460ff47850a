/** Helpers for the secure KV-cache policy tests: shared caches, fake attention views, openings. */
import { decode, encode, share, type RingTensor } from '@mpcache/mpc-core';
import { localParties, runBoth, type LocalParties, type PartyContext } from '@mpcache/protocols';
import { SecureLayerCache, type SecureAttentionView } from '@mpcache/mpcache';
import { gridReals, seed16, testPrg } from './secure-helpers';

export const F = 12;

export function parties(label: string, fracBits = F): LocalParties {
  return localParties({ fracBits, seeds: { dealerP0: seed16(`${label}/d0`), dealerP1: seed16(`${label}/d1`), common: seed16(`${label}/c`) } });
}

/** Shares of reals (already on the grid) as a tensor of the given shape. */
export function shareGrid(xs: ArrayLike<number>, shape: number[], label: string): [RingTensor, RingTensor] {
  return share({ shape, data: encode(xs, F) }, testPrg(label));
}

export function open(a: RingTensor, b: RingTensor): BigUint64Array {
  const out = new BigUint64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = BigInt.asUintN(64, a.data[i] + b.data[i]);
  return out;
}

export const openReal = (a: RingTensor, b: RingTensor, f = F): Float64Array => decode(open(a, b), f);
export const openInts = (a: RingTensor, b: RingTensor): number[] => Array.from(open(a, b), (v) => Number(BigInt.asIntN(64, v)));

/**
 * Both parties' caches holding `n` rows: keys/values (n, lanes·d) row-major reals on the grid
 * (the plaintext `keyCache` layout), stored lane-major on shares.
 */
export async function sharedCache(p: LocalParties, keys: Float64Array, values: Float64Array, lanes: number, d: number, label: string) {
  const n = keys.length / (lanes * d);
  const laneMajor = (x: Float64Array) => {
    const out = new Float64Array(x.length);
    for (let j = 0; j < n; j++) for (let h = 0; h < lanes; h++) for (let i = 0; i < d; i++) out[(h * n + j) * d + i] = x[j * lanes * d + h * d + i];
    return out;
  };
  const ks = shareGrid(laneMajor(keys), [lanes, n, d], `${label}/k`), vs = shareGrid(laneMajor(values), [lanes, n, d], `${label}/v`);
  return runBoth(p, async (ctx) => {
    const c = await SecureLayerCache.create(ctx, lanes, d);
    if (n > 0) await c.appendRows(ctx, ks[ctx.party], vs[ctx.party]);
    return c;
  });
}

export function view(layer: number, startPos: number, nQueries: number, q: RingTensor, cache: SecureLayerCache, headDim: number, groups = 1): SecureAttentionView {
  return { layer, startPos, nQueries, groups, headDim, q, cache };
}

/** Random grid reals; `levels` > 0 draws from few values (many ties). */
export function data(label: string, n: number, lo: number, hi: number, levels = 0): Float64Array {
  const x = gridReals(testPrg(label), n, lo, hi, F);
  const step = Math.round(((hi - lo) / Math.max(levels, 1)) * 2 ** F) / 2 ** F; // a grid multiple: sums stay exact
  if (levels > 0) for (let i = 0; i < n; i++) x[i] = lo + Math.min(levels - 1, Math.floor(((x[i] - lo) / (hi - lo)) * levels)) * step;
  return x;
}

export type Ctx = PartyContext;

/**
 * Helpers for the linear-algebra and truncation tests: an independent BigInt matmul reference,
 * a byte-frequency chi-square for "one share is uniform", fixed dealer seeds, and a peer that closes
 * mid-protocol.
 */
import { ChannelClosedError, type RingTensor } from '@mpcache/mpc-core';
import { localParties, type LocalParties, type PartyContext } from '@mpcache/protocols';
import { createHash } from 'node:crypto';
import { TEST_SEED } from './helpers';

/** Reference (B… × m × k)·(B… × k × n) or ·(k × n), plain BigInt loops (slow: small shapes only). */
export function refMatmul(x: RingTensor, y: RingTensor, transposeY = false): bigint[] {
  const yr = y.shape.length;
  const [yRows, yCols] = [y.shape[yr - 2], y.shape[yr - 1]];
  const [k, n] = transposeY ? [yCols, yRows] : [yRows, yCols];
  const m = x.shape[x.shape.length - 2];
  const batches = x.shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const yBatched = yr > 2;
  const out: bigint[] = [];
  for (let t = 0; t < batches; t++) {
    const yo = yBatched ? t * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0n;
        for (let p = 0; p < k; p++) {
          const yv = transposeY ? y.data[yo + j * k + p] : y.data[yo + p * n + j];
          s += x.data[t * m * k + i * k + p] * yv;
        }
        out.push(BigInt.asUintN(64, s));
      }
    }
  }
  return out;
}

/** Chi-square statistic of the byte histogram of `words` against uniform (255 degrees of freedom). */
export function byteChiSquare(words: BigUint64Array): number {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const hist = new Float64Array(256);
  for (const b of bytes) hist[b]++;
  const e = bytes.length / 256;
  let chi = 0;
  for (const h of hist) chi += ((h - e) * (h - e)) / e;
  return chi;
}
/** P(χ²₂₅₅ > 400) ≈ 2·10⁻⁸: a uniform share essentially never fails, a biased one always does. */
export const CHI2_255_LIMIT = 400;

/** Deterministic seeds for localParties, derived from TEST_SEED and a label. */
export function fixedSeeds(label: string) {
  const h = (s: string) => createHash('sha256').update(`${TEST_SEED}/${label}/${s}`).digest().subarray(0, 16);
  return { dealerP0: h('d0'), dealerP1: h('d1'), common: h('c') };
}

/**
 * Run `body` on P0 while P1 closes its channel after `afterMs`; resolves to P0's error (or undefined
 * if P0 finished). Fails the test by timeout if P0 hangs.
 */
export async function p0ErrorWhenPeerCloses(
  body: (ctx: PartyContext) => Promise<unknown>,
  setup?: (parties: LocalParties) => Promise<void>,
): Promise<unknown> {
  const parties = localParties();
  if (setup) await setup(parties);
  const run = body(parties.ctx[0]).then(() => undefined, (e: unknown) => e);
  setTimeout(() => parties.ctx[1].channel.close('test: peer gone'), 5);
  return run;
}

export { ChannelClosedError };

/**
 * Local linear maps on shares with public constants: RoPE at public positions, the 1/√headDim score
 * scale, head splitting. No communication: a public constant c multiplies each share (c·x0 + c·x1 =
 * c·x), and the caller truncates once afterwards.
 *
 * rotateQkv works on the UNTRUNCATED output of the fused qkv matmul (scale 2f) and brings all of it
 * to scale 3f, so that one truncation by 2f finishes the matmul, RoPE and the score scale together:
 *   q pair (a, b) at position p → (a·C − b·S, a·S + b·C), C = ⟦cos·s⟧, S = ⟦sin·s⟧, s = 1/√headDim
 *   k pair                      → the same with C = ⟦cos⟧, S = ⟦sin⟧
 *   v                           → v·2^f
 * (⟦·⟧ = encoded at f bits; gpt2: no rotation, q·⟦s⟧, k·2^f, v·2^f). Pairs are run.c's adjacent
 * (i, i+1) of each head, angles p·θ^(−i/headDim) (blocks.ts ropeTable). Precondition of the single
 * truncation: |value| < 2^(62 − 3f) in real terms (2^26 at f = 12, 2^14 at f = 16).
 */
import { encodeScalar, type RingTensor } from '@mpcache/mpc-core';
import { ropeTable } from '../model/blocks';
import { kvDim, type ModelConfig } from '../model/config';

// A local alias: BigInt.asUintN through the global is ≈ 250 ns/elem under jest's vm (protocols engine/words.ts).
const { asUintN } = BigInt;

/**
 * log2 of the real range that q (with its 1/√headDim), k and v must stay inside, |x| < 2^(62 − 3f):
 * the single truncation's precondition above. Consumers that compare cached keys or queries
 * (cluster-bounds.ts) size their comparisons from it; change both if the folding changes.
 */
export const qkvRangeLog2 = (fracBits: number): number => 62 - 3 * fracBits;

/** qkv (n, dModel + 2·kvDim) at scale 2f, rows at positions startPos.. → the same at scale 3f, rotated. */
export function rotateQkv(qkv: RingTensor, c: ModelConfig, fracBits: number, startPos: number): RingTensor {
  const n = qkv.shape[0], D = c.dModel, kvD = kvDim(c), W = D + 2 * kvD, hs = c.headDim, half = hs / 2;
  const x = qkv.data, out = new BigUint64Array(x.length);
  const s = 1 / Math.sqrt(hs), one = 1n << BigInt(fracBits), qScale = encodeScalar(s, fracBits);
  const cos = new Float64Array(half), sin = new Float64Array(half);
  const cq = new BigUint64Array(half), sq = new BigUint64Array(half), ck = new BigUint64Array(half), sk = new BigUint64Array(half);
  const llama = c.family === 'llama';
  for (let t = 0; t < n; t++) {
    const r = t * W;
    if (llama) {
      ropeTable(startPos + t, hs, c.ropeTheta, cos, sin);
      for (let i = 0; i < half; i++) {
        cq[i] = encodeScalar(cos[i] * s, fracBits); sq[i] = encodeScalar(sin[i] * s, fracBits);
        ck[i] = encodeScalar(cos[i], fracBits); sk[i] = encodeScalar(sin[i], fracBits);
      }
      rotatePairs(x, out, r, D, hs, cq, sq);
      rotatePairs(x, out, r + D, kvD, hs, ck, sk);
    } else {
      for (let i = 0; i < D; i++) out[r + i] = asUintN(64, x[r + i] * qScale);
      for (let i = D; i < D + kvD; i++) out[r + i] = asUintN(64, x[r + i] * one);
    }
    for (let i = D + kvD; i < W; i++) out[r + i] = asUintN(64, x[r + i] * one);
  }
  return { shape: [n, W], data: out };
}

/** out[off + i, i+1] = rotation of x's pairs by the (C, S) of pair (i mod headDim)/2. */
function rotatePairs(x: BigUint64Array, out: BigUint64Array, off: number, size: number, hs: number, C: BigUint64Array, S: BigUint64Array): void {
  for (let i = 0; i < size; i += 2) {
    const f = (i % hs) >> 1, a = x[off + i], b = x[off + i + 1];
    out[off + i] = asUintN(64, a * C[f] - b * S[f]);
    out[off + i + 1] = asUintN(64, a * S[f] + b * C[f]);
  }
}

/**
 * Columns [colOff, colOff + lanes·groups·hs) of x (n, width) as (lanes, groups·n, hs): head
 * h = lane·groups + g goes to lane `lane`, rows g·n .. g·n + n − 1 (one lane per KV head, the query
 * heads that share it stacked).
 */
export function splitHeads(x: RingTensor, colOff: number, lanes: number, groups: number, hs: number): RingTensor {
  const [n, width] = x.shape, d = x.data, out = new BigUint64Array(lanes * groups * n * hs);
  for (let lane = 0; lane < lanes; lane++) {
    for (let g = 0; g < groups; g++) {
      const col = colOff + (lane * groups + g) * hs;
      for (let t = 0; t < n; t++) {
        const dst = ((lane * groups + g) * n + t) * hs;
        out.set(d.subarray(t * width + col, t * width + col + hs), dst);
      }
    }
  }
  return { shape: [lanes, groups * n, hs], data: out };
}

/** The inverse of splitHeads with colOff 0: (lanes, groups·n, hs) → (n, lanes·groups·hs). */
export function mergeHeads(y: RingTensor, n: number): RingTensor {
  const [lanes, rows, hs] = y.shape, groups = rows / n, width = lanes * groups * hs, d = y.data;
  const out = new BigUint64Array(n * width);
  for (let h = 0; h < lanes * groups; h++) {
    for (let t = 0; t < n; t++) out.set(d.subarray((h * n + t) * hs, (h * n + t + 1) * hs), t * width + h * hs);
  }
  return { shape: [n, width], data: out };
}

/** Columns [from, to) of a (n, width) tensor (copy). */
export function sliceCols(x: RingTensor, from: number, to: number): RingTensor {
  const [n, width] = x.shape, w = to - from, out = new BigUint64Array(n * w);
  for (let t = 0; t < n; t++) out.set(x.data.subarray(t * width + from, t * width + to), t * w);
  return { shape: [n, w], data: out };
}

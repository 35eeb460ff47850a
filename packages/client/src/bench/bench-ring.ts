/**
 * `mpcache bench ring`: the speed of the ring matrix product, the hot spot of secure inference.
 *
 * Times one 128×768 · 768×768 product (a prefill-sized activation against a dModel×dModel weight)
 * two ways in the same run, after one untimed warm-up each:
 *   - wasm:      `matmulWords` mod 2^64 on the WebAssembly i64 kernel, copies in and out included;
 *   - jsFloat64: a plain Float64Array i-p-j triple loop on the same shape (what a float model in
 *                plain JS costs, the natural yardstick for "is the ring kernel fast enough").
 * Reports the median of `reps` timings (default 3) as multiply-adds per second.
 * Each product is 75.5 M multiply-adds: about 30–40 ms for the wasm kernel on one core.
 */
import { randomBytes } from 'node:crypto';
import { matmulWords } from '@mpcache/mpc-core';
import { median } from './median';

export interface BenchRingOptions {
  /** Timed repetitions of each kernel (median reported); default 3. */
  reps?: number;
}

export interface BenchRingResult {
  /** "m×k·k×n". */
  shape: string;
  /** Multiply-adds per second of the wasm ring kernel (median rep). */
  wasmMaddPerSec: number;
  /** Multiply-adds per second of the Float64Array JS loop (median rep). */
  jsFloat64MaddPerSec: number;
  ms: {
    /** Median milliseconds per product. */
    wasm: number;
    jsFloat64: number;
    /** Every timed rep, in run order. */
    wasmReps: number[];
    jsFloat64Reps: number[];
  };
}

const M = 128, K = 768, N = 768;

/** out[m×n] = a[m×k] · b[k×n] in float64, i-p-j order (rows of b and out are walked contiguously). */
function matmulFloat64(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const oo = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p], bo = p * n;
      for (let j = 0; j < n; j++) out[oo + j] += av * b[bo + j];
    }
  }
  return out;
}

function randomWords(len: number): BigUint64Array {
  const out = new BigUint64Array(len);
  new Uint8Array(out.buffer).set(randomBytes(len * 8));
  return out;
}

/** Milliseconds of `run()`, each timed rep after one warm-up, yielding to the event loop between reps. */
async function timeReps(run: () => unknown, reps: number): Promise<number[]> {
  run();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    await new Promise((res) => setImmediate(res));
    const t0 = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

export async function benchRing(opts: BenchRingOptions = {}): Promise<BenchRingResult> {
  const reps = opts.reps ?? 3;
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`benchRing: reps must be a positive integer, got ${reps}`);
  const madds = M * K * N;

  const aw = randomWords(M * K), bw = randomWords(K * N);
  const wasmReps = await timeReps(() => matmulWords(aw, bw, M, K, N), reps);

  const af = Float64Array.from({ length: M * K }, () => Math.random() - 0.5);
  const bf = Float64Array.from({ length: K * N }, () => Math.random() - 0.5);
  const jsFloat64Reps = await timeReps(() => matmulFloat64(af, bf, M, K, N), reps);

  const wasm = median(wasmReps), jsFloat64 = median(jsFloat64Reps);
  return {
    shape: `${M}×${K}·${K}×${N}`,
    wasmMaddPerSec: madds / (wasm / 1e3),
    jsFloat64MaddPerSec: madds / (jsFloat64 / 1e3),
    ms: { wasm, jsFloat64, wasmReps, jsFloat64Reps },
  };
}

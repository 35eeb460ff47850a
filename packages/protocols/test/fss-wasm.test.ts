/**
 * The wasm FSS kernels at their seams: chunk boundaries of key generation and evaluation (several
 * chunks, a partial last one, payload widths m = 1..4 and every DCF variant, DPF leaf widths up to
 * 2^16), key material of single keys equal to the same keys generated in a batch, and a full-domain
 * sink that runs other FSS kernels on the shared module memory in between chunks.
 */
import { randomBytes } from 'node:crypto';
import { clearSeedBits, FssPrg } from '../src/fss/fss-prg';
import { dcfGen, dcfKeyBytes, type DcfKeys, type DcfVariant } from '../src/fss/dcf-keygen';
import { dcfEval, EVAL_CHUNK_KEYS } from '../src/fss/dcf-eval';
import { dpfGen, type DpfKeys } from '../src/fss/dpf-keygen';
import { dpfEvalFull, dpfEvalFullRotated, dpfEvalPoint } from '../src/fss/dpf-eval';
import { fssKernels } from '../src/fss/fss-wasm';
import { refDcfEval, refDcfGen } from './reference/dcf-reference';
import { testPrg, TEST_SEED } from './helpers';

const prg = new FssPrg();
const M64 = (1n << 64n) - 1n;
const { asUintN } = BigInt;
const mask = (n: number) => (n === 64 ? M64 : (1n << BigInt(n)) - 1n);
const cmp = (v: DcfVariant, x: bigint, a: bigint) => (v === 'lt' ? x < a : v === 'gt' ? x > a : x <= a);

/** Key i of a DCF batch in the wire layout of a batch of one. */
function dcfKeyOf(cws: Uint8Array, N: number, n: number, m: number, i: number): Uint8Array {
  const out = new Uint8Array(dcfKeyBytes(n, m)), lb = N * (16 + 8 * m), kb = 16 + 8 * m;
  for (let l = 0; l < n; l++) {
    out.set(cws.subarray(l * lb + 16 * i, l * lb + 16 * i + 16), l * kb);
    out.set(cws.subarray(l * lb + 16 * N + 8 * m * i, l * lb + 16 * N + 8 * m * (i + 1)), l * kb + 16);
  }
  out.set(cws.subarray(n * lb + 8 * m * i, n * lb + 8 * m * (i + 1)), n * kb);
  return out;
}

function dpfPair(n: number, nu: number, alpha: BigUint64Array, beta: BigUint64Array): [DpfKeys, DpfKeys] {
  const count = alpha.length;
  const r0 = clearSeedBits(randomBytes(16 * count)), r1 = clearSeedBits(randomBytes(16 * count));
  const bytes = dpfGen(prg, n, nu, alpha, beta, r0, r1), cwLen = 16 * (n - nu) * count;
  const common = { n, nu, count, cw: bytes.subarray(0, cwLen), lcw: new BigUint64Array(bytes.buffer, bytes.byteOffset + cwLen, count * 2 ** nu) };
  return [{ ...common, party: 0, roots: r0 }, { ...common, party: 1, roots: r1 }];
}

describe(`wasm FSS kernels across chunks (SEED=${TEST_SEED})`, () => {
  const cases: [number, number, DcfVariant][] = [[1, 20, 'le'], [2, 9, 'lt'], [3, 20, 'gt'], [4, 7, 'lt']];
  for (const [m, n, variant] of cases) {
    test(`DCF m = ${m}, n = ${n}, '${variant}': several gen and eval chunks; single keys match the batch`, () => {
      const N = m === 1 ? 4099 : EVAL_CHUNK_KEYS + 3; // > 2 gen chunks of 2048; > 1 eval chunk for m ≥ 2
      const r = testPrg(`wasm/dcf/${m}`);
      const a = [...r.words(N)].map((v) => v & mask(n)), beta = r.words(N * m);
      const x = [...r.words(N)].map((v, i) => (i % 3 === 0 ? a[i] : v & mask(n))); // every third x = α
      const r0 = clearSeedBits(r.bytes(16 * N)), r1 = clearSeedBits(r.bytes(16 * N));
      const cws = dcfGen(prg, n, m, BigUint64Array.from(a), beta, r0, r1, variant);
      const k0: DcfKeys = { n, m, count: N, roots: r0, cws }, k1: DcfKeys = { n, m, count: N, roots: r1, cws };
      const y0 = dcfEval(prg, 0, k0, BigUint64Array.from(x)), y1 = dcfEval(prg, 1, k1, BigUint64Array.from(x));
      let bad = 0;
      for (let i = 0; i < N; i++) {
        const on = cmp(variant, x[i], a[i]);
        for (let k = 0; k < m; k++) if (asUintN(64, y0[i * m + k] + y1[i * m + k]) !== (on ? beta[i * m + k] : 0n)) bad++;
      }
      expect(bad).toBe(0);
      for (const i of [0, 2047, 2048, 4095, 4096, N - 1]) {
        const one = dcfGen(prg, n, m, BigUint64Array.of(a[i]), beta.slice(i * m, i * m + m), r0.slice(16 * i, 16 * i + 16), r1.slice(16 * i, 16 * i + 16), variant);
        expect(Buffer.from(dcfKeyOf(cws, N, n, m, i)).equals(Buffer.from(one))).toBe(true);
      }
      const i = N - 1, ref = refDcfGen(n, a[i], [...beta.slice(i * m, i * m + m)], r0.slice(16 * i), r1.slice(16 * i), variant);
      expect(refDcfEval(0, r0.slice(16 * i, 16 * i + 16), ref, n, x[i])).toEqual([...y0.slice(i * m, i * m + m)]);
    });
  }

  test('DPF point eval over several chunks (n = 20, ν = 1): β at α, 0 next to it', () => {
    const N = 8192 + 5, n = 20, r = testPrg('wasm/dpf-point');
    const a = r.words(N).map((v) => v & mask(n)), b = r.words(N);
    const [k0, k1] = dpfPair(n, 1, a, b);
    for (const flip of [0n, 1n, 1n << 19n]) {
      const x = a.map((v) => v ^ flip);
      const s0 = dpfEvalPoint(k0, x, prg), s1 = dpfEvalPoint(k1, x, prg);
      let bad = 0;
      for (let i = 0; i < N; i++) if (asUintN(64, s0[i] + s1[i]) !== (flip === 0n ? b[i] : 0n)) bad++;
      expect(bad).toBe(0);
    }
  });

  test.each([[10, 6, 1100], [16, 16, 3], [8, 3, 4100]])('DPF n = %i, ν = %i, %i keys: full domain is the point function', (n, nu, N) => {
    const r = testPrg(`wasm/dpf-full/${n}/${nu}`);
    const a = r.words(N).map((v) => v & mask(n)), b = r.words(N);
    const [k0, k1] = dpfPair(n, nu, a, b);
    const f0 = dpfEvalFull(k0, prg), f1 = dpfEvalFull(k1, prg), D = 2 ** n;
    let bad = 0;
    for (let i = 0; i < N; i++) {
      for (let y = 0; y < D; y++) if (asUintN(64, f0[i * D + y] + f1[i * D + y]) !== (BigInt(y) === a[i] ? b[i] : 0n)) bad++;
    }
    expect(bad).toBe(0);
    const pts = BigUint64Array.from({ length: N }, (_, i) => (a[i] + BigInt(i)) & mask(n));
    const p0 = dpfEvalPoint(k0, pts, prg);
    for (let i = 0; i < N; i += 97) expect(p0[i]).toBe(f0[i * D + Number(pts[i])]);
  });

  test('a full-domain sink may run other FSS kernels between chunks', () => {
    const n = 14, nu = 3, N = 9, r = testPrg('wasm/reentrant'); // 2^11 leaves per key ⇒ 8 keys per chunk ⇒ 2 chunks
    const [k0] = dpfPair(n, nu, r.words(N).map((v) => v & mask(n)), r.words(N));
    const shift = r.words(N), width = 3000;
    const plain = dpfEvalFullRotated(k0, shift, width, prg);
    const dcf = dcfGen(prg, 30, 2, r.words(50), r.words(100), clearSeedBits(r.bytes(800)), clearSeedBits(r.bytes(800)));
    const dk: DcfKeys = { n: 30, m: 2, count: 50, roots: clearSeedBits(r.bytes(800)), cws: dcf };
    const xs = r.words(50), dcfPlain = dcfEval(prg, 0, dk, xs);
    const viaSink = new BigUint64Array(N * width);
    let calls = 0;
    // a nested full domain of 2^21 slots (more than any other case here needs) grows the memory while the outer evaluation is between chunks
    const big = dpfPair(21, 3, r.words(1).map((v) => v & mask(21)), r.words(1))[0];
    const before = fssKernels().memory.buffer.byteLength;
    dpfEvalFullRotated({ ...k0 }, shift, width, prg, (k, cnt, block) => {
      calls++;
      viaSink.set(block.subarray(0, cnt * width), k * width);
      expect(dcfEval(prg, 0, dk, xs)).toEqual(dcfPlain);
      if (calls === 1) dpfEvalFull(big, prg);
    });
    expect(fssKernels().memory.buffer.byteLength).toBeGreaterThan(before);
    expect(calls).toBe(2);
    expect(viaSink).toEqual(plain);
  });
});

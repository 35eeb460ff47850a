import { createHash, randomBytes } from 'node:crypto';
import { clearSeedBits, dpfEvalFull, dpfEvalFullRotated, dpfEvalPoint, dpfGen, dpfKeyBytes, type DpfKeys } from '@mpcache/protocols';
import { refDpfEval, refDpfGen } from './reference/dpf-reference';
import { testPrg, TEST_SEED } from './helpers';
import { FssPrg } from '../src/fss/fss-prg';

const prg = new FssPrg();
const M64 = (1n << 64n) - 1n;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u64le = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
};
const sum = (a: bigint, b: bigint) => (a + b) & M64;

function makeKeys(n: number, nu: number, alphas: bigint[], betas: bigint[], roots?: [Uint8Array, Uint8Array]): [DpfKeys, DpfKeys] {
  const count = alphas.length;
  const [r0, r1] = roots ?? [clearSeedBits(randomBytes(16 * count)), clearSeedBits(randomBytes(16 * count))];
  const bytes = dpfGen(prg, n, nu, BigUint64Array.from(alphas), BigUint64Array.from(betas), r0, r1);
  expect(bytes.length).toBe(count * dpfKeyBytes(n, nu));
  const cwLen = 16 * (n - nu) * count;
  const common = { n, nu, count, cw: bytes.subarray(0, cwLen), lcw: new BigUint64Array(bytes.buffer, cwLen, count * 2 ** nu) };
  return [{ ...common, party: 0, roots: r0 }, { ...common, party: 1, roots: r1 }];
}

/** Key i of a batch repeated cnt times (to evaluate one key at cnt points in one batch). */
function repKey(k: DpfKeys, i: number, cnt: number): DpfKeys {
  const d = k.n - k.nu, m = 2 ** k.nu;
  const roots = new Uint8Array(16 * cnt), cw = new Uint8Array(16 * d * cnt), lcw = new BigUint64Array(m * cnt);
  for (let c = 0; c < cnt; c++) {
    roots.set(k.roots.subarray(16 * i, 16 * i + 16), 16 * c);
    for (let l = 0; l < d; l++) cw.set(k.cw.subarray(16 * (l * k.count + i), 16 * (l * k.count + i) + 16), 16 * (l * cnt + c));
    lcw.set(k.lcw.subarray(m * i, m * i + m), m * c);
  }
  return { ...k, count: cnt, roots, cw, lcw };
}

/** Eval_0 + Eval_1 of key i at every point of xs. */
function evalAt(keys: [DpfKeys, DpfKeys], i: number, xs: bigint[]): bigint[] {
  const x = BigUint64Array.from(xs);
  const a = dpfEvalPoint(repKey(keys[0], i, xs.length), x, prg), b = dpfEvalPoint(repKey(keys[1], i, xs.length), x, prg);
  return xs.map((_, j) => sum(a[j], b[j]));
}

describe('DPF known answers (fss.md §7)', () => {
  const root0 = new Uint8Array(16), root1 = new Uint8Array(16).fill(0x11);
  root1[0] = 0x10;
  const keys = makeKeys(4, 1, [6n], [1n], [root0, root1]);

  it('CW_1 and LCW', () => {
    expect(hex(keys[0].cw.subarray(0, 16))).toBe('c74431839055e75e424b2ff59e618c30');
    expect([...keys[0].lcw]).toEqual([0xcb4d5226c6e11fffn, 0x3fd1c7b56bb33799n]);
  });

  it('Eval values at α and SHA-256 of Eval_0(0..15), point and full domain', () => {
    const xs = Array.from({ length: 16 }, (_, i) => BigInt(i));
    const e0 = dpfEvalPoint(repKey(keys[0], 0, 16), BigUint64Array.from(xs), prg);
    const e1 = dpfEvalPoint(repKey(keys[1], 0, 16), BigUint64Array.from(xs), prg);
    expect(e0[6]).toBe(0x843a8ec90208a1d8n);
    expect(e1[6]).toBe(0x7bc57136fdf75e29n);
    const digest = createHash('sha256').update(Buffer.concat([...e0].map(u64le))).digest('hex');
    expect(digest).toBe('5afbffbdacafca52376e10f9d04f8d4adf73e2ad98e8ad0f8136c079d0887338');
    expect([...dpfEvalFull(keys[0], prg)]).toEqual([...e0]);
    for (let x = 0; x < 16; x++) expect(sum(e0[x], e1[x])).toBe(x === 6 ? 1n : 0n);
  });

  it('the slow reference gives the same vectors', () => {
    const r1 = Buffer.from(root1).readBigUInt64LE(0) | (Buffer.from(root1).readBigUInt64LE(8) << 64n);
    const [k0, k1] = refDpfGen(4, 1, 6n, 1n, 0n, r1);
    expect(k0.lcw).toEqual([0xcb4d5226c6e11fffn, 0x3fd1c7b56bb33799n]);
    expect(refDpfEval(0, k0, 4, 1, 6n)).toBe(0x843a8ec90208a1d8n);
    expect(refDpfEval(1, k1, 4, 1, 6n)).toBe(0x7bc57136fdf75e29n);
  });
});

describe(`DPF property grid (SEED=${TEST_SEED})`, () => {
  const rnd = testPrg('dpf-grid');
  const randBits = (n: number) => BigInt.asUintN(n, rnd.words(1)[0]);
  for (const n of [1, 2, 3, 5, 8, 16, 39, 63, 64]) {
    const top = (1n << BigInt(n)) - 1n;
    const alphas = [...new Set([0n, 1n & top, (1n << BigInt(n - 1)) - 1n, 1n << BigInt(n - 1), top, randBits(n)])];
    for (let nu = 1; nu <= Math.min(n, 4); nu++) {
      it(`n = ${n}, ν = ${nu}: Eval_0 + Eval_1 = β·[x = α]`, () => {
        const betas = [0n, 1n, 1n << 63n, M64];
        const as: bigint[] = [], bs: bigint[] = [];
        for (const a of alphas) for (const b of betas) (as.push(a), bs.push(b));
        const keys = makeKeys(n, nu, as, bs);
        for (let i = 0; i < as.length; i++) {
          const a = as[i];
          const xs =
            n <= 6
              ? Array.from({ length: 2 ** n }, (_, x) => BigInt(x))
              : [a, (a - 1n) & top, (a + 1n) & top, 0n, top, randBits(n), a ^ 1n, a ^ (1n << BigInt(n - 1))];
          expect(evalAt(keys, i, xs)).toEqual(xs.map((x) => (x === a ? bs[i] : 0n)));
        }
        if (n <= 10) {
          // full domain equals point evaluation, for every key of the batch
          const f0 = dpfEvalFull(keys[0], prg), f1 = dpfEvalFull(keys[1], prg);
          const N = 2 ** n, all = Array.from({ length: N }, (_, x) => BigInt(x));
          for (let i = 0; i < as.length; i++) {
            const got = all.map((x) => sum(f0[i * N + Number(x)], f1[i * N + Number(x)]));
            expect(got).toEqual(all.map((x) => (x === as[i] ? bs[i] : 0n)));
            const p0 = dpfEvalPoint(repKey(keys[0], i, N), BigUint64Array.from(all), prg);
            expect(p0).toEqual(f0.slice(i * N, (i + 1) * N)); // one party's shares agree slot by slot
          }
        }
      });
    }
  }

  it('matches the slow reference key by key (n = 8, ν = 3; n = 64, ν = 1)', () => {
    for (const [n, nu] of [[8, 3], [64, 1]]) {
      const a = randBits(n), b = rnd.words(1)[0];
      const [r0, r1] = [clearSeedBits(randomBytes(16)), clearSeedBits(randomBytes(16))];
      const keys = makeKeys(n, nu, [a], [b], [r0, r1]);
      const big = (r: Uint8Array) => Buffer.from(r).readBigUInt64LE(0) | (Buffer.from(r).readBigUInt64LE(8) << 64n);
      const [k0] = refDpfGen(n, nu, a, b, big(r0), big(r1));
      expect(k0.lcw).toEqual([...keys[0].lcw]);
      for (let l = 0; l < n - nu; l++) expect(big(keys[0].cw.subarray(16 * l, 16 * l + 16))).toBe(k0.cw[l]);
      for (const x of [a, a ^ 1n, 0n]) {
        expect(dpfEvalPoint(keys[0], BigUint64Array.of(x), prg)[0]).toBe(refDpfEval(0, k0, n, nu, x));
        expect(dpfEvalPoint(keys[1], BigUint64Array.of(x), prg)[0]).toBe(refDpfEval(1, { ...k0, root: big(r1) }, n, nu, x));
      }
    }
  });

  it('rotated full-domain output, with a width cut and chunked through a sink, equals the natural order', () => {
    const n = 16, nu = 3, count = 5; // 2^13 leaves per key ⇒ 2 keys per chunk ⇒ 3 chunks
    const keys = makeKeys(n, nu, Array.from({ length: count }, () => randBits(n)), Array(count).fill(1n));
    const N = 2 ** n, shift = BigUint64Array.from({ length: count }, () => rnd.words(1)[0]);
    for (const k of [keys[1]]) {
      const full = dpfEvalFull(k, prg);
      const width = 1000;
      const rot = dpfEvalFullRotated(k, shift, width, prg);
      const viaSink = new BigUint64Array(count * N);
      let chunks = 0;
      dpfEvalFullRotated(k, shift, N, prg, (k0, cnt, block) => (viaSink.set(block, k0 * N), chunks++));
      expect(chunks).toBe(3);
      for (let i = 0; i < count; i++) {
        const h = Number(shift[i] % BigInt(N));
        for (const u of [0, 1, 999, h, (h + 1) % N]) {
          const want = full[i * N + ((h - u + N) % N)];
          if (u < width) expect(rot[i * width + u]).toBe(want);
          expect(viaSink[i * N + u]).toBe(want);
        }
      }
    }
  });

  it('one key alone looks random: output shares and CW control bits are balanced', () => {
    const count = 2000;
    const keys = makeKeys(8, 1, Array(count).fill(77n), Array(count).fill(1n));
    const out = dpfEvalPoint(keys[0], new BigUint64Array(count).fill(77n), prg);
    let top = 0, tl = 0;
    for (let i = 0; i < count; i++) {
      top += Number(out[i] >> 63n);
      tl += keys[0].cw[16 * i] & 1;
    }
    expect(Math.abs(top - count / 2)).toBeLessThan(200);
    expect(Math.abs(tl - count / 2)).toBeLessThan(200);
  });
});

/**
 * The Z₂-output DCF (fss/dcf-bit.ts): both parties' bits XOR to [x < α] for every x at small widths
 * (all inputs), at the edges of wide ones, across chunk boundaries; a sliced batch evaluates as the
 * whole; the key has 16(n − ν) + 16 bytes (ν = min(7, n) bits in the leaf block); one party's bits alone
 * are balanced (they do not show the answer).
 */
import { FssPrg, clearSeedBits } from '../src/fss/fss-prg';
import { dcfBitEval, dcfBitGen, dcfBitKeyBytes, sliceDcfBitKeys, type DcfBitKeys } from '../src/fss/dcf-bit';
import { testPrg, TEST_SEED } from './helpers';

const prg = new FssPrg();
const word = (r: ReturnType<typeof testPrg>) => r.words(1)[0];
const mask = (n: number) => (n === 64 ? (1n << 64n) - 1n : (1n << BigInt(n)) - 1n);

function makeKeys(label: string, n: number, alpha: bigint[]): [DcfBitKeys, DcfBitKeys] {
  const N = alpha.length, r = testPrg(label);
  const roots0 = clearSeedBits(r.bytes(16 * N)), roots1 = clearSeedBits(r.bytes(16 * N));
  const cws = dcfBitGen(prg, n, BigUint64Array.from(alpha), roots0, roots1);
  expect(cws.length).toBe(N * dcfBitKeyBytes(n));
  return [{ n, count: N, roots: roots0, cws }, { n, count: N, roots: roots1, cws }];
}

const xorEval = (k: [DcfBitKeys, DcfBitKeys], x: bigint[]) => {
  const xs = BigUint64Array.from(x), y0 = dcfBitEval(prg, 0, k[0], xs), y1 = dcfBitEval(prg, 1, k[1], xs);
  return Array.from(y0, (v, i) => v ^ y1[i]);
};

describe(`DCF with Z₂ outputs (SEED=${TEST_SEED})`, () => {
  it.each([0, 1, 2, 3, 5, 7, 8, 9])('n = %i: every x against every α', (n) => {
    const size = 2 ** n, alpha: bigint[] = [], xs: bigint[] = [];
    for (let a = 0; a < size; a++) for (let x = 0; x < size; x++) (alpha.push(BigInt(a)), xs.push(BigInt(x)));
    const got = xorEval(makeKeys(`bit-all-${n}`, n, alpha), xs);
    expect(got).toEqual(xs.map((x, i) => (x < alpha[i] ? 1 : 0)));
  });

  it.each([16, 40, 61, 63, 64])('n = %i: edges and random pairs, inputs read mod 2^n', (n) => {
    const r = testPrg(`bit-wide-${n}`), m = mask(n), top = m, half = 1n << BigInt(n - 1);
    const pairs: [bigint, bigint][] = [[0n, 0n], [0n, 1n], [1n, 0n], [top, top], [top - 1n, top], [top, top - 1n], [half, half - 1n], [half - 1n, half], [0n, top], [top, 0n]];
    for (let i = 0; i < 300; i++) {
      const a = word(r) & m;
      pairs.push([a, word(r) & m], [a, (a + 1n) & m], [a, (a - 1n) & m], [a, a]);
    }
    const alpha = pairs.map((p) => p[0]), xs = pairs.map((p) => p[1] | (n < 64 ? (word(r) << BigInt(n)) & mask(64) : 0n)); // high bits ignored
    const got = xorEval(makeKeys(`bit-wide-keys-${n}`, n, alpha), xs);
    expect(got).toEqual(pairs.map(([a, x]) => (x < a ? 1 : 0)));
  });

  it('batches beyond one chunk (8192 keys per eval chunk, 2048 per gen chunk)', () => {
    const n = 20, N = 8192 + 2048 + 7, r = testPrg('bit-chunks'), alpha: bigint[] = [], xs: bigint[] = [];
    for (let i = 0; i < N; i++) (alpha.push(word(r) & mask(n)), xs.push(word(r) & mask(n)));
    expect(xorEval(makeKeys('bit-chunks-keys', n, alpha), xs)).toEqual(xs.map((x, i) => (x < alpha[i] ? 1 : 0)));
  });

  it('a slice of a batch evaluates as those keys of the whole', () => {
    const n = 12, r = testPrg('bit-slice'), alpha = Array.from({ length: 50 }, () => word(r) & mask(n)), xs = Array.from({ length: 50 }, () => word(r) & mask(n));
    const [k0, k1] = makeKeys('bit-slice-keys', n, alpha);
    const s0 = sliceDcfBitKeys(k0, 10, 35), s1 = sliceDcfBitKeys(k1, 10, 35);
    expect(s0.cws.length).toBe(25 * dcfBitKeyBytes(n));
    expect(xorEval([s0, s1], xs.slice(10, 35))).toEqual(xs.slice(10, 35).map((x, i) => (x < alpha[10 + i] ? 1 : 0)));
    expect(() => sliceDcfBitKeys(k0, 30, 20)).toThrow(/expected 0 ≤ from ≤ to ≤ 50/);
  });

  it("one party's bits alone are balanced whatever the answer", () => {
    const n = 32, N = 4000, r = testPrg('bit-balance');
    const alpha = Array.from({ length: N }, () => word(r) & mask(n));
    const [k0] = makeKeys('bit-balance-keys', n, alpha);
    // half the inputs below α, half not: P0's bits are ≈ uniform in both halves
    const xs = alpha.map((a, i) => (i % 2 === 0 ? (a === 0n ? 0n : a - 1n) : a));
    const y0 = dcfBitEval(prg, 0, k0, BigUint64Array.from(xs));
    for (const parity of [0, 1]) {
      const ones = y0.filter((_, i) => i % 2 === parity).reduce((s, v) => s + v, 0);
      expect(Math.abs(ones / (N / 2) - 0.5)).toBeLessThan(0.06);
    }
  });

  it('refuses wrong shapes', () => {
    const [k0] = makeKeys('bit-shapes', 8, [1n, 2n]);
    expect(() => dcfBitEval(prg, 0, k0, new BigUint64Array(3))).toThrow(/2 keys but 3 inputs/);
    expect(() => dcfBitEval(prg, 0, { ...k0, cws: k0.cws.subarray(1) }, new BigUint64Array(2))).toThrow(/wrong byte lengths/);
    expect(() => dcfBitGen(prg, 65, new BigUint64Array(1), new Uint8Array(16), new Uint8Array(16))).toThrow(/n must be in \[0, 64\]/);
  });
});

import { createHash } from 'node:crypto';
import { FssPrg, clearSeedBits } from '../src/fss/fss-prg';
import { dcfGen, dcfKeyBytes, replicateDcfKeys, sliceDcfKeys, type DcfKeys, type DcfVariant } from '../src/fss/dcf-keygen';
import { dcfEval, EVAL_CHUNK_KEYS } from '../src/fss/dcf-eval';
import { refDcfEval, refDcfGen, refWire, refExpand, refWords, lo } from './reference/dcf-reference';
import { testPrg, TEST_SEED } from './helpers';

const prg = new FssPrg();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const M64 = (1n << 64n) - 1n;
const mask = (n: number) => (n === 64 ? M64 : (1n << BigInt(n)) - 1n);

const ROOT0 = new Uint8Array(16);
const ROOT1 = new Uint8Array(16).fill(0x11);
ROOT1[0] = 0x10;

/** Batched gen + both parties' keys for given α/β (roots from the test PRG). */
function makeKeys(label: string, n: number, m: number, alpha: bigint[], beta: bigint[][], variant: DcfVariant = 'lt') {
  const N = alpha.length;
  const r = testPrg(label);
  const roots0 = clearSeedBits(r.bytes(16 * N)), roots1 = clearSeedBits(r.bytes(16 * N));
  const cws = dcfGen(prg, n, m, BigUint64Array.from(alpha), BigUint64Array.from(beta.flat()), roots0, roots1, variant);
  const k0: DcfKeys = { n, m, count: N, roots: roots0, cws };
  const k1: DcfKeys = { n, m, count: N, roots: roots1, cws };
  return { k0, k1, roots0, roots1, cws };
}

function evalSum(k0: DcfKeys, k1: DcfKeys, xs: bigint[]): BigUint64Array {
  const x = BigUint64Array.from(xs);
  const y0 = dcfEval(prg, 0, k0, x), y1 = dcfEval(prg, 1, k1, x);
  return y0.map((v, i) => BigInt.asUintN(64, v + y1[i]));
}

const cmp = (variant: DcfVariant, x: bigint, a: bigint) => (variant === 'lt' ? x < a : variant === 'gt' ? x > a : x <= a);

describe('DCF known answers (fss.md §7)', () => {
  const alpha = 10n, beta = [1n];
  test('reference Gen/Eval reproduce the n = 4 vectors', () => {
    const key = refDcfGen(4, alpha, beta, ROOT0, ROOT1);
    expect(hex(key.cw[0])).toBe('3422d099056668e8246145e1e29c8572');
    expect(key.vcw[0][0]).toBe(0x4f39d0665c75121cn);
    expect(hex(key.cw[3])).toBe('90c7dd5fe7d2297c250248cf15ee5453');
    expect(key.lcw[0]).toBe(0x6c4589d8beafbbf5n);
    expect(refDcfEval(0, ROOT0, key, 4, 0n)[0]).toBe(0x0bb037acda69eb42n);
    expect(refDcfEval(1, ROOT1, key, 4, 0n)[0]).toBe(0xf44fc853259614bfn);
  });

  test('batched Gen/Eval reproduce the n = 4 vectors and the SHA-256 of Eval_0(0..15)', () => {
    const cws = dcfGen(prg, 4, 1, BigUint64Array.of(alpha), BigUint64Array.of(1n), ROOT0, ROOT1);
    const ref = refWire([refDcfGen(4, alpha, beta, ROOT0, ROOT1)], 4, 1);
    expect(hex(cws)).toBe(hex(ref));
    const lvl = 16 + 8; // one key: CW_i (16) then VCW_i (8)
    expect(hex(cws.subarray(0, 16))).toBe('3422d099056668e8246145e1e29c8572');
    expect(hex(cws.subarray(3 * lvl, 3 * lvl + 16))).toBe('90c7dd5fe7d2297c250248cf15ee5453');
    // all 16 inputs at once: 16 copies of the same key
    const N = 16;
    const rep = (b: Uint8Array, len: number) => { const o = new Uint8Array(len * N); for (let i = 0; i < N; i++) o.set(b, i * len); return o; };
    const wire = dcfGen(prg, 4, 1, new BigUint64Array(N).fill(alpha), new BigUint64Array(N).fill(1n), rep(ROOT0, 16), rep(ROOT1, 16));
    const xs = BigUint64Array.from({ length: N }, (_, i) => BigInt(i));
    const y0 = dcfEval(prg, 0, { n: 4, m: 1, count: N, roots: rep(ROOT0, 16), cws: wire }, xs);
    const y1 = dcfEval(prg, 1, { n: 4, m: 1, count: N, roots: rep(ROOT1, 16), cws: wire }, xs);
    expect(y0[0]).toBe(0x0bb037acda69eb42n);
    expect(y1[0]).toBe(0xf44fc853259614bfn);
    const digest = createHash('sha256').update(new Uint8Array(y0.buffer)).digest('hex');
    expect(digest).toBe('4250cb98e81f86162f6b6671c068cd9d21c4263c69befef94a2c8fea12680362');
    for (let x = 0; x < N; x++) expect(BigInt.asUintN(64, y0[x] + y1[x])).toBe(x < 10 ? 1n : 0n);
  });

  test('reference PRG agrees with the §7 Expand/Words vectors', () => {
    const s = new Uint8Array(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    expect(hex(refExpand(s, 1)[0])).toBe('e07deba457072bd5560eb319d3ce8b6e');
    expect(refWords(s, 0, 2)).toEqual([0xe31150eeb75f4597n, 0x2d7c38d295ce604en]);
    expect(lo(refExpand(s, 0)[0])).toBe(lo(new Uint8Array(Buffer.from('505c08460b0b68212972d98c54eadc48', 'hex'))));
  });
});

describe(`DCF batched vs reference and property grid (SEED=${TEST_SEED})`, () => {
  const NS = [1, 2, 3, 5, 8, 16, 39, 63, 64];
  for (const n of NS) {
    for (const m of [1, 2, 3, 4]) {
      test(`n = ${n}, m = ${m}`, () => {
        const r = testPrg(`grid/${n}/${m}`);
        const rnd = () => r.words(1)[0] & mask(n);
        const half = n === 0 ? 0n : 1n << BigInt(n - 1);
        const alphas = [0n, 1n, half - 1n, half, mask(n), rnd()].map((a) => a & mask(n));
        const betaEdge = [0n, 1n, 1n << 63n, M64];
        // one key per (α, x) pair; exhaustive x for n ≤ 6
        const ka: bigint[] = [], kb: bigint[][] = [], kx: bigint[] = [];
        for (const [ai, a] of alphas.entries()) {
          const xs = n <= 6 ? Array.from({ length: 1 << n }, (_, i) => BigInt(i)) : [a - 1n, a, a + 1n, 0n, mask(n), rnd()];
          for (const [xi, x] of xs.entries()) {
            ka.push(a);
            kx.push(x & mask(n));
            kb.push(Array.from({ length: m }, (_, k) => ((ai + xi + k) % 5 === 4 ? r.words(1)[0] : betaEdge[(ai + xi + k) % 4])));
          }
        }
        const { k0, k1, roots0, roots1, cws } = makeKeys(`grid/${n}/${m}/keys`, n, m, ka, kb);
        expect(cws.length).toBe(ka.length * dcfKeyBytes(n, m));
        const sum = evalSum(k0, k1, kx);
        for (let i = 0; i < ka.length; i++) {
          for (let k = 0; k < m; k++) expect(sum[i * m + k]).toBe(kx[i] < ka[i] ? kb[i][k] : 0n);
        }
        // byte-exact against the reference for a few keys (slow path), including shares
        for (const i of [0, ka.length >> 1, ka.length - 1]) {
          const ref = refDcfGen(n, ka[i], kb[i], roots0.slice(16 * i, 16 * i + 16), roots1.slice(16 * i, 16 * i + 16));
          const one = dcfGen(prg, n, m, BigUint64Array.of(ka[i]), BigUint64Array.from(kb[i]), roots0.slice(16 * i, 16 * i + 16), roots1.slice(16 * i, 16 * i + 16));
          expect(hex(one)).toBe(hex(refWire([ref], n, m)));
          const y0 = dcfEval(prg, 0, k0, BigUint64Array.from(kx));
          expect([...y0.slice(i * m, i * m + m)]).toEqual(refDcfEval(0, roots0.slice(16 * i, 16 * i + 16), ref, n, kx[i]));
        }
      });
    }
  }

  for (const variant of ['gt', 'le'] as const) {
    test(`variant ${variant}: n = 5 exhaustive, n = 64 edges`, () => {
      for (const n of [5, 64]) {
        const r = testPrg(`var/${variant}/${n}`);
        const alphas = [0n, 1n, 7n, mask(n), mask(n) - 1n, r.words(1)[0] & mask(n)];
        const ka: bigint[] = [], kx: bigint[] = [], kb: bigint[][] = [];
        for (const a of alphas) {
          const xs = n <= 6 ? Array.from({ length: 1 << n }, (_, i) => BigInt(i)) : [a - 1n, a, a + 1n, 0n, mask(n)];
          for (const x of xs) { ka.push(a); kx.push(x & mask(n)); kb.push([3n, M64]); }
        }
        const { k0, k1, roots0, roots1 } = makeKeys(`var/${variant}/${n}/k`, n, 2, ka, kb, variant);
        const sum = evalSum(k0, k1, kx);
        for (let i = 0; i < ka.length; i++) {
          expect([sum[2 * i], sum[2 * i + 1]]).toEqual(cmp(variant, kx[i], ka[i]) ? [3n, M64] : [0n, 0n]);
        }
        const ref = refDcfGen(n, ka[3], kb[3], roots0.slice(48, 64), roots1.slice(48, 64), variant);
        expect(refDcfEval(0, roots0.slice(48, 64), ref, n, kx[3]).map((v, k) => BigInt.asUintN(64, v + refDcfEval(1, roots1.slice(48, 64), ref, n, kx[3])[k])))
          .toEqual(cmp(variant, kx[3], ka[3]) ? [3n, M64] : [0n, 0n]);
      }
    });
  }

  test('batches larger than one eval chunk (and several gen chunks)', () => {
    const N = EVAL_CHUNK_KEYS + 5, n = 12;
    const r = testPrg('chunks');
    const a = r.words(N), x = r.words(N);
    const ka = [...a].map((v) => v & mask(n)), kx = [...x].map((v) => v & mask(n));
    const { k0, k1 } = makeKeys('chunks/k', n, 1, ka, ka.map((_, i) => [BigInt(i + 1)]));
    const sum = evalSum(k0, k1, kx);
    let bad = 0;
    for (let i = 0; i < N; i++) if (sum[i] !== (kx[i] < ka[i] ? BigInt(i + 1) : 0n)) bad++;
    expect(bad).toBe(0);
  });

  test('rejects shapes outside n ∈ [0, 64], m ∈ [1, 4]', () => {
    const z = new Uint8Array(16);
    expect(() => dcfGen(prg, 65, 1, BigUint64Array.of(0n), BigUint64Array.of(0n), z, z)).toThrow(/n must be in \[0, 64\]/);
    expect(() => dcfGen(prg, 8, 5, BigUint64Array.of(0n), new BigUint64Array(5), z, z)).toThrow(/m must be in \[1, 4\]/);
    expect(() => dcfEval(prg, 0, { n: 8, m: 1, count: 2, roots: z, cws: new Uint8Array(0) }, new BigUint64Array(2))).toThrow(RangeError);
  });

  test('one key alone looks random: P0 shares and CW control bits are balanced', () => {
    const N = 2000, n = 16;
    const alpha = new Array<bigint>(N).fill(12345n);
    const { k0, cws } = makeKeys('balance', n, 1, alpha, alpha.map(() => [1n]));
    const y0 = dcfEval(prg, 0, k0, new BigUint64Array(N).fill(12344n));
    let top = 0, low = 0;
    for (const v of y0) { top += Number(v >> 63n); low += Number(v & 1n); }
    let tl = 0, tr = 0;
    const lvl = N * (16 + 8);
    for (let j = 0; j < N; j++) { tl += cws[5 * lvl + 16 * j] & 1; tr += (cws[5 * lvl + 16 * j] >> 1) & 1; }
    for (const c of [top, low, tl, tr]) expect(Math.abs(c - N / 2)).toBeLessThan(N * 0.06);
  });
});

describe('sliceDcfKeys', () => {
  test('a slice is byte-exact the batch generated for those keys alone, and evaluates alike; bad ranges throw', () => {
    const n = 20, m = 3, N = 9, r = testPrg('slice/keys');
    const alpha = Array.from(r.words(N), (w) => w & mask(n)), beta = Array.from({ length: N }, () => Array.from(r.words(m)));
    const { k0, k1, roots0, roots1 } = makeKeys('slice', n, m, alpha, beta);
    const [from, to] = [2, 7];
    const s0 = sliceDcfKeys(k0, from, to), s1 = sliceDcfKeys(k1, from, to);
    const alone = dcfGen(prg, n, m, BigUint64Array.from(alpha.slice(from, to)), BigUint64Array.from(beta.slice(from, to).flat()),
      roots0.slice(16 * from, 16 * to), roots1.slice(16 * from, 16 * to));
    expect(hex(s0.cws)).toBe(hex(alone));
    expect(s0.count).toBe(to - from);
    const xs = Array.from(r.words(to - from), (w) => w & mask(n));
    const sum = evalSum(s0, s1, xs);
    for (let i = 0; i < to - from; i++) {
      for (let k = 0; k < m; k++) expect(sum[i * m + k]).toBe(xs[i] < alpha[from + i] ? beta[from + i][k] : 0n);
    }
    expect(sliceDcfKeys(k0, 0, 0).count).toBe(0);
    expect(sliceDcfKeys(k0, 0, N)).toBe(k0); // the whole batch: no copy
    expect(() => sliceDcfKeys(k0, 3, 2)).toThrow(RangeError);
    expect(() => sliceDcfKeys(k0, 0, N + 1)).toThrow(RangeError);
  });
});

describe('dcfEval over a replicated key range (several thresholds per key, read in place)', () => {
  test.each([
    [15, 4, 50, 3, 40, 7],
    [12, 1, 3000, 100, 2900, 3], // 8400 virtual keys: two chunks, a replica split across them
  ])('n = %i, m = %i, %i keys, range [%i, %i) × %i: equals the replicated batch, word for word', (n, m, N, from, to, times) => {
    const r = testPrg(`range/${n}/${N}`);
    const alpha = Array.from(r.words(N), (w) => w & mask(n)), beta = Array.from({ length: N }, () => Array.from(r.words(m)));
    const { k0, k1 } = makeKeys(`range/${n}/${N}`, n, m, alpha, beta);
    const len = to - from, x = BigUint64Array.from(r.words(len * times), (w) => w & mask(n));
    expect(len * times > EVAL_CHUNK_KEYS).toBe(N > 1000);
    expectRangeEval(k0, k1, x, from, to, times, alpha, beta);
    expect(() => dcfEval(prg, 0, k0, x, { from: to, to: from, times })).toThrow(RangeError);
    expect(() => dcfEval(prg, 0, k0, x, { from, to, times: times + 1 })).toThrow(/keys but/);
  });

  // Points of one key that share long prefixes (the shared-prefix walk, dcf-shared-kernels.ts):
  // base − knot for knots a few units apart, equal points, points that wrap below 0 mod 2^n, and
  // bases right at the top-bit boundaries (the sorted order and the split levels at their edges).
  test.each([
    [15, 4, 400, 0, 400, [-62, -30, 0, 30, 62]],
    [15, 4, 300, 17, 290, [5, 5, 5, -5, 0]], // equal points: joined at the leaf
    [12, 1, 2000, 0, 2000, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], // 22000 lanes: several chunks
    [20, 2, 100, 0, 100, [-1, 0, 1]],
    [15, 3, 200, 0, 200, [3, -200, 9000, 0]],
    [1, 2, 50, 0, 50, [0, 1]],
  ])('n = %i, m = %i, %i keys, range [%i, %i), knots %j: clustered points equal the replicated batch', (n, m, N, from, to, knots) => {
    const r = testPrg(`range-shared/${n}/${N}/${knots.length}`);
    const alpha = Array.from(r.words(N), (w) => w & mask(n)), beta = Array.from({ length: N }, () => Array.from(r.words(m)));
    const { k0, k1 } = makeKeys(`range-shared/${n}/${N}`, n, m, alpha, beta);
    const len = to - from, times = knots.length, top = 1n << BigInt(n);
    // bases: random, and every 7th key at an edge (0, 2^n − 1, 2^(n−1), 2^(n−1) − 1) or at its α
    const edges = [0n, top - 1n, top >> 1n, (top >> 1n) - 1n];
    const base = Array.from(r.words(len), (w, e) => (e % 7 === 0 ? edges[(e / 7) % 4] : e % 7 === 1 ? alpha[from + e] : w & mask(n)));
    const x = new BigUint64Array(len * times);
    for (let c = 0; c < times; c++) for (let e = 0; e < len; e++) x[c * len + e] = BigInt.asUintN(64, base[e] - BigInt(knots[c])) & mask(n);
    expectRangeEval(k0, k1, x, from, to, times, alpha, beta);
  });
});

/**
 * A range evaluation equals the replicated batch's, word for word, for both parties, and the sum is
 * β·[x < α] of the key each input was replicated from.
 */
function expectRangeEval(k0: DcfKeys, k1: DcfKeys, x: BigUint64Array, from: number, to: number, times: number, alpha: bigint[], beta: bigint[][]): void {
  const len = to - from, m = k0.m;
  for (const [p, k] of [[0, k0], [1, k1]] as const) {
    expect(dcfEval(prg, p, k, x, { from, to, times })).toEqual(dcfEval(prg, p, replicateDcfKeys(k, from, to, times), x));
  }
  const y0 = dcfEval(prg, 0, k0, x, { from, to, times }), y1 = dcfEval(prg, 1, k1, x, { from, to, times });
  for (let q = 0; q < len * times; q++) {
    const key = from + (q % len);
    for (let w = 0; w < m; w++) expect(BigInt.asUintN(64, y0[q * m + w] + y1[q * m + w])).toBe(x[q] < alpha[key] ? beta[key][w] : 0n);
  }
}

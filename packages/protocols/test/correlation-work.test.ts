/**
 * Every correlation spec's generationWork (dealer-work.ts) against the work of an actual deal: run the
 * spec in dealer mode on small random params (and a few edge cases), count what DealerGen counts
 * (draws, result words, keyed-stream setups) plus the FSS PRG's words (2 per AES block), add what the
 * spec's callbacks do out of DealerGen's sight, written out here from the shapes (a product's m·k·n
 * multiply-adds, a shuffle's permutation entries), and check the declared work is an upper bound
 * that is not loose: counted ≤ declared ≤ 4·counted + 64.
 */
import { randomBytes } from 'node:crypto';
import { AesCtrPrg, sizeOf } from '@mpcache/mpc-core';
import * as protocols from '@mpcache/protocols';
import { DealerGen, fssAesBlocks, KeyedStreams, KeyedValueCache, PERMUTATION_BLOCK_WORK, type AnyCorrelationSpec } from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';

type Params = Record<string, unknown>;
/** Uniform integers in [lo, hi] from the seeded test PRG. */
type Int = (lo: number, hi: number) => number;

function ints(label: string): Int {
  const prg = testPrg(label);
  return (lo, hi) => lo + Number(prg.words(1)[0] % BigInt(hi - lo + 1));
}

const pick = <T>(int: Int, xs: readonly T[]): T => xs[int(0, xs.length - 1)];

/** Small random params per spec name (a new spec needs a generator here). */
const RANDOM: Record<string, (int: Int) => unknown> = {
  mulTriples: (int) => int(0, 40),
  squarePairs: (int) => int(0, 40),
  matmulTriples: (int) => {
    const b = int(0, 2), [m, k, n] = [int(1, 5), int(1, 40), int(1, 5)], batch = Array.from({ length: b }, () => int(1, 3));
    return { x: [...batch, m, k], y: int(0, 1) ? [k, n] : [...batch, k, n] };
  },
  operandRowMasks: (int) => ({ key: 'w1', lanes: int(1, 3), cols: int(0, 6), from: int(0, 4), count: int(0, 4) }),
  maskedProductTriples: (int) => ({ key: 'w1', lanes: int(1, 3), rows: int(0, 20), cols: int(0, 20), transpose: int(0, 1) === 1, m: int(0, 6) }),
  bitMaskShares: (int) => ({ key: 'w2', lanes: int(1, 3), rows: int(0, 6), cols: int(0, 9) }),
  bitMaskedProductTriples: (int) => ({ key: 'w2', lanes: int(1, 3), rows: int(0, 6), cols: int(0, 9), m: int(0, 4), transpose: int(0, 1) === 1 }),
  truncPairs: (int) => ({ n: int(0, 30), f: int(1, 62) }),
  truncPrMulTriples: (int) => ({ n: int(0, 30), f: int(1, 62) }),
  truncPrMulAddTriples: (int) => ({ n: int(0, 30), f: int(1, 62) }),
  truncPrSquarePairs: (int) => ({ n: int(0, 30), f: int(1, 32) }),
  truncRound: (int) => ({ n: int(0, 20), f: int(1, 62) }),
  gumbelNoise: (int) => ({ count: int(0, 30), temperature: 0.5 + int(0, 10) / 4, fracBits: int(0, 40) }),
  dcfSelect: (int) => {
    const bits = int(2, 64);
    return { count: int(0, 12), bits, payloads: int(0, 2), lowBits: int(0, bits - 2) };
  },
  maskedDpf: (int) => {
    const n = int(1, 64);
    return { count: int(0, 8), n, nu: int(1, Math.min(n, 8)) };
  },
  foldedBroadcastTriples: (int) => ({ rows: int(0, 6), L: int(0, 6), shift: int(1, 62), hasZ: int(0, 1) === 1 }),
  foldedMul: (int) => ({ n: int(0, 20), shift: int(1, 62), mults: int(0, 8) }),
  broadcastTriples: (int) => ({ rows: int(0, 6), L: int(0, 6), hasY: int(0, 1) === 1, hasZ: int(0, 1) === 1 }),
  polyInput: (int) => {
    const shift = pick(int, [0, int(1, 62)]), degree = int(1, 6), cmpShift = int(0, 20);
    const payload = shift === 0 ? int(1, Math.min(4, degree + 1)) : int(1, 2);
    return { count: int(0, 10), shift, degree, k: pick(int, [0, int(2, 64 - cmpShift)]), cmpShift, payload, shift2: pick(int, [0, int(1, 62)]) };
  },
  thresholdCompare: (int) => ({ count: int(0, 12), k: int(2, 64) }),
  dcfLtz: (int) => ({ count: int(0, 12), bits: int(2, 64) }),
  dcfLtzBit: (int) => ({ count: int(0, 12), bits: int(2, 64) }),
  shuffle: (int) => {
    const blocks = int(1, 4), n = blocks * int(0, 6);
    return { n, blocks, w: int(0, 4), unshuffle: pick(int, ['none', 'full', 'public'] as const), uw: int(0, 4) };
  },
  foldedTruncSquares: (int) => ({ rows: int(0, 6), d: int(0, 6), shift: int(1, 32), sign: pick(int, [1, -1] as const), perRow: int(0, 1) === 1 }),
};

/** Edge cases: empty sizes, long inner dimensions, width-0 rows, many empty lanes or blocks. */
const EDGES: Record<string, readonly unknown[]> = {
  matmulTriples: [{ x: [2, 3000], y: [3000, 2] }, { x: [0, 5], y: [5, 3] }, { x: [3, 0], y: [0, 4] }],
  maskedProductTriples: [{ key: 'w3', lanes: 2, rows: 2000, cols: 3, transpose: true, m: 1 }, { key: 'w4', lanes: 40, rows: 0, cols: 0, transpose: false, m: 0 }],
  bitMaskShares: [{ key: 'w5', lanes: 40, rows: 0, cols: 0 }],
  shuffle: [{ n: 500, blocks: 1, w: 0, unshuffle: 'full', uw: 0 }, { n: 0, blocks: 50, w: 0, unshuffle: 'none', uw: 0 }, { n: 60, blocks: 60, w: 1, unshuffle: 'public', uw: 2 }],
  dcfSelect: [{ count: 3, bits: 64, payloads: 2 }],
  maskedDpf: [{ count: 2, n: 16, nu: 16 }],
};

/**
 * What a spec's callbacks compute out of DealerGen's sight, from the shapes alone (not from the specs'
 * work functions): a product's multiply-adds and transposes, a shuffle's permutation entries, block
 * placements, inverses and per-block setups.
 */
const UNSEEN: Record<string, (p: Params) => number> = {
  matmulTriples: (p) => {
    const x = p.x as number[], y = p.y as number[];
    return sizeOf(x.slice(0, -1)) * x[x.length - 1] * y[y.length - 1]; // m·k·n over the batch
  },
  maskedProductTriples: (p) => {
    const { lanes, rows, cols, m, transpose } = p as { lanes: number; rows: number; cols: number; m: number; transpose: boolean };
    const transposed = transpose ? Math.min(m * (rows + cols), rows * cols) : 0; // laneProduct's copies
    return lanes * (m * rows * cols + transposed);
  },
  shuffle: (p) => {
    const { n, blocks } = p as { n: number; blocks: number };
    // per permutation: n entries, n placements with several blocks, n inverse entries, each block's setup
    return 2 * (n + (blocks > 1 ? n : 0) + n + blocks * PERMUTATION_BLOCK_WORK);
  },
};

/** Every spec @mpcache/protocols exports (the dealer's registry collects the same way). */
const specs = (Object.values(protocols) as unknown[]).filter(
  (x): x is AnyCorrelationSpec => typeof x === 'object' && x !== null && typeof (x as AnyCorrelationSpec).generationWork === 'function',
);

/** One deal on fresh seeds, with or without the keyed-value memo: DealerGen's count plus the FSS PRG's words. */
function countedWork(spec: AnyCorrelationSpec, params: unknown, memo: boolean): number {
  const seeds = [randomBytes(16), randomBytes(16)];
  const keyed = [new KeyedStreams(seeds[0]), new KeyedStreams(seeds[1])] as const;
  const g = new DealerGen(new AesCtrPrg(seeds[0]), new AesCtrPrg(seeds[1]), AesCtrPrg.fromEntropy(), keyed, memo ? new KeyedValueCache(keyed) : undefined);
  const aes0 = fssAesBlocks();
  spec.deal(g, params);
  return g.work + 2 * (fssAesBlocks() - aes0);
}

describe(`correlation specs: generationWork bounds the work of a deal, tightly (SEED=${TEST_SEED})`, () => {
  it('every exported spec has a params generator here (a new spec needs one)', () => {
    expect(specs.length).toBeGreaterThanOrEqual(23);
    expect(specs.map((s) => s.name).filter((n) => !(n in RANDOM))).toEqual([]);
  });

  for (const spec of specs) {
    it(`${spec.name}: counted ≤ declared ≤ 4·counted + 64 on random and edge params`, () => {
      const int = ints(`work/${spec.name}`);
      const samples = [...Array.from({ length: 12 }, () => RANDOM[spec.name]?.(int)), ...(EDGES[spec.name] ?? [])];
      for (const sample of samples) {
        const params = spec.validate(sample);
        const declared = spec.generationWork(params);
        expect(Number.isFinite(declared) && declared >= 0).toBe(true);
        const unseen = UNSEEN[spec.name]?.(params as Params) ?? 0;
        const counted = countedWork(spec, params, false) + unseen;
        expect({ sample, ok: counted <= declared && declared <= 4 * counted + 64, counted, declared }).toEqual({ sample, ok: true, counted, declared });
        // the session's memo of keyed values only ever saves work
        expect(countedWork(spec, params, true) + unseen).toBeLessThanOrEqual(declared);
      }
    });
  }

  it("a product's work follows its m·k·n, not its bytes: a long inner dimension costs, an empty one does not", () => {
    const { matmulTriples, maskedProductTriples } = protocols;
    const long = matmulTriples.validate({ x: [4, 2 ** 20], y: [2 ** 20, 4] });
    expect(matmulTriples.messageBytes(long)).toEqual([8 * 16, 0]);
    expect(matmulTriples.generationWork(long)).toBe(3 * 2 ** 22 + 3 * 2 ** 22 + 3 * 16 + 16 * 2 ** 20);
    // the maximal shapes the element bound admits: 2^28 · 2^28 multiply-adds, computed without generating
    const huge = maskedProductTriples.validate({ key: 'w', lanes: 1, rows: 2 ** 14, cols: 2 ** 14, transpose: false, m: 2 ** 14 });
    expect(maskedProductTriples.generationWork(huge)).toBeGreaterThanOrEqual(2 ** 42);
    expect(protocols.shuffleCorrelation.generationWork(protocols.shuffleCorrelation.validate({ n: 2 ** 28, blocks: 1, w: 0, unshuffle: 'none', uw: 0 })))
      .toBeGreaterThanOrEqual(2 * 2 ** 28); // sends nothing, still draws two permutations
  });
});

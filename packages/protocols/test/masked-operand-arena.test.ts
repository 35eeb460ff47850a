/**
 * Fixed masked operands in the ring kernel's memory (masked-operand.ts "Storage") and the dealer's
 * keyed memo in it (keyed-value-cache.ts): the same seeds give bit-identical D, W̃ and product
 * shares whether the operand lives in the arena (read in place) or on the JS heap (copied); a fixed
 * operand that grows moves to the heap; release() gives the arena its blocks back.
 */
import { panelWordCount, reconstruct, ringArena, share, sizeOf, tensor, type RingTensor } from '@mpcache/mpc-core';
import {
  appendMaskedRows, KeyedStreams, KeyedValueCache, localParties, maskedMatmul, maskOperand, runBoth,
  type LocalParties, type MaskedOperand,
} from '@mpcache/protocols';
import { testPrg, TEST_SEED } from './helpers';
import { fixedSeeds, refMatmul } from './linear-helpers';

const rand = (label: string, shape: number[]): RingTensor => tensor(shape, testPrg(label).words(sizeOf(shape)));

/** Mask W (fixed or not) and take the products X·W, X·Wᵀ on fresh parties with the seeds of `label`. */
async function run(fixed: boolean, w: RingTensor, xs: RingTensor[], transposed: RingTensor[]) {
  const parties = localParties({ seeds: fixedSeeds('arena') });
  const ws = share(w, testPrg('w-share'));
  const ops = await runBoth(parties, (ctx) => maskOperand(ctx, ws[ctx.party], { fixed }));
  const zs: [RingTensor, RingTensor][] = [];
  for (const [x, transpose] of [...xs.map((x) => [x, false] as const), ...transposed.map((x) => [x, true] as const)]) {
    const xsh = share(x, testPrg(`x-share${x.shape}`));
    zs.push(await runBoth(parties, (ctx) => maskedMatmul(ctx, xsh[ctx.party], ops[ctx.party], { transpose })));
  }
  return { parties, ops, zs };
}

const lanes = (op: MaskedOperand, f: (h: number) => BigUint64Array) => Array.from({ length: op.lanes }, (_, h) => Array.from(f(h)));

describe(`fixed masked operands in the kernel arena (SEED=${TEST_SEED})`, () => {
  it('arena and heap storage give bit-identical D, W̃ and product shares (plain, transposed, batched)', async () => {
    const cases: [RingTensor, RingTensor[], RingTensor[]][] = [
      [rand('w', [300, 70]), [rand('x1', [1, 300]), rand('x5', [5, 300])], [rand('t1', [1, 70]), rand('t9', [9, 70])]],
      [rand('wb', [3, 40, 16]), [rand('xb', [3, 2, 40])], [rand('tb', [3, 1, 16])]],
    ];
    for (const [w, xs, ts] of cases) {
      const heap = await run(false, w, xs, ts), kern = await run(true, w, xs, ts);
      expect(kern.ops.map((o) => o.inKernelMemory)).toEqual([true, true]);
      expect(heap.ops.map((o) => o.inKernelMemory)).toEqual([false, false]);
      expect(ringArena().holds(kern.ops[0].lane(0, 'public').words)).toBe(true);
      expect([kern.ops[0].lane(0, 'mine').panels, heap.ops[0].lane(0, 'mine').panels]).toEqual([true, false]); // arena: 8-row panels
      for (const p of [0, 1]) {
        expect(lanes(kern.ops[p], (h) => kern.ops[p].laneD(h))).toEqual(lanes(heap.ops[p], (h) => heap.ops[p].laneD(h)));
        expect(lanes(kern.ops[p], (h) => kern.ops[p].laneShare(h))).toEqual(lanes(heap.ops[p], (h) => heap.ops[p].laneShare(h)));
      }
      kern.zs.forEach(([z0, z1], i) => {
        expect([z0.data, z1.data]).toEqual([heap.zs[i][0].data, heap.zs[i][1].data]);
        const x = [...xs, ...ts][i];
        expect(Array.from(reconstruct(z0, z1).data)).toEqual(refMatmul(x, w, i >= xs.length));
      });
      // the dealer's memo of the operand's mask is in the arena too (it computed c = a·B in place)
      expect(kern.parties.dealer.keyedValues!.kernelWords).toBeGreaterThanOrEqual(sizeOf(w.shape));
      for (const op of kern.ops) op.release();
    }
  });

  it('a fixed operand that grows moves to the JS heap and gives its blocks back; release() empties it', async () => {
    const parties: LocalParties = localParties();
    const w = rand('g', [20, 8]), extra = rand('gx', [3, 8]);
    const ws = share(w), es = share(extra);
    const held = ringArena().heldBytes;
    const ops = await runBoth(parties, (ctx) => maskOperand(ctx, ws[ctx.party], { fixed: true }));
    expect(ringArena().heldBytes).toBe(held + 4 * panelWordCount(20, 8) * 8); // D and W̃ of both parties, exact size in 8-row panels (24 rows)
    await runBoth(parties, (ctx) => appendMaskedRows(ctx, ops[ctx.party], es[ctx.party]));
    expect(ops.map((o) => o.inKernelMemory)).toEqual([false, false]);
    expect(ringArena().heldBytes).toBe(held);
    const x = rand('gxx', [2, 23]), xs = share(x);
    const [z0, z1] = await runBoth(parties, (ctx) => maskedMatmul(ctx, xs[ctx.party], ops[ctx.party]));
    expect(Array.from(reconstruct(z0, z1).data)).toEqual(refMatmul(x, tensor([23, 8], new BigUint64Array([...w.data, ...extra.data]))));

    const heldNow = ringArena().heldBytes; // + the dealer's memo of the grown mask (same process)
    const again = await runBoth(parties, (ctx) => maskOperand(ctx, ws[ctx.party], { fixed: true }));
    expect(ringArena().heldBytes).toBe(heldNow + 4 * panelWordCount(20, 8) * 8);
    for (const op of again) op.release();
    expect(ringArena().heldBytes).toBe(heldNow);
    expect(again[0].rows).toBe(0);
    // its masks were spent: no new row may be masked under them again
    await expect(appendMaskedRows(parties.ctx[0], again[0], es[0])).rejects.toThrow(/append after release/);
  });

  it('the keyed memo keeps values in the arena, equal to the streams, and frees a grown entry’s old block', () => {
    const seeds = [3, 4].map((k) => Uint8Array.from({ length: 16 }, (_, i) => i * 7 + k));
    const streams = () => [new KeyedStreams(seeds[0]), new KeyedStreams(seeds[1])] as const;
    const memo = new KeyedValueCache(streams(), 10_000);
    const direct = (n: number) => {
      const [a, b] = streams().map((s) => s.words('kv', 0, 0, n));
      return a.map((v, i) => BigInt.asUintN(64, v + b[i]));
    };
    const held = ringArena().heldBytes;
    expect(memo.value('kv', 0, 0, 100)).toEqual(direct(100));
    expect(ringArena().holds(memo.value('kv', 0, 0, 100))).toBe(true);
    expect(memo.value('kv', 0, 0, 150)).toEqual(direct(150)); // capacity doubles to 200: a new block
    expect(memo.kernelWords).toBe(200);
    expect(ringArena().heldBytes).toBe(held + 1600);
  });
});

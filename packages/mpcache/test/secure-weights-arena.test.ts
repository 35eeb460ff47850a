/**
 * The masked weights live in the ring kernel's memory (secure-weights.ts: every matrix `fixed`):
 * D and W̃ of every matrix are arena blocks of exactly their size (in 8-row panels), decoding with them matches the
 * float64 reference (secure-decoder.test.ts covers the values; here: the storage), and
 * releaseSecureWeights gives the blocks back.
 */
import { panelWordCount, ringArena } from '@mpcache/mpc-core';
import { releaseSecureWeights, randomWeights, TINY_GPT2, TINY_LLAMA, type SecureWeights } from '@mpcache/mpcache';
import { secureModel } from './secure-helpers';

const operands = (w: SecureWeights) => [w.tokEmb, ...w.layers.flatMap((l) => [l.wqkv, l.wo, l.w13, l.w2])];

describe.each([TINY_LLAMA, TINY_GPT2])('masked weights in the kernel arena, %s', (config) => {
  it('every masked matrix is an arena block pair of its exact size; releaseSecureWeights frees them', async () => {
    const held = ringArena().heldBytes;
    const { secure } = await secureModel(config, randomWeights(config, 5), 12, 'arena-weights');
    let bytes = 0;
    for (const w of secure) {
      for (const op of operands(w)) {
        expect(op.inKernelMemory).toBe(true);
        expect(ringArena().holds(op.lane(0, 'public').words)).toBe(true);
        expect(op.lane(0, 'mine').panels).toBe(true);
        bytes += 2 * Math.ceil((8 * op.lanes * panelWordCount(op.rows, op.cols)) / 64) * 64; // D and W̃ in 8-row panels, 64-byte blocks
      }
    }
    expect(ringArena().heldBytes - held).toBe(bytes); // no products ran: the dealer's memo is empty
    for (const w of secure) releaseSecureWeights(w);
    expect(ringArena().heldBytes).toBe(held);
    expect(secure[0].tokEmb.rows).toBe(0);
  });
});

/** `bench ops --only`: a filter that names no op is refused before any party starts, listing the ops. */
import { benchOps } from '../src/bench/bench-ops';

describe('bench ops --only', () => {
  it('names no op: RangeError with the list of ops', async () => {
    await expect(benchOps({ only: ['zzz'], reps: 1, fracBits: 16, transport: 'memory', net: 'none', seed: 'x' })).rejects.toThrow(/--only zzz names no op; ops: .*mul\[65536\], .*softmax\[12x1024\]/);
  });
});

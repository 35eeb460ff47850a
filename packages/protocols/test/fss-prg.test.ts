import { createCipheriv } from 'node:crypto';
import { FssPrg, fssFixedKeys, FSS_CHUNK_BLOCKS, clearSeedBits } from '../src/fss/fss-prg';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

describe('fss prg known answers (fss.md §7)', () => {
  test('AES-128 FIPS-197', () => {
    const c = createCipheriv('aes-128-ecb', unhex('000102030405060708090a0b0c0d0e0f'), null);
    c.setAutoPadding(false);
    expect(hex(c.update(unhex('00112233445566778899aabbccddeeff')))).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  test('K_S, K_V with empty salt; a salt changes both', () => {
    const { keyS, keyV } = fssFixedKeys();
    expect(hex(keyS)).toBe('ab05589891119c072c3cf6ed7e796708');
    expect(hex(keyV)).toBe('63ca2515d4f35294f1fb7b86ffb45cb1');
    const salted = fssFixedKeys(unhex('01'));
    expect(hex(salted.keyS)).not.toBe(hex(keyS));
    expect(hex(salted.keyV)).not.toBe(hex(keyV));
  });

  test('Expand and Words of s = 0011…ff', () => {
    const prg = new FssPrg();
    const s = unhex('00112233445566778899aabbccddeeff');
    const e0 = prg.expand(s, Uint8Array.of(0));
    expect(hex(e0.seeds)).toBe('505c08460b0b68212972d98c54eadc48');
    expect(e0.t[0]).toBe(0);
    const e1 = prg.expand(s, Uint8Array.of(1));
    expect(hex(e1.seeds)).toBe('e07deba457072bd5560eb319d3ce8b6e');
    expect(e1.t[0]).toBe(1);
    expect([...prg.words(s, 0, 2)]).toEqual([0xe31150eeb75f4597n, 0x2d7c38d295ce604en]);
    expect([...prg.words(s, 1, 2)]).toEqual([0xe290090dcb282fd3n, 0x412339cdd7d8c37an]);
    expect([...prg.words(s, 1, 1)]).toEqual([0xe290090dcb282fd3n]);
    const both = prg.expandBoth(s);
    expect(hex(both.seeds)).toBe('505c08460b0b68212972d98c54eadc48' + 'e07deba457072bd5560eb319d3ce8b6e');
    expect([...both.t]).toEqual([0, 1]);
  });
});

describe('fss prg batching', () => {
  const prg = new FssPrg();
  const n = FSS_CHUNK_BLOCKS + 37; // crosses a chunk boundary
  const seeds = clearSeedBits(new Uint8Array(Buffer.alloc(16 * n).map((_, i) => (i * 131 + 7) & 255)));
  const dirs = new Uint8Array(n).map((_, i) => (i * 7) % 3 === 0 ? 1 : 0);

  test('batched expand equals one-by-one expand', () => {
    const all = prg.expand(seeds, dirs);
    for (const i of [0, 1, FSS_CHUNK_BLOCKS - 1, FSS_CHUNK_BLOCKS, n - 1]) {
      const one = prg.expand(seeds.slice(16 * i, 16 * i + 16), dirs.slice(i, i + 1));
      expect(hex(all.seeds.subarray(16 * i, 16 * i + 16))).toBe(hex(one.seeds));
      expect(all.t[i]).toBe(one.t[0]);
      expect(all.seeds[16 * i] & 3).toBe(0);
    }
  });

  test('words: m = 3 uses block j = 1 with tweak τ + 4; per-seed tweaks', () => {
    const few = seeds.subarray(0, 16 * 5);
    const w3 = prg.words(few, 1, 3);
    const w4 = prg.words(few, 1, 4);
    const w2 = prg.words(few, 1, 2);
    const w2b = prg.words(few, 5, 2);
    for (let i = 0; i < 5; i++) {
      expect(w3.slice(3 * i, 3 * i + 3)).toEqual(w4.slice(4 * i, 4 * i + 3));
      expect(w4[4 * i]).toBe(w2[2 * i]);
      expect(w4[4 * i + 2]).toBe(w2b[2 * i]);
    }
    const tw = Uint8Array.of(0, 1, 2, 1, 0);
    const wt = prg.words(few, tw, 2);
    for (let i = 0; i < 5; i++) {
      const ref = prg.words(few.subarray(16 * i, 16 * i + 16), tw[i], 2);
      expect([wt[2 * i], wt[2 * i + 1]]).toEqual([...ref]);
    }
  });

  test('rejects bad lengths', () => {
    expect(() => prg.expand(new Uint8Array(15), new Uint8Array(1))).toThrow(RangeError);
    expect(() => prg.expand(new Uint8Array(32), new Uint8Array(1))).toThrow(/2 seeds but 1/);
  });
});

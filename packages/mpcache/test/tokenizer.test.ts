import { readFileSync } from 'node:fs';
import {
  BOS_ID, EOS_ID, ModelFileError, STORIES15M_CHECKPOINT_BYTES, Tokenizer, stories15MDataPath,
} from '@mpcache/mpcache';

/** tokenizer.bin bytes: specials, 256 raw-byte tokens (the old file's layout), then `pieces`. */
function tokenizerBytes(pieces: [string, number][], maxLen = 16): Uint8Array {
  const entries: [Uint8Array, number][] = [
    [Buffer.from('<unk>'), 0], [Buffer.from('\n<s>\n'), 0], [Buffer.from('\n</s>\n'), 0],
  ];
  for (let b = 0; b < 256; b++) entries.push([Uint8Array.of(b), 0]);
  for (const [s, score] of pieces) entries.push([Buffer.from(s, 'utf8'), score]);
  const parts: Buffer[] = [Buffer.from(new Int32Array([maxLen]).buffer)];
  for (const [bytes, score] of entries) {
    const h = Buffer.alloc(8);
    h.writeFloatLE(score, 0);
    h.writeInt32LE(bytes.length, 4);
    parts.push(h, Buffer.from(bytes));
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe('Tokenizer (llama2.c tokenizer.bin of stories15M)', () => {
  const tok = Tokenizer.fromBytes(readFileSync(stories15MDataPath()).subarray(STORIES15M_CHECKPOINT_BYTES), 32000);

  test('known encodings (checked against the vocabulary: " Once"=9038, " upon"=2501, " a"=263, " time"=931)', () => {
    expect(tok.encode('Once upon a time', { bos: true })).toEqual([1, 9038, 2501, 263, 931]);
    expect(tok.encode('Hello, world!', { bos: true, eos: true })).toEqual([1, 15043, 29892, 3186, 29991, 2]);
    expect(tok.encode('Once upon a time')).toEqual([9038, 2501, 263, 931]);
    expect(tok.encode('', { bos: true })).toEqual([BOS_ID]);
    expect(tok.encode('')).toEqual([]);
  });

  test('byte fallback: characters outside the vocabulary become one token per UTF-8 byte, id = byte + 3', () => {
    // ☃ = E2 98 83 is not a piece; the dummy prefix " " stays alone (no " ☃" piece)
    expect(tok.encode('☃')).toEqual([29871, 0xe2 + 3, 0x98 + 3, 0x83 + 3]);
    // newline and tab exist only as byte-fallback tokens in Llama 2's vocabulary
    expect(tok.encode('a\n\tb')).toEqual([263, 10 + 3, 9 + 3, 29890]);
    // "é" is a real piece; the old file also stores byte 0xE9 as "é" re-encoded (id 236): not used
    const e = tok.encode('é');
    expect(e).not.toContain(0xe9 + 3);
    expect(tok.decode(e)).toBe('é');
    // decoding ids 3..258 gives the raw byte id − 3, so split characters reassemble
    expect(tok.decode([0xe2 + 3, 0x98 + 3, 0x83 + 3])).toBe('☃');
    expect(tok.decode([0xc3 + 3, 0xa9 + 3])).toBe('é');
  });

  test.each([
    'Once upon a time, there was a little girl named Lily.',
    'héllo wörld ☃ 🦄 日本語 Ω≈ç√∫',
    'a\n\nb\tc\r\nend',
    '  two leading spaces and trailing  ',
    ' one leading space',
    '"Quotes", (brackets) & symbols: #$%^*~`|\\',
    '\u0000\u0001 control bytes \u007f',
    '😀😃😄 emoji only',
  ])('round trip %j with and without BOS', (text) => {
    expect(tok.decode(tok.encode(text, { bos: true }))).toBe(text);
    expect(tok.decode(tok.encode(text, { bos: true, eos: true }))).toBe(text);
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  test('pieceBytes streams the same bytes as decode', () => {
    const ids = tok.encode('Lily saw a 🦄 in the sky.\nThe end.', { bos: true });
    const parts: Uint8Array[] = [];
    let prev: number | null = null;
    for (const id of ids) { parts.push(tok.pieceBytes(prev, id)); prev = id; }
    expect(Buffer.concat(parts).toString('utf8')).toBe(tok.decode(ids));
    expect(tok.pieceBytes(null, BOS_ID).length).toBe(0);
    expect(tok.pieceBytes(5, EOS_ID).length).toBe(0);
    // only the piece after BOS (or at the start) loses its leading space
    expect(Buffer.from(tok.pieceBytes(BOS_ID, 9038)).toString()).toBe('Once');
    expect(Buffer.from(tok.pieceBytes(9038, 2501)).toString()).toBe(' upon');
    expect(() => tok.pieceBytes(null, 32000)).toThrow(RangeError);
    expect(() => tok.pieceBytes(null, -1)).toThrow(RangeError);
  });
});

describe('Tokenizer merges (synthetic vocabulary)', () => {
  test('merges the highest-scoring pair first', () => {
    const t = Tokenizer.fromBytes(tokenizerBytes([[' ', -9], ['a', -5], ['b', -5], ['c', -5], ['ab', -2], ['bc', -1]]), 265);
    // ids: ' '=259, a=260, b=261, c=262, ab=263, bc=264
    expect(t.encode('abc')).toEqual([259, 260, 264]);
  });

  test('ties go to the leftmost pair (run.c strict >)', () => {
    const t = Tokenizer.fromBytes(tokenizerBytes([[' ', -9], ['a', -5], ['b', -5], ['c', -5], ['ab', -1], ['bc', -1]]), 265);
    expect(t.encode('abc')).toEqual([259, 263, 262]);
  });

  test('merges chain into longer pieces, including the dummy prefix', () => {
    const t = Tokenizer.fromBytes(tokenizerBytes([[' ', -9], ['a', -5], ['b', -5], [' a', -3], [' ab', -4]]), 264);
    expect(t.encode('ab', { bos: true })).toEqual([BOS_ID, 263]);
    expect(t.decode([BOS_ID, 263])).toBe('ab');
  });
});

describe('Tokenizer.fromBytes validation', () => {
  const good = tokenizerBytes([[' ', -1]]);
  const code = (f: () => unknown) => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(ModelFileError); return (e as ModelFileError).code; }
    throw new Error('expected a ModelFileError');
  };

  test('accepts a well-formed file', () => {
    expect(Tokenizer.fromBytes(good, 260).vocabSize).toBe(260);
  });
  test('rejects truncated, over-long and malformed files', () => {
    expect(code(() => Tokenizer.fromBytes(good.subarray(0, 2), 260))).toBe('MPC_ERR_TOKENIZER');
    expect(code(() => Tokenizer.fromBytes(good.subarray(0, good.length - 1), 260))).toBe('MPC_ERR_TOKENIZER');
    expect(code(() => Tokenizer.fromBytes(new Uint8Array([...good, 0]), 260))).toBe('MPC_ERR_TOKENIZER');
    expect(code(() => Tokenizer.fromBytes(good, 259))).toBe('MPC_ERR_TOKENIZER'); // trailing entry
    const badLen = good.slice();
    new DataView(badLen.buffer).setInt32(4 + 4, -1, true); // entry 0 length
    expect(code(() => Tokenizer.fromBytes(badLen, 260))).toBe('MPC_ERR_TOKENIZER');
    const badMax = good.slice();
    new DataView(badMax.buffer).setInt32(0, 0, true);
    expect(code(() => Tokenizer.fromBytes(badMax, 260))).toBe('MPC_ERR_TOKENIZER');
    const badScore = good.slice();
    new DataView(badScore.buffer).setFloat32(4, NaN, true);
    expect(code(() => Tokenizer.fromBytes(badScore, 260))).toBe('MPC_ERR_TOKENIZER');
    expect(code(() => Tokenizer.fromBytes(tokenizerBytes([['x', -1]]), 260))).toBe('MPC_ERR_TOKENIZER'); // no " "
    expect(() => Tokenizer.fromBytes(good, 10)).toThrow(RangeError);
  });
});

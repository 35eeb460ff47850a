/**
 * Tokenizer — llama2.c's BPE over the Llama 2 vocabulary (Meta), read from `tokenizer.bin`.
 *
 * File: int32 max_token_length, then vocabSize × { f32 score, i32 byte length, bytes }. Pieces use
 * ' ' where SentencePiece writes '▁'. BOS = 1, EOS = 2, <unk> = 0.
 *
 * Encoding is run.c `encode`:
 *   1. optional BOS; a dummy-prefix token " " when the text is non-empty;
 *   2. each UTF-8 code point becomes its piece, or — when the vocabulary lacks it — one byte-fallback
 *      token per byte, id = byte + 3;
 *   3. repeatedly merge the adjacent pair whose concatenation is a piece with the highest score
 *      (leftmost pair on ties, run.c's strict `>`), until no pair merges; 4. optional EOS.
 * Byte-fallback quirk of this older file (model.md): ids 3..258 hold the raw byte itself, and the
 * bytes ≥ 0x80 are stored re-encoded as two-byte UTF-8 of U+0080..U+00FF. So ids 3..258 are kept out
 * of the piece lookup (else "é" would be found as the byte-fallback id of 0xE9) and are decoded as
 * the single byte id − 3. The lookup therefore prefers the real piece where the file holds the same
 * string twice (204 printable ASCII characters, e.g. " " is both id 35 and id 29871), as SentencePiece
 * does; byte-fallback and special tokens never take part in merges.
 *
 * Decoding concatenates piece bytes and decodes UTF-8 once at the end; special tokens (0, 1, 2)
 * produce nothing, and the first piece of the text, or a piece right after BOS, loses one leading
 * space (the dummy prefix; run.c `decode`).
 */
import { ModelFileError } from './model-file-error';

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
const BYTE_FALLBACK_FIRST = 3;
const BYTE_FALLBACK_END = 259; // exclusive
/** Longest piece a tokenizer file may declare; llama2.c's file says 27. */
const MAX_PIECE_BYTES = 1024;

export class Tokenizer {
  private readonly lookup = new Map<string, number>(); // latin1 key of the piece bytes → id
  private readonly dummyPrefix: number;

  private constructor(
    readonly vocabSize: number,
    readonly maxTokenLength: number,
    private readonly pieces: Uint8Array[],
    private readonly scores: Float32Array,
  ) {
    for (let id = BYTE_FALLBACK_END; id < vocabSize; id++) {
      const key = latin1(pieces[id]);
      if (!this.lookup.has(key)) this.lookup.set(key, id);
    }
    const dummy = this.lookup.get(' ');
    if (dummy === undefined) throw new ModelFileError(`tokenizer has no " " piece for the dummy prefix`, 'MPC_ERR_TOKENIZER');
    this.dummyPrefix = dummy;
  }

  /** Parse and validate tokenizer.bin holding exactly `vocabSize` entries and nothing after them. */
  static fromBytes(bytes: Uint8Array, vocabSize: number): Tokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < BYTE_FALLBACK_END) {
      throw new RangeError(`"vocabSize" expected an integer ≥ ${BYTE_FALLBACK_END}, got ${vocabSize}`);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fail = (msg: string): never => { throw new ModelFileError(`tokenizer: ${msg}`, 'MPC_ERR_TOKENIZER'); };
    if (bytes.length < 4) fail(`expected at least 4 bytes, got ${bytes.length}`);
    const maxTokenLength = dv.getInt32(0, true);
    if (maxTokenLength < 1 || maxTokenLength > MAX_PIECE_BYTES) fail(`max_token_length expected in [1, ${MAX_PIECE_BYTES}], got ${maxTokenLength}`);
    const pieces: Uint8Array[] = new Array(vocabSize);
    const scores = new Float32Array(vocabSize);
    let off = 4;
    for (let id = 0; id < vocabSize; id++) {
      if (off + 8 > bytes.length) fail(`entry ${id} header at offset ${off} runs past ${bytes.length} bytes`);
      scores[id] = dv.getFloat32(off, true);
      const len = dv.getInt32(off + 4, true);
      off += 8;
      if (!Number.isFinite(scores[id])) fail(`entry ${id} has a non-finite score`);
      if (len < 0 || len > maxTokenLength) fail(`entry ${id} length expected in [0, ${maxTokenLength}], got ${len}`);
      if (off + len > bytes.length) fail(`entry ${id} bytes at offset ${off} (length ${len}) run past ${bytes.length} bytes`);
      pieces[id] = bytes.slice(off, off + len);
      off += len;
    }
    if (off !== bytes.length) fail(`expected ${off} bytes for ${vocabSize} entries, got ${bytes.length}`);
    return new Tokenizer(vocabSize, maxTokenLength, pieces, scores);
  }

  /** Token ids of `text` (run.c `encode`); `bos`/`eos` add the sequence markers. */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    const ids: number[] = [];
    const keys: (string | null)[] = []; // piece bytes as latin1, null = never merges
    if (opts.bos) { ids.push(BOS_ID); keys.push(null); }
    const utf8 = new TextEncoder().encode(text);
    if (utf8.length > 0) { ids.push(this.dummyPrefix); keys.push(' '); }
    // 2. code points → pieces, or byte fallback
    for (let i = 0; i < utf8.length;) {
      let end = i + 1;
      while (end < utf8.length && (utf8[end] & 0xc0) === 0x80 && end - i < 4) end++;
      const key = latin1(utf8.subarray(i, end));
      const id = this.lookup.get(key);
      if (id !== undefined) { ids.push(id); keys.push(key); }
      else for (let j = i; j < end; j++) { ids.push(utf8[j] + BYTE_FALLBACK_FIRST); keys.push(null); }
      i = end;
    }
    // 3. greedy merges by score; pair scores are cached and only the merged pair's neighbours recomputed
    const pairId: number[] = [];
    const pairScore: number[] = [];
    const scorePair = (i: number) => {
      const a = keys[i], b = keys[i + 1];
      const id = a !== null && b !== null ? this.lookup.get(a + b) : undefined;
      pairId[i] = id ?? -1;
      pairScore[i] = id === undefined ? -Infinity : this.scores[id];
    };
    for (let i = 0; i + 1 < ids.length; i++) scorePair(i);
    for (;;) {
      let best = -1, bestScore = -1e10; // run.c's starting best_score
      for (let i = 0; i < pairScore.length; i++) if (pairScore[i] > bestScore) { bestScore = pairScore[i]; best = i; }
      if (best < 0) break;
      ids[best] = pairId[best];
      keys[best] = keys[best]! + keys[best + 1]!;
      ids.splice(best + 1, 1); keys.splice(best + 1, 1);
      pairId.splice(best, 1); pairScore.splice(best, 1);
      if (best > 0) scorePair(best - 1);
      if (best + 1 < ids.length) scorePair(best);
    }
    if (opts.eos) ids.push(EOS_ID);
    return ids;
  }

  /** Bytes that `token` contributes after `prev` (null at the start); for streaming output. */
  pieceBytes(prev: number | null, token: number): Uint8Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`token id expected in [0, ${this.vocabSize}), got a value outside it`);
    }
    if (token === UNK_ID || token === BOS_ID || token === EOS_ID) return new Uint8Array(0);
    if (token < BYTE_FALLBACK_END) return Uint8Array.of(token - BYTE_FALLBACK_FIRST);
    const piece = this.pieces[token];
    const strip = (prev === null || prev === BOS_ID) && piece[0] === 0x20;
    return strip ? piece.subarray(1) : piece;
  }

  /** Text of a token sequence (UTF-8 decoded once, so byte-fallback sequences reassemble). */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let prev: number | null = null;
    for (const id of ids) {
      parts.push(this.pieceBytes(prev, id));
      prev = id;
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** The merge score of a piece (tests and diagnostics). */
  score(id: number): number {
    return this.scores[id];
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

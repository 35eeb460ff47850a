import {
  assertEnvelopeKeys,
  decodeEnvelope,
  decodeFrame,
  encodeEnvelope,
  encodeFrame,
  envelopeInt,
  envelopeString,
  FRAME_HEADER_BYTES,
  LimitError,
  ProtocolError,
  readFrameHeader,
} from '@mpcache/mpc-core';
import { Packr } from 'msgpackr';

describe('frame', () => {
  it('round-trips tag and payload; header is 16 bytes; payload is an aligned copy', () => {
    const payload = Uint8Array.of(1, 2, 3, 4, 5);
    const f = encodeFrame(0xdead_beef, payload);
    expect(f.byteLength).toBe(FRAME_HEADER_BYTES + 5);
    const d = decodeFrame(f);
    expect(d).toMatchObject({ tag: 0xdead_beef, payloadBytes: 5, messageBytes: 5, continues: false });
    expect([...d.payload]).toEqual([1, 2, 3, 4, 5]);
    expect(d.payload.byteOffset).toBe(0);
    expect(d.payload.buffer).not.toBe(f.buffer);
  });

  it('decodes an empty payload and a frame inside a larger (pooled) buffer', () => {
    const f = encodeFrame(7, new Uint8Array(0));
    expect(decodeFrame(f).payload.byteLength).toBe(0);
    const pool = new Uint8Array(64);
    pool.set(encodeFrame(3, Uint8Array.of(9, 9)), 13);
    const d = decodeFrame(pool.subarray(13, 13 + FRAME_HEADER_BYTES + 2));
    expect([d.tag, ...d.payload]).toEqual([3, 9, 9]);
  });

  it('readFrameHeader returns undefined until the header is complete (need more bytes)', () => {
    const f = encodeFrame(1, new Uint8Array(100));
    for (let n = 0; n < FRAME_HEADER_BYTES; n++) expect(readFrameHeader(f.subarray(0, n))).toBeUndefined();
    expect(readFrameHeader(f.subarray(0, FRAME_HEADER_BYTES))).toEqual({ tag: 1, payloadBytes: 100, messageBytes: 100, continues: false });
  });

  it('carries a fragment: the message length and the continuation flag', () => {
    const first = encodeFrame(4, new Uint8Array(3), 3, { messageBytes: 7, continues: false });
    const next = encodeFrame(4, new Uint8Array(3), 3, { messageBytes: 7, continues: true });
    expect([...first.subarray(0, 4)]).toEqual([0x4d, 2, 0, 0]);
    expect(next[2]).toBe(1);
    expect(readFrameHeader(first, 3)).toEqual({ tag: 4, payloadBytes: 3, messageBytes: 7, continues: false });
    expect(decodeFrame(next, 3)).toMatchObject({ tag: 4, payloadBytes: 3, messageBytes: 7, continues: true });
    expect(() => encodeFrame(4, new Uint8Array(3), 3, { messageBytes: 2, continues: true })).toThrow(RangeError);
  });

  const rejects: Array<[string, () => unknown, new (...a: never[]) => Error, string]> = [
    ['bad magic', () => decodeFrame(withByte(0, 0x4e)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['bad version', () => decodeFrame(withByte(1, 0)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['a version 1 frame (10-byte header)', () => decodeFrame(Uint8Array.of(0x4d, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['unknown flags', () => decodeFrame(withByte(2, 0x02)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['a non-zero reserved byte', () => decodeFrame(withByte(3, 1)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['truncated header', () => decodeFrame(Uint8Array.of(0x4d, 2, 0)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['a 10-byte header', () => decodeFrame(encodeFrame(0, new Uint8Array(0)).subarray(0, 10)), ProtocolError, 'MPC_ERR_BAD_FRAME'],
    ['a payload longer than its message', () => decodeFrame(withByte(12, 1, 4)), ProtocolError, 'MPC_ERR_BAD_LENGTH'],
    ['short payload', () => decodeFrame(encodeFrame(0, new Uint8Array(8)).subarray(0, 23)), ProtocolError, 'MPC_ERR_BAD_LENGTH'],
    ['long payload', () => decodeFrame(Uint8Array.of(...encodeFrame(0, new Uint8Array(8)), 0)), ProtocolError, 'MPC_ERR_BAD_LENGTH'],
    ['declared length over the limit', () => readFrameHeader(encodeFrame(0, new Uint8Array(11)), 10), LimitError, 'MPC_ERR_FRAME_TOO_LARGE'],
    ['encoding over the limit', () => encodeFrame(0, new Uint8Array(11), 10), LimitError, 'MPC_ERR_FRAME_TOO_LARGE'],
  ];
  for (const [label, run, cls, code] of rejects) {
    it(`rejects ${label} with ${cls.name} ${code}`, () => {
      expect(run).toThrow(cls);
      expect(run).toThrow(expect.objectContaining({ code }));
    });
  }

  it('checks the limit on both sides of the boundary', () => {
    expect(decodeFrame(encodeFrame(0, new Uint8Array(10), 10), 10).payload.byteLength).toBe(10);
    expect(() => decodeFrame(encodeFrame(0, new Uint8Array(11)), 10)).toThrow(LimitError);
  });

  it('rejects tags outside u32 on encode', () => {
    for (const t of [-1, 2 ** 32, 1.5, NaN]) expect(() => encodeFrame(t, new Uint8Array(0))).toThrow(RangeError);
  });
});

/** A frame with a 4-byte payload whose header byte `at` is replaced by `value`. */
function withByte(at: number, value: number, payloadBytes = 4): Uint8Array {
  const f = encodeFrame(1, new Uint8Array(payloadBytes));
  f[at] = value;
  return f;
}

describe('envelope', () => {
  it('round-trips plain data', () => {
    const v = { index: 3, name: 'mulTriples', params: { dims: [2, 3], flag: true, none: null }, key: Uint8Array.of(1, 2) };
    const d = decodeEnvelope(encodeEnvelope(v), 'test');
    expect(d).toMatchObject({ index: 3, name: 'mulTriples', params: { dims: [2, 3], flag: true, none: null } });
    expect([...(d.key as Uint8Array)]).toEqual([1, 2]);
  });

  const unsafe = new Packr({ useRecords: false, structuredClone: true, moreTypes: true });
  const bad: Array<[string, Uint8Array]> = [
    ['a Set', unsafe.pack({ x: new Set([1]) })],
    ['an Error', unsafe.pack({ x: new Error('e') })],
    ['a RegExp', unsafe.pack({ x: /a+/ })],
    ['a Date', unsafe.pack({ x: new Date(0) })],
    // { x: Float64Array(2) } as msgpackr's typed-array extension 0x74 writes it (packed outside jest's realm)
    ['a typed array', Uint8Array.of(0xde, 0, 1, 0xa1, 0x78, 0xc7, 0x11, 0x74, 0x08, ...new Uint8Array(16))],
    ['a non-map top level', unsafe.pack([1, 2])],
    ['a NaN', unsafe.pack({ x: NaN })],
    ['deep nesting', unsafe.pack({ x: [[[[[[[[[[1]]]]]]]]]] })],
    ['garbage', Uint8Array.of(0xc1, 0xc1)],
    ['a truncated map', unsafe.pack({ abc: 'defgh' }).subarray(0, 5)],
  ];
  for (const [label, bytes] of bad) {
    it(`rejects ${label} with ProtocolError MPC_ERR_BAD_MESSAGE`, () => {
      expect(() => decodeEnvelope(bytes, 'test')).toThrow(expect.objectContaining({ name: 'ProtocolError', code: 'MPC_ERR_BAD_MESSAGE' }));
    });
  }

  it('rejects an envelope over the size limit with LimitError', () => {
    expect(() => decodeEnvelope(encodeEnvelope({ s: 'x'.repeat(100) }), 'test', 64)).toThrow(LimitError);
  });

  it('field readers check keys, integers and strings', () => {
    const env = decodeEnvelope(encodeEnvelope({ index: 5, name: 'a' }), 'req');
    expect(() => assertEnvelopeKeys(env, 'req', ['index', 'name'])).not.toThrow();
    expect(() => assertEnvelopeKeys(env, 'req', ['index'])).toThrow(/unexpected field "name"/);
    expect(() => assertEnvelopeKeys(env, 'req', ['index', 'name', 'params'])).toThrow(/missing field "params"/);
    expect(envelopeInt(env, 'index', 'req', 0, 10)).toBe(5);
    expect(() => envelopeInt(env, 'index', 'req', 0, 4)).toThrow(ProtocolError);
    expect(() => envelopeInt(env, 'name', 'req', 0, 4)).toThrow(ProtocolError);
    expect(envelopeString(env, 'name', 'req', 8)).toBe('a');
    expect(() => envelopeString(env, 'index', 'req', 8)).toThrow(ProtocolError);
  });
});

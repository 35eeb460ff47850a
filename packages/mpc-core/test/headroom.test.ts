/**
 * Send buffers with headroom: headers are written in front of the payload in its own buffer, they
 * stack outwards, a second claim of the same view falls back to a copy, and the frames decode to the
 * same payloads as copied ones.
 */
import { allocWithHeadroom, claimHeadroom, concatWithHeadroom, decodeFrame, encodeFrame, FRAME_HEADER_BYTES } from '@mpcache/mpc-core';

describe('headroom', () => {
  it('claims stack outwards in one buffer; the headroom is used once', () => {
    const msg = allocWithHeadroom(5, 24);
    msg.set([1, 2, 3, 4, 5]);
    const reply = claimHeadroom(msg, 8);
    if (!reply) throw new Error('expected the headroom to be claimed');
    expect(reply.buffer).toBe(msg.buffer);
    expect(reply.byteOffset).toBe(16);
    expect([...reply.subarray(8)]).toEqual([1, 2, 3, 4, 5]);
    expect(claimHeadroom(msg, 8)).toBeUndefined(); // msg no longer starts at the free boundary
    const frame = claimHeadroom(reply, 16);
    if (!frame) throw new Error('expected the rest of the headroom to be claimed');
    expect(frame.byteOffset).toBe(0);
    expect(frame.byteLength).toBe(16 + 8 + 5);
    expect(claimHeadroom(frame, 1)).toBeUndefined(); // nothing left
  });

  it('refuses views without headroom, views not at the boundary and claims larger than the room', () => {
    expect(claimHeadroom(new Uint8Array(8), 0)).toBeUndefined();
    const msg = allocWithHeadroom(10, 8);
    expect(claimHeadroom(msg.subarray(2), 1)).toBeUndefined();
    expect(claimHeadroom(msg, 9)).toBeUndefined();
    expect(claimHeadroom(msg, 8)?.byteOffset).toBe(0);
    expect(() => allocWithHeadroom(1, -1)).toThrow(RangeError);
  });

  it('concatWithHeadroom joins the parts after the free bytes', () => {
    const v = concatWithHeadroom([Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3)], 24);
    expect(v.byteOffset).toBe(24);
    expect([...v]).toEqual([1, 2, 3]);
  });

  it('encodeFrame writes its header in place when it can, and the frame decodes like a copied one', () => {
    const payload = concatWithHeadroom([Uint8Array.of(9, 8, 7, 6)], FRAME_HEADER_BYTES);
    const inPlace = encodeFrame(0x1234, payload);
    expect(inPlace.buffer).toBe(payload.buffer); // no copy
    const again = encodeFrame(0x1234, payload); // headroom taken: a fresh copy
    expect(again.buffer).not.toBe(payload.buffer);
    expect([...inPlace]).toEqual([...again]);
    expect(decodeFrame(inPlace)).toMatchObject({ tag: 0x1234, payloadBytes: 4, messageBytes: 4, continues: false });
    expect([...decodeFrame(inPlace).payload]).toEqual([9, 8, 7, 6]);
  });
});

/**
 * Send buffers with headroom: a message built in a buffer that keeps free bytes in front of it can
 * take its wire headers there (the dealer's reply status, then the frame header) instead of being
 * copied behind each of them. The dealer's replies are most of what crosses the wire (≈ 20× a
 * token's online bytes); each copy of them was ≈ 8 % of the dealer's CPU in a stories15M prefill.
 *
 * Rules: headroom belongs to the buffer's first view (allocWithHeadroom); a header claims the free
 * bytes right in front of the view it extends, so headers stack outwards in the order they are
 * added, and a second send of the same view finds the headroom taken and falls back to a copy.
 * A view sent this way is handed over: its bytes go out as they are when the transport writes them,
 * so the sender must not change them after sending (every dealer reply is built, sent and dropped).
 */

/** Per buffer: the end of its still-free headroom (bytes [0, end) are free for headers). */
const freeHeadroom = new WeakMap<ArrayBufferLike, number>();

/** A zeroed view of `bytes` bytes with `headroom` free bytes in front of it (in the same buffer). */
export function allocWithHeadroom(bytes: number, headroom: number): Uint8Array {
  if (!Number.isSafeInteger(headroom) || headroom < 0) throw new RangeError(`headroom expected a non-negative integer, got ${headroom}`);
  const view = new Uint8Array(new ArrayBuffer(headroom + bytes), headroom, bytes);
  freeHeadroom.set(view.buffer, headroom);
  return view;
}

/**
 * `view` extended by `bytes` header bytes in front of it (a new view of the same buffer, the header
 * bytes first, as they were: the caller writes them), or undefined when the bytes right in front of
 * `view` are not free headroom (then the caller copies).
 */
export function claimHeadroom(view: Uint8Array, bytes: number): Uint8Array | undefined {
  const free = freeHeadroom.get(view.buffer);
  if (free === undefined || view.byteOffset !== free || free < bytes) return undefined;
  freeHeadroom.set(view.buffer, free - bytes);
  return new Uint8Array(view.buffer, free - bytes, bytes + view.byteLength);
}

/** The parts concatenated into one view with `headroom` free bytes in front of it. */
export function concatWithHeadroom(parts: readonly Uint8Array[], headroom: number): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = allocWithHeadroom(n, headroom);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * AES-128-CTR pseudo-random generator (node:crypto), keyed by a 16-byte seed.
 *
 * Output is the keystream, i.e. AES_seed(iv), AES_seed(iv + 1), …, consumed in order; draws never
 * overlap. Every random mask of the online protocols comes from an instance seeded by a key agreed
 * with the dealer (seed-agreement.ts) or from crypto.randomBytes. The keystream is produced in
 * chunks of POOL_BYTES (256 KiB: node:crypto's AES is fastest at this size on this machine).
 */
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';

const POOL_BYTES = 256 * 1024;
const ZEROS = Buffer.alloc(POOL_BYTES);

export class AesCtrPrg {
  private readonly cipher: Cipher;
  private pool: Buffer = Buffer.alloc(0);
  private pos = 0;

  /** @param seed 16 secret bytes; @param stream public 16-byte IV separating streams of one seed. */
  constructor(seed: Uint8Array, stream: Uint8Array = new Uint8Array(16)) {
    if (seed.length !== 16) throw new RangeError(`"seed" expected 16 bytes, got ${seed.length}`);
    if (stream.length !== 16) throw new RangeError(`"stream" expected 16 bytes, got ${stream.length}`);
    this.cipher = createCipheriv('aes-128-ctr', seed, stream);
  }

  /** A PRG seeded from the OS CSPRNG (for local randomness that no peer must reproduce). */
  static fromEntropy(): AesCtrPrg {
    return new AesCtrPrg(randomBytes(16), randomBytes(16));
  }

  /** Fill `out` with the next out.length keystream bytes. */
  fill(out: Uint8Array): Uint8Array {
    let off = 0;
    while (off < out.length) {
      if (this.pos === this.pool.length) this.refill(out.length - off);
      const n = Math.min(out.length - off, this.pool.length - this.pos);
      out.set(this.pool.subarray(this.pos, this.pos + n), off);
      this.pos += n;
      off += n;
    }
    return out;
  }

  bytes(n: number): Uint8Array {
    return this.fill(new Uint8Array(n));
  }

  /** n uniform ring elements. */
  words(n: number): BigUint64Array {
    const out = new BigUint64Array(n);
    this.fill(new Uint8Array(out.buffer));
    return out;
  }

  /** A uniform integer in [0, bound) by rejection sampling (bound ≤ 2^32). */
  uniformInt(bound: number): number {
    if (!(bound >= 1 && bound <= 2 ** 32)) throw new RangeError(`uniformInt bound ${bound} out of range`);
    const limit = Math.floor(2 ** 32 / bound) * bound;
    const b = new Uint8Array(4);
    for (;;) {
      this.fill(b);
      const v = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      if (v < limit) return v % bound;
    }
  }

  private refill(want: number): void {
    const n = Math.min(POOL_BYTES, Math.max(4096, Math.ceil(want / 16) * 16));
    this.pool = this.cipher.update(n === POOL_BYTES ? ZEROS : ZEROS.subarray(0, n));
    this.pos = 0;
  }
}

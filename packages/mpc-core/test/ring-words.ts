/** Test helper: deterministic u64 words spread over the whole range (the AES-128-CTR keystream of the seed). */
import { createCipheriv } from 'node:crypto';

export function ringWords(len: number, seed: number): BigUint64Array {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed >>> 0, 0);
  const out = new BigUint64Array(len);
  new Uint8Array(out.buffer).set(createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(len * 8)));
  return out;
}

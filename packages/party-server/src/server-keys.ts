/**
 * Long-term X25519 key pairs of the servers. Each server has one; per session it agrees a seed with
 * each counterpart (mpc-core seed-agreement.ts: HKDF over X25519, salted with the session id
 * and both ends' fresh link nonces):
 * P0–P1 "p0-p1", dealer–P_b "dealer-p<b>". Public keys travel in the hello of each link; a server
 * configured with a counterpart's public key (`--peer-public-key`, `--dealer-public-key`, …) rejects
 * a hello that carries another one, or that names it without proving it holds its secret
 * (hello-auth.ts), which is what a deployment should do. Without a configured key
 * the server takes the key from the hello (fine against semi-honest parties, which is the model;
 * not against an active man in the middle).
 */
import { generateKeyPair, ProtocolError, sameBytes, type KeyPair } from '@mpcache/mpc-core';

const HEX_32 = /^[0-9a-fA-F]{64}$/;

/** A key pair from a 32-byte secret key in hex (e.g. env MPCACHE_SECRET_KEY), or a fresh one. */
export function keyPairFromHex(secretHex: string | undefined, what = 'secret key'): KeyPair {
  if (secretHex === undefined || secretHex === '') return generateKeyPair();
  if (!HEX_32.test(secretHex)) throw new RangeError(`${what} expected 64 hex digits, got ${secretHex.length} characters`);
  return generateKeyPair(Buffer.from(secretHex, 'hex'));
}

/** A 32-byte public key from hex, or undefined when not configured. */
export function publicKeyFromHex(hex: string | undefined, what: string): Uint8Array | undefined {
  if (hex === undefined || hex === '') return undefined;
  if (!HEX_32.test(hex)) throw new RangeError(`${what} expected 64 hex digits, got ${hex.length} characters`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Throws ProtocolError if a key is configured for `who` and the hello carried a different one. */
export function checkPinnedKey(got: Uint8Array, pinned: Uint8Array | undefined, who: string): void {
  if (pinned === undefined) return;
  if (!sameBytes(got, pinned)) {
    throw new ProtocolError(`public key of ${who} does not match the configured one`, 'MPC_ERR_BAD_MESSAGE');
  }
}

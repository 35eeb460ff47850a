/**
 * Pairwise seeds by X25519 key agreement (@noble/curves) and HKDF-SHA256 (@noble/hashes).
 *
 * Each of P0, P1 and the dealer holds an X25519 key pair. For a pair {A, B} and a session, the seed
 * is HKDF(sha256, ikm = X25519(a, B), salt = sessionSalt(id, n_A, n_B), info = "mpcache/v1/<label>",
 * 16 bytes), where n_A and n_B are the two ends' link nonces: 32 fresh random bytes each end puts in
 * its hello. The long-term keys and a session id alone would give a session the same seeds as an
 * earlier one under the same id, and with them the same masks (a reused id would open x − x′ for
 * every opened value); the nonces make every session's seeds new unless both ends repeat theirs.
 * Labels: "p0-p1" (zero-sharings between the parties), "dealer-p0", "dealer-p1" (correlations); the
 * nonces go in the label's order (p0 then p1; the dealer then P_b).
 * `agreeKey` derives longer keys under other labels (the sealed client links, whose client key pair
 * is new for every session).
 */
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha256';
import { randomBytes } from 'node:crypto';

export type SeedLabel = 'p0-p1' | 'dealer-p0' | 'dealer-p1';

/** Bytes of a link nonce. */
export const LINK_NONCE_BYTES = 32;

/** A fresh link nonce (crypto.randomBytes), one per end of every session link. */
export function newLinkNonce(): Uint8Array {
  return new Uint8Array(randomBytes(LINK_NONCE_BYTES));
}

/** The two ends' link nonces, in the seed label's order (p0 then p1; the dealer then P_b). */
export type LinkNonces = readonly [Uint8Array, Uint8Array];

/** HKDF salt of a session link: u16 length ‖ UTF-8 session id ‖ both nonces (unambiguous). */
export function sessionSalt(sessionId: string, nonces: LinkNonces): Uint8Array {
  const id = new TextEncoder().encode(sessionId);
  if (id.length > 0xffff) throw new RangeError(`"sessionId" expected at most 65535 bytes, got ${id.length}`);
  for (const n of nonces) {
    if (n.length !== LINK_NONCE_BYTES) throw new RangeError(`link nonce expected ${LINK_NONCE_BYTES} bytes, got ${n.length}`);
  }
  const salt = new Uint8Array(2 + id.length + 2 * LINK_NONCE_BYTES);
  salt[0] = id.length >> 8;
  salt[1] = id.length & 0xff;
  salt.set(id, 2);
  salt.set(nonces[0], 2 + id.length);
  salt.set(nonces[1], 2 + id.length + LINK_NONCE_BYTES);
  return salt;
}

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateKeyPair(secretKey: Uint8Array = randomBytes(32)): KeyPair {
  if (secretKey.length !== 32) throw new RangeError(`"secretKey" expected 32 bytes, got ${secretKey.length}`);
  return { secretKey: Uint8Array.from(secretKey), publicKey: x25519.getPublicKey(secretKey) };
}

/**
 * The 16-byte seed of one session shared by the owner of `mine` and the owner of `theirPublicKey`;
 * `nonces` are both ends' link nonces in the label's order.
 */
export function agreeSeed(mine: KeyPair, theirPublicKey: Uint8Array, sessionId: string, label: SeedLabel, nonces: LinkNonces): Uint8Array {
  return agreeKey(mine, theirPublicKey, sessionSalt(sessionId, nonces), label, 16);
}

/**
 * `bytes` bytes of key shared by the owner of `mine` and the owner of `theirPublicKey`:
 * HKDF(sha256, X25519(mine, theirs), salt, info = "mpcache/v1/<label>"); `salt` is a session id
 * (UTF-8) or salt bytes (sessionSalt).
 * Throws RangeError on a key of the wrong length or one whose agreement is all zeros (a small-order
 * point, which would make the key public).
 */
export function agreeKey(mine: KeyPair, theirPublicKey: Uint8Array, salt: string | Uint8Array, label: string, bytes: number): Uint8Array {
  if (theirPublicKey.length !== 32) {
    throw new RangeError(`"theirPublicKey" expected 32 bytes, got ${theirPublicKey.length}`);
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(mine.secretKey, theirPublicKey);
  } catch {
    throw new RangeError('"theirPublicKey" is a small-order point: no shared secret');
  }
  if (shared.every((b) => b === 0)) throw new RangeError('"theirPublicKey" is a small-order point: no shared secret');
  const info = new TextEncoder().encode(`mpcache/v1/${label}`);
  return hkdf(sha256, shared, typeof salt === 'string' ? new TextEncoder().encode(salt) : salt, info, bytes);
}

/**
 * HMAC-SHA256 of `message` under the 32-byte key agreeKey(mine, theirPublicKey, salt, label): a
 * proof, to the owner of `theirPublicKey`, that the sender holds the secret of `mine` (only the two
 * can compute it).
 */
export function agreedMac(mine: KeyPair, theirPublicKey: Uint8Array, salt: string, label: string, message: Uint8Array): Uint8Array {
  return hmac(sha256, agreeKey(mine, theirPublicKey, salt, label, 32), message);
}

/** Byte strings equal, in time independent of where they differ. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i] ?? 0);
  return diff === 0;
}

/** A sub-seed for a named purpose, derived from a seed (HKDF expand). */
export function deriveSeed(seed: Uint8Array, purpose: string): Uint8Array {
  return hkdf(sha256, seed, new Uint8Array(0), new TextEncoder().encode(`mpcache/v1/sub/${purpose}`), 16);
}

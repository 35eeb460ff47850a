/**
 * Pairwise seeds by X25519 key agreement (@noble/curves) and HKDF-SHA256 (@noble/hashes).
 *
 * Each of P0, P1 and the dealer holds an X25519 key pair. For a pair {A, B} and a session id, the
 * seed is HKDF(sha256, ikm = X25519(a, B), salt = sessionId, info = "mpcache/v1/<label>", 16 bytes).
 * Labels: "p0-p1" (zero-sharings between the parties), "dealer-p0", "dealer-p1" (correlations).
 * `agreeKey` derives longer keys the same way under other labels (the sealed client links).
 */
import { x25519 } from '@noble/curves/ed25519';
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha256';
import { randomBytes } from 'node:crypto';

export type SeedLabel = 'p0-p1' | 'dealer-p0' | 'dealer-p1';

export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export function generateKeyPair(secretKey: Uint8Array = randomBytes(32)): KeyPair {
  if (secretKey.length !== 32) throw new RangeError(`"secretKey" expected 32 bytes, got ${secretKey.length}`);
  return { secretKey: Uint8Array.from(secretKey), publicKey: x25519.getPublicKey(secretKey) };
}

/** The 16-byte seed shared by the owner of `mine` and the owner of `theirPublicKey`. */
export function agreeSeed(mine: KeyPair, theirPublicKey: Uint8Array, sessionId: string, label: SeedLabel): Uint8Array {
  return agreeKey(mine, theirPublicKey, sessionId, label, 16);
}

/**
 * `bytes` bytes of key shared by the owner of `mine` and the owner of `theirPublicKey`:
 * HKDF(sha256, X25519(mine, theirs), salt = sessionId, info = "mpcache/v1/<label>").
 * Throws RangeError on a key of the wrong length or one whose agreement is all zeros (a small-order
 * point, which would make the key public).
 */
export function agreeKey(mine: KeyPair, theirPublicKey: Uint8Array, sessionId: string, label: string, bytes: number): Uint8Array {
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
  return hkdf(sha256, shared, new TextEncoder().encode(sessionId), info, bytes);
}

/** A sub-seed for a named purpose, derived from a seed (HKDF expand). */
export function deriveSeed(seed: Uint8Array, purpose: string): Uint8Array {
  return hkdf(sha256, seed, new Uint8Array(0), new TextEncoder().encode(`mpcache/v1/sub/${purpose}`), 16);
}

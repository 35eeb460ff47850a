/**
 * Pairwise seeds (seed-agreement.ts): both ends of a link derive the same seed, and a session's
 * seed depends on both link nonces, so a reused session id under the same long-term keys does not
 * repeat an earlier session's seeds (and with them every mask).
 */
import { hkdf } from '@noble/hashes/hkdf';
import { sha256 } from '@noble/hashes/sha256';
import { x25519 } from '@noble/curves/ed25519';
import { agreeSeed, generateKeyPair, LINK_NONCE_BYTES, newLinkNonce, sessionSalt } from '@mpcache/mpc-core';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('agreeSeed', () => {
  const dealer = generateKeyPair(), p0 = generateKeyPair();

  it('both ends of a link derive the same 16-byte seed', () => {
    const nonces = [newLinkNonce(), newLinkNonce()] as const;
    const a = agreeSeed(dealer, p0.publicKey, 'sess', 'dealer-p0', nonces);
    const b = agreeSeed(p0, dealer.publicKey, 'sess', 'dealer-p0', nonces);
    expect(a.length).toBe(16);
    expect(hex(a)).toBe(hex(b));
  });

  it('is HKDF-SHA256 over the X25519 secret, salted with u16 length ‖ id ‖ both nonces', () => {
    const nonces = [new Uint8Array(LINK_NONCE_BYTES).fill(7), new Uint8Array(LINK_NONCE_BYTES).fill(9)] as const;
    const salt = Uint8Array.from([0, 4, ...Buffer.from('sess'), ...nonces[0], ...nonces[1]]);
    expect(hex(sessionSalt('sess', nonces))).toBe(hex(salt));
    const ikm = x25519.getSharedSecret(dealer.secretKey, p0.publicKey);
    const want = hkdf(sha256, ikm, salt, new TextEncoder().encode('mpcache/v1/dealer-p0'), 16);
    expect(hex(agreeSeed(dealer, p0.publicKey, 'sess', 'dealer-p0', nonces))).toBe(hex(want));
  });

  it('the same keys and session id with a new nonce at either end give a new seed', () => {
    const [n0, n1, fresh] = [newLinkNonce(), newLinkNonce(), newLinkNonce()];
    const seed = (a: Uint8Array, b: Uint8Array) => hex(agreeSeed(dealer, p0.publicKey, 'same-id', 'dealer-p0', [a, b]));
    const first = seed(n0, n1);
    expect(seed(fresh, n1)).not.toBe(first);
    expect(seed(n0, fresh)).not.toBe(first);
    expect(seed(n1, n0)).not.toBe(first); // the order is part of the salt
    expect(seed(n0, n1)).toBe(first);
  });

  it('labels and session ids separate seeds', () => {
    const nonces = [newLinkNonce(), newLinkNonce()] as const;
    const s = (id: string, label: 'p0-p1' | 'dealer-p0') => hex(agreeSeed(dealer, p0.publicKey, id, label, nonces));
    expect(new Set([s('a', 'p0-p1'), s('a', 'dealer-p0'), s('b', 'p0-p1')]).size).toBe(3);
  });

  it('rejects nonces of the wrong length', () => {
    expect(() => agreeSeed(dealer, p0.publicKey, 's', 'p0-p1', [newLinkNonce(), new Uint8Array(16)])).toThrow(/link nonce expected 32 bytes, got 16/);
  });
});

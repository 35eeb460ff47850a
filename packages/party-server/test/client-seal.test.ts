/**
 * ClientSeal against an independent reference: node:crypto's own X25519 (diffieHellman on KeyObjects)
 * and HKDF (hkdfSync) derive the key, and createDecipheriv opens the seal by hand. Then every way a
 * seal must fail to open.
 */
import { createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { generateKeyPair, ProtocolError, type KeyPair } from '@mpcache/mpc-core';
import { ClientSeal, SEAL_OVERHEAD, sealPlace } from '../src';

// DER prefixes of X25519 keys (RFC 8410): PKCS#8 private, SPKI public, then the 32 raw bytes
const PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** The reference key: HKDF-SHA256(X25519(a, B), salt = session, info = mpcache/v1/client-p<b>/<dir>). */
function referenceKey(mine: KeyPair, theirs: Uint8Array, session: string, party: number, dir: 'up' | 'down'): Buffer {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8, mine.secretKey]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey({ key: Buffer.concat([SPKI, theirs]), format: 'der', type: 'spki' });
  const shared = diffieHellman({ privateKey, publicKey });
  return Buffer.from(hkdfSync('sha256', shared, session, `mpcache/v1/client-p${party}/${dir}`, 32));
}

function referenceOpen(key: Buffer, aad: string, sealed: Uint8Array): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(sealed.subarray(sealed.byteLength - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.byteLength - 16)), d.final()]);
}

describe('ClientSeal', () => {
  const client = generateKeyPair(), party = generateKeyPair();
  const plain = Uint8Array.from({ length: 24 }, (_, i) => i * 7 + 1);

  it('client → party: the seal opens with the reference key (node X25519 + HKDF + AES-256-GCM)', () => {
    const sealed = ClientSeal.agree('client', client, party.publicKey, 'sess-1', 1).seal(sealPlace.generate(0, 3), plain);
    expect(sealed.byteLength).toBe(plain.byteLength + SEAL_OVERHEAD);
    const key = referenceKey(party, client.publicKey, 'sess-1', 1, 'up');
    expect(new Uint8Array(referenceOpen(key, 'sess-1/generate/0/3', sealed))).toEqual(plain);
    // …and the ciphertext is not the plaintext
    expect(Buffer.from(sealed).includes(Buffer.from(plain.subarray(0, 8)))).toBe(false);
  });

  it('party → client: the party seals with the "down" key, the client opens it', () => {
    const atParty = ClientSeal.agree('party', party, client.publicKey, 'sess-1', 0);
    const sealed = atParty.seal(sealPlace.token(1, 5), plain.subarray(0, 8));
    const key = referenceKey(client, party.publicKey, 'sess-1', 0, 'down');
    expect(new Uint8Array(referenceOpen(key, 'sess-1/token/1/5', sealed))).toEqual(plain.subarray(0, 8));
    const atClient = ClientSeal.agree('client', client, party.publicKey, 'sess-1', 0);
    expect(atClient.open(sealPlace.token(1, 5), sealed, 't')).toEqual(plain.subarray(0, 8));
    // two seals of the same bytes differ (fresh nonces)
    expect(atParty.seal(sealPlace.token(1, 5), plain.subarray(0, 8))).not.toEqual(sealed);
  });

  it('refuses every seal made for another place, session, party, direction or key, or altered', () => {
    const atClient = ClientSeal.agree('client', client, party.publicKey, 's', 0);
    const atParty = ClientSeal.agree('party', party, client.publicKey, 's', 0);
    const good = atClient.seal('generate/2', plain);
    expect(atParty.open('generate/2', good, 'g')).toEqual(plain);
    const flipped = (i: number) => {
      const x = Uint8Array.from(good);
      x[i] ^= 0x80;
      return x;
    };
    const refused: [string, () => Uint8Array][] = [
      ['another place', () => atParty.open('generate/3', good, 'g')],
      ['another session', () => ClientSeal.agree('party', party, client.publicKey, 't', 0).open('generate/2', good, 'g')],
      ['another party index', () => ClientSeal.agree('party', party, client.publicKey, 's', 1).open('generate/2', good, 'g')],
      ['its own direction (a reflected seal)', () => atClient.open('generate/2', good, 'g')],
      ['another party key', () => ClientSeal.agree('party', generateKeyPair(), client.publicKey, 's', 0).open('generate/2', good, 'g')],
      ['a flipped nonce bit', () => atParty.open('generate/2', flipped(0), 'g')],
      ['a flipped ciphertext bit', () => atParty.open('generate/2', flipped(12), 'g')],
      ['a flipped tag bit', () => atParty.open('generate/2', flipped(good.byteLength - 1), 'g')],
      ['a cut-off tag', () => atParty.open('generate/2', good.subarray(0, good.byteLength - 1), 'g')],
      ['fewer bytes than a seal', () => atParty.open('generate/2', good.subarray(0, SEAL_OVERHEAD - 1), 'g')],
    ];
    for (const [what, f] of refused) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect({ what, err }).toMatchObject({ what, err: expect.any(ProtocolError) });
      expect((err as ProtocolError).code).toBe('MPC_ERR_BAD_SEAL');
    }
  });

  it('refuses a malformed or small-order public key', () => {
    expect(() => ClientSeal.agree('party', party, new Uint8Array(31), 's', 0)).toThrow(/expected 32 bytes/);
    expect(() => ClientSeal.agree('party', party, new Uint8Array(32), 's', 0)).toThrow(/small-order/);
    const one = new Uint8Array(32);
    one[0] = 1; // the point u = 1 has order 4
    expect(() => ClientSeal.agree('client', client, one, 's', 0)).toThrow(/small-order/);
  });
});

/**
 * ClientSeal — the client's secrets on its links to the parties travel sealed: the prompt's share in
 * `generate` and each token's share in `token` are encrypted and authenticated with AES-256-GCM.
 * Without it, anyone who reads both client links (one network tap near the client) adds the two
 * shares and has the prompt and every generated token.
 *
 * Keys: the client draws a fresh X25519 key pair per session and sends its public half in `open`;
 * the party answers `opened` with its long-term public key. Both sides derive, per party b,
 *   HKDF(sha256, X25519(client, party_b), salt = sessionId, info = "mpcache/v1/client-p<b>/<dir>")
 * for dir = "up" (client → party) and "down" (party → client), 32 bytes each (mpc-core agreeKey).
 * A client that pins the party's key (`--p0-public-key`, `--p1-public-key`) also defeats a man in
 * the middle: nobody without the party's secret key can open the prompt share or forge a token
 * share. Unpinned, it trusts the key in `opened` (fine against passive observers).
 *
 * Sealed bytes: nonce (12, crypto.randomBytes) ‖ ciphertext ‖ GCM tag (16); SEAL_OVERHEAD = 28.
 * The additional data binds each seal to its place: "<sessionId>/generate/<turn>/<promptTokens>" and
 * "<sessionId>/token/<turn>/<index>", so a seal cannot be replayed into another session, turn, index
 * or message.
 * Cost: one AES-GCM pass over the prompt share and 8 bytes per token; outside the MPC ledgers.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { agreeKey, ProtocolError, type KeyPair, type PartyId } from '@mpcache/mpc-core';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a seal adds to its plaintext. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;
/** Length of the X25519 public keys in `open` and `opened`. */
export const CLIENT_KEY_BYTES = 32;

type Side = 'client' | 'party';

export class ClientSeal {
  private constructor(
    readonly sessionId: string,
    private readonly sendKey: Uint8Array,
    private readonly recvKey: Uint8Array,
  ) {}

  /**
   * The seal of one side of a client ↔ party link: `mine` is the client's per-session key pair (side
   * 'client') or the party's long-term one (side 'party'), `theirs` the other's public key.
   * Throws RangeError on a malformed or small-order key.
   */
  static agree(side: Side, mine: KeyPair, theirs: Uint8Array, sessionId: string, party: PartyId): ClientSeal {
    const key = (dir: 'up' | 'down') => agreeKey(mine, theirs, sessionId, `client-p${party}/${dir}`, 32);
    const up = key('up'), down = key('down');
    return side === 'client' ? new ClientSeal(sessionId, up, down) : new ClientSeal(sessionId, down, up);
  }

  /** Seal `plaintext` for the other side; `place` names the message ("generate/3", "token/0"). */
  seal(place: string, plaintext: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.sendKey, nonce);
    c.setAAD(this.aad(place));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    const out = new Uint8Array(NONCE_BYTES + body.byteLength + TAG_BYTES);
    out.set(nonce, 0);
    out.set(body, NONCE_BYTES);
    out.set(c.getAuthTag(), NONCE_BYTES + body.byteLength);
    return out;
  }

  /**
   * The plaintext of a seal from the other side for `place`. Throws ProtocolError MPC_ERR_BAD_SEAL if
   * it is too short or does not authenticate (another key, session or place, or altered bytes).
   */
  open(place: string, sealed: Uint8Array, what: string): Uint8Array {
    if (sealed.byteLength < SEAL_OVERHEAD) {
      throw new ProtocolError(`${what}: sealed share of ${sealed.byteLength} bytes, expected at least ${SEAL_OVERHEAD}`, 'MPC_ERR_BAD_SEAL');
    }
    const end = sealed.byteLength - TAG_BYTES;
    const d = createDecipheriv('aes-256-gcm', this.recvKey, sealed.subarray(0, NONCE_BYTES));
    d.setAAD(this.aad(place));
    d.setAuthTag(sealed.subarray(end));
    try {
      const out = Buffer.concat([d.update(sealed.subarray(NONCE_BYTES, end)), d.final()]);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch {
      throw new ProtocolError(`${what}: sealed share does not authenticate (another key, session or message, or altered bytes)`, 'MPC_ERR_BAD_SEAL');
    }
  }

  private aad(place: string): Buffer {
    return Buffer.from(`${this.sessionId}/${place}`, 'utf8');
  }
}

/** The seal's place of a turn's prompt share and of a token share (turns count from 0). */
export const sealPlace = {
  generate: (turn: number, promptTokens: number) => `generate/${turn}/${promptTokens}`,
  token: (turn: number, index: number) => `token/${turn}/${index}`,
} as const;

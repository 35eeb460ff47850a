/**
 * Proof of key in a server hello. A hello names its sender's X25519 public key; pinning that key
 * (`--peer-public-key`, `--p0-public-key`, …) used to compare only the NAMED key, so anyone who knew
 * a party's public key (printed at start-up, on /healthz) could pose as it: take a dealer's session
 * slots, or a victim's session on P0's peer route. Each hello therefore carries
 *
 *   auth = HMAC-SHA256(K, "mpcache/v1/hello" ‖ role ‖ 0 ‖ sessionId ‖ 0 ‖ nonce),
 *   K = HKDF(X25519(sender, receiver), salt = sessionId, info = "mpcache/v1/hello-auth/<role>")
 *
 * which only the holder of the named key's secret (or the receiver) can compute. The dialler can
 * compute it when it knows the acceptor's key (pinned: every deployment pins all keys); the acceptor
 * always can (the dialler's hello names its key). A receiver that pins the sender's key requires a
 * valid proof; one that does not checks a proof that is there. The role in the label keeps a proof
 * from being reflected back to its sender; the fresh nonce ties it to one link (an eavesdropper on a
 * link without TLS could still replay a hello, but not derive the session's seeds).
 */
import { agreedMac, ProtocolError, sameBytes, type KeyPair } from '@mpcache/mpc-core';
import type { ServerRole } from './wire/server-hello';

/** Bytes of a hello's proof (an HMAC-SHA256). */
export const HELLO_AUTH_BYTES = 32;

interface AuthedFields {
  readonly role: ServerRole;
  readonly sessionId: string;
  readonly nonce: Uint8Array;
}

function transcript(h: AuthedFields): Uint8Array {
  const head = new TextEncoder().encode(`mpcache/v1/hello${h.role}\0${h.sessionId}\0`);
  const out = new Uint8Array(head.length + h.nonce.length);
  out.set(head);
  out.set(h.nonce, head.length);
  return out;
}

/** The proof for a hello `h` sent by the holder of `mine` to the holder of `receiverPublicKey`. */
export function helloAuth(mine: KeyPair, receiverPublicKey: Uint8Array, h: AuthedFields): Uint8Array {
  return agreedMac(mine, receiverPublicKey, h.sessionId, `hello-auth/${h.role}`, transcript(h));
}

/**
 * Check a received hello's proof with the receiver's own key pair. `required` (the receiver pins the
 * sender's key): a hello without a proof is refused too. Throws ProtocolError MPC_ERR_BAD_MESSAGE.
 */
export function checkHelloAuth(receiver: KeyPair, h: AuthedFields & { readonly publicKey: Uint8Array; readonly auth?: Uint8Array }, from: string, required: boolean): void {
  if (h.auth === undefined) {
    if (!required) return;
    throw new ProtocolError(`hello from ${from}: no proof of its key (configure ${from} with this server's public key)`, 'MPC_ERR_BAD_MESSAGE');
  }
  if (!sameBytes(helloAuth(receiver, h.publicKey, h), h.auth)) throw new ProtocolError(`hello from ${from}: the proof of its key does not verify`, 'MPC_ERR_BAD_MESSAGE');
}

/**
 * The hello handshake of a server link (wire/server-hello.ts), one piece for every link and both of
 * its ends: the dealer accepting P_b, P0 accepting P1, P_b reading the dealer's answer, P1 reading
 * P0's answer.
 *
 *   receiveHello  the counterpart's hello within a time limit (TimeoutError, and the link closed,
 *                 after it), validated (role, session id, parameters when required; a remote error
 *                 reply is rethrown as its error) and its public key checked against the configured
 *                 one (ProtocolError MPC_ERR_BAD_MESSAGE when they differ; no configured key: any),
 *                 and its proof of that key checked (hello-auth.ts: required with a configured key).
 *   rejectLink    the accepting side's answer to a bad hello: the error reply, then close.
 */
import type { Channel, KeyPair, WsChannel } from '@mpcache/mpc-core';
import { checkHelloAuth } from './hello-auth';
import { checkPinnedKey } from './server-keys';
import { decodeHello, encodeHelloError, HELLO_TAG, recvWithin, type ServerHello, type ServerRole } from './wire/server-hello';
import { errorCode } from './wire/wire-error';

export interface ExpectedHello {
  /** The role the hello must carry. */
  readonly role: ServerRole;
  /** Who sends it, as error messages name it ("P1", "dealer"). */
  readonly from: string;
  /** The session the hello must be for. */
  readonly sessionId: string;
  /** The hello must carry the session parameters (P1 → P0). */
  readonly withParams?: boolean;
  /** The sender's configured public key; undefined: take the one in the hello. */
  readonly pinnedKey: Uint8Array | undefined;
  /** The receiver's own key pair (checks the sender's proof of key). */
  readonly receiverKeys: KeyPair;
  /** Who owns the key, as a mismatch error names it (default `from`). */
  readonly keyOwner?: string;
  readonly timeoutMs: number;
  /** Names the wait in a timeout error. */
  readonly what: string;
}

/** Receive, validate and key-check the counterpart's hello. */
export async function receiveHello(ch: Channel, e: ExpectedHello): Promise<ServerHello> {
  const payload = await recvWithin(ch, HELLO_TAG, e.timeoutMs, e.what);
  const hello = decodeHello(payload, e.role, e.from, e.sessionId, e.withParams ?? false);
  checkPinnedKey(hello.publicKey, e.pinnedKey, e.keyOwner ?? e.from);
  checkHelloAuth(e.receiverKeys, hello, e.from, e.pinnedKey !== undefined);
  return hello;
}

/** Tell the dialler why (if the link still works), then close it. */
export function rejectLink(ch: WsChannel, err: unknown): void {
  if (ch.closed) return;
  try {
    ch.send(HELLO_TAG, encodeHelloError(err));
  } catch {
    // the link died meanwhile
  }
  ch.close(`rejected (${errorCode(err)})`);
}

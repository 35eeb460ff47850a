/**
 * SessionSeals — the client's side of a session's sealed shares (party-server ClientSeal): a fresh
 * X25519 key pair per session (its public half goes in `open`), one seal per party agreed with the
 * key that party announces in `opened` — refused with MPC_ERR_BAD_SEAL if it is not the pinned
 * one — then prompt shares sealed and token shares opened by turn and index.
 */
import { generateKeyPair, ProtocolError, sameBytes, type KeyPair, type PartyId } from '@mpcache/mpc-core';
import { ClientSeal, sealPlace } from '@mpcache/party-server';

/** Each party's expected X25519 public key (32 bytes), or undefined to take the one it announces. */
export type PartyKeyPins = readonly [Uint8Array | undefined, Uint8Array | undefined];

export class SessionSeals {
  private readonly keys: KeyPair = generateKeyPair();
  private seals?: readonly [ClientSeal, ClientSeal];

  constructor(
    private readonly sessionId: string,
    private readonly pins: PartyKeyPins,
  ) {}

  /** The session key's public half, for `open`. */
  get publicKey(): Uint8Array {
    return this.keys.publicKey;
  }

  /** Agree both seals from the keys P0 and P1 announced. */
  agree(announced: readonly [Uint8Array, Uint8Array]): void {
    this.seals = [this.agreeOne(0, announced[0]), this.agreeOne(1, announced[1])];
  }

  /** `party`'s share of a turn's prompt, sealed. */
  sealPrompt(party: PartyId, turn: number, promptTokens: number, share: Uint8Array): Uint8Array {
    return this.seal(party).seal(sealPlace.generate(turn, promptTokens), share);
  }

  /** `party`'s share of token `index` of a turn, from its seal. */
  tokenShare(party: PartyId, turn: number, index: number, sealed: Uint8Array): bigint {
    const bytes = this.seal(party).open(sealPlace.token(turn, index), sealed, `session ${this.sessionId}: P${party}'s token #${index}`);
    return new BigUint64Array(Uint8Array.from(bytes).buffer)[0];
  }

  private seal(party: PartyId): ClientSeal {
    if (!this.seals) throw new ProtocolError(`session ${this.sessionId} is not open yet`, 'MPC_ERR_BAD_MESSAGE');
    return this.seals[party];
  }

  private agreeOne(party: PartyId, announced: Uint8Array): ClientSeal {
    const pin = this.pins[party];
    if (pin && !sameBytes(pin, announced)) {
      throw new ProtocolError(`session ${this.sessionId}: P${party}'s public key is not the pinned one`, 'MPC_ERR_BAD_SEAL');
    }
    try {
      return ClientSeal.agree('client', this.keys, announced, this.sessionId, party);
    } catch (e) {
      throw new ProtocolError(`session ${this.sessionId}: P${party}'s public key: ${(e as Error).message}`, 'MPC_ERR_BAD_SEAL');
    }
  }
}

/**
 * The client's side of the token interface: secret-share the prompt, reconstruct generated tokens.
 *
 * The prompt goes to the parties as additive shares of its one-hot rows (n, vocabSize) — the client
 * knows its ids, so it builds the rows itself and no protocol is needed to turn ids into rows — or,
 * more compactly, as shares of the ids (n) (the parties then run a DPF one-hot, 1 round). Generated
 * tokens come back as both parties' shares of the id; only the client adds them.
 * Validation (STYLE §6): token ids are checked against vocabSize here, at the client API.
 */
import { AesCtrPrg, share, type RingTensor } from '@mpcache/mpc-core';

function checkIds(ids: readonly number[], vocabSize: number): void {
  if (ids.length === 0) throw new RangeError('"ids" expected at least one token, got 0');
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new RangeError(`token at index ${i} is not an id in [0, ${vocabSize})`);
  });
}

/** Shares [P0, P1] of the one-hot rows (n, vocabSize) of `ids` (entries are the integers 0/1). */
export function shareTokenOneHots(ids: readonly number[], vocabSize: number, prg?: AesCtrPrg): [RingTensor, RingTensor] {
  checkIds(ids, vocabSize);
  const rows = new BigUint64Array(ids.length * vocabSize);
  ids.forEach((id, t) => { rows[t * vocabSize + id] = 1n; });
  return share({ shape: [ids.length, vocabSize], data: rows }, prg);
}

/** Shares [P0, P1] of the ids themselves, (n). */
export function shareTokenIds(ids: readonly number[], vocabSize: number, prg?: AesCtrPrg): [RingTensor, RingTensor] {
  checkIds(ids, vocabSize);
  return share({ shape: [ids.length], data: BigUint64Array.from(ids, (id) => BigInt(id)) }, prg);
}

/** The client's reconstruction of a token id from both parties' shares; RangeError if not an id. */
export function revealTokenId(share0: RingTensor, share1: RingTensor, vocabSize: number): number {
  if (share0.data.length !== 1 || share1.data.length !== 1) throw new RangeError('token id shares expected one element each');
  const id = Number(BigInt.asUintN(64, share0.data[0] + share1.data[0]));
  if (id >= vocabSize) throw new RangeError(`reconstructed token is not an id in [0, ${vocabSize})`);
  return id;
}

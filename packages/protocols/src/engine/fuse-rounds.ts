/**
 * fuseRounds — run independent protocols side by side so that their openings share rounds.
 *
 * Rounds:    max over the branches (not the sum): in every round the frames of all branches that
 *            wait on an opening travel in ONE message per direction
 * Online:    the sum of the branches' bytes (frames are concatenated, nothing is added)
 * Offline:   the sum of the branches' dealer material, taken in a deterministic order
 * Accuracy:  each branch computes exactly what it computes alone
 * Opens:     exactly what the branches open
 * Steps:     1. give branch i a context whose channel is virtual: `send` parks its frame, `recv`
 *               parks the branch until the next flush (its ledger does not count rounds)
 *            2. start branch 0, wait until it is parked or done, then branch 1, … (so dealer takes
 *               happen in branch order on both parties, whatever the dealer's latency)
 *            3. while some branch is parked: send the parked frames in branch order as one frame,
 *               receive the peer's, count ONE round, hand each branch its slice, and resume the
 *               parked branches one at a time in branch order (as in step 2)
 *
 * Why a virtual channel rather than split-phase versions of every protocol: any protocol written
 * against `openMany` (truncPr, a DCF comparison, a lookup table, a Beaver product) composes
 * without change, and the ledger counts the real number of round trips.
 * Branches may only use symmetric exchanges (`openMany`/`openWords`/`openTensor`, or a nested
 * fuseRounds); a one-way message (`sendWords`/`recvWords`) inside a branch throws ProtocolError.
 * Costs: online bytes and rounds land on the caller's ledger scope (the flush runs there); offline
 * bytes land on the branches' own scopes as usual.
 */
import { concatBytes, ProtocolError, type Channel, type Ledger } from '@mpcache/mpc-core';
import type { PartyContext } from './context';

export type Branch<T> = (ctx: PartyContext) => Promise<T>;

interface BranchState {
  frame: Uint8Array | undefined;
  deliver: ((b: Uint8Array) => void) | undefined;
  fail: ((e: unknown) => void) | undefined;
  settled: (() => void) | undefined;
  done: boolean;
}

/** Run the branches with merged openings; resolves with their results in order. */
export async function fuseRounds<T extends unknown[]>(
  ctx: PartyContext,
  branches: { [K in keyof T]: Branch<T[K]> },
): Promise<T> {
  const list = branches as readonly Branch<unknown>[];
  const states: BranchState[] = list.map(() => ({ frame: undefined, deliver: undefined, fail: undefined, settled: undefined, done: false }));
  const results: unknown[] = new Array(list.length);
  let failure: { error: unknown } | undefined;

  // Resolves once branch i is parked on a recv, finished, or failed.
  const step = (i: number, resume: () => void): Promise<void> =>
    new Promise<void>((settle) => {
      states[i].settled = settle;
      resume();
    });

  const starts = list.map((body, i) => () => {
    const c = branchContext(ctx, states[i]);
    body(c).then(
      (v) => {
        if (states[i].frame) failure ??= { error: oneWay('a send without a receive') };
        results[i] = v;
        states[i].done = true;
        states[i].settled?.();
      },
      (e: unknown) => {
        failure ??= { error: e };
        states[i].done = true;
        states[i].settled?.();
      },
    );
  });

  // 2. start the branches one at a time
  for (let i = 0; i < list.length; i++) {
    await step(i, starts[i]);
    if (failure) throw failure.error;
  }
  // 3. flush parked frames until every branch is done
  for (;;) {
    const parked = states.map((s, i) => (s.deliver ? i : -1)).filter((i) => i >= 0);
    if (parked.length === 0) break;
    const frames = parked.map((i) => states[i].frame as Uint8Array);
    const peer = await exchange(ctx, frames);
    let off = 0;
    for (let j = 0; j < parked.length; j++) {
      const s = states[parked[j]], len = frames[j].length, slice = peer.subarray(off, off + len);
      off += len;
      const deliver = s.deliver as (b: Uint8Array) => void;
      s.deliver = undefined;
      s.fail = undefined;
      s.frame = undefined;
      await step(parked[j], () => deliver(slice));
      if (failure) throw failure.error;
    }
  }
  return results as T;
}

/** One real round: all frames out in one message, the peer's message back (lengths must match). */
async function exchange(ctx: PartyContext, frames: readonly Uint8Array[]): Promise<Uint8Array> {
  const out = concatBytes(frames);
  const tag = ctx.seq++;
  ctx.channel.send(tag, out);
  const peer = await ctx.channel.recv(tag);
  if (peer.length !== out.length) {
    throw new ProtocolError(`fused opening #${tag}: expected ${out.length} bytes, got ${peer.length}`, 'MPC_ERR_BAD_LENGTH');
  }
  ctx.ledger.recordRound();
  return peer;
}

function branchContext(ctx: PartyContext, s: BranchState): PartyContext {
  const real = ctx.channel;
  const channel: Channel = {
    send(_tag: number, payload: Uint8Array): void {
      if (s.frame) throw oneWay('two sends without a receive');
      s.frame = Uint8Array.from(payload);
    },
    recv(): Promise<Uint8Array> {
      if (!s.frame) return Promise.reject(oneWay('a receive without a send'));
      return new Promise<Uint8Array>((resolve, reject) => {
        s.deliver = resolve;
        s.fail = reject;
        s.settled?.();
      });
    },
    sendTogether: <T>(fn: () => T): T => fn(), // a branch sends one frame anyway
    close: (reason?: string) => real.close(reason),
    get closed() {
      return real.closed;
    },
  };
  // The flush counts the round on the real ledger; everything else (scopes, offline bytes) is shared.
  const ledger: Ledger = Object.create(ctx.ledger, { recordRound: { value: () => undefined } });
  return { party: ctx.party, channel, ledger, dealer: ctx.dealer, fracBits: ctx.fracBits, common: ctx.common, seq: 0 };
}

function oneWay(what: string): ProtocolError {
  return new ProtocolError(`fuseRounds: ${what} (one-way messages cannot be fused)`, 'MPC_ERR_BAD_MESSAGE');
}

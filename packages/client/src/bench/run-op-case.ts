/**
 * Runs one OpCase on one party: a warm-up run that records the dealer requests, then `reps` timed
 * runs, each preceded by an untimed prefetch of its correlations (the offline phase), so the timed
 * part is the online phase only. Both parties call this with the same case and seed.
 */
import { AesCtrPrg, diffCost, sub, type Cost, type RingTensor } from '@mpcache/mpc-core';
import type { CorrelationRequest, PartyContext } from '@mpcache/protocols';
import type { OpCase } from './op-case';

export interface PartyCaseResult {
  readonly name: string;
  /** Online cost of one timed run (this party). */
  readonly cost: Cost;
  /** Dealer bytes this party received for one run. */
  readonly offlineBytes: number;
  readonly ms: number[];
  /** This party's output share of the last run (bench data, not a secret). */
  readonly output: RingTensor;
}

export function benchPrg(seed: string, label: string): AesCtrPrg {
  const key = Buffer.alloc(16), iv = Buffer.alloc(16);
  Buffer.from(`${seed}/${label}`).copy(key);
  Buffer.from(label.slice(-16)).copy(iv);
  return new AesCtrPrg(key, iv);
}

/** This party's shares of the case's public inputs (x1 from a public stream, x0 = x − x1). */
export function benchShares(c: OpCase, party: 0 | 1, seed: string, fracBits: number): { plain: RingTensor[]; mine: RingTensor[] } {
  const plain = c.makeInputs(benchPrg(seed, `${c.name}/inputs`), fracBits);
  const sharePrg = benchPrg(seed, `${c.name}/shares`);
  const mine = plain.map((x) => {
    const x1: RingTensor = { shape: [...x.shape], data: sharePrg.words(x.data.length) };
    return party === 1 ? x1 : sub(x, x1);
  });
  return { plain, mine };
}

export async function runOpCase(ctx: PartyContext, c: OpCase, reps: number, seed: string): Promise<PartyCaseResult> {
  const { mine } = benchShares(c, ctx.party, seed, ctx.fracBits);
  // warm-up: records the correlation sequence (and warms the JIT)
  const recording: CorrelationRequest[] = [];
  const prepared = c.prepare ? await c.prepare(ctx, mine) : undefined;
  ctx.dealer.recording = recording;
  let output = await c.run(ctx, mine, prepared);
  ctx.dealer.recording = undefined;

  const ms: number[] = [];
  let cost: Cost | undefined;
  let offlineBytes = 0;
  for (let r = 0; r < reps; r++) {
    const beforeOffline = ctx.ledger.snapshot().offlineBytes;
    if (!c.dataDependentCorrelations) await ctx.dealer.prefetch(recording); // offline phase, untimed
    offlineBytes = ctx.ledger.snapshot().offlineBytes - beforeOffline;
    await syncPoint(ctx);
    const before = ctx.ledger.snapshot();
    const t0 = performance.now();
    output = await c.run(ctx, mine, prepared);
    ms.push(performance.now() - t0);
    cost = diffCost(ctx.ledger.snapshot(), before);
    if (c.dataDependentCorrelations) offlineBytes = cost.offlineBytes;
  }
  return { name: c.name, cost: cost!, offlineBytes, ms, output };
}

/** A tiny exchange so both parties start a timed run together (not counted as protocol cost). */
async function syncPoint(ctx: PartyContext): Promise<void> {
  const tag = ctx.seq++;
  ctx.channel.send(tag, new Uint8Array(0));
  await ctx.channel.recv(tag);
}


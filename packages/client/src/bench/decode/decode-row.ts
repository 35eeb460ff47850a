/**
 * runDecodeRow — one row of `bench decode` on one party: a fresh Generator over the session's
 * masked weights, the cache warmed to the row's context (bench-policies.ts), one warm-up token and
 * `warmupSteps` unmeasured decoding steps, then `tokens` measured ones. Both parties run it in step
 * on their shares.
 *
 * Per step it reports this party's exact ledger difference (Generator's own measurement: the whole
 * token, argmax included), wall time from a common start (a zero-byte exchange before each step,
 * outside the step's ledger window), the time spent waiting on the dealer, this process's CPU time
 * and the step's start and end on the machine's clock (cpu-time.ts), the rows each layer attended,
 * and the per-section costs (ledger scope paths, depth ≤ 2). The dealer answers on demand:
 * a step's correlation sequence depends on its cache length, and for the selecting policies on
 * revealed (shuffled) comparison outcomes, so it cannot be recorded once and prefetched.
 *
 * Cache growth: for policies that keep every row, the warm rows go in as two appends sized so that
 * the masked operands' capacity (doubling on growth) already holds the rows of the steps to come;
 * otherwise the first step's append would double every layer's K/V buffers (≈ 1.2 GiB extra at
 * GPT-2-small, 4K). Policies that compact at warm hold a fraction of the rows; their doubling is small.
 */
import { AesCtrPrg, diffCost, sub, type Cost, type RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';
import { Generator, type GeneratedToken, type SecureWeights } from '@mpcache/mpcache';
import { AttendedRowsMeter } from './attended-rows-meter';
import { epochMs, processCpuMs } from './cpu-time';
import { benchPolicy } from './bench-policies';
import type { DecodeRowSpec, PartyRowResult, PartyStep } from './decode-messages';
import { collectGarbage, lifetimeMaxRssMB, RssSampler } from './rss-sampler';
import { StepProfiler } from './step-profiler';

export async function runDecodeRow(ctx: PartyContext, weights: SecureWeights, spec: DecodeRowSpec): Promise<PartyRowResult> {
  const c = weights.config;
  collectGarbage();
  const rss = new RssSampler().start();
  try {
    const warmSteps = spec.warmupSteps, prompt = spec.seqLen - spec.tokens - 1 - warmSteps;
    if (prompt < 1) throw new RangeError(`bench decode: context ${spec.seqLen} leaves no prompt to warm before ${spec.tokens} + ${1 + warmSteps} tokens`);
    const meter = new AttendedRowsMeter(benchPolicy(spec.policy, c, spec.budget), c.nLayers, () => rss.sample());
    const gen = new Generator(ctx, weights, { kvPolicy: meter, ...spec.sampling });

    // warm start (untimed): the prompt's rows, then the policy's prompt-end state (bench-policies.ts)
    const t0 = performance.now();
    if (meter.warm) await gen.warmCache(prompt); // the policy compacts; its re-masked rows are a fresh operand
    else {
      // two appends sized so the operands' capacity already holds the rows of the steps to come
      const first = Math.min(prompt, Math.ceil(spec.seqLen / 2));
      await gen.warmCache(first);
      if (prompt > first) await gen.warmCache(prompt - first);
    }
    const warmMs = performance.now() - t0;
    const warmRows = gen.decoder.layerCaches[0].length;
    rss.sample();

    // one warm-up token (1-token prefill at the warmed cache), the unmeasured steps, then the measured ones
    const warmup = await measuredStep(ctx, gen, meter, () => gen.prefill(tokenShare(ctx, spec.seed, c.vocabSize)));
    // MPCACHE_BENCH_CPU_PROFILE=dir: a CPU profile of the decoding steps, unmeasured ones included.
    // Started here, right after the prefill token, as before the unmeasured steps existed: started
    // after a decoding step, V8's Profiler.enable left a party blocked in a futex in some runs
    // (gpt2-small, Node 20.20, session 22), and the bench waited for it.
    const profiler = new StepProfiler();
    await profiler.start();
    const warmupSteps: PartyStep[] = [], steps: PartyStep[] = [];
    for (let i = 0; i < warmSteps; i++) warmupSteps.push(await measuredStep(ctx, gen, meter, () => gen.step()));
    for (let i = 0; i < spec.tokens; i++) steps.push(await measuredStep(ctx, gen, meter, () => gen.step()));
    await profiler.stop(`decode-${spec.policy.replace(/[^\w.-]/g, "_")}-${spec.seqLen}-p${ctx.party}`);
    return { party: ctx.party, warmRows, warmMs: round1(warmMs), warmup, warmupSteps, steps, peakRssMB: rss.stop(), maxRssMB: lifetimeMaxRssMB() };
  } finally {
    rss.stop();
  }
}

async function measuredStep(ctx: PartyContext, gen: Generator, meter: AttendedRowsMeter, run: () => Promise<GeneratedToken>): Promise<PartyStep> {
  await syncPoint(ctx);
  const pathsBefore = ctx.ledger.paths(), msBefore = ctx.ledger.wallMs(), waitBefore = ctx.dealer.dealerWaitMs, specBefore = { ...ctx.dealer.speculationStats };
  const startAt = epochMs(), cpuBefore = processCpuMs();
  const t = await run();
  const cpuMs = processCpuMs() - cpuBefore, endAt = epochMs();
  const spec = ctx.dealer.speculationStats;
  return {
    kvLen: gen.decoder.layerCaches[0].length,
    ms: round1(t.cost.ms),
    dealerWaitMs: round1(ctx.dealer.dealerWaitMs - waitBefore),
    cpuMs: round1(cpuMs),
    startAt,
    endAt,
    speculation: {
      issued: spec.issued - specBefore.issued, hits: spec.hits - specBefore.hits,
      misses: spec.misses - specBefore.misses, skipped: spec.skipped - specBefore.skipped, onDemand: spec.onDemand - specBefore.onDemand,
    },
    cost: costOnly(t.cost),
    keptByLayer: [...meter.keptByLayer],
    sections: sectionDiff(ctx.ledger.paths(), pathsBefore, ctx.ledger.wallMs(), msBefore),
  };
}

/** Sections deeper than this many scope levels are left out (MPCACHE_SECTION_DEPTH overrides). */
const SECTION_DEPTH = 3;

/** The ledger's scope paths of depth ≤ SECTION_DEPTH that changed, as differences, with their wall ms. */
function sectionDiff(after: Map<string, Cost>, before: Map<string, Cost>, msAfter: Map<string, number>, msBefore: Map<string, number>): Record<string, Cost & { ms: number }> {
  const out: Record<string, Cost & { ms: number }> = {}, depth = Number(process.env.MPCACHE_SECTION_DEPTH ?? SECTION_DEPTH);
  for (const [path, cost] of after) {
    if (path.split('/').length > depth) continue;
    const d = diffCost(cost, before.get(path) ?? { rounds: 0, bytesSent: 0, bytesReceived: 0, messages: 0, offlineBytes: 0 });
    const ms = (msAfter.get(path) ?? 0) - (msBefore.get(path) ?? 0);
    if (d.rounds || d.bytesSent || d.bytesReceived || d.offlineBytes) out[path] = { ...d, ms: round1(ms) };
  }
  return out;
}

const costOnly = (c: Cost): Cost => ({ rounds: c.rounds, bytesSent: c.bytesSent, bytesReceived: c.bytesReceived, messages: c.messages, offlineBytes: c.offlineBytes });

/**
 * This party's share of a public bench token id (BOS = 1): P1 takes a pseudorandom word from a
 * public stream, P0 the difference (bench data, not a secret).
 */
function tokenShare(ctx: PartyContext, seed: string, vocabSize: number): RingTensor {
  const key = Buffer.alloc(16);
  Buffer.from(`decode/${seed}`).copy(key);
  const r: RingTensor = { shape: [1], data: new AesCtrPrg(key).words(1) };
  const id: RingTensor = { shape: [1], data: BigUint64Array.of(BigInt(Math.min(1, vocabSize - 1))) };
  return ctx.party === 1 ? r : sub(id, r);
}

/** A zero-byte exchange so both parties start a step together (outside the step's ledger window). */
async function syncPoint(ctx: PartyContext): Promise<void> {
  const tag = ctx.seq++;
  ctx.channel.send(tag, new Uint8Array(0));
  await ctx.channel.recv(tag);
}

const round1 = (x: number) => Math.round(x * 10) / 10;

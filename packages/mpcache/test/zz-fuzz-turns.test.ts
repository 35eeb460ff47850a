/**
 * Differential fuzz of multi-row chat turns (scratch; copy lives in /tmp/fuzz-turns/).
 * Env: FUZZ_SEED (config generator seed), FUZZ_START, FUZZ_COUNT, FUZZ_OUT (jsonl path),
 *      FUZZ_ONLY (a JSON config to replay), FUZZ_GEN_EVERY (every k-th config also runs the Generator path).
 */
import { appendFileSync } from 'node:fs';
import { runBoth } from '@mpcache/protocols';
import {
  Generator, ReferenceDecoder, SecureDecoder, TINY_GPT2, TINY_LLAMA, makeSecurePolicy, randomWeights, revealTokenId,
  shareTokenIds, shareTokenOneHots, type ModelConfig,
} from '@mpcache/mpcache';
import { makePolicy } from '../src/cache/make-policy';
import { PINNED, openReals, secureModel, testPrg } from './secure-helpers';

const F = 16;

interface FuzzConfig {
  id: number;
  model: 'gpt2' | 'llama';
  nLayers: number;
  policy: string;
  budget: number;
  opts: Record<string, unknown>;
  prompt: number[];
  before: number;
  turn1: number[];
  after1: number;
  turn2: number[] | null;
  after2: number;
  seed: string;
  gen: boolean;
}

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, int, pick };
}

const POLICIES = ['mpcache', 'quest', 'token-topk', 'streamingllm', 'snapkv', 'full'] as const;

function genConfig(id: number, seed: number, genEvery: number): FuzzConfig {
  const r = rng(seed * 7919 + id * 104729 + 17);
  const policy = POLICIES[id % POLICIES.length];
  const model = r.next() < 0.3 ? 'llama' : 'gpt2';
  const nLayers = r.pick([2, 3]);
  const V = 64;
  let budget = 8;
  let opts: Record<string, unknown> = {};
  switch (policy) {
    case 'mpcache': {
      const sizes = r.pick([[8, 4], [4, 2]]);
      const minB = 3 * sizes[0];
      budget = r.int(minB, minB + 16);
      const sharing = r.pick(['none', 'default', 'follow'] as const);
      const layerSharing = sharing === 'follow' ? (nLayers === 2 ? [0, 0] : r.pick([[0, 0, 2], [0, 0, 0], [0, 1, 1]])) : sharing;
      opts = { mpcache: { clusterSizes: sizes, forcedRecent: r.pick([2, 4, 8]), staticKeepBudgetMultiple: r.pick([1, 2]), layerSharing } };
      break;
    }
    case 'quest': {
      const pageSize = r.pick([2, 4]);
      budget = r.int(Math.max(2, pageSize), 32);
      const denseLayers = r.pick([[], [], [0], [-1], [0, 1]]);
      opts = { quest: { pageSize, denseLayers } };
      break;
    }
    case 'token-topk': budget = r.int(2, 32); break;
    case 'streamingllm': budget = r.int(2, 32); opts = { streamingllm: { sinks: r.int(0, 4) } }; break;
    case 'snapkv': {
      budget = r.int(2, 32);
      opts = { snapkv: { decode: r.pick(['window', 'grow']), window: r.int(1, 12), kernel: r.pick([1, 3, 7]), pooling: r.pick(['max', 'avg']) } };
      break;
    }
    case 'full': budget = r.int(2, 32); break;
  }
  const seqLen = 128;
  const short = r.next() < 0.25;
  const pLen = short ? r.int(5, Math.max(5, Math.min(80, budget))) : r.int(5, 80);
  const prompt = Array.from({ length: pLen }, () => r.int(0, V - 1));
  const before = r.int(0, 4), after1 = r.int(0, 4);
  let t1 = r.int(1, 20);
  const second = r.next() < 0.4;
  let after2 = second ? r.int(0, 4) : 0;
  let t2 = second ? r.int(1, 20) : 0;
  // fit into seqLen
  const total = () => pLen + before + (1 + t1) + after1 + (second ? 1 + t2 + after2 : 0);
  while (total() > seqLen) {
    if (t2 > 1) t2--; else if (t1 > 1) t1--; else if (after2 > 0) after2--; else break;
  }
  const turn1 = Array.from({ length: t1 }, () => r.int(0, V - 1));
  const turn2 = second ? Array.from({ length: t2 }, () => r.int(0, V - 1)) : null;
  return { id, model, nLayers, policy, budget, opts, prompt, before, turn1, after1, turn2, after2, seed: `s${seed}/${id}`, gen: genEvery > 0 && id % genEvery === 0 };
}

function modelConfig(c: FuzzConfig): ModelConfig {
  return c.model === 'gpt2' ? { ...TINY_GPT2, nLayers: c.nLayers, seqLen: 128 } : { ...TINY_LLAMA, nLayers: c.nLayers, seqLen: 128 };
}

const setups = new Map<string, ReturnType<typeof mk>>();
function mk(config: ModelConfig, key: string) {
  const weights = randomWeights(config, 100 + key.length * 7 + config.nLayers);
  return { config, weights, setup: secureModel(config, weights, F, `${PINNED}fuzz/${key}`) };
}
function model(c: FuzzConfig) {
  const key = `${c.model}${c.nLayers}`;
  if (!setups.has(key)) setups.set(key, mk(modelConfig(c), key));
  return setups.get(key)!;
}

function argmaxMargin(x: ArrayLike<number>): { id: number; margin: number } {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i;
  let s = -Infinity;
  for (let i = 0; i < x.length; i++) if (i !== b && x[i] > s) s = x[i];
  return { id: b, margin: x[b] - s };
}

type Event = { kind: 'prefill' | 'step' | 'turn'; tokens: number[] };

/** Reference run: the events (with the tokens actually fed) and the logits after each. */
function referenceRun(c: FuzzConfig) {
  const { config, weights } = model(c);
  const policyConfig = { model: config, ...c.opts };
  const ref = new ReferenceDecoder(weights, config, { kvPolicy: makePolicy(c.policy, c.budget, { ...policyConfig, fracBits: F }), fixedPointFracBits: F });
  const events: Event[] = [], logits: Float64Array[] = [];
  let last = Float64Array.from(ref.prefill(c.prompt));
  events.push({ kind: 'prefill', tokens: c.prompt }); logits.push(last);
  const steps = (k: number) => {
    for (let i = 0; i < k; i++) {
      const t = argmaxMargin(last).id;
      last = Float64Array.from(ref.forward(t, ref.length));
      events.push({ kind: 'step', tokens: [t] }); logits.push(last);
    }
  };
  const turn = (toks: number[]) => {
    const all = [argmaxMargin(last).id, ...toks];
    last = Float64Array.from(ref.extend(all));
    events.push({ kind: 'turn', tokens: all }); logits.push(last);
  };
  steps(c.before); turn(c.turn1); steps(c.after1);
  if (c.turn2) { turn(c.turn2); steps(c.after2); }
  return { events, logits, policyConfig, config };
}

async function secureTeacherForced(c: FuzzConfig, events: Event[], policyConfig: any, config: ModelConfig): Promise<Float64Array[]> {
  const { setup } = model(c);
  const { parties, secure } = await setup;
  const shares = events.map((e, i) => shareTokenOneHots(e.tokens, config.vocabSize, testPrg(`${PINNED}${c.seed}/tf/${i}`)));
  const out = await runBoth(parties, async (ctx) => {
    const policy = makeSecurePolicy(c.policy, c.budget, policyConfig), dec = new SecureDecoder(secure[ctx.party], { kvPolicy: policy });
    const res = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.kind === 'prefill') {
        policy.beginPrefill?.(e.tokens.length);
        res.push(await dec.forward(ctx, shares[i][ctx.party]));
        await policy.endPrefill?.(ctx, e.tokens.length);
      } else {
        if (e.kind === 'turn' && !policy.multiRowSteps) throw new Error('not multiRowSteps');
        res.push(await dec.forward(ctx, shares[i][ctx.party]));
      }
    }
    return res;
  });
  return out[0].map((l, i) => openReals([l, out[1][i]], F));
}

async function secureGenerator(c: FuzzConfig, policyConfig: any, config: ModelConfig): Promise<number[]> {
  const { setup } = model(c);
  const { parties, secure } = await setup;
  const V = config.vocabSize;
  const p = shareTokenIds(c.prompt, V, testPrg(`${PINNED}${c.seed}/g/p`));
  const t1 = shareTokenIds(c.turn1, V, testPrg(`${PINNED}${c.seed}/g/t1`));
  const t2 = c.turn2 ? shareTokenIds(c.turn2, V, testPrg(`${PINNED}${c.seed}/g/t2`)) : null;
  const out = await runBoth(parties, async (ctx) => {
    const policy = makeSecurePolicy(c.policy, c.budget, policyConfig), g = new Generator(ctx, secure[ctx.party], { kvPolicy: policy });
    const toks = [await g.prefill(p[ctx.party])];
    for (let i = 0; i < c.before; i++) toks.push(await g.step());
    toks.push(await g.extend(t1[ctx.party]));
    for (let i = 0; i < c.after1; i++) toks.push(await g.step());
    if (t2) {
      toks.push(await g.extend(t2[ctx.party]));
      for (let i = 0; i < c.after2; i++) toks.push(await g.step());
    }
    return toks;
  });
  return out[0].map((t, i) => revealTokenId(t.idShare, out[1][i].idShare, V));
}

/** Reference ids following the reference's own greedy choices (same as events' fed tokens). */
function refIds(logits: Float64Array[]) {
  return logits.map((l) => argmaxMargin(l));
}

const OUT = process.env.FUZZ_OUT ?? '/tmp/fuzz-turns/results.jsonl';
const seed = Number(process.env.FUZZ_SEED ?? 1);
const start = Number(process.env.FUZZ_START ?? 0);
const count = Number(process.env.FUZZ_COUNT ?? 10);
const genEvery = Number(process.env.FUZZ_GEN_EVERY ?? 3);
const configs: FuzzConfig[] = process.env.FUZZ_ONLY
  ? [JSON.parse(process.env.FUZZ_ONLY)]
  : Array.from({ length: count }, (_, i) => genConfig(start + i, seed, genEvery));

jest.setTimeout(3_600_000);

describe('fuzz multi-row turns', () => {
  it('runs', async () => {
    for (const c of configs) {
      const t0 = Date.now();
      let rec: Record<string, unknown>;
      try {
        const { events, logits, policyConfig, config } = referenceRun(c);
        const got = await secureTeacherForced(c, events, policyConfig, config);
        const refs = refIds(logits);
        const diffs = got.map((g, i) => { let m = 0; for (let j = 0; j < g.length; j++) m = Math.max(m, Math.abs(g[j] - logits[i][j])); return m; });
        const idMismatch = got.map((g, i) => ({ i, sec: argmaxMargin(g).id, ref: refs[i].id, margin: refs[i].margin })).filter((x) => x.sec !== x.ref);
        let gen: unknown = null;
        if (c.gen) {
          const ids = await secureGenerator(c, policyConfig, config);
          const want = refs.map((r) => r.id);
          const first = ids.findIndex((x, i) => x !== want[i]);
          gen = first < 0 ? 'ok' : { first, got: ids[first], want: want[first], margin: refs[first].margin };
        }
        const maxDiff = Math.max(...diffs);
        rec = { id: c.id, policy: c.policy, ok: maxDiff < 0.03, maxDiff, diffs: diffs.map((d) => +d.toFixed(4)), kinds: events.map((e) => e.kind[0]).join(''), idMismatch, gen, ms: Date.now() - t0, config: c };
      } catch (e) {
        rec = { id: c.id, policy: c.policy, ok: false, error: String((e as Error).stack ?? e).slice(0, 1500), config: c, ms: Date.now() - t0 };
      }
      appendFileSync(OUT, JSON.stringify(rec) + '\n');
    }
  });
});

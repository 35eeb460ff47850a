/**
 * Exact costs of the secure decoder's blocks on the tiny configs: masking the weights, then a causal
 * prefill and a decoding step through SecureDecoder.forward under the full cache. Every named section
 * of a forward pass (token embedding, norms, qkv, attention, output matmuls, FFN, classifier) is
 * checked on BOTH parties — rounds, bytes sent, dealer bytes — against the blocks' cost formulas
 * (secure-blocks.ts, secure-nonlinear.ts, secure-attention.ts), and the sections add up to the pass.
 */
import type { Cost } from '@mpcache/mpc-core';
import { sumCosts, localParties, runBoth, type FormulaCost, type LocalParties } from '@mpcache/protocols';
import {
  attentionOutputCost, classifierLogitsCost, embedTokensCost, ffnHiddenCost, ffnOutputCost, fullCacheAttentionCost, layerCacheRowsCost,
  maskModelWeights, maskModelWeightsCost, normOnSharesCost, qkvProjectionCost, randomWeights, SecureDecoder, SecureLayerCache, shareModelWeights,
  shareTokenOneHots, TINY_GPT2, TINY_LLAMA, type ModelConfig,
} from '@mpcache/mpcache';
import { expectCosts, expectScopeCost } from './cost-helpers';
import { seed16, testPrg, TEST_SEED } from './secure-helpers';

const F = 12;

/** Section name → its expected cost summed over the pass (a name recurs once per layer). */
function sections(c: ModelConfig, n: number, cached: number): Map<string, FormulaCost> {
  const llama = c.family === 'llama', f = F, out = new Map<string, FormulaCost[]>();
  const add = (name: string, cost: FormulaCost) => out.set(name, [...(out.get(name) ?? []), cost]);
  add('token embedding', embedTokensCost(n, c));
  for (let l = 0; l < c.nLayers; l++) {
    // llama: each block's output joins x in the next norm's first round (its truncation by 2f folded there)
    add('attention rmsnorm', normOnSharesCost(n, c, f, llama && l > 0 ? 2 * f : null));
    add('qkv matmuls', qkvProjectionCost(n, c, f));
    add('multihead attention', fullCacheAttentionCost(n, c, f, cached));
    add('attention output matmul', attentionOutputCost(n, c, f, llama));
    add('ffn rmsnorm', normOnSharesCost(n, c, f, llama ? 2 * f : null));
    add(llama ? 'swiglu' : 'gelu mlp', ffnHiddenCost(n, c, f));
    add('ffn output matmul', ffnOutputCost(n, c, f, llama));
  }
  add('final rmsnorm', normOnSharesCost(1, c, f, llama ? 2 * f : null)); // the last row only
  add('classifier', classifierLogitsCost(1, c, f));
  return new Map([...out].map(([k, v]) => [k, sumCosts(v)]));
}

const delta = (a: Cost, b: Cost): Cost => ({
  rounds: a.rounds - b.rounds, bytesSent: a.bytesSent - b.bytesSent, bytesReceived: a.bytesReceived - b.bytesReceived,
  messages: a.messages - b.messages, offlineBytes: a.offlineBytes - b.offlineBytes,
});

/** One forward pass of `tokens` on both parties, with the ledgers reset first. */
async function forward(parties: LocalParties, dec: [SecureDecoder, SecureDecoder], c: ModelConfig, tokens: number[], label: string) {
  parties.ctx.forEach((ctx) => ctx.ledger.reset());
  const rows = shareTokenOneHots(tokens, c.vocabSize, testPrg(label));
  await runBoth(parties, (ctx) => dec[ctx.party].forward(ctx, rows[ctx.party]));
}

function expectSections(parties: LocalParties, want: Map<string, FormulaCost>): void {
  for (const [name, cost] of want) expectScopeCost(parties, name, cost);
  // every round and byte of the pass is inside a named section
  const all = sumCosts([...want.values()]);
  expectCosts(parties.ctx.map((x) => x.ledger.snapshot()), all);
}

describe.each([TINY_LLAMA, TINY_GPT2])(`secure decoder blocks, exact costs (SEED=${TEST_SEED}), %s`, (c: ModelConfig) => {
  it('masking the weights, a causal prefill of 4 and a decoding step: every section on both parties = its cost formula', async () => {
    const parties = localParties({ fracBits: F, seeds: { dealerP0: seed16(`step-cost/${c.name}/d0`), dealerP1: seed16(`step-cost/${c.name}/d1`), common: seed16(`step-cost/${c.name}/c`) } });
    const shares = shareModelWeights(randomWeights(c, 5), c, F, seed16(`step-cost/${c.name}/owner`));
    const secure = await runBoth(parties, (ctx) => maskModelWeights(ctx, shares[ctx.party]));
    // header (secure-weights.ts): 1 + 4·nLayers rounds, 8 B per matrix element, nothing offline
    const masking = maskModelWeightsCost(c);
    expect(masking.rounds).toBe(1 + 4 * c.nLayers);
    expectScopeCost(parties, 'mask weights', masking);
    // The decoder's speculative prefetch off (blocks run as plain calls): a mispredicted plan's skipped
    // material is counted in whichever scope takes the next request (correlation-source.ts `forget`),
    // which would put dealer bytes into a section that did not use them (llama's layer 1 replays
    // layer 0's plan, whose first request differs: rmsNorm vs rmsNormOfResidual).
    for (const ctx of parties.ctx) (ctx.dealer as { planned: unknown }).planned = <T>(_key: string, fn: () => Promise<T>) => fn();
    const dec: [SecureDecoder, SecureDecoder] = [new SecureDecoder(secure[0]), new SecureDecoder(secure[1])];
    await forward(parties, dec, c, [3, 17, 42, 5], `step-cost/${c.name}/prompt`);
    expectSections(parties, sections(c, 4, 0));
    await forward(parties, dec, c, [9], `step-cost/${c.name}/step`);
    expectSections(parties, sections(c, 1, 4));
  });

  it('SecureLayerCache: appendRows and replace cost their rows masked once (one round each for K and V)', async () => {
    const parties = localParties({ fracBits: F }), lanes = c.nKvHeads, d = c.headDim;
    const rows = (r: number) => ({ shape: [lanes, r, d], data: testPrg(`cache/${c.name}/${r}`).words(lanes * r * d) });
    const caches = await runBoth(parties, (ctx) => SecureLayerCache.create(ctx, lanes, d));
    expectCosts(parties.ctx.map((x) => x.ledger.snapshot()), { rounds: 0, bytesSent: 0, offlineBytes: 0 }); // empty operands: keys only
    const before = parties.ctx.map((x) => x.ledger.snapshot());
    await runBoth(parties, (ctx) => caches[ctx.party].appendRows(ctx, rows(3), rows(3)));
    expectCosts(parties.ctx.map((x, i) => delta(x.ledger.snapshot(), before[i])), layerCacheRowsCost(lanes, 3, d));
    await runBoth(parties, (ctx) => caches[ctx.party].replace(ctx, rows(2), rows(2)));
    expect(layerCacheRowsCost(lanes, 2, d)).toEqual({ rounds: 2, bytesSent: 2 * 8 * lanes * 2 * d, offlineBytes: 0 });
    expectScopeCost(parties, 'kv cache replace', layerCacheRowsCost(lanes, 2, d));
    expect(caches[0].length).toBe(2);
  });
});

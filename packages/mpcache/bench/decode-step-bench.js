/**
 * One secure decoding step, measured: rounds, online bytes sent per party, offline (dealer) bytes,
 * wall ms and the ms the online phase waited on the dealer (CorrelationSource.dealerWaitMs), with a
 * per-scope table of the last step. Two parties and the dealer in this process (in-memory channel).
 *
 *   npx tsc -b packages/mpcache && node packages/mpcache/bench/decode-step-bench.js \
 *       [--model stories15m|gpt2-small|llama-small] [--warm ROWS] [--steps N] [--layers L] [--f 16] [--scopes]
 *       [--dealer-cache-words W]   (the dealer's operand-mask memo; default 2^28, enough for GPT-2-small)
 *
 * stories15m uses the real weights and the prompt "Once upon a time" (prefill, then steps); other
 * models use random weights and warmCache(ROWS) instead of a prefill (cost does not depend on the
 * cached values). Profile with `node --cpu-prof …`.
 */
'use strict';
const { localParties, runBoth } = require('../../protocols/dist');
const mp = require('../dist');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const model = opt('model', 'stories15m');
const steps = Number(opt('steps', 2));
const warm = Number(opt('warm', model === 'stories15m' ? 0 : 1023));
const F = Number(opt('f', 16));
const showScopes = args.includes('--scopes');

async function main() {
  let config, weights, prompt;
  if (model === 'stories15m') {
    const m = mp.loadStories15M();
    config = m.config;
    weights = m.weights;
    prompt = m.tokenizer.encode('Once upon a time', { bos: true });
  } else {
    const layers = Number(opt('layers', 0));
    config = { ...mp.modelConfig(model), ...(layers ? { nLayers: layers } : {}) };
    weights = mp.randomWeights(config, 1);
    prompt = [1];
  }
  const parties = localParties({ fracBits: F, dealer: { keyedCacheWords: Number(opt('dealer-cache-words', 2 ** 28)) } });
  const shares = mp.shareModelWeights(weights, config, F, new Uint8Array(16).fill(7));
  let t0 = performance.now();
  const secure = await runBoth(parties, (ctx) => mp.maskModelWeights(ctx, shares[ctx.party]));
  console.log(`${model}: masked weights in ${(performance.now() - t0).toFixed(0)} ms`);
  const gens = secure.map((w, p) => new mp.Generator(parties.ctx[p], w));
  if (warm > 0) {
    t0 = performance.now();
    await runBoth(parties, (ctx) => gens[ctx.party].warmCache(warm));
    console.log(`warm cache ${warm} rows: ${(performance.now() - t0).toFixed(0)} ms`);
  }
  const rows = mp.shareTokenOneHots(prompt, config.vocabSize);
  t0 = performance.now();
  const pre = await runBoth(parties, (ctx) => gens[ctx.party].prefill(rows[ctx.party]));
  console.log(`prefill ${prompt.length} tokens: ${fmt(pre[0].cost)}`);
  const L0 = parties.ctx[0].ledger;
  for (let s = 0; s < steps; s++) {
    const before = L0.paths(), wait0 = parties.ctx.map((c) => c.dealer.dealerWaitMs);
    const out = await runBoth(parties, (ctx) => gens[ctx.party].step());
    const waits = parties.ctx.map((c, i) => c.dealer.dealerWaitMs - wait0[i]);
    const c = out[0].cost;
    console.log(`step ${s} (kvLen ${out[0].position}): ${fmt(c)}, dealer wait ${waits.map((w) => w.toFixed(0)).join('/')} ms, ` +
      `online w/o wait ${(c.ms - Math.max(...waits)).toFixed(0)} ms`);
    if (showScopes && s === steps - 1) printScopes(before, L0.paths());
  }
}

function fmt(c) {
  return `${c.rounds} rounds, ${(c.bytesSent / 1e6).toFixed(3)} MB sent, ${(c.offlineBytes / 1e6).toFixed(2)} MB offline, ${c.ms.toFixed(0)} ms`;
}

/** Per top-level-ish scope (depth ≤ 2) cost of the step, summed over layers. */
function printScopes(before, after) {
  const agg = new Map();
  for (const [path, c] of after) {
    const parts = path.split('/');
    if (parts.length > 2) continue;
    const b = before.get(path) ?? { rounds: 0, bytesSent: 0, offlineBytes: 0 };
    const d = { rounds: c.rounds - b.rounds, bytesSent: c.bytesSent - b.bytesSent, offlineBytes: c.offlineBytes - b.offlineBytes };
    if (!d.rounds && !d.bytesSent && !d.offlineBytes) continue;
    const a = agg.get(path) ?? { rounds: 0, bytesSent: 0, offlineBytes: 0 };
    agg.set(path, { rounds: a.rounds + d.rounds, bytesSent: a.bytesSent + d.bytesSent, offlineBytes: a.offlineBytes + d.offlineBytes });
  }
  for (const [p, c] of [...agg].sort()) {
    console.log(`  ${p.padEnd(48)} ${String(c.rounds).padStart(5)} r ${(c.bytesSent / 1e3).toFixed(1).padStart(10)} kB ${(c.offlineBytes / 1e6).toFixed(3).padStart(9)} MB off`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

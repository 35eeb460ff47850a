/**
 * `mpcache demo` (`npm run demo`): the whole system on this machine. As the model owner it splits
 * stories15M into two share files (a temporary directory, removed at the end; `mpcache share-model`),
 * then starts the dealer, P0 and P1 as three processes on loopback WebSockets, each party loading
 * only its own share file (`--shares`); then,
 * as the client, it secret-shares the tokenized prompt, prints each token as it is reconstructed,
 * and prints the plaintext reference model's text beside it with the cost of every token.
 *
 * `--json FILE` writes { prompt, policy, secureText, plaintextText, tokens: [ids],
 * perToken: [{ ms, bytes, rounds }] } (ARCHITECTURE.md), plus model, plaintextTokens, openMs and
 * offlineBytes per token. `--matmul` runs the old one-product demo of the protocol stack instead.
 */
import type { Command } from 'commander';
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { loadStories15M, STORIES15M } from '@mpcache/mpcache';
import { fmtBytes, parseIntArg, writeJson } from '../cli-util';
import { startOwnedLocalDeployment } from '../deploy/owned-local-deployment';
import { POLICY_HELP } from './client-flags';
import { matmulDemo } from './matmul-demo';
import { costTable, parseSampling, referenceGeneration, runGeneration, TOP_K_HELP, TOP_P_HELP } from './run-generation';

interface DemoOptions {
  prompt: string;
  maxNewTokens: string;
  policy: string;
  temperature: string;
  topK?: string;
  topP?: string;
  net: string;
  verbose?: boolean;
  matmul?: boolean;
  json?: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start a dealer and two parties locally and generate from a secret-shared prompt (stories15M)')
    .option('--prompt <text>', 'the prompt', 'Once upon a time')
    .option('--max-new-tokens <n>', 'tokens to generate (stops early at EOS)', '24')
    .option('--policy <name>', POLICY_HELP, 'full')
    .option('--temperature <T>', 'sample from softmax(logits / T) on shares (0: greedy)', '0')
    .option('--top-k <k>', TOP_K_HELP)
    .option('--top-p <p>', TOP_P_HELP)
    .option('--net <profile>', 'emulated P0–P1 link: none | lan | wan', 'none')
    .option('--verbose', "show the servers' log lines")
    .option('--matmul', 'run the secure matrix-product demo instead')
    .option('--json <file>', 'write results as JSON')
    .action(async (o: DemoOptions) => {
      if (o.matmul) return writeJson(o.json, await matmulDemo());
      writeJson(o.json, await modelDemo(o));
    });
}

async function modelDemo(o: DemoOptions) {
  const maxNewTokens = parseIntArg(o.maxNewTokens, 'max-new-tokens', 1, MAX_NEW_TOKENS);
  const { temperature, topK, topP } = parseSampling(o);
  if (!['none', 'lan', 'wan'].includes(o.net)) throw new RangeError(`--net expected none | lan | wan, got "${o.net}"`);
  const note = (s: string) => process.stderr.write(`${s}\n`);
  const out = (s: string) => process.stdout.write(s);
  out(`MPCache demo: stories15M, policy ${o.policy}, up to ${maxNewTokens} new tokens, P0–P1 link "${o.net}"\n`);
  const model = loadStories15M(), { config, weights, tokenizer } = model;
  const local = await startOwnedLocalDeployment({ model, net: o.net as 'none' | 'lan' | 'wan', verbose: o.verbose, note });
  try {
    const r = await runGeneration({
      connect: local.connect, model: STORIES15M.name, policy: o.policy, maxNewTokens, temperature, topK, topP,
      prompt: o.prompt, tokenizer, write: out, note,
      heading: '\nsecure (each token printed as this client reconstructs it):\n  ',
    });
    // a sampled run has no token-for-token twin: the table then shows the secure tokens only
    const ref = temperature === 0 ? referenceGeneration(weights, config, tokenizer, o.prompt, maxNewTokens, o.policy) : undefined;
    if (ref) out(`plaintext reference (float64, the same policy, computed here for comparison):\n  ${ref.text}\n\n`);
    else out(`\n(sampled at temperature ${temperature}${topK ? ` among the top ${topK}` : ''}${topP ? ` (nucleus ${topP})` : ''}: no plaintext twin to compare token for token)\n\n`);
    out(`${costTable(r, ref)}\n`);
    const same = ref ? r.tokens.filter((t, i) => t === ref.tokens[i]).length : 0;
    const sum = (f: (c: (typeof r.perToken)[number]) => number) => r.perToken.reduce((a, c) => a + f(c), 0);
    const n = r.perToken.length;
    const decode = r.perToken.slice(1);
    out(
      (ref ? `\n${same}/${Math.max(n, ref.tokens.length)} tokens equal to the plaintext model's. ` : '\n') +
        `Session setup ${(r.openMs / 1000).toFixed(1)} s (links, seeds, masking the weights); ` +
        `prefill + first token ${(r.perToken[0]?.ms / 1000).toFixed(1)} s` +
        (decode.length ? `; then ${(decode.reduce((a, c) => a + c.ms, 0) / decode.length / 1000).toFixed(1)} s, ` +
          `${fmtBytes(decode.reduce((a, c) => a + c.bytes, 0) / decode.length)} online and ${Math.round(decode.reduce((a, c) => a + c.rounds, 0) / decode.length)} rounds per token` : '') +
        `. Total online ${fmtBytes(sum((c) => c.bytes))}, offline ${fmtBytes(sum((c) => c.offlineBytes))}.\n`,
    );
    return {
      prompt: r.prompt, policy: r.policy, model: r.model,
      secureText: r.secureText, temperature, ...(topK ? { topK } : {}), ...(topP ? { topP } : {}), ...(ref ? { plaintextText: ref.text, plaintextTokens: ref.tokens } : {}),
      tokens: r.tokens,
      perToken: r.perToken, openMs: Math.round(r.openMs),
    };
  } finally {
    await local.close();
  }
}

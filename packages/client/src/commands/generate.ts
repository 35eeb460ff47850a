/**
 * `mpcache generate --prompt … --p0 ws://… --p1 ws://…` — the client against a running deployment:
 * tokenize locally, share the prompt, stream the tokens as they are reconstructed. The shares travel
 * sealed (ClientSeal); `--p0-public-key` / `--p1-public-key` pin the parties' keys (what each
 * `mpcache serve` prints at start), so a man in the middle cannot take their place.
 * `--json FILE` writes { prompt, policy, secureText, tokens, perToken: [{ ms, bytes, rounds }] }
 * (plus plaintextText with --reference).
 */
import { Command, Option } from 'commander';
import { loadStories15M, STORIES15M } from '@mpcache/mpcache';
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { parseIntArg, writeJson } from '../cli-util';
import { TLS_CA_HELP, tlsCaFile } from './tls-files';
import { costTable, parseSampling, referenceGeneration, runGeneration, TOP_K_HELP, TOP_P_HELP } from './run-generation';

interface GenerateOptions {
  prompt: string;
  maxNewTokens: string;
  p0: string;
  p1: string;
  p0PublicKey?: string;
  p1PublicKey?: string;
  tlsCa?: string;
  policy: string;
  temperature: string;
  topK?: string;
  topP?: string;
  reference?: boolean;
  json?: string;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('generate text with a running deployment (P0, P1, dealer); only this client sees the prompt and the tokens')
    .requiredOption('--prompt <text>', 'the prompt (tokenized here, never sent in the clear)')
    .option('--max-new-tokens <n>', 'tokens to generate (stops early at EOS)', '24')
    .addOption(new Option('--p0 <url>', "P0's URL").default('ws://127.0.0.1:9000').env('MPCACHE_P0_URL'))
    .addOption(new Option('--p1 <url>', "P1's URL").default('ws://127.0.0.1:9001').env('MPCACHE_P1_URL'))
    .addOption(new Option('--p0-public-key <hex>', "P0's public key, pinned (default: the key P0 announces)").env('MPCACHE_P0_PUBLIC_KEY'))
    .addOption(new Option('--p1-public-key <hex>', "P1's public key, pinned (default: the key P1 announces)").env('MPCACHE_P1_PUBLIC_KEY'))
    .addOption(new Option('--tls-ca <file>', TLS_CA_HELP).env('MPCACHE_TLS_CA'))
    .option('--policy <name>', 'KV-cache policy: full | streaming | mpcache | streamingllm | h2o | tova | snapkv | quest | d2o | cake | token-topk | attention-gate (budget: defaultPolicyBudget of the model; attention-gate: the trained gate shipped for stories15M)', 'full')
    .option('--temperature <T>', 'sample from softmax(logits / T) on shares (0: greedy)', '0')
    .option('--top-k <k>', TOP_K_HELP)
    .option('--top-p <p>', TOP_P_HELP)
    .option('--reference', 'also run the plaintext reference model here and compare (greedy only)')
    .option('--json <file>', 'write results as JSON')
    .action(async (o: GenerateOptions) => {
      const maxNewTokens = parseIntArg(o.maxNewTokens, 'max-new-tokens', 1, MAX_NEW_TOKENS);
      const ca = tlsCaFile(o.tlsCa);
      const { temperature, topK, topP } = parseSampling(o);
      if (temperature > 0 && o.reference) throw new RangeError('--reference compares greedy tokens: use it with --temperature 0');
      const { config, weights, tokenizer } = loadStories15M();
      const note = (s: string) => process.stderr.write(`${s}\n`);
      const r = await runGeneration({
        p0: o.p0, p1: o.p1, p0PublicKey: o.p0PublicKey, p1PublicKey: o.p1PublicKey, ca, model: STORIES15M.name, policy: o.policy, maxNewTokens, temperature, topK, topP, prompt: o.prompt, tokenizer,
        write: (s) => process.stdout.write(s), note,
      });
      const ref = o.reference ? referenceGeneration(weights, config, tokenizer, o.prompt, maxNewTokens, o.policy) : undefined;
      if (ref) note(`plaintext reference: ${ref.text}`);
      note(costTable(r, ref));
      writeJson(o.json, { ...r, temperature, ...(topK ? { topK } : {}), ...(topP ? { topP } : {}), ...(ref ? { plaintextText: ref.text, plaintextTokens: ref.tokens } : {}) });
    });
}

/**
 * `mpcache generate --prompt … --p0 ws://… --p1 ws://…` — the client against a running deployment:
 * tokenize locally, share the prompt, stream the tokens as they are reconstructed. The shares travel
 * sealed (ClientSeal); `--p0-public-key` / `--p1-public-key` pin the parties' keys (what each
 * `mpcache serve` prints at start), so a man in the middle cannot take their place.
 * `--json FILE` writes { prompt, policy, secureText, tokens, perToken: [{ ms, bytes, rounds }] }
 * (plus plaintextText with --reference).
 */
import type { Command } from 'commander';
import { loadStories15M } from '@mpcache/mpcache';
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { parseIntArg, writeJson } from '../cli-util';
import { addClientFlags, checkReferenceModel, clientFlagValues, type ClientFlags } from './client-flags';
import { costTable, referenceGeneration, runGeneration } from './run-generation';

interface GenerateOptions extends ClientFlags {
  prompt: string;
  maxNewTokens: string;
  reference?: boolean;
  json?: string;
}

export function registerGenerateCommand(program: Command): void {
  const cmd = program
    .command('generate')
    .description('generate text with a running deployment (P0, P1, dealer); only this client sees the prompt and the tokens')
    .requiredOption('--prompt <text>', 'the prompt (tokenized here, never sent in the clear)')
    .option('--max-new-tokens <n>', 'tokens to generate (stops early at EOS)', '24');
  addClientFlags(cmd)
    .option('--reference', 'also run the plaintext reference model here and compare (greedy only)')
    .option('--json <file>', 'write results as JSON')
    .action(async (o: GenerateOptions) => {
      const maxNewTokens = parseIntArg(o.maxNewTokens, 'max-new-tokens', 1, MAX_NEW_TOKENS);
      const { connect, sampling: { temperature, topK, topP } } = clientFlagValues(o);
      checkReferenceModel(o.model, o.reference, temperature);
      const { config, weights, tokenizer } = loadStories15M();
      const note = (s: string) => process.stderr.write(`${s}\n`);
      const r = await runGeneration({
        connect, model: o.model, policy: o.policy, maxNewTokens, temperature, topK, topP, prompt: o.prompt, tokenizer,
        write: (s) => process.stdout.write(s), note,
      });
      const ref = o.reference ? referenceGeneration(weights, config, tokenizer, o.prompt, maxNewTokens, o.policy) : undefined;
      if (ref) note(`plaintext reference: ${ref.text}`);
      note(costTable(r, ref));
      writeJson(o.json, { ...r, temperature, ...(topK ? { topK } : {}), ...(topP ? { topP } : {}), ...(ref ? { plaintextText: ref.text, plaintextTokens: ref.tokens } : {}) });
    });
}

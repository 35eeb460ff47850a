/**
 * `mpcache share-model` — the model owner's step: split a model's weights (and its trained
 * Attention-Gate, when it has one) into two share files, one per server, from fresh OS randomness
 * (@mpcache/mpcache model-share-file.ts). Ship `<model>.p0.mpcshare` to P0 and `.p1.mpcshare` to P1
 * only; each server loads its file with `mpcache serve --shares FILE` and never sees the weights.
 * P1's file is 16 bytes of seed plus its gate share; P0's holds every weight as a 64-bit word.
 *
 *   --model <name>             stories15m (its real weights), or a named config (seeded random weights)
 *   --checkpoint <file>        a llama2.c checkpoint instead: of the named model's shape (e.g. a
 *                              fine-tuned stories15M), or, under a --model name that did not ship
 *                              with the code, any llama shape its header describes (e.g. stories42M:
 *                              --model stories42m); no gate is shared with it
 *   --random-weights-seed <n>  seed of a random-weights config (default 1, as the stand-in owner's)
 *   --out <dir>                where the two files go (created if missing; existing files are an error)
 *   --frac-bits <f>            the servers' --frac-bits (default 16)
 *   --no-gate                  leave the model's gate out
 *   --json <file>              { model, fracBits, gate, files: [{ party, path, bytes }], ms }
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { findModelConfig, findShippedAttentionGate, llama2cCheckpointConfig, parseLlama2cCheckpoint, writeModelShareFiles } from '@mpcache/mpcache';
import { DEFAULT_MODEL_FRAC_BITS, namedModelWeights } from '@mpcache/party-server';
import { fmtBytes, parseIntArg, writeJson } from '../cli-util';

interface ShareModelOptions {
  model: string;
  checkpoint?: string;
  randomWeightsSeed: string;
  out: string;
  fracBits: string;
  gate: boolean;
  json?: string;
}

export function registerShareModelCommand(program: Command): void {
  program
    .command('share-model')
    .description("the model owner's step: split a model into two share files, one per server (mpcache serve --shares)")
    .option('--model <name>', 'stories15m, a named config (seeded random weights), or with --checkpoint a new name', 'stories15m')
    .option('--checkpoint <file>', "a llama2.c checkpoint: of the named model's shape, or of any llama shape under a new --model name")
    .option('--random-weights-seed <n>', 'seed of a random-weights config', '1')
    .requiredOption('--out <dir>', 'directory for <model>.p0.mpcshare and <model>.p1.mpcshare')
    .option('--frac-bits <f>', "fixed-point fractional bits (the servers' --frac-bits)", String(DEFAULT_MODEL_FRAC_BITS))
    .option('--no-gate', "leave the model's trained Attention-Gate out")
    .option('--json <file>', 'write what was written as JSON')
    .action((o: ShareModelOptions) => {
      const t0 = performance.now();
      const fracBits = parseIntArg(o.fracBits, 'frac-bits', 1, 24);
      const { config, weights } = o.checkpoint
        ? checkpointModel(readFileSync(o.checkpoint), o.model)
        : namedModelWeights(o.model, parseIntArg(o.randomWeightsSeed, 'random-weights-seed', 0, 2 ** 31 - 1));
      const gate = o.gate && !o.checkpoint ? findShippedAttentionGate(config) : undefined, withGate = gate !== undefined;
      mkdirSync(o.out, { recursive: true });
      const r = writeModelShareFiles(o.out, { weights, config, fracBits, gate });
      const ms = performance.now() - t0;
      r.paths.forEach((p, i) => process.stdout.write(`P${i}: ${p} (${fmtBytes(r.bytes[i])})\n`));
      process.stdout.write(`${config.name} at ${fracBits} fractional bits${withGate ? ', with its Attention-Gate' : ''}, in ${(ms / 1000).toFixed(1)} s. `
        + 'Ship each file to its server only, then: mpcache serve --role p0|p1 --model ' + `${config.name} --shares <its file>\n`);
      writeJson(o.json, { model: config.name, fracBits, gate: withGate, files: r.paths.map((path, party) => ({ party, path, bytes: r.bytes[party] })), ms });
    });
}

/** A checkpoint under a shipped name must have that shape; under another name its header is the config. */
function checkpointModel(bytes: Uint8Array, name: string) {
  const config = findModelConfig(name) ?? llama2cCheckpointConfig(bytes, name);
  return { config, weights: parseLlama2cCheckpoint(bytes, config) };
}

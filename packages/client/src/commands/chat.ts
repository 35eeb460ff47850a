/**
 * `mpcache chat` — a multi-turn session with a running deployment: every line read from stdin is a
 * turn. The first line is the prompt (with BOS); each later line continues the same sequence after
 * every token generated so far, on the parties' existing KV cache (no re-prefill). Each turn
 * generates up to --max-new-tokens tokens and ends at EOS: the parties open, after each token,
 * whether it is EOS (session stopToken; 1 round and 1 byte per party and token, and where each
 * answer ends becomes public to them). With --no-stop-at-eos a turn always produces its tokens and
 * those after an EOS stay in the context unprinted. End of input ends the session. `--local` first starts
 * the whole system on this machine as `mpcache demo` does (owner's share files, dealer, P0, P1) and
 * chats with it.
 * `--json FILE` writes { model, policy, turns: [{ prompt, promptTokens, tokens, text, perToken }],
 * secureText } (plus each turn's plaintextTokens with --reference).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { argmax, EOS_ID, loadStories15M, ReferenceDecoder, STORIES15M } from '@mpcache/mpcache';
import { MAX_NEW_TOKENS } from '@mpcache/mpc-core';
import { plaintextPolicyTwin } from '@mpcache/party-server';
import { fmtBytes, parseIntArg, writeJson } from '../cli-util';
import { MpcacheClient } from '../sdk/mpcache-client';
import { generateText, turnPromptIds } from '../sdk/generate-text';
import { startOwnedLocalDeployment } from '../deploy/owned-local-deployment';
import { addClientFlags, checkReferenceModel, checkVocabulary, clientFlagValues, type ClientFlags } from './client-flags';
import { cancelOnInterrupt, InterruptedError } from './interrupt';
import { perTokenCost, type PerTokenCost } from './run-generation';

interface ChatOptions extends ClientFlags {
  maxNewTokens: string;
  local?: boolean;
  stopAtEos: boolean;
  reference?: boolean;
  json?: string;
}

interface Turn {
  prompt: string;
  promptTokens: number[];
  tokens: number[];
  text: string;
  perToken: PerTokenCost[];
  plaintextTokens?: number[];
}

export function registerChatCommand(program: Command): void {
  const cmd = program
    .command('chat')
    .description('a multi-turn session with a running deployment: each stdin line is a turn continuing the same sequence')
    .option('--max-new-tokens <n>', 'tokens per turn', '24')
    .option('--local', 'start a dealer, P0 and P1 on this machine first (as mpcache demo), instead of --p0/--p1')
    .option('--no-stop-at-eos', "let every turn produce all its tokens (the parties then never learn where an answer ends)");
  addClientFlags(cmd)
    .option('--reference', 'compare each turn with the plaintext model on the same sequence (greedy only)')
    .option('--json <file>', 'write the turns as JSON')
    .action(async (o: ChatOptions) => {
      const maxNewTokens = parseIntArg(o.maxNewTokens, 'max-new-tokens', 1, MAX_NEW_TOKENS);
      const values = clientFlagValues(o), sampling = values.sampling;
      checkReferenceModel(o.model, o.reference, sampling.temperature);
      if (o.local && o.model !== STORIES15M.name) throw new RangeError(`--local serves ${STORIES15M.name}; for model "${o.model}" start the servers with its share files`);
      const model = loadStories15M(), { config, weights, tokenizer } = model;
      const reference = o.reference ? new ReferenceDecoder(weights, config, { kvPolicy: plaintextPolicyTwin(o.policy, config) }) : undefined;
      const note = (s: string) => process.stderr.write(`${s}\n`);
      const local = o.local ? await startOwnedLocalDeployment({ model, note }) : undefined;
      const turns: Turn[] = [];
      const client = await MpcacheClient.connect(local?.connect ?? values.connect).catch(async (e: unknown) => {
        await local?.close();
        throw e;
      });
      try {
        const stopToken = o.stopAtEos ? EOS_ID : undefined;
        const session = await client.openSession({ model: o.model, policy: o.policy, maxNewTokens, multiTurn: true, stopToken, ...sampling });
        checkVocabulary(session, tokenizer);
        note(`session ${session.id} ready: one line per turn, end of input to stop (${maxNewTokens} tokens per turn)`);
        const context: number[] = [];
        // at a terminal the typed line is already on screen: prompt with "> " and print the answer below;
        // from a pipe, echo each line so the output reads as the conversation
        const tty = process.stdin.isTTY === true;
        const lines = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, prompt: '> ', crlfDelay: Infinity });
        // Ctrl-C, in a turn or between turns: cancel on both parties, stop reading, exit 130
        const ctrlC = cancelOnInterrupt(session, { readline: lines, then: () => lines.close() });
        try {
          if (tty) lines.prompt();
          for await (const line of lines) {
            if (line.trim() === '') {
              if (tty) lines.prompt();
              continue;
            }
            const ids = turnPromptIds(session, tokenizer, line);
            const turn: Turn = { prompt: line, promptTokens: ids, tokens: [], text: '', perToken: [] };
            if (!tty) process.stdout.write(turns.length === 0 ? line : ` ${line}`);
            let ended = false;
            try {
              for await (const t of generateText(session, tokenizer, line)) {
                turn.tokens.push(t.id);
                turn.perToken.push(perTokenCost(t));
                turn.text += t.text;
                process.stdout.write(t.text);
                ended ||= t.id === EOS_ID;
              }
            } catch (e) {
              if (ctrlC.interrupted) break;
              // refused before anything was sent (e.g. the context is full): the chat goes on
              if (session.state !== 'ready' || turn.tokens.length > 0) throw e;
              process.stdout.write('\n');
              note(`turn refused, the session goes on: ${(e as Error).message}`);
              if (tty) lines.prompt();
              continue;
            }
            if (ctrlC.interrupted) break; // the turn was cut short: not a turn of the record
            process.stdout.write('\n');
            if (reference) turn.plaintextTokens = referenceTurn(reference, turns.length ? context[context.length - 1] : undefined, ids, maxNewTokens, stopToken);
            context.push(...ids, ...turn.tokens);
            turns.push(turn);
            const ms = turn.perToken.reduce((a, c) => a + c.ms, 0), bytes = turn.perToken.reduce((a, c) => a + c.bytes, 0);
            const same = turn.plaintextTokens ? `; ${turn.plaintextTokens.filter((x, i) => x === turn.tokens[i]).length}/${Math.max(turn.tokens.length, turn.plaintextTokens.length)} tokens equal to the plaintext model's` : '';
            note(`turn ${turns.length}: ${ids.length} prompt + ${turn.tokens.length} new tokens in ${(ms / 1000).toFixed(1)} s, ${fmtBytes(bytes)} online${ended && !stopToken ? ' (EOS: the rest stays in the context unprinted)' : ''}${same}`);
            if (tty) lines.prompt();
          }
        } finally {
          ctrlC.dispose();
        }
        if (!ctrlC.interrupted) session.cancel();
        writeJson(o.json, { model: o.model, policy: o.policy, maxNewTokens, ...sampling, turns, secureText: tokenizer.decode(context) });
        if (ctrlC.interrupted) {
          process.stdout.write('\n');
          throw new InterruptedError(`session ${session.id} canceled on both parties after ${turns.length} complete turn${turns.length === 1 ? '' : 's'}`);
        }
      } finally {
        client.close();
        await local?.close();
      }
    });
}

/**
 * The plaintext model's greedy tokens for this turn, the way the parties compute it: the first turn
 * prefills its prompt; a later one extends the same cache with the last generated token and its
 * prompt (ReferenceDecoder.extend: one dense pass for the policies whose secure twin takes a turn in
 * one pass, decoding steps for the others), then decodes n tokens (or up to the stop token).
 */
function referenceTurn(ref: ReferenceDecoder, pending: number | undefined, ids: readonly number[], n: number, stop?: number): number[] {
  let logits = pending === undefined ? ref.prefill(ids) : ref.extend([pending, ...ids]);
  const out: number[] = [];
  for (;;) {
    const next = argmax(logits);
    out.push(next);
    if (out.length === n || next === stop) return out;
    logits = ref.forward(next, ref.length);
  }
}

/**
 * The flags of every command that connects to a running deployment as a client (`generate`,
 * `chat`): the parties' URLs, their pinned public keys and extra TLS CA certificates, and the
 * session's policy and sampling. One definition, so the commands cannot drift apart.
 */
import { Option, type Command } from 'commander';
import { STORIES15M, type Tokenizer } from '@mpcache/mpcache';
import type { ClientSession } from '../sdk/client-session';
import type { MpcacheClientOptions } from '../sdk/mpcache-client';
import { parseSampling, TOP_K_HELP, TOP_P_HELP } from './run-generation';
import { TLS_CA_HELP, tlsCaFile } from './tls-files';

export interface ClientFlags {
  model: string;
  p0: string;
  p1: string;
  p0PublicKey?: string;
  p1PublicKey?: string;
  tlsCa?: string;
  policy: string;
  temperature: string;
  topK?: string;
  topP?: string;
}

export const POLICY_HELP =
  'KV-cache policy: full | streaming | mpcache | streamingllm | h2o | tova | snapkv | quest | d2o | cake | token-topk | attention-gate (budget: defaultPolicyBudget of the model; attention-gate: the trained gate shipped for stories15M)';

/** Add the client flags to a command. */
export function addClientFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--model <name>', "the model the servers serve (its vocabulary must be the llama2 tokenizer's 32,000: stories15m, or a llama2.c model shared with mpcache share-model --checkpoint)").default('stories15m').env('MPCACHE_MODEL'))
    .addOption(new Option('--p0 <url>', "P0's URL").default('ws://127.0.0.1:9000').env('MPCACHE_P0_URL'))
    .addOption(new Option('--p1 <url>', "P1's URL").default('ws://127.0.0.1:9001').env('MPCACHE_P1_URL'))
    .addOption(new Option('--p0-public-key <hex>', "P0's public key, pinned (default: the key P0 announces)").env('MPCACHE_P0_PUBLIC_KEY'))
    .addOption(new Option('--p1-public-key <hex>', "P1's public key, pinned (default: the key P1 announces)").env('MPCACHE_P1_PUBLIC_KEY'))
    .addOption(new Option('--tls-ca <file>', TLS_CA_HELP).env('MPCACHE_TLS_CA'))
    .option('--policy <name>', POLICY_HELP, 'full')
    .option('--temperature <T>', 'sample from softmax(logits / T) on shares (0: greedy)', '0')
    .option('--top-k <k>', TOP_K_HELP)
    .option('--top-p <p>', TOP_P_HELP);
}

/** The connection options (reading the CA file) and the parsed sampling of the client flags. */
export function clientFlagValues(o: ClientFlags) {
  const connect: MpcacheClientOptions = { p0: o.p0, p1: o.p1, p0PublicKey: o.p0PublicKey, p1PublicKey: o.p1PublicKey, ca: tlsCaFile(o.tlsCa) };
  return { connect, sampling: parseSampling(o) };
}

/** --reference runs the plaintext model here: only for the model whose weights ship with the code, greedy. */
export function checkReferenceModel(model: string, reference: boolean | undefined, temperature: number): void {
  if (reference && model !== STORIES15M.name) throw new RangeError(`--reference runs the plaintext ${STORIES15M.name} here; model "${model}"'s weights are not on this machine`);
  if (reference && temperature > 0) throw new RangeError('--reference compares greedy tokens: use it with --temperature 0');
}

/** The session's vocabulary must be the tokenizer's, or the CLI cannot turn its tokens into text. */
export function checkVocabulary(session: ClientSession, tokenizer: Tokenizer): void {
  const v = session.info.vocabSize;
  if (v !== tokenizer.vocabSize) {
    session.cancel();
    throw new RangeError(`model "${session.spec.model}" has a vocabulary of ${v}; this CLI tokenizes with the llama2 tokenizer (${tokenizer.vocabSize}); use the SDK with token ids`);
  }
}

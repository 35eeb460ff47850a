/**
 * The client side of `mpcache generate` and `mpcache demo`: connect to P0 and P1, open a session,
 * share the tokenized prompt, print each token's text as it arrives, and collect the per-token
 * cost the parties' ledgers report. Also the plaintext reference run and the per-token table.
 */
import { EOS_ID, ReferenceDecoder, samplingProblem, type ModelConfig, type SamplingParams, type Tokenizer, type TransformerWeights } from '@mpcache/mpcache';
import { MAX_TOP_K, plaintextPolicyTwin } from '@mpcache/party-server';
import { MAX_TEMPERATURE } from '@mpcache/protocols';
import { fmtBytes, parseIntArg, parseNumberArg, table } from '../cli-util';
import { generateText, promptIds } from '../sdk/generate-text';
import type { GeneratedToken } from '../sdk/client-session';
import { MpcacheClient, type MpcacheClientOptions } from '../sdk/mpcache-client';
import { checkVocabulary } from './client-flags';
import { cancelOnInterrupt, InterruptedError } from './interrupt';

export interface PerTokenCost {
  /** Client wall time for this token (the first includes the prompt's prefill). */
  ms: number;
  /** Online bytes sent by both parties. */
  bytes: number;
  rounds: number;
  /** Dealer bytes to both parties. */
  offlineBytes: number;
}

export interface GenerationResult {
  prompt: string;
  model: string;
  policy: string;
  promptTokens: number[];
  /** Prompt and continuation, decoded together. */
  secureText: string;
  tokens: number[];
  /** The text each token added. */
  pieces: string[];
  perToken: PerTokenCost[];
  /** Opening the session: links, seeds, masking the weights. */
  openMs: number;
}

export interface RunGenerationOptions {
  /** The parties' URLs, pinned public keys and extra TLS CA certificates. */
  readonly connect: MpcacheClientOptions;
  readonly model: string;
  readonly policy: string;
  readonly maxNewTokens: number;
  /** Sampling temperature; 0 = greedy. */
  readonly temperature?: number;
  /** Top-k sampling (with temperature > 0). */
  readonly topK?: number;
  /** Top-p sampling within the top k. */
  readonly topP?: number;
  readonly prompt: string;
  readonly tokenizer: Tokenizer;
  /** Where the streamed text goes (stdout). */
  readonly write: (s: string) => void;
  /** Progress lines (stderr). */
  readonly note: (s: string) => void;
  /** Written before the streamed text. */
  readonly heading?: string;
}

export async function runGeneration(o: RunGenerationOptions): Promise<GenerationResult> {
  const client = await MpcacheClient.connect(o.connect);
  try {
    const t0 = performance.now();
    o.note(`opening a session on P0 and P1 (seeds, links, masking the weights)…`);
    const session = await client.openSession({ model: o.model, policy: o.policy, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP });
    checkVocabulary(session, o.tokenizer);
    const openMs = performance.now() - t0;
    const pinned = o.connect.p0PublicKey && o.connect.p1PublicKey ? "the parties' pinned keys" : 'the keys the parties announced';
    o.note(`session ${session.id} ready in ${(openMs / 1000).toFixed(1)} s; generating (prompt shared and sealed to ${pinned}, ${o.maxNewTokens} tokens at most)`);
    const r: GenerationResult = {
      prompt: o.prompt, model: o.model, policy: o.policy, promptTokens: promptIds(o.tokenizer, o.prompt),
      secureText: '', tokens: [], pieces: [], perToken: [], openMs,
    };
    o.write(`${o.heading ?? ''}${o.prompt}`);
    const ctrlC = cancelOnInterrupt(session); // then exit 130 (interrupt.ts)
    try {
      for await (const t of generateText(session, o.tokenizer, o.prompt)) {
        o.write(t.text);
        r.tokens.push(t.id);
        r.pieces.push(t.text);
        r.perToken.push(perTokenCost(t));
      }
    } catch (e) {
      if (!ctrlC.interrupted) {
        o.write('\n'); // the error follows on stderr, on a line of its own
        throw e;
      }
    } finally {
      ctrlC.dispose();
    }
    o.write('\n');
    if (ctrlC.interrupted) throw new InterruptedError(`session ${session.id} canceled on both parties after ${r.tokens.length} of ${o.maxNewTokens} tokens`);
    r.secureText = o.tokenizer.decode([...r.promptTokens, ...r.tokens]);
    return r;
  } finally {
    client.close();
  }
}

/** The plaintext float64 reference: greedy ids and the text of each, stopping at EOS like the client. */
export function referenceGeneration(
  weights: TransformerWeights, config: ModelConfig, tokenizer: Tokenizer, prompt: string, maxNewTokens: number, policy = 'full',
) {
  const ids = promptIds(tokenizer, prompt);
  const kvPolicy = plaintextPolicyTwin(policy, config);
  const tokens = new ReferenceDecoder(weights, config, { kvPolicy }).generateGreedy(ids, maxNewTokens, { stopTokens: [EOS_ID] });
  const pieces: string[] = [];
  let prev = ids[ids.length - 1];
  for (const t of tokens) {
    pieces.push(Buffer.from(tokenizer.pieceBytes(prev, t)).toString('utf8'));
    prev = t;
  }
  return { tokens, pieces, text: tokenizer.decode([...ids, ...tokens]) };
}

/** Per-token table: secure piece beside the reference's, and the cost of each token. */
export function costTable(r: GenerationResult, ref?: { tokens: number[]; pieces: string[] }): string {
  const rows: (string | number)[][] = [['#', 'secure', ...(ref ? ['plaintext', ''] : []), 'ms', 'online (both)', 'rounds', 'offline']];
  const n = Math.max(r.tokens.length, ref?.tokens.length ?? 0);
  for (let i = 0; i < n; i++) {
    const c = r.perToken[i];
    rows.push([
      i,
      JSON.stringify(r.pieces[i] ?? ''),
      ...(ref ? [JSON.stringify(ref.pieces[i] ?? ''), r.tokens[i] === ref.tokens[i] ? '=' : '≠'] : []),
      c ? c.ms.toFixed(0) : '',
      c ? fmtBytes(c.bytes) : '',
      c ? c.rounds : '',
      c ? fmtBytes(c.offlineBytes) : '',
    ]);
  }
  return table(rows);
}

/** A token's cost as the CLI reports it (ms to 0.1). */
export function perTokenCost(t: Pick<GeneratedToken, 'ms' | 'bytes' | 'rounds' | 'offlineBytes'>): PerTokenCost {
  return { ms: Math.round(t.ms * 10) / 10, bytes: t.bytes, rounds: t.rounds, offlineBytes: t.offlineBytes };
}

/** The sampling flags shared by demo, generate and bench decode, parsed, then checked by samplingProblem. */
export function parseSampling(o: { temperature: string; topK?: string; topP?: string }): SamplingParams & { temperature: number } {
  const p = {
    temperature: parseNumberArg(o.temperature, 'temperature', 0, MAX_TEMPERATURE),
    ...(o.topK === undefined ? {} : { topK: parseIntArg(o.topK, 'top-k', 1, MAX_TOP_K) }),
    ...(o.topP === undefined ? {} : { topP: parseNumberArg(o.topP, 'top-p', 0, 1) }),
  };
  const problem = samplingProblem(p, MAX_TOP_K);
  if (problem) throw new RangeError(`sampling flags: ${problem}`);
  return p;
}

export const TOP_K_HELP = 'with --temperature: sample among the k largest logits only (oblivious top-k on shares)';
export const TOP_P_HELP = 'with --top-k: sample within the smallest prefix of the top k whose probability reaches p (nucleus)';

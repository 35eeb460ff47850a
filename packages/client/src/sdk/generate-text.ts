/**
 * generateText — text in, text out, on top of a ClientSession: the client tokenizes the prompt
 * locally (the parties never see it), streams the generated tokens with the text each one adds, and
 * stops at EOS (then cancels the session: the parties cannot know when to stop, the client tells them).
 */
import { ProtocolError } from '@mpcache/mpc-core';
import { BOS_ID, EOS_ID, type Tokenizer } from '@mpcache/mpcache';
import type { ClientSession, GeneratedToken } from './client-session';

export interface TextToken extends GeneratedToken {
  /** The token id (the reconstructed value, checked against the vocabulary). */
  readonly id: number;
  /** The text this token adds (UTF-8 decoded in stream mode, so a split character waits for its rest). */
  readonly text: string;
}

export interface GenerateTextOptions {
  /** Stop after EOS (default true); the remaining budget is canceled on both parties. */
  readonly stopAtEos?: boolean;
}

/** The prompt's token ids as the model expects them (BOS first). */
export function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
  return tokenizer.encode(prompt, { bos: true });
}

export async function* generateText(
  session: ClientSession,
  tokenizer: Tokenizer,
  prompt: string,
  opts: GenerateTextOptions = {},
): AsyncGenerator<TextToken> {
  const ids = promptIds(tokenizer, prompt);
  const utf8 = new TextDecoder('utf-8');
  let prev: number = ids.length > 0 ? ids[ids.length - 1] : BOS_ID;
  for await (const t of session.generate(ids)) {
    const id = Number(t.value);
    if (t.value >= BigInt(tokenizer.vocabSize)) {
      throw new ProtocolError(`session ${session.id}: token #${t.index} reconstructs to no id in [0, ${tokenizer.vocabSize})`, 'MPC_ERR_BAD_MESSAGE');
    }
    const text = utf8.decode(tokenizer.pieceBytes(prev, id), { stream: true });
    prev = id;
    yield { ...t, id, text };
    if (id === EOS_ID && opts.stopAtEos !== false) return;
  }
}

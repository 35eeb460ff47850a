/**
 * generateText — text in, text out, on top of a ClientSession: the client tokenizes the prompt
 * locally (the parties never see it), streams the generated tokens with the text each one adds, and
 * stops at EOS (then cancels the session: the parties cannot know when to stop, the client tells them).
 *
 * In a multi-turn session the first turn's prompt starts with BOS and later turns continue without
 * it. A session opened with `stopToken: EOS_ID` ends each turn at EOS on the parties' side; without,
 * a turn cannot stop early without ending the session, so after an EOS the turn's remaining tokens
 * are still yielded (they are in the parties' context) with `afterEos` set and no text.
 */
import { ProtocolError } from '@mpcache/mpc-core';
import { BOS_ID, EOS_ID, type Tokenizer } from '@mpcache/mpcache';
import type { ClientSession, GeneratedToken } from './client-session';

export interface TextToken extends GeneratedToken {
  /** The token id (the reconstructed value, checked against the vocabulary). */
  readonly id: number;
  /** The text this token adds (UTF-8 decoded in stream mode, so a split character waits for its rest). */
  readonly text: string;
  /** A multi-turn session's token after this turn's EOS: in the context, not in the text. */
  readonly afterEos?: boolean;
}

export interface GenerateTextOptions {
  /** Stop after EOS (default true); the remaining budget is canceled on both parties. */
  readonly stopAtEos?: boolean;
  /** This turn's new tokens (default: the session's maxNewTokens). */
  readonly maxNewTokens?: number;
}

/** The prompt's token ids as the model expects them (BOS first). */
export function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
  return tokenizer.encode(prompt, { bos: true });
}

/** A turn's prompt ids: with BOS for a session's first turn, without for a later one (a continuation). */
export function turnPromptIds(session: ClientSession, tokenizer: Tokenizer, prompt: string): number[] {
  return session.turnsDone > 0 ? tokenizer.encode(prompt, { bos: false }) : promptIds(tokenizer, prompt);
}

export async function* generateText(
  session: ClientSession,
  tokenizer: Tokenizer,
  prompt: string,
  opts: GenerateTextOptions = {},
): AsyncGenerator<TextToken> {
  const ids = turnPromptIds(session, tokenizer, prompt);
  const utf8 = new TextDecoder('utf-8');
  const stopAtEos = opts.stopAtEos !== false, multiTurn = session.spec.multiTurn;
  let prev: number = ids.length > 0 ? ids[ids.length - 1] : BOS_ID, ended = false;
  for await (const t of session.generate(ids, { maxNewTokens: opts.maxNewTokens })) {
    const id = Number(t.value);
    if (t.value >= BigInt(tokenizer.vocabSize)) {
      throw new ProtocolError(`session ${session.id}: token #${t.index} reconstructs to no id in [0, ${tokenizer.vocabSize})`, 'MPC_ERR_BAD_MESSAGE');
    }
    if (ended) {
      yield { ...t, id, text: '', afterEos: true };
      continue;
    }
    const text = utf8.decode(tokenizer.pieceBytes(prev, id), { stream: true });
    prev = id;
    yield { ...t, id, text };
    if (id === EOS_ID && stopAtEos && session.spec.stopToken !== EOS_ID) {
      if (!multiTurn) return;
      ended = true;
    }
  }
}

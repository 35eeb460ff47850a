/**
 * The quality harness' prompt set — `packages/mpcache/data/eval-prompts.json` — and the fixed
 * procedure that made it (`makeEvalPrompts`, run by `scripts/make-eval-prompts.js`).
 *
 * Procedure: for each of the 50 hand-written TinyStories-style opening lines in EVAL_PROMPT_SEEDS
 * (index i), encode it with BOS, then let stories15M (float64 reference decoder, full cache) sample
 * tokens until the prompt holds `promptTokens` (150) ids: temperature 0.8, BOS and EOS forbidden
 * (logit −∞, so stories never end early), uniform draws from xoshiro128** seeded (i, 'eval-prompts').
 * Same model, seeds and code give the same file bit for bit. Stored: ids (the harness input) and the
 * decoded text (for reading).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { argmax } from '../model/blocks';
import { Xoshiro128 } from '../model/random-weights';
import { ReferenceDecoder } from '../model/reference-decoder';
import { BOS_ID, EOS_ID, type Tokenizer } from '../model/tokenizer';
import type { ModelConfig } from '../model/config';
import type { TransformerWeights } from '../model/weights';

export interface EvalPrompt {
  id: string;
  /** The opening line the sample started from. */
  seed: string;
  /** Token ids, BOS first. */
  ids: number[];
  text: string;
}

export interface EvalPromptFile {
  format: 'mpcache-eval-prompts/v1';
  model: string;
  procedure: string;
  promptTokens: number;
  temperature: number;
  prompts: EvalPrompt[];
}

export const EVAL_PROMPT_SEEDS: readonly string[] = [
  'Once upon a time, there was a little girl named Lily.', 'One day, a boy named Tom went to the park with his dad.',
  'There was a small dog who lived in a big red house.', 'Sara had a blue ball that she loved very much.',
  'In a quiet forest, a little rabbit was looking for food.', 'Ben and Mia wanted to build a tall tower of blocks.',
  'The sun was shining and the birds were singing.', 'Max the cat liked to sleep in the warm kitchen.',
  'Once upon a time, there was a kind old man who grew apples.', 'Tim found a shiny key under his bed.',
  'Anna wanted to help her mom bake a cake.', 'A big truck drove down the street every morning.',
  'Lucy and her brother went to the beach on a sunny day.', 'There was a little fish who was afraid of the dark.',
  'Jack had a toy car that could go very fast.', 'The little bird could not fly because its wing was hurt.',
  'Emma loved to draw pictures of flowers and trees.', 'One morning, a frog jumped into a big puddle.',
  'Sam and his friend found a box in the garden.', 'Once upon a time, there was a grumpy bear in the woods.',
  'Lily saw a butterfly with bright yellow wings.', 'Tom did not want to go to bed early.',
  'A little girl named Sue lost her favorite doll.', 'The farmer had a cow, a pig and a very loud duck.',
  'Mom gave Jake a red balloon at the fair.', 'There was a princess who wanted to see the ocean.',
  'Kitty the cat climbed up a tall tree and could not get down.', 'Bob the robot liked to help people clean.',
  'One rainy day, Mia and her dog stayed inside.', 'Once upon a time, a little mouse lived under the stairs.',
  'Zoe wanted to be the fastest runner in her class.', 'The old owl knew many stories about the moon.',
  'Peter shared his lunch with a new friend at school.', 'A small boat sailed across the blue lake.',
  'Lily and Ben planted seeds in the garden.', 'There was a dragon who did not like fire.',
  'Grandma told Amy a secret about the old clock.', 'The puppy chewed on dad\u2019s shoe and got in trouble.',
  'Once upon a time, there was a brave little ant.', 'Tom wanted to catch the moon with a big net.',
  'A happy snowman stood in the yard all winter.', 'Jenny was sad because it was too cold to play outside.',
  'The monkey found a yellow banana on a high branch.', 'Leo and his mom went to the store to buy milk.',
  'One day, a little star fell from the sky.', 'Sally had a magic pencil that could draw real things.',
  'The children played hide and seek in the park.', 'A lonely turtle wanted to make a new friend.',
  'Once upon a time, there was a girl who loved to sing.', 'Dad took Billy fishing by the river.',
];

/** Path of the prompt file inside this package. */
export const EVAL_PROMPTS_PATH = join(__dirname, '..', '..', 'data', 'eval-prompts.json');

/** Load and validate the prompt file (every id inside the vocabulary, BOS first). */
export function loadEvalPrompts(path: string = EVAL_PROMPTS_PATH, vocabSize = 32000): EvalPromptFile {
  const f = JSON.parse(readFileSync(path, 'utf8')) as EvalPromptFile;
  if (f.format !== 'mpcache-eval-prompts/v1' || !Array.isArray(f.prompts)) throw new RangeError(`${path}: expected format "mpcache-eval-prompts/v1"`);
  f.prompts.forEach((p, i) => {
    if (!Array.isArray(p.ids) || p.ids[0] !== BOS_ID || !p.ids.every((t) => Number.isInteger(t) && t >= 0 && t < vocabSize)) {
      throw new RangeError(`${path}: prompts[${i}].ids expected token ids in [0, ${vocabSize}) starting with BOS`);
    }
  });
  return f;
}

/** Sample one token from logits / temperature with a uniform draw u ∈ [0, 1); forbidden ids excluded. */
export function sampleToken(logits: Float64Array, temperature: number, u: number, forbidden: readonly number[]): number {
  const z = Float64Array.from(logits, (x) => x / temperature);
  for (const f of forbidden) z[f] = -Infinity;
  const m = z[argmax(z)];
  let sum = 0;
  for (let i = 0; i < z.length; i++) { z[i] = Math.exp(z[i] - m); sum += z[i]; }
  let acc = 0;
  for (let i = 0; i < z.length; i++) { acc += z[i] / sum; if (u < acc) return i; }
  return argmax(z);
}

/** Run the documented procedure (header) for `seeds`. */
export function makeEvalPrompts(weights: TransformerWeights, config: ModelConfig, tokenizer: Tokenizer,
  opts: { promptTokens?: number; temperature?: number; seeds?: readonly string[] } = {}): EvalPromptFile {
  const promptTokens = opts.promptTokens ?? 150, temperature = opts.temperature ?? 0.8, seeds = opts.seeds ?? EVAL_PROMPT_SEEDS;
  const dec = new ReferenceDecoder(weights, config);
  const prompts = seeds.map((seed, i) => {
    const rng = new Xoshiro128(i, 'eval-prompts'), ids = tokenizer.encode(seed, { bos: true });
    dec.reset();
    let logits = dec.prefill(ids);
    while (ids.length < promptTokens) {
      ids.push(sampleToken(logits, temperature, rng.nextU32() / 2 ** 32, [BOS_ID, EOS_ID]));
      if (ids.length < promptTokens) logits = dec.forward(ids[ids.length - 1], dec.length);
    }
    return { id: `p${String(i).padStart(2, '0')}`, seed, ids, text: tokenizer.decode(ids.slice(1)) };
  });
  return {
    format: 'mpcache-eval-prompts/v1', model: config.name,
    procedure: 'seed line + BOS, then stories15M samples at temperature 0.8 (BOS/EOS forbidden) with xoshiro128**(i, "eval-prompts") up to promptTokens; see src/eval/eval-prompts.ts',
    promptTokens, temperature, prompts,
  };
}

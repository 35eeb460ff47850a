/**
 * Golden end-to-end test (STYLE §8, model.md): stories15M, prompt "Once upon a time", greedy.
 * The secure decoder's golden test compares its token ids with the ones produced here.
 */
import { ReferenceDecoder, argmax, loadStories15M } from '@mpcache/mpcache';

const GOLDEN =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. ' +
  'One day, she saw a big, red ball in the sky. It was the sun! She thought it was so pretty.';

describe('stories15M golden output', () => {
  const { config, weights, tokenizer } = loadStories15M();
  const prompt = tokenizer.encode('Once upon a time', { bos: true });
  const reference = new ReferenceDecoder(weights, config);
  let greedy: number[] = []; // set by the float64 test, recomputed if that test was filtered out
  const floatGreedy = () => (greedy.length > 0 ? greedy : (greedy = reference.generateGreedy(prompt, 128)));

  test('the prompt encodes as [BOS, " Once", " upon", " a", " time"]', () => {
    expect(prompt).toEqual([1, 9038, 2501, 263, 931]);
  });

  test('float64: greedy 128 tokens begin with the golden text of model.md', () => {
    const t0 = performance.now();
    greedy = reference.generateGreedy(prompt, 128);
    const msPerToken = (performance.now() - t0) / (prompt.length + 127);
    const text = tokenizer.decode([...prompt, ...greedy]);
    expect(greedy).toHaveLength(128);
    expect(text.startsWith(GOLDEN)).toBe(true);
    // ≈ 17 ms/token measured alone on this 2-core machine (Node 20.20); loose bound for shared CI
    expect(msPerToken).toBeLessThan(100);
  });

  test('fixed point, 12 fractional bits: the first 32 greedy tokens agree, logits within 0.3', () => {
    const n = 32;
    const fixed = new ReferenceDecoder(weights, config, { fixedPointFracBits: 12 });
    // Feed both decoders the float64 greedy sequence. The cache depends only on the tokens fed, so
    // the fixed-point greedy tokens equal the float64 ones for n steps exactly when, at each of those
    // steps, the fixed-point argmax is the float64 token; checking that also yields the logit gap.
    const seq = [...prompt, ...floatGreedy().slice(0, n - 1)];
    reference.reset();
    let maxDiff = 0, maxLogit = 0;
    seq.forEach((tok, pos) => {
      const a = Float64Array.from(reference.forward(tok, pos));
      const b = fixed.forward(tok, pos);
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxLogit = Math.max(maxLogit, Math.abs(a[i]));
      }
      if (pos >= prompt.length - 1) expect(argmax(b)).toBe(greedy[pos - prompt.length + 1]);
    });
    // measured max |Δlogit| = 0.20 (at max |logit| ≈ 25.4) over these 36 positions, and still 0.20
    // over 69; with 16 fractional bits 0.012
    expect(maxDiff).toBeLessThan(0.3);
    expect(maxDiff).toBeGreaterThan(0);
    expect(maxLogit).toBeGreaterThan(10);
  });
});

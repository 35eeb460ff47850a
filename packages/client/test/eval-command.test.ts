/**
 * `mpcache eval --json`: the CLI runs the plaintext quality harness (runEval) and writes the object
 * of ARCHITECTURE.md. Runs the compiled CLI (npm test builds first). One prompt, two steps: seconds.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const cli = join(__dirname, '..', 'bin', 'mpcache.js');

describe('mpcache eval', () => {
  it('writes { model, rows: [{ policy, budget, agreement, meanKL, perplexity }] }', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'mpcache-eval-')), 'eval.json');
    await promisify(execFile)(process.execPath, [cli, 'eval', '--policy', 'full,streamingllm', '--budget', '16,32', '--prompts', '1', '--max-new-tokens', '2', '--json', out]);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.model).toBe('stories15m');
    expect(j.rows.map((r: { policy: string; budget: number }) => [r.policy, r.budget])).toEqual([['full', 256], ['streamingllm', 16], ['streamingllm', 32]]);
    for (const r of j.rows) {
      expect(r.agreement).toBeGreaterThanOrEqual(0);
      expect(r.agreement).toBeLessThanOrEqual(1);
      expect(r.meanKL).toBeGreaterThanOrEqual(0);
      expect(r.perplexity).toBeGreaterThanOrEqual(1);
    }
    expect(j.rows[0]).toMatchObject({ agreement: 1, meanKL: 0 }); // the full cache against itself
  }, 60_000);

  it('rejects a budget that is not an integer', async () => {
    await expect(promisify(execFile)(process.execPath, [cli, 'eval', '--budget', 'lots', '--prompts', '1'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--budget expected an integer/) });
  });
});

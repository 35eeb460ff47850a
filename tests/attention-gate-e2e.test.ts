/**
 * --policy attention-gate through the servers:
 *   1. stories15M, the deployable way: three `mpcache serve` processes (each party derives its share
 *      of the shipped gate as it does its weight shares: local-gate-shares.ts) and `mpcache generate
 *      --policy attention-gate --json` as a fourth; a prompt past the budget (24), so every decoding
 *      step evicts by gate logit; the ids equal the float64 twin's (plaintextPolicyTwin: the same
 *      gate file, budget and options) wherever the twin's choice is clear.
 *   2. a model without a shipped gate (tiny-llama, servers in this process): the session is refused
 *      with an error that says why; the plaintext twin refuses too; a job refuses gate shares of
 *      another model or fixed-point precision.
 * Needs the build (packages/client/dist/cli.js): `npm test` builds first.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultPolicyBudget, loadStories15M, ReferenceDecoder, TINY_LLAMA } from '@mpcache/mpcache';
import { localGateShares, localWeightShares, plaintextPolicyTwin, secureGenerateJob, startLocalServers } from '@mpcache/party-server';
import { cliPath, LocalDeployment, MpcacheClient, promptIds } from '@mpcache/client';

describe('mpcache serve ×3 + mpcache generate --policy attention-gate (stories15M)', () => {
  let deployment: LocalDeployment;
  let dir: string;
  beforeAll(async () => {
    deployment = await LocalDeployment.start({ model: 'stories15m' });
    dir = mkdtempSync(join(tmpdir(), 'mpcache-gate-e2e-'));
  }, 120_000);
  afterAll(async () => {
    await deployment?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a prompt past the budget, evicted by gate logit at every step: ids equal the float64 twin\'s', async () => {
    const { config, weights, tokenizer } = loadStories15M();
    const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big';
    const ids = promptIds(tokenizer, prompt), n = 3;
    expect(ids.length).toBeGreaterThan(defaultPolicyBudget(config.seqLen, config));
    // the twin's greedy tokens and, per step, the margin between its two best logits
    const twin = new ReferenceDecoder(weights, config, { kvPolicy: plaintextPolicyTwin('attention-gate', config) });
    const { tokens: want, margins } = twin.decodeGreedy(twin.prefill(ids), n);
    const file = join(dir, 'generate-gate.json');
    await promisify(execFile)(process.execPath, [
      cliPath(), 'generate', '--prompt', prompt, '--max-new-tokens', String(n), '--policy', 'attention-gate',
      '--p0', deployment.p0Url, '--p1', deployment.p1Url, '--json', file,
    ], { timeout: 280_000 });
    const r = JSON.parse(readFileSync(file, 'utf8'));
    expect(r).toMatchObject({ policy: 'attention-gate' });
    expect(r.tokens).toHaveLength(n);
    // Where the twin's choice is clear (secure logits within 0.05 of float64; the secure gate's logits
    // are within a few fixed-point ulps), the secure token must be the same; a near-tie may go
    // either way, and after one the two continue from different tokens: stop there.
    expect(margins.filter((m) => m > 0.1).length).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) {
      if (r.tokens[i] === want[i]) continue;
      expect(margins[i]).toBeLessThanOrEqual(0.1);
      break;
    }
  }, 300_000);
});

describe('a model without a trained gate', () => {
  it('the servers refuse --policy attention-gate, saying why; the plaintext twin refuses too', async () => {
    expect(localGateShares(0, TINY_LLAMA.name)).toBeNull();
    const servers = await startLocalServers({
      job: (p) => secureGenerateJob({ shares: localWeightShares(p, TINY_LLAMA.name), gate: localGateShares(p, TINY_LLAMA.name) }),
    });
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      await expect(client.openSession({ model: TINY_LLAMA.name, policy: 'attention-gate', maxNewTokens: 2 }))
        .rejects.toThrow(/policy "attention-gate" is not supported: model "tiny-llama" has no trained Attention-Gate on this server .*shipped for: stories15m/);
    } finally {
      client.close();
      await servers.close();
    }
    expect(() => plaintextPolicyTwin('attention-gate', TINY_LLAMA)).toThrow(/"tiny-llama" has no trained Attention-Gate/);
  });

  it('a job refuses gate shares of another model or precision', () => {
    const gate = localGateShares(0, 'stories15m', { fracBits: 12 })!;
    expect(() => secureGenerateJob({ shares: localWeightShares(0, TINY_LLAMA.name), gate }))
      .toThrow('attention-gate shares expected (dModel 32, nHeads 4, 2 layers) of model "tiny-llama", got (288, 6, 6)');
    expect(() => secureGenerateJob({ shares: localWeightShares(0, 'stories15m'), gate }))
      .toThrow('attention-gate shares at 12 fractional bits, the weight shares at 16');
  });
});

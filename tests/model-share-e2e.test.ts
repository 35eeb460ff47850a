/**
 * The model owner's deployment path, end to end with real processes:
 *   1. `mpcache share-model --model tiny-llama --random-weights-seed 11` writes two share files
 *      (the CLI as its own process);
 *   2. three `mpcache serve` processes, each party with `--shares <its file>`; the client SDK's
 *      greedy ids equal the float64 reference of those weights. The servers' stand-in owner would
 *      share other weights (random seed 1), so equal ids show the files were served;
 *   3. a party given the other party's file refuses to start, naming the mismatch; parties given the
 *      files of two different sharings refuse every session, naming the two share sets;
 *   4. `mpcache demo` (npm run demo) takes the same path with stories15M: its tokens equal the
 *      plaintext reference's and the owner's temporary share files are gone afterwards;
 *   5. `--checkpoint FILE` shares a llama2.c checkpoint (stories15M's, copied out of its package):
 *      the two files reconstruct its weights; no gate is shared with a custom checkpoint;
 *   6. a model that did not ship with the code: a llama2.c checkpoint under a new name (its config
 *      from the header, into the share files), served by name; ids equal the float64 reference.
 * Needs the build (packages/client/dist/cli.js): `npm test` builds first.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { add, encode } from '@mpcache/mpc-core';
import { encodeLlama2cCheckpoint, loadModelShareFile, loadStories15M, randomWeights, writeModelShareFiles, ReferenceDecoder, STORIES15M_CHECKPOINT_BYTES, stories15MDataPath, tensorOf, TINY_LLAMA } from '@mpcache/mpcache';
import { cliPath, LocalDeployment, MpcacheClient, type GeneratedToken } from '@mpcache/client';

const SEED = 11; // random weights on which secure and float64 greedy tokens agree (generate-e2e)

/** Three `mpcache serve` processes on these share files and a client connected to them, for `use`. */
async function withClient(shares: { p0: string; p1: string }, use: (client: MpcacheClient) => Promise<void>, model = TINY_LLAMA.name): Promise<void> {
  const deployment = await LocalDeployment.start({ model, shares });
  try {
    const client = await MpcacheClient.connect({ p0: deployment.p0Url, p1: deployment.p1Url });
    try {
      await use(client);
    } finally {
      client.close();
    }
  } finally {
    await deployment.close();
  }
}

describe('mpcache share-model + mpcache serve --shares', () => {
  let dir: string;
  let files: { p0: string; p1: string };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcache-owner-'));
    const json = join(dir, 'share.json');
    await promisify(execFile)(process.execPath, [
      cliPath(), 'share-model', '--model', TINY_LLAMA.name, '--random-weights-seed', String(SEED), '--out', join(dir, 'shares'), '--json', json,
    ], { timeout: 60_000 });
    const r = JSON.parse(readFileSync(json, 'utf8')) as { files: { party: number; path: string; bytes: number }[]; gate: boolean };
    expect(r.gate).toBe(false); // tiny-llama ships no gate
    expect(r.files.map((f) => f.party)).toEqual([0, 1]);
    files = { p0: r.files[0].path, p1: r.files[1].path };
  }, 90_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the parties serve the owner\'s files: greedy ids equal the float64 reference of the shared weights', async () => {
    const prompt = [1, 17, 42, 5, 63, 8];
    const want = new ReferenceDecoder(randomWeights(TINY_LLAMA, SEED), TINY_LLAMA).generateGreedy(prompt, 4);
    const standIn = new ReferenceDecoder(randomWeights(TINY_LLAMA, 1), TINY_LLAMA).generateGreedy(prompt, 4);
    expect(standIn).not.toEqual(want); // otherwise this test could not tell the two apart
    await withClient(files, async (client) => {
      const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 4 });
      const out: GeneratedToken[] = [];
      for await (const t of s.generate(prompt)) out.push(t);
      expect(out.map((t) => Number(t.value))).toEqual(want);
    });
  }, 120_000);

  it("a party given the other party's file refuses to start and says why", async () => {
    await expect(LocalDeployment.start({ model: TINY_LLAMA.name, shares: { p0: files.p1, p1: files.p0 } }))
      .rejects.toThrow(/p0 exited with code 1 before listening:[\s\S]*holds P1's share, this server is P0/);
    await expect(LocalDeployment.start({ model: 'tiny-gpt2', shares: files }))
      .rejects.toThrow(/holds model "tiny-llama", this server serves "tiny-gpt2"/);
  }, 120_000);

  it('files of two different sharings: every session is refused with both share sets named', async () => {
    mkdirSync(join(dir, 'again'));
    const again = writeModelShareFiles(join(dir, 'again'), { weights: randomWeights(TINY_LLAMA, SEED), config: TINY_LLAMA, fracBits: 16 });
    await withClient({ p0: files.p0, p1: again.paths[1] }, (client) =>
      expect(client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 2 })).rejects.toThrow(/P0 and P1 hold shares of different sharings of the model \(P0 [0-9a-f]{16}, P1 [0-9a-f]{16}\)/));
  }, 120_000);

  it('mpcache demo: owner step, three servers on share files, tokens equal the plaintext reference; no share file left behind', async () => {
    const tmp = join(dir, 'tmp'), json = join(dir, 'demo.json');
    mkdirSync(tmp);
    await promisify(execFile)(process.execPath, [cliPath(), 'demo', '--max-new-tokens', '2', '--json', json], { timeout: 240_000, env: { ...process.env, TMPDIR: tmp } });
    const r = JSON.parse(readFileSync(json, 'utf8')) as { tokens: number[]; plaintextTokens: number[] };
    expect(r.tokens).toHaveLength(2);
    expect(r.tokens).toEqual(r.plaintextTokens);
    expect(readdirSync(tmp)).toEqual([]);
  }, 300_000);

  it('mpcache chat --local: its own owner files and servers, two stdin turns that agree with --reference; no share file left behind', async () => {
    const tmp = join(dir, 'tmp-chat'), json = join(dir, 'chat.json');
    mkdirSync(tmp);
    const run = promisify(execFile)(process.execPath, [cliPath(), 'chat', '--local', '--max-new-tokens', '2', '--reference', '--json', json], { timeout: 240_000, env: { ...process.env, TMPDIR: tmp } });
    run.child.stdin!.end('Once upon a time\nLily saw a big dog\n');
    await run;
    const r = JSON.parse(readFileSync(json, 'utf8')) as { turns: { tokens: number[]; plaintextTokens: number[] }[] };
    expect(r.turns).toHaveLength(2);
    for (const t of r.turns) expect(t.tokens).toEqual(t.plaintextTokens);
    expect(readdirSync(tmp)).toEqual([]);
  }, 300_000);

  it('bring your own llama2.c model: share-model --checkpoint under a new name, serve --model that name; ids equal the float64 reference', async () => {
    const weights = randomWeights(TINY_LLAMA, SEED), ckpt = join(dir, 'my-model.bin'), out = join(dir, 'my-shares');
    writeFileSync(ckpt, encodeLlama2cCheckpoint(weights, TINY_LLAMA));
    await promisify(execFile)(process.execPath, [cliPath(), 'share-model', '--checkpoint', ckpt, '--model', 'my-model', '--out', out], { timeout: 60_000 });
    const shares = { p0: join(out, 'my-model.p0.mpcshare'), p1: join(out, 'my-model.p1.mpcshare') };
    expect(loadModelShareFile(shares.p1).header.config).toMatchObject({ ...TINY_LLAMA, name: 'my-model' });
    const prompt = [1, 9, 30, 12];
    const want = new ReferenceDecoder(weights, TINY_LLAMA).generateGreedy(prompt, 4);
    await withClient(shares, async (client) => {
      const s = await client.openSession({ model: 'my-model', maxNewTokens: 4 });
      const got: number[] = [];
      for await (const t of s.generate(prompt)) got.push(Number(t.value));
      expect(got).toEqual(want);
      await expect(client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 1 })).rejects.toThrow(/model "tiny-llama" is not served here \(serving "my-model"\)/);
    }, 'my-model');
  }, 150_000);

  it('--checkpoint: a llama2.c checkpoint of the model\'s shape is shared; the files reconstruct its weights', async () => {
    const ckpt = join(dir, 'model.bin'), out = join(dir, 'ckpt-shares'), json = join(dir, 'ckpt.json');
    writeFileSync(ckpt, readFileSync(stories15MDataPath()).subarray(0, STORIES15M_CHECKPOINT_BYTES));
    await promisify(execFile)(process.execPath, [cliPath(), 'share-model', '--checkpoint', ckpt, '--out', out, '--frac-bits', '12', '--json', json], { timeout: 60_000 });
    const r = JSON.parse(readFileSync(json, 'utf8')) as { gate: boolean; files: { path: string }[] };
    expect(r.gate).toBe(false);
    const [s0, s1] = r.files.map((f, p) => loadModelShareFile(f.path, { party: p as 0 | 1, model: 'stories15m', fracBits: 12 }));
    const w = loadStories15M().weights, n = 288 * 288;
    expect(add(s0.weights.tensor('wq', 3), s1.weights.tensor('wq', 3)).data).toEqual(encode(tensorOf(w, 'wq').subarray(3 * n, 4 * n), 12));
    expect(s0.gate).toBeNull();
  }, 90_000);
});

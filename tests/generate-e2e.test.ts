/**
 * End to end through real servers with the secure transformer:
 *   1. tiny-llama (seeded random weights), dealer + P0 + P1 in this process on loopback
 *      WebSockets, driven by the client SDK: token ids equal the float64 reference's; two
 *      concurrent sessions; per-token costs equal on both parties.
 *   2. stories15M, the deployable way: three `mpcache serve` processes (LocalDeployment) and the
 *      `mpcache generate --json` CLI as a fourth; the ids must equal the float64 reference's, with
 *      the full cache and with MPCache (against its float64 twin); Ctrl-C of a generate or a chat cancels
 *      its session on both parties.
 * Needs the build (packages/client/dist/cli.js): `npm test` builds first.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EOS_ID, loadStories15M, randomWeights, ReferenceDecoder, TINY_LLAMA } from '@mpcache/mpcache';
import { localWeightShares, plaintextPolicyTwin, secureGenerateJob, startLocalServers, type LocalServers } from '@mpcache/party-server';
import { cliPath, LocalDeployment, MpcacheClient, promptIds, type GeneratedToken } from '@mpcache/client';

describe('generate through real servers: tiny-llama in one process', () => {
  const SEED = 11; // random weights on which secure and float64 greedy tokens agree (packages/mpcache tests)
  let servers: LocalServers;
  beforeAll(async () => {
    servers = await startLocalServers({ job: (p) => secureGenerateJob({ shares: localWeightShares(p, TINY_LLAMA.name, { randomWeightsSeed: SEED }) }) });
  });
  afterAll(() => servers.close());

  it('token ids equal the float64 reference; two concurrent sessions; both parties count the same cost', async () => {
    const ref = new ReferenceDecoder(randomWeights(TINY_LLAMA, SEED), TINY_LLAMA);
    // [1, 9, 54], not [1, 9, 30]: that one's greedy path won a step by 0.0085, only 2.2× the secure argmax's resolution
    const prompts = [[1, 17, 42, 5, 63, 8], [1, 9, 54]];
    const want = prompts.map((p) => ref.generateGreedy(p, 5));
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const run = async (prompt: number[]) => {
        const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 5 });
        const out: GeneratedToken[] = [];
        for await (const t of s.generate(prompt)) out.push(t);
        return out;
      };
      const got = await Promise.all(prompts.map(run));
      expect(got.map((g) => g.map((t) => Number(t.value)))).toEqual(want);
      for (const t of got.flat()) {
        expect(t.parties[0].rounds).toBe(t.parties[1].rounds);
        expect(t.parties[0].bytesSent).toBe(t.parties[1].bytesReceived);
        expect(t.rounds).toBeGreaterThan(0);
      }
    } finally {
      client.close();
    }
    expect(servers.p0.sessionCount + servers.p1.sessionCount).toBe(0);
  });

  it('a chat (multi-turn session): the second turn continues after the first turn\'s tokens; ids equal the float64 reference of the whole sequence', async () => {
    const weights = randomWeights(TINY_LLAMA, SEED);
    const prompt = [1, 17, 42, 5, 63, 8], turn2 = [9, 30, 2];
    const first = new ReferenceDecoder(weights, TINY_LLAMA).generateGreedy(prompt, 3);
    const second = new ReferenceDecoder(weights, TINY_LLAMA).generateGreedy([...prompt, ...first, ...turn2], 2);
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 3, multiTurn: true });
      const ids = async (p: number[], n?: number) => {
        const out: number[] = [];
        for await (const t of s.generate(p, { maxNewTokens: n })) out.push(Number(t.value));
        return out;
      };
      expect(await ids(prompt)).toEqual(first);
      expect(await ids(turn2, 2)).toEqual(second);
      s.cancel();
    } finally {
      client.close();
    }
  });

  it('stopToken: a turn ends right after that token on both parties (done, no cancel), chats go on after it; each check costs 1 round and 1 byte', async () => {
    const weights = randomWeights(TINY_LLAMA, SEED);
    const prompt = [1, 6, 35], turn2 = [9, 30, 2]; // float64 margins ≥ 0.14: no near-tie for fixed point to flip
    const five = new ReferenceDecoder(weights, TINY_LLAMA).generateGreedy(prompt, 5);
    const k = five.findIndex((t, i) => i > 0 && !five.slice(0, i).includes(t)); // the first new token after the first
    expect(k).toBeGreaterThan(0);
    const stop = five[k], first = five.slice(0, k + 1);
    const second = new ReferenceDecoder(weights, TINY_LLAMA).generateGreedy([...prompt, ...first, ...turn2], 5);
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const run = async (s: Awaited<ReturnType<MpcacheClient['openSession']>>, p: number[]) => {
        const out: GeneratedToken[] = [];
        for await (const t of s.generate(p)) out.push(t);
        return out;
      };
      const plain = await run(await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 5 }), prompt);
      const chat = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 5, multiTurn: true, stopToken: stop });
      const t1 = await run(chat, prompt);
      expect(t1.map((t) => Number(t.value))).toEqual(first);
      expect(t1[1].rounds).toBe(plain[1].rounds + 1); // the check after token 0
      expect(t1[1].parties[0].bytesSent).toBe(plain[1].parties[0].bytesSent + 1);
      const t2 = await run(chat, turn2);
      expect(t2.map((t) => Number(t.value))).toEqual(second.includes(stop) ? second.slice(0, second.indexOf(stop) + 1) : second);
      chat.cancel();
      await expect(client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 2, stopToken: TINY_LLAMA.vocabSize })).rejects.toThrow(/stopToken 64 expected a token id in \[0, 64\)/);
    } finally {
      client.close();
    }
  });

  it('temperature sampling through the servers: T → 0, top-1 and a tiny nucleus give the greedy ids; T = 1 costs P0 8·vocab more dealer bytes per token, the same online', async () => {
    const prompt = [1, 17, 42, 5, 63, 8];
    const want = new ReferenceDecoder(randomWeights(TINY_LLAMA, SEED), TINY_LLAMA).generateGreedy(prompt, 3);
    const client = await MpcacheClient.connect({ p0: servers.p0.url, p1: servers.p1.url });
    try {
      const run = async (temperature: number) => {
        const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 3, temperature });
        const out: GeneratedToken[] = [];
        for await (const t of s.generate(prompt)) out.push(t);
        return out;
      };
      const [greedy, tiny, sampled] = [await run(0), await run(1e-6), await run(1)];
      expect(tiny.map((t) => Number(t.value))).toEqual(want);
      // top-k sampling travels to both parties: k = 1 at T = 1 is greedy
      const s = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 3, temperature: 1, topK: 1 });
      const top1: GeneratedToken[] = [];
      for await (const t of s.generate(prompt)) top1.push(t);
      expect(top1.map((t) => Number(t.value))).toEqual(want);
      // and top-p: a nucleus of mass 0.01 within the top 3 holds the top token only
      const s2 = await client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 3, temperature: 1, topK: 3, topP: 0.01 });
      const nucleus: GeneratedToken[] = [];
      for await (const t of s2.generate(prompt)) nucleus.push(t);
      expect(nucleus.map((t) => Number(t.value))).toEqual(want);
      await expect(client.openSession({ model: TINY_LLAMA.name, maxNewTokens: 3, topK: 4 })).rejects.toThrow(/"topK" needs a temperature > 0/);
      for (let i = 0; i < 3; i++) {
        expect(sampled[i].parties[0].offlineBytes - greedy[i].parties[0].offlineBytes).toBe(8 * TINY_LLAMA.vocabSize);
        expect(sampled[i].parties[1].offlineBytes).toBe(greedy[i].parties[1].offlineBytes);
        expect([sampled[i].rounds, sampled[i].parties[0].bytesSent]).toEqual([greedy[i].rounds, greedy[i].parties[0].bytesSent]);
        expect(Number(sampled[i].value)).toBeLessThan(TINY_LLAMA.vocabSize);
      }
    } finally {
      client.close();
    }
  });
});

describe('mpcache serve ×3 + mpcache generate (stories15M)', () => {
  const NEW_TOKENS = 2;
  let deployment: LocalDeployment;
  let dir: string;
  beforeAll(async () => {
    deployment = await LocalDeployment.start({ model: 'stories15m' });
    dir = mkdtempSync(join(tmpdir(), 'mpcache-e2e-'));
  }, 120_000);
  afterAll(async () => {
    await deployment?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`"Once upon a time": the secure ids equal the float64 reference's (${NEW_TOKENS} tokens)`, async () => {
    const { config, weights, tokenizer } = loadStories15M();
    const prompt = 'Once upon a time';
    const want = new ReferenceDecoder(weights, config).generateGreedy(promptIds(tokenizer, prompt), NEW_TOKENS, { stopTokens: [EOS_ID] });
    const file = join(dir, 'generate.json');
    await promisify(execFile)(process.execPath, [
      cliPath(), 'generate', '--prompt', prompt, '--max-new-tokens', String(NEW_TOKENS),
      '--p0', deployment.p0Url, '--p1', deployment.p1Url, '--json', file,
      '--p0-public-key', deployment.p0PublicKey, '--p1-public-key', deployment.p1PublicKey,
    ], { timeout: 280_000 });
    const r = JSON.parse(readFileSync(file, 'utf8'));
    expect(r.tokens).toEqual(want);
    expect(r.secureText).toBe(tokenizer.decode([...promptIds(tokenizer, prompt), ...want]));
    expect(r).toMatchObject({ prompt, policy: 'full' });
    expect(r.perToken).toHaveLength(NEW_TOKENS);
    for (const c of r.perToken) expect(Object.keys(c)).toEqual(expect.arrayContaining(['ms', 'bytes', 'rounds']));
  }, 300_000);

  it('mpcache chat: two stdin lines are two turns on one session (an over-long one is refused in between); ids equal the float64 model fed the same way', async () => {
    const { config, weights, tokenizer } = loadStories15M();
    const lines = ['Once upon a time', 'Lily saw a big dog'], n = 3;
    // the reference, fed as the parties are: prefill turn 1, then the last token and turn 2's prompt as steps
    const ref = new ReferenceDecoder(weights, config), want: number[][] = [], margins: number[][] = [];
    let pending: number | undefined;
    for (const [k, line] of lines.entries()) {
      const ids = k === 0 ? promptIds(tokenizer, line) : tokenizer.encode(line, { bos: false });
      const turn = ref.decodeGreedy(ref.prefill(pending === undefined ? ids : [pending, ...ids]), n);
      pending = turn.tokens[n - 1];
      want.push(turn.tokens);
      margins.push(turn.margins);
    }
    const file = join(dir, 'chat.json');
    const run = promisify(execFile)(process.execPath, [
      cliPath(), 'chat', '--max-new-tokens', String(n), '--p0', deployment.p0Url, '--p1', deployment.p1Url, '--json', file,
      '--p0-public-key', deployment.p0PublicKey, '--p1-public-key', deployment.p1PublicKey,
    ], { timeout: 280_000 });
    // an empty line is no turn; a line past the context is refused and the chat goes on
    run.child.stdin!.end(`${lines[0]}\n\n${'once '.repeat(300)}\n${lines[1]}\n`);
    const { stdout, stderr } = await run;
    expect(stderr).toMatch(/turn refused, the session goes on: .*exceed the context of 256 positions/);
    const r = JSON.parse(readFileSync(file, 'utf8'));
    expect(r.turns.map((t: { prompt: string }) => t.prompt)).toEqual(lines);
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(3);
    // where the float64 choice is clear the secure token must be the same (a near-tie may go either way)
    outer: for (let k = 0; k < lines.length; k++) {
      for (let i = 0; i < n; i++) {
        if (r.turns[k].tokens[i] === want[k][i]) continue;
        expect(margins[k][i]).toBeLessThanOrEqual(0.1);
        break outer;
      }
    }
    expect(margins.flat().filter((m) => m > 0.1).length).toBeGreaterThan(0);
  }, 300_000);

  it('a client pinned to another key for P0 stops before its prompt leaves, with a clear error', async () => {
    const run = promisify(execFile)(process.execPath, [
      cliPath(), 'generate', '--prompt', 'Once', '--max-new-tokens', '1', '--p0', deployment.p0Url, '--p1', deployment.p1Url,
    ], { timeout: 120_000, env: { ...process.env, MPCACHE_P0_PUBLIC_KEY: deployment.p1PublicKey } });
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/MPC_ERR_BAD_SEAL.*P0's public key is not the pinned one/) });
  }, 150_000);

  // chat: a turn from a pipe that stays open (a terminal's readline gets the same through its own SIGINT)
  it.each([
    ['generate', ['--prompt', 'Once upon a time'], /after \d+ of 40 tokens/],
    ['chat', [], /after 0 complete turns/],
  ] as const)('Ctrl-C (SIGINT) of %s while tokens stream: the CLI cancels the session, both parties count it canceled (not failed), exit 130', async (command, args, said) => {
    const ended = async (url: string) => {
      const text = await (await fetch(`${url.replace(/^ws/, 'http')}/metrics`)).text();
      const read = (o: string) => Number(new RegExp(`outcome="${o}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      return { failed: read('failed'), canceled: read('canceled') };
    };
    const urls = [deployment.p0Url, deployment.p1Url];
    const before = await Promise.all(urls.map(ended));
    const child = spawn(process.execPath, [
      cliPath(), command, ...args, '--max-new-tokens', '40', '--p0', deployment.p0Url, '--p1', deployment.p1Url,
    ]);
    if (command === 'chat') child.stdin.write('Once upon a time\n');
    let stdout = '', stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.length > 'Once upon a time'.length) resolve(); // the first token is in
    }));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/InterruptedError: session [0-9a-f]+ canceled on both parties /);
    expect(stderr).toMatch(said);
    // (≥: an earlier test's client, refused for its pin, canceled its session too, perhaps counted only now)
    let after = await Promise.all(urls.map(ended));
    for (const t0 = Date.now(); after.some((a, p) => a.canceled <= before[p].canceled) && Date.now() - t0 < 5000;) {
      await new Promise((r) => setTimeout(r, 20));
      after = await Promise.all(urls.map(ended));
    }
    after.forEach((a, p) => {
      expect(a.failed).toBe(before[p].failed); // a client that just vanished fails its session
      expect(a.canceled).toBeGreaterThan(before[p].canceled);
    });
  }, 150_000);

  it('--policy mpcache: a prompt past the budget is evicted at prefill and decoded with cluster selection; ids equal the float64 MPCache twin\'s', async () => {
    const { config, weights, tokenizer } = loadStories15M();
    const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big';
    const ids = promptIds(tokenizer, prompt), n = 3;
    // the twin's greedy tokens and, per step, the margin between its two best logits
    const twin = new ReferenceDecoder(weights, config, { kvPolicy: plaintextPolicyTwin('mpcache', config) });
    const { tokens: want, margins } = twin.decodeGreedy(twin.prefill(ids), n);
    const file = join(dir, 'generate-mpcache.json');
    await promisify(execFile)(process.execPath, [
      cliPath(), 'generate', '--prompt', prompt, '--max-new-tokens', String(n), '--policy', 'mpcache',
      '--p0', deployment.p0Url, '--p1', deployment.p1Url, '--json', file,
    ], { timeout: 280_000 });
    const r = JSON.parse(readFileSync(file, 'utf8'));
    expect(r).toMatchObject({ policy: 'mpcache' });
    // Where the twin's choice is clear (the secure logits are within 0.05 of float64), the secure
    // token must be the same; a near-tie may go either way under fixed point.
    // (after a near-tie that went the other way, the two continue from different tokens: stop)
    expect(margins.filter((m) => m > 0.1).length).toBeGreaterThan(0);
    for (let i = 0; i < n; i++) {
      if (r.tokens[i] === want[i]) continue;
      expect(margins[i]).toBeLessThanOrEqual(0.1);
      break;
    }
    // decoding steps select clusters: more rounds than the full cache's step (≈ 290 at stories15M)
    expect(r.perToken[n - 1].rounds).toBeGreaterThan(300);
  }, 300_000);
});

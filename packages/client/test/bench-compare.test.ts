/**
 * `mpcache bench compare`: result files read back (kinds, setups, refusals), runs compared row by
 * row, and one decode file's policies against a baseline — ratios checked against the fixtures'
 * numbers by hand. The last cases run the compiled CLI (npm test builds first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compareToBaseline, compareVersions } from '../src/bench/compare/compare-results';
import { parseResultFile, readResultFile } from '../src/bench/compare/result-files';

const decodeRow = (policy: string, seqLen: number, ms: number, bytes: number, rounds: number, offline: number, rss: [number, number]) => ({
  policy, seqLen, budget: policy === 'full' ? null : 256, msPerToken: ms, msOnlinePerToken: ms * 0.8, cpuMsPerToken: ms * 1.7, bytesPerToken: bytes,
  roundsPerToken: rounds, offlineBytesPerToken: offline, keptTokens: policy === 'full' ? seqLen : 256, peakRssMB: rss,
});

const decodeFile = (rows: object[], setup: object = {}) => ({ model: 'gpt2-small', net: 'none', fracBits: 16, tokens: 4, date: '2026-11-29T00:00:00Z', ...setup, rows });

describe('result files', () => {
  it('reads each kind with its keys and metrics', () => {
    const d = parseResultFile('d.json', decodeFile([decodeRow('full', 4096, 4200, 50_740_000, 589, 1.5e9, [3500, 3496])]));
    expect(d.kind).toBe('decode');
    expect(d.rows[0]).toMatchObject({ key: 'full@4096', policy: 'full', seqLen: 4096 });
    expect(d.rows[0].values).toMatchObject({ msPerToken: 4200, bytesPerToken: 50_740_000, peakRssMB: 3500 }); // the larger party's RSS
    expect(d.setup).toMatchObject({ model: 'gpt2-small', net: 'none', fracBits: 16, sampling: 'greedy' });

    const o = parseResultFile('o.json', { ring: 64, fracBits: 12, net: 'none', ops: [{ name: 'mul[65536]', rounds: 1, bytesPerParty: 1048576, offlineBytes: 524288, msMedian: 2.25, maxAbsErr: 0 }] });
    expect(o.kind).toBe('ops');
    expect(o.rows[0]).toMatchObject({ key: 'mul[65536]', values: { rounds: 1, msMedian: 2.25 } });

    const e = parseResultFile('e.json', { model: 'stories15m', fracBits: null, prompts: 50, maxNewTokens: 100, rows: [{ policy: 'h2o', budget: 32, agreement: 0.836, meanKL: 0.19, perplexity: 1.98 }] });
    expect(e.kind).toBe('eval');
    expect(e.rows[0].key).toBe('h2o@32');
  });

  it('reads the files this repository ships', () => {
    const dir = join(__dirname, '..', '..', '..', 'bench', 'results');
    expect(readResultFile(join(dir, 'decode-gpt2-small-4096-none-s19b.json')).rows.map((r) => r.key)).toEqual(['full@4096', 'mpcache@4096']);
    expect(readResultFile(join(dir, 'bench-ops.json')).kind).toBe('ops');
    expect(readResultFile(join(dir, 'eval-stories15m.json')).kind).toBe('eval');
  });

  it('refuses malformed files with the file, row and field named', () => {
    expect(() => parseResultFile('x.json', [1, 2])).toThrow(/x\.json: expected a JSON object/);
    expect(() => parseResultFile('x.json', { rows: 3 })).toThrow(/expected "rows" .* or "ops"/);
    expect(() => parseResultFile('x.json', { rows: [{ policy: 'full' }] })).toThrow(/neither bench decode rows/);
    expect(() => parseResultFile('x.json', decodeFile([{ ...decodeRow('full', 512, 1, 2, 3, 4, [1, 1]), bytesPerToken: 'many' }]))).toThrow(/x\.json: row 0: "bytesPerToken" expected a finite number, got "many"/);
    expect(() => parseResultFile('x.json', decodeFile([decodeRow('full', 512, 1, 2, 3, 4, [1, 1]), decodeRow('full', 512, 1, 2, 3, 4, [1, 1])]))).toThrow(/row 1 repeats "full@512"/);
    const dir = mkdtempSync(join(tmpdir(), 'mpcache-compare-'));
    writeFileSync(join(dir, 'bad.json'), '{ "rows": [');
    expect(() => readResultFile(join(dir, 'bad.json'))).toThrow(/bad\.json: not JSON/);
    expect(() => readResultFile(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read \(ENOENT\)/);
  });
});

describe('compareVersions', () => {
  const base = parseResultFile('base.json', decodeFile([
    decodeRow('full', 1024, 2000, 15_000_000, 565, 4e8, [2500, 2400]),
    decodeRow('mpcache', 1024, 1600, 5_600_000, 629, 2e8, [2450, 2450]),
    decodeRow('h2o', 1024, 1500, 5_000_000, 649, 2e8, [2400, 2400]),
  ]));
  const next = parseResultFile('next.json', decodeFile([
    decodeRow('full', 1024, 1500, 15_000_000, 565, 4e8, [2500, 2400]),
    decodeRow('mpcache', 1024, 1200, 5_000_000, 600, 1.5e8, [2450, 2450]),
    decodeRow('quest', 1024, 3000, 10_000_000, 708, 6e8, [2700, 2700]),
  ], { tokens: 16, date: '2026-11-30T00:00:00Z' }));

  it('matches rows by key and gives new / base per metric', () => {
    const c = compareVersions(base, next);
    expect(c.rows.map((r) => r.key)).toEqual(['full@1024', 'mpcache@1024']);
    expect(c.rows[0].ratio).toMatchObject({ msPerToken: 0.75, bytesPerToken: 1, roundsPerToken: 1 });
    expect(c.rows[1].ratio.msPerToken).toBeCloseTo(1200 / 1600, 12);
    expect(c.rows[1].ratio.roundsPerToken).toBeCloseTo(600 / 629, 12);
    expect(c.rows[1].ratio.offlineBytesPerToken).toBeCloseTo(0.75, 12);
    expect(c.onlyInBase).toEqual(['h2o@1024']);
    expect(c.onlyInNext).toEqual(['quest@1024']);
  });

  it('refuses files of another kind, model, link or precision', () => {
    const ops = parseResultFile('ops.json', { fracBits: 12, net: 'none', ops: [] });
    expect(() => compareVersions(base, ops)).toThrow(/base\.json holds decode results, ops\.json ops results/);
    const wan = parseResultFile('wan.json', decodeFile([decodeRow('full', 1024, 15000, 15e6, 565, 4e8, [1, 1])], { net: 'wan' }));
    expect(() => compareVersions(base, wan)).toThrow(/differ in net \(none vs wan\)/);
    const f12 = parseResultFile('f12.json', decodeFile([decodeRow('full', 1024, 1, 1, 1, 1, [1, 1])], { fracBits: 12 }));
    expect(() => compareVersions(base, f12)).toThrow(/differ in fracBits/);
    const sampled = parseResultFile('s.json', decodeFile([decodeRow('full', 1024, 1, 1, 1, 1, [1, 1])], { sampling: { temperature: 0.8 } }));
    expect(() => compareVersions(base, sampled)).toThrow(/differ in sampling/);
  });
});

describe('compareToBaseline', () => {
  const f = parseResultFile('run.json', decodeFile([
    decodeRow('full', 4096, 4200, 50_740_000, 589, 1.5e9, [3500, 3496]),
    decodeRow('mpcache', 4096, 1650, 10_020_000, 673, 4.3e8, [3554, 3565]),
    decodeRow('full', 1024, 1720, 15_420_000, 565, 4.8e8, [2543, 2542]),
    decodeRow('mpcache', 1024, 1060, 5_640_000, 629, 2e8, [2478, 2483]),
    decodeRow('mpcache', 2048, 1300, 6_800_000, 629, 2.8e8, [2879, 2887]),
  ]));

  it('gives baseline / policy at each context and checks the goals', () => {
    const c = compareToBaseline(f, 'full', { latency: 2.5, bytes: 8 });
    expect(c.rows.map((r) => [r.policy, r.seqLen])).toEqual([['mpcache', 4096], ['mpcache', 1024]]);
    const at4096 = c.rows[0];
    expect(at4096.lower.msPerToken).toBeCloseTo(4200 / 1650, 12); // 2.545…
    expect(at4096.lower.cpuMsPerToken).toBeCloseTo(4200 / 1650, 12); // CPU = 1.7 × wall in both rows
    expect(at4096.lower.bytesPerToken).toBeCloseTo(50_740_000 / 10_020_000, 12); // 5.06
    expect(at4096.lower.roundsPerToken).toBeCloseTo(589 / 673, 12);
    expect(at4096.lower.peakRssMB).toBeCloseTo(3500 / 3565, 12);
    expect(at4096.meets).toEqual({ latency: true, bytes: false });
    expect(c.rows[1].meets).toEqual({ latency: false, bytes: false }); // 1.62×, 2.73×
    expect(c.contextsWithoutBaseline).toEqual([2048]);
  });

  it('refuses a missing baseline policy and a file that is not bench decode', () => {
    expect(() => compareToBaseline(f, 'h2o')).toThrow(/no "h2o" row to compare with \(policies: full, mpcache\)/);
    const e = parseResultFile('e.json', { model: 'stories15m', rows: [{ policy: 'full', budget: 256, agreement: 1, meanKL: 0, perplexity: 1.5 }] });
    expect(() => compareToBaseline(e, 'full')).toThrow(/one bench decode file; this one holds eval results/);
  });
});

describe('mpcache bench compare (CLI)', () => {
  const cli = join(__dirname, '..', 'bin', 'mpcache.js');
  const run = (args: string[]) => promisify(execFile)(process.execPath, [cli, 'bench', 'compare', ...args]);
  const dir = mkdtempSync(join(tmpdir(), 'mpcache-compare-cli-'));
  const a = join(dir, 'a.json'), b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(decodeFile([decodeRow('full', 4096, 4000, 50e6, 589, 1.5e9, [3500, 3500]), decodeRow('mpcache', 4096, 2000, 10e6, 673, 4e8, [3550, 3550])])));
  writeFileSync(b, JSON.stringify(decodeFile([decodeRow('full', 4096, 3000, 50e6, 589, 1.5e9, [3500, 3500]), decodeRow('mpcache', 4096, 1000, 10e6, 673, 4e8, [3550, 3550])])));

  it('compares two runs and writes the comparison', async () => {
    const out = join(dir, 'versions.json');
    const { stdout } = await run([a, b, '--json', out]);
    expect(stdout).toMatch(/mpcache@4096\s+2000\s+1000\s+0\.500×/);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j).toMatchObject({ mode: 'versions', kind: 'decode', onlyInBase: [], onlyInNext: [] });
    expect(j.rows[0].ratio).toMatchObject({ msPerToken: 0.75, roundsPerToken: 1 });
  }, 30_000);

  it('compares one run against a baseline policy with goals', async () => {
    const out = join(dir, 'baseline.json');
    const { stdout } = await run([b, '--baseline', 'full', '--goals', '2.5,8', '--json', out]);
    expect(stdout).toMatch(/4096\s+mpcache\s+1000\s+3000\s+3\.000×\s+3\.000×\s+3\.000×\s+10\.00 MB\s+50\.00 MB\s+5\.000×/);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.rows[0]).toMatchObject({ policy: 'mpcache', seqLen: 4096, meets: { latency: true, bytes: false } });
  }, 30_000);

  it('says what is wrong with its arguments', async () => {
    await expect(run([a])).rejects.toMatchObject({ stderr: expect.stringMatching(/give two files to compare runs, or one bench decode file with --baseline/) });
    await expect(run([a, b, '--baseline', 'full'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--baseline takes one file/) });
    await expect(run([a, '--baseline', 'full', '--goals', '2.5'])).rejects.toMatchObject({ stderr: expect.stringMatching(/--goals expected two ratios/) });
    await expect(run([a, join(dir, 'nope.json')])).rejects.toMatchObject({ stderr: expect.stringMatching(/nope\.json: cannot read/) });
  }, 30_000);
});

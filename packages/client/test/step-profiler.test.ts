/**
 * StepProfiler (bench decode's MPCACHE_BENCH_CPU_PROFILE): off without a directory; with one, the
 * profile of what ran between start and stop is written in the Chrome DevTools format, and it names
 * the function that ran (sampled), not work done before start.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StepProfiler } from '../src/bench/decode/step-profiler';

function spinBeforeStart(ms: number): number {
  let x = 0;
  for (const end = Date.now() + ms; Date.now() < end;) x += Math.sqrt(x + 1);
  return x;
}

function spinWhileProfiled(ms: number): number {
  let x = 0;
  for (const end = Date.now() + ms; Date.now() < end;) x += Math.sqrt(x + 2);
  return x;
}

describe('StepProfiler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'step-profiler-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes nothing without a directory', async () => {
    const p = new StepProfiler('');
    await p.start();
    spinWhileProfiled(5);
    await p.stop('none');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('profiles only the span between start and stop', async () => {
    const p = new StepProfiler(join(dir, 'sub')), t0 = performance.now();
    spinBeforeStart(300);
    await p.start();
    spinWhileProfiled(150);
    await p.stop('decode-x-1-p0');
    const total = performance.now() - t0;
    const profile = JSON.parse(readFileSync(join(dir, 'sub', 'decode-x-1-p0.cpuprofile'), 'utf8')) as {
      nodes: { id: number; hitCount: number; callFrame: { url: string } }[]; samples: number[]; startTime: number; endTime: number;
    };
    // the spin is sampled, in this file (V8 may inline it into the test's closure, so by file)
    const here = profile.nodes.filter((n) => n.callFrame.url.endsWith('step-profiler.test.ts')).reduce((a, n) => a + n.hitCount, 0);
    expect(here).toBeGreaterThan(20);
    // and the profile begins after the 300 ms spin before start
    expect((profile.endTime - profile.startTime) / 1000).toBeLessThan(total - 250);
  });
});

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RUNTIME_NODE_FLAGS, hasRuntimeFlags } from '../src/runtime/node-flags';
import { MALLOC_TUNABLES } from '../src/runtime/malloc-tunables';

const fixture = join(__dirname, 'fixtures', 'report-flags.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  promisify(execFile)(process.execPath, [fixture, ...args], { env: { ...process.env, MPCACHE_NODE_FLAGS: '', MPCACHE_MALLOC_TUNABLES: '', GLIBC_TUNABLES: '', ...env } });
const tunables = { GLIBC_TUNABLES: MALLOC_TUNABLES.join(':') };

describe('runtime V8 flags', () => {
  it('hasRuntimeFlags: all flags and the allocator settings present, or turned off', () => {
    expect(hasRuntimeFlags([], {})).toBe(false);
    expect(hasRuntimeFlags([RUNTIME_NODE_FLAGS[0]], tunables)).toBe(false);
    expect(hasRuntimeFlags([...RUNTIME_NODE_FLAGS, '--expose-gc'], tunables)).toBe(true);
    expect(hasRuntimeFlags([...RUNTIME_NODE_FLAGS], {})).toBe(false);
    expect(hasRuntimeFlags([...RUNTIME_NODE_FLAGS], { MPCACHE_MALLOC_TUNABLES: 'off' })).toBe(true);
    expect(hasRuntimeFlags([], { MPCACHE_NODE_FLAGS: 'off' })).toBe(true);
  });

  it('a process without them relaunches once with them, the same arguments, and its exit code', async () => {
    const { stdout } = await run(['0', 'x y']);
    const r = JSON.parse(stdout);
    expect(r.args).toEqual(['0', 'x y']);
    for (const f of RUNTIME_NODE_FLAGS) expect(r.execArgv).toContain(f);
    expect(r.tunables).toBe(tunables.GLIBC_TUNABLES);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    await expect(run(['3'])).rejects.toMatchObject({ code: 3 });
    const off = JSON.parse((await run(['0'], { MPCACHE_NODE_FLAGS: 'off' })).stdout);
    expect(off.execArgv).toEqual([]);
    expect(off.tunables).toBe('');
    // flags given on the command line but no allocator settings: relaunched once for the settings, no flag twice
    const { stdout: again } = await promisify(execFile)(process.execPath, [...RUNTIME_NODE_FLAGS, fixture, '0'], { env: { ...process.env, MPCACHE_NODE_FLAGS: '', MPCACHE_MALLOC_TUNABLES: '', GLIBC_TUNABLES: '' } });
    const r2 = JSON.parse(again);
    expect(r2.tunables).toBe(tunables.GLIBC_TUNABLES);
    for (const f of RUNTIME_NODE_FLAGS) expect(r2.execArgv.filter((a: string) => a === f)).toHaveLength(1);
  });
});

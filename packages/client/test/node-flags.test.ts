import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RUNTIME_NODE_FLAGS, hasRuntimeFlags } from '../src/runtime/node-flags';

const fixture = join(__dirname, 'fixtures', 'report-flags.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  promisify(execFile)(process.execPath, [fixture, ...args], { env: { ...process.env, MPCACHE_NODE_FLAGS: '', ...env } });

describe('runtime V8 flags', () => {
  it('hasRuntimeFlags: all flags present, or turned off', () => {
    expect(hasRuntimeFlags([], {})).toBe(false);
    expect(hasRuntimeFlags([RUNTIME_NODE_FLAGS[0]], {})).toBe(false);
    expect(hasRuntimeFlags([...RUNTIME_NODE_FLAGS, '--expose-gc'], {})).toBe(true);
    expect(hasRuntimeFlags([], { MPCACHE_NODE_FLAGS: 'off' })).toBe(true);
  });

  it('a process without them relaunches once with them, the same arguments, and its exit code', async () => {
    const { stdout } = await run(['0', 'x y']);
    const r = JSON.parse(stdout);
    expect(r.args).toEqual(['0', 'x y']);
    for (const f of RUNTIME_NODE_FLAGS) expect(r.execArgv).toContain(f);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    await expect(run(['3'])).rejects.toMatchObject({ code: 3 });
    const off = JSON.parse((await run(['0'], { MPCACHE_NODE_FLAGS: 'off' })).stdout);
    expect(off.execArgv).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MALLOC_TUNABLES, hasMallocTunables, withMallocTunables } from '../src/runtime/malloc-tunables';

describe('allocator settings (GLIBC_TUNABLES)', () => {
  it('are added to an environment without them, once', () => {
    const env = withMallocTunables({ PATH: '/bin' });
    expect(env.GLIBC_TUNABLES).toBe(MALLOC_TUNABLES.join(':'));
    expect(env.PATH).toBe('/bin');
    expect(hasMallocTunables({})).toBe(false);
    expect(hasMallocTunables(env)).toBe(true);
    expect(withMallocTunables(env).GLIBC_TUNABLES).toBe(env.GLIBC_TUNABLES);
  });

  it("keep the user's own tunables and the user's value for a key they set", () => {
    const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=4096:glibc.malloc.arena_max=2' });
    const pairs = env.GLIBC_TUNABLES!.split(':');
    expect(pairs).toContain('glibc.malloc.trim_threshold=4096');
    expect(pairs).toContain('glibc.malloc.arena_max=2');
    expect(pairs.filter((p) => p.startsWith('glibc.malloc.trim_threshold='))).toHaveLength(1);
    expect(pairs).toContain(MALLOC_TUNABLES.find((s) => s.startsWith('glibc.malloc.mmap_threshold='))!);
    expect(hasMallocTunables(env)).toBe(true);
    expect(hasMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=4096' })).toBe(false);
  });

  it('MPCACHE_MALLOC_TUNABLES=off leaves the environment as it is', () => {
    const env = { MPCACHE_MALLOC_TUNABLES: 'off' };
    expect(withMallocTunables(env)).toEqual(env);
    expect(hasMallocTunables(env)).toBe(true);
  });

  it('jest workers run with them (tests/helpers/global-seed.js sets them before the workers start)', () => {
    expect(hasMallocTunables(process.env)).toBe(true);
  });

  it('the Docker image sets the same settings', () => {
    const dockerfile = readFileSync(join(__dirname, '..', '..', '..', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENV GLIBC_TUNABLES=${MALLOC_TUNABLES.join(':')}`);
  });
});

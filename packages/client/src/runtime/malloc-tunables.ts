/**
 * The glibc allocator settings every MPCache process runs with: GLIBC_TUNABLES, which glibc reads
 * once at process start (so the `mpcache` command sets it when it relaunches itself, node-flags.ts,
 * and the Docker image sets it in its environment).
 *
 * Why: each token, every process allocates hundreds of MB of ArrayBuffers and frees them a moment
 * later (the dealer generates 0.36 GB of material per gpt2-small MPCache token at 4096, 1.5 GB for the
 * full cache; the parties receive it). With glibc's defaults a buffer above the dynamic mmap threshold
 * (128 KiB, rising to at most 32 MiB) is a fresh mmap returned to the kernel when freed, and the
 * heap's free top is trimmed at twice that threshold, so the next token's buffers fault their pages in
 * again. Where a page fault is expensive — a VM under nested paging or that reports freed pages to its
 * host — that costs more than the work: on session 25's machine (glibc 2.36, Node 20.20) touching
 * 1 GB of freshly allocated 1–100 MB buffers took 3.3–4.2 s with the defaults and 36–96 ms with these
 * settings (the buffers reused), and a gpt2-small dealer took ≈ 9,000 page faults per second.
 *   mmap_threshold 256 MiB: buffers up to 256 MiB come from the heap, whose freed chunks are reused
 *                           (setting it also stops glibc's dynamic adjustment); larger ones — the
 *                           weights — are still mapped and unmapped on their own.
 *   trim_threshold 1 GiB:   free memory at the heap's top is returned only beyond 1 GiB, so a
 *                           process keeps what its next token will allocate again (RSS stays near
 *                           its per-token peak instead of falling between tokens).
 * A GLIBC_TUNABLES of the user's is kept: its own value wins for a key it sets. Not glibc (musl, or
 * another OS): the variable is ignored. MPCACHE_MALLOC_TUNABLES=off: glibc's defaults.
 */

/** The settings, in GLIBC_TUNABLES syntax (key=value). */
export const MALLOC_TUNABLES: readonly string[] = [
  `glibc.malloc.mmap_threshold=${256 * 2 ** 20}`,
  `glibc.malloc.trim_threshold=${2 ** 30}`,
];

const keyOf = (setting: string): string => setting.slice(0, setting.indexOf('='));

/** The keys already set in a GLIBC_TUNABLES value (colon-separated key=value pairs). */
function tunableKeys(value: string | undefined): Set<string> {
  return new Set((value ?? '').split(':').filter((s) => s.includes('=')).map(keyOf));
}

/** Whether `env` carries every setting (any value of the user's counts), or turns them off. */
export function hasMallocTunables(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MPCACHE_MALLOC_TUNABLES === 'off') return true;
  const keys = tunableKeys(env.GLIBC_TUNABLES);
  return MALLOC_TUNABLES.every((s) => keys.has(keyOf(s)));
}

/** `env` with the settings appended to GLIBC_TUNABLES (keys the user set keep their value). */
export function withMallocTunables(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (env.MPCACHE_MALLOC_TUNABLES === 'off') return { ...env };
  const current = env.GLIBC_TUNABLES ?? '', keys = tunableKeys(current);
  const added = MALLOC_TUNABLES.filter((s) => !keys.has(keyOf(s)));
  if (added.length === 0) return { ...env };
  return { ...env, GLIBC_TUNABLES: [current, ...added].filter((s) => s.length > 0).join(':') };
}

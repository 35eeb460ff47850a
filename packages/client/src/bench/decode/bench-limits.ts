/** Limits of the `bench decode` processes. */

/**
 * Frame limit of the bench's links: masking GPT-2's tied embedding (50257 × 768 words) opens 309 MB
 * in one round, and token top-k at 4K takes dealer messages of 300 MB (one DCF key per comparison
 * of a quick-select step), above the default MAX_FRAME_BYTES (256 MiB) of the deployable servers.
 */
export const BENCH_MAX_FRAME_BYTES = 1 << 30;

/** Limits of the `bench decode` processes. */
import { MAX_FRAME_BYTES } from '@mpcache/mpc-core';

/**
 * Frame limit of the bench's links: the deployable servers' default. Masking GPT-2's tied embedding
 * (50257 × 768 words) opens 309 MB in one round, and token top-k at 4K takes dealer messages of
 * 300 MB (one DCF key per comparison of a quick-select step): above MAX_FRAME_BYTES (256 MiB), so the
 * channels carry them as several frames (mpc-core channel/frame.ts), under MAX_MESSAGE_BYTES. The
 * bench used to raise this limit to 1 GiB; it no longer needs to, and its links are now those of
 * `mpcache serve`.
 */
export const BENCH_MAX_FRAME_BYTES = MAX_FRAME_BYTES;

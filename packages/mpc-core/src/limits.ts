/** Named limits, each with its rationale. Every boundary check uses these. */

/**
 * Largest frame a peer may send (and the size a channel cuts a longer message into): a 4096×768
 * activation of u64 is 25 MB; leave room for batching. A larger message travels as several frames
 * (channel/frame.ts), so this bounds the transport's buffers, not what a protocol may send.
 */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/**
 * Largest message (one `send`, the sum of its frames) a peer may send: the receiver buffers a whole
 * message before delivering it. The largest ones we send are ~300 MB (GPT-2's tied embedding,
 * 50257 × 768 words, masked in one opening; token top-k's dealer messages at 4K). 2 GiB leaves room
 * for larger models, fits the u32 length of the frame header and stays below V8's typed-array limit.
 */
export const MAX_MESSAGE_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * Largest correlation the dealer generates for one request, in bytes of its messages to BOTH parties
 * (CorrelationSpec.messageBytes: known from the request's params before anything is generated). It
 * bounds the dealer's time and memory per request, which the element bound alone does not (2^28
 * 64-bit DCF comparisons are 818 GB). Largest requests measured 2026-11-27 (Node 20.20), the dealer
 * logging each new maximum: 516,087,360 B (≈ 492 MiB), the attention max of a 255-token stories15M
 * prefill, the longest prompt its context takes (`mpcache demo`, every policy, greedy and sampled);
 * 251,142,336 B in `bench decode --model gpt2-small --seq 4096` (attention-gate's top-k; with
 * `--policy full` 76,389,120 B, the argmax over the vocabulary, of ≈ 1.5 GB per token in all).
 * 4 GiB = 2 · MAX_MESSAGE_BYTES, the most two halves can carry on the wire anyway, so no workload
 * that ran before the limit is refused by default (a prefill of n tokens needs ≈ 1.3 KB · heads · n²:
 * gpt2-small above ≈ 367 tokens needs more than 2 GiB); operators may lower it with `mpcache serve
 * --role dealer --max-request-mib` (8× the largest request here still leaves 4 GiB of dealer memory).
 */
export const MAX_DEALER_REQUEST_BYTES = 4 * 1024 * 1024 * 1024;
/**
 * Most work the dealer spends generating one correlation, in 64-bit word operations (words drawn
 * from PRGs + words computed, a multiply-add counting one: CorrelationSpec.generationWork, known from
 * the request's params before anything is generated). Bytes do not bound it: a matmul triple
 * (m×k)·(k×n) sends m·n words but takes m·k·n multiply-adds, so with each dimension within the 2^28
 * element bound one request could keep the dealer busy for hours (2^42 multiply-adds). Largest
 * requests measured 2026-11-28 (Node 20.20), the dealer logging each new maximum: 2,402,444,704
 * (≈ 2.40 G), the one-hot embedding product of a 255-token stories15M prefill ((255 × 32000)·(32000 ×
 * 288): 2.35 G multiply-adds; `mpcache demo`, policies full and mpcache, greedy and sampled top-k);
 * 154,609,988 in `bench decode --model gpt2-small --seq 4096` (policies full, attention-gate,
 * mpcache: the classifier's product (1 × 768)·(768 × 50257) with its mask's expansion). 2^35 ≈ 14×
 * the largest, and above any gpt2-small prefill the byte limit admits (n tokens ≈ n · 38.6 M: 20 G at
 * ≈ 520 tokens), so nothing that ran before is refused; at 0.4–1.7 ns per matmul multiply-add (2-core
 * EPYC, idle or loaded: the 2.40 G request takes 1.5 s idle) it is 15–60 s of dealer CPU. Operators may change it with `mpcache serve --role dealer
 * --max-request-gwork` (units of 2^30: the default is 32).
 */
export const MAX_DEALER_REQUEST_WORK = 2 ** 35;
/**
 * Most work one dealer session may take in all (word operations: the sum of its requests'
 * generationWork). Each request stays under MAX_DEALER_REQUEST_WORK, but a party may keep asking, as
 * a long generation does, so this is what bounds one session's dealer CPU. 2^46 ≈ 7·10^13, 2048 ×
 * the request limit: 8–33 hours of dealer CPU at 0.4–1.7 ns per word operation. Measured 2026-11-29: a
 * stories15M `mpcache demo` session (11-token prompt, 8 new tokens) took 1.17·10^9 (the dealer logs
 * each session's total) for 554 MB of material, ≈ 17 word operations per word sent. Estimate at that
 * rate: a gpt2-small token at context 4096 with the full cache (1.5 GB) ≈ 3·10^9, so a thousand-token
 * generation there (≈ 2^41.5) stays ≈ 20× below the default.
 * Operators may lower it (`mpcache serve --role dealer --max-session-gwork`, units of 2^30: the
 * default is 65536) to bound what one session can cost.
 */
export const MAX_DEALER_SESSION_WORK = 2 ** 46;
/**
 * Most dealer material one session may hold for a party that has not asked for it yet (the dealer
 * generates both halves of a correlation at the first party's request and queues the other's). The
 * parties request in step, so the queue stays small: high-water marks measured 2026-11-28 (`bench
 * decode`, warm-up included) 24.6 MB for stories15M at context 256 and 38.6 MB for gpt2-small at 1024
 * (full cache and MPCache), about one layer of a token's requests (the decoder asks a layer ahead).
 * 4 GiB: the largest request's half fits with ample room, so nothing that ran before is refused;
 * operators may lower it (`mpcache serve --role dealer --max-backlog-mib`) to bound the dealer's
 * memory at sessions × (backlog + one request).
 */
export const MAX_DEALER_BACKLOG_BYTES = 4 * 1024 * 1024 * 1024;
/** Concurrent sessions per party server: each holds masked weights' state and a dealer queue. */
export const MAX_SESSIONS = 16;
/** Longest prompt a client may send (tokens); the model's own context bounds it further. */
export const MAX_PROMPT_TOKENS = 8192;
/** Most new tokens per generate call. */
export const MAX_NEW_TOKENS = 4096;
/** Time allowed for the hello/handshake on a new connection. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time a party waits for one round's message before failing the session (long prefill rounds included). */
export const ROUND_TIMEOUT_MS = 600_000;
/** Largest tensor rank accepted from the wire. */
export const MAX_TENSOR_RANK = 8;
/** Largest msgpackr envelope (hello, dealer request) accepted from a peer: they carry names and small params only. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** An opened session that receives no generate request within this time is closed (frees a MAX_SESSIONS slot). */
export const SESSION_IDLE_TIMEOUT_MS = 300_000;
/** Time a party waits for its peer's start of a generate (the client sends to both parties at once). */
export const PARTY_SYNC_TIMEOUT_MS = 60_000;
/**
 * Size of the ring kernel's memory in 64 KiB pages (kernel-arena.ts): fixed, never grown, so views
 * of long-lived operands in it stay valid. 65535 pages = 4 GiB − 64 KiB, the most wasm32 allows less
 * one page (no address reaches 2^32, where the kernel's u32 pointer arithmetic would wrap). Only
 * touched pages cost RSS; GPT-2-small's masked weights take ≈ 2 GiB of it per party.
 */
export const RING_KERNEL_MEMORY_PAGES = 65535;

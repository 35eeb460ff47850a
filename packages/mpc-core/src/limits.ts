/** Named limits, each with its rationale. Every boundary check uses these. */

/** Largest frame a peer may send: a 4096×768 activation of u64 is 25 MB; leave room for batching. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
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

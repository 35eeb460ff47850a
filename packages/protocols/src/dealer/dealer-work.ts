/**
 * DealerWork — what generating one correlation costs the dealer, in 64-bit word operations, as a
 * function of the correlation's public params only, so it is known before anything is generated.
 *
 * Why bytes are not enough: a few correlations compute far more than they send. A matmul triple
 * (m×k)·(k×n) sends m·n words but draws m·k + k·n and takes m·k·n multiply-adds; a shuffle of
 * zero-width rows sends nothing but draws two permutations. The dealer therefore bounds a request by
 * its work as well as by its bytes (dealer-session.ts, MAX_DEALER_REQUEST_WORK).
 *
 * Unit: one word operation is
 *   - one 64-bit word drawn from a PRG: the parties' dealer streams (random: 2 per element, own,
 *     P1's half of a derived value), the dealer's private stream, a keyed stream (keyed-streams.ts),
 *     or the FSS fixed-key AES (fss-prg.ts: 2 words per 16-byte block);
 *   - one result word the dealer computes: a random value's sum, a derived value and P0's correction
 *     word, each 8 bytes of a sent message (rounded up), a keyed value's sum, an entry of a
 *     permutation or its inverse, a transposed word. The elementwise arithmetic that produces a
 *     result word (a shift, a mask, a product of a few factors) is covered by that word;
 *   - one multiply-add of a contraction (a matrix product: m·k·n for (m×k)·(k×n));
 *   - a fixed count for a step whose setup outweighs its words, so that a request of many empty
 *     lanes or blocks is not free: KEYED_CALL_WORK per keyed-stream call (its AES-CTR cipher),
 *     PERMUTATION_BLOCK_WORK per block of a permutation (permutation.ts).
 * A word operation's time depends on the kind (measured 2026-11-28, Node 20.20, 2-core EPYC, idle to
 * loaded: 0.4–1.7 ns per multiply-add of the wasm matmul, 5–12 ns per word of DCF key generation,
 * 11–17 ns per BigInt word of a Beaver triple, 25–50 ns per entry of a shuffle's permutations), so the
 * work bounds the dealer's time within that spread; the elementwise kinds are also capped by the
 * 2^28-element bound.
 * Every spec states its work (CorrelationSpec.generationWork), exactly or as a tight upper bound,
 * built from the helpers below and the per-primitive ones next to each primitive (derivedTopBitsWork,
 * truncMaskWork, dcfKeysWork, dpfKeysWork, permutationWork). DealerGen counts the draws and result
 * words of its primitives and DealerSession adds the FSS AES words, then checks the count is within
 * the stated work after each generation (a spec whose work function falls short is a bug). The
 * multiply-adds and permutation entries happen inside a spec's callbacks, where nothing counts them:
 * test/correlation-work.test.ts checks those terms against the explicit m·k·n and n.
 */

/** Work in word operations (may exceed 2^53 for absurd params: compared, never summed exactly then). */
export type DealerWork = number;

/** random(n): both parties' shares drawn (2n) and the value's sum (n). */
export const randomWork = (n: number): DealerWork => 3 * n;

/** own(p, n) or dealerPrivate(n): n words drawn. */
export const drawWork = (n: number): DealerWork => n;

/** derived(n, f): the value (n), P1's share drawn (n), P0's correction word (n). */
export const derivedWork = (n: number): DealerWork => 3 * n;

/** send(to, bytes, f): the message's words (rounded up). */
export const sendWork = (bytes: number): DealerWork => Math.ceil(bytes / 8);

/**
 * One keyed-stream call's setup, its own AES-CTR cipher (keyed-streams.ts): ≈ 8 µs measured (an empty
 * lane of a masked product, two calls, ≈ 16–20 µs), the time of ≈ 2^13 matmul multiply-adds.
 */
export const KEYED_CALL_WORK = 2 ** 13;

/** keyed(…).share of n words: one keyed-stream call. */
export const keyedShareWork = (n: number): DealerWork => n + KEYED_CALL_WORK;

/** keyed(…).value() of n words: both parties' keyed-stream calls (2n + setups) and their sum (n). */
export const keyedValueWork = (n: number): DealerWork => 3 * n + 2 * KEYED_CALL_WORK;

/** A contraction (m×k)·(k×n): one multiply-add per term. */
export const productWork = (m: number, k: number, n: number): DealerWork => m * k * n;

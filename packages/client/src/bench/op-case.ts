/**
 * One benchmark case of `mpcache bench ops`: how to make its public inputs, run it on shares, and
 * compute its float64 reference. Inputs come from a public bench PRG (they are test data, not
 * secrets); each party derives the same plaintext and takes its own share.
 */
import type { AesCtrPrg, RingTensor } from '@mpcache/mpc-core';
import type { PartyContext } from '@mpcache/protocols';

export interface OpCase {
  /** The name of ARCHITECTURE.md's schema, e.g. `mul[65536]`. */
  readonly name: string;
  /** Plaintext inputs as ring tensors (fixed point at ctx.fracBits unless the op says otherwise). */
  makeInputs(prg: AesCtrPrg, fracBits: number): RingTensor[];
  /** Untimed setup on shares, once before all runs (e.g. masking a fixed operand, reused by every run). */
  prepare?(ctx: PartyContext, inputs: RingTensor[]): Promise<unknown>;
  /** The measured protocol: returns this party's output share. */
  run(ctx: PartyContext, inputs: RingTensor[], prepared: unknown): Promise<RingTensor>;
  /** float64 reference output computed from the plaintext inputs. */
  reference(inputs: RingTensor[], fracBits: number): Float64Array;
  /**
   * The correlation sequence depends on revealed (shuffled) comparison outcomes, so it cannot be
   * prefetched: the timed run then includes the dealer's on-demand generation (like CrypTen's TTP).
   */
  readonly dataDependentCorrelations?: boolean;
  /** Fractional bits of the output encoding (default: fracBits; 0 for bits/indices; 2f for ring products). */
  outputFracBits?(fracBits: number): number;
}

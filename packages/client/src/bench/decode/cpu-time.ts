/**
 * CPU time of the bench's processes, so a decode row can say what a token cost the machine and not
 * only how long it took. Why: P0, P1 and the dealer share the machine's cores, and when they are
 * busy (the 2-core machine: ≈ 85 % over a token at GPT-2-small 4096) a token's wall time follows
 * the three processes' summed CPU, which says where the time went (which process, how much work).
 *
 * A party reads its own process's CPU around each measured step (`processCpuMs`) and stamps the
 * step's start and end on the machine's clock (`epochMs`); the orchestrator, which runs the dealer,
 * samples its own CPU on a timer (CpuTimeline) and reads the dealer's CPU between the first measured
 * step's start and the last one's end. The dealer generates ahead of the parties, so its CPU is
 * meaningful over a row, not per step.
 */

/** This process's CPU time (user + system) so far, ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Milliseconds since the epoch, sub-millisecond, comparable across the processes of one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * This process's CPU time sampled every `everyMs` (a sample costs ≈ 1 µs); the timer fires when the
 * event loop is free, so samples may come late while the dealer generates, and `cpuMsBetween`
 * interpolates linearly between the samples around each end (error: a fraction of one gap).
 */
export class CpuTimeline {
  private at: number[] = [];
  private cpu: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `read` gives [epoch ms, CPU ms] (tests pass a fake clock). */
  constructor(private readonly everyMs = 20, private readonly read: () => [number, number] = () => [epochMs(), processCpuMs()]) {}

  /** (Re)start with no samples but the current one. */
  start(): this {
    this.stop();
    this.at = [];
    this.cpu = [];
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  sample(): void {
    const [t, cpu] = this.read();
    this.at.push(t);
    this.cpu.push(cpu);
  }

  /** CPU ms this process spent between two epoch times inside the sampled span (sampling now first). */
  cpuMsBetween(t0: number, t1: number): number {
    this.sample();
    if (!(t0 <= t1)) throw new RangeError(`cpuMsBetween: expected t0 ≤ t1, got ${t0}, ${t1}`);
    if (t0 < this.at[0]) throw new RangeError('cpuMsBetween: t0 is before the first sample');
    return this.cpuAt(t1) - this.cpuAt(t0);
  }

  private cpuAt(t: number): number {
    const { at, cpu } = this;
    let hi = at.length - 1;
    if (t >= at[hi]) return cpu[hi];
    let lo = 0; // binary search: at[lo] ≤ t < at[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (at[mid] <= t) lo = mid;
      else hi = mid;
    }
    const span = at[hi] - at[lo];
    return span > 0 ? cpu[lo] + ((cpu[hi] - cpu[lo]) * (t - at[lo])) / span : cpu[lo];
  }
}

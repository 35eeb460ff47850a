/**
 * Link emulation on send: a message of B bytes leaves after the previous one has been serialised
 * (B·8 / bandwidth) and arrives one-way latency later. Delivery order is preserved.
 *
 * Order: deliveries go through one FIFO queue and one timer, not a timer per message. Timers are
 * armed from the event loop's cached clock, which lags performance.now() during synchronous work, so
 * per-message timers let a small message sent late in a long synchronous stretch fire before a large
 * one sent earlier (its delay is shorter): a reordered stream (MPC_ERR_BAD_TAG under `wan`).
 */
import type { LinkProfile } from './channel';

interface Pending {
  readonly arrive: number;
  readonly deliver: () => void;
}

export class LinkEmulator {
  private busyUntil = 0;
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly profile: LinkProfile) {}

  /** Schedule `deliver` for a message of `bytes` bytes. */
  schedule(bytes: number, deliver: () => void): void {
    const now = performance.now();
    const serialiseMs = (bytes * 8) / (this.profile.bandwidthMbps * 1e3);
    const leave = Math.max(now, this.busyUntil) + serialiseMs;
    this.busyUntil = leave;
    this.queue.push({ arrive: leave + this.profile.latencyMs, deliver });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.queue[0].arrive - performance.now()));
  }

  /** Deliver, in order, every message whose time has come; re-arm for the next (a timer may fire early). */
  private flush(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0].arrive <= now) this.queue.shift()!.deliver();
    if (this.queue.length > 0) this.arm();
  }
}

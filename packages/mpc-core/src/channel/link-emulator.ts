/**
 * Link emulation on send: a message of B bytes leaves after the previous one has been serialised
 * (B·8 / bandwidth) and arrives one-way latency later. Delivery order is preserved.
 */
import type { LinkProfile } from './channel';

export class LinkEmulator {
  private busyUntil = 0;

  constructor(private readonly profile: LinkProfile) {}

  /** Schedule `deliver` for a message of `bytes` bytes. */
  schedule(bytes: number, deliver: () => void): void {
    const now = performance.now();
    const serialiseMs = (bytes * 8) / (this.profile.bandwidthMbps * 1e3);
    const leave = Math.max(now, this.busyUntil) + serialiseMs;
    this.busyUntil = leave;
    const arrive = leave + this.profile.latencyMs;
    setTimeout(deliver, Math.max(0, arrive - now));
  }
}

/**
 * Rendezvous by key with timeouts: one side offers a value (an accepted peer link), the other waits
 * for it (the session that needs the link), in either order. A value nobody takes within its
 * timeout goes to `onExpire` (the server answers SessionNotFoundError); a waiter nobody serves gets
 * TimeoutError. At most one value and one waiter per key.
 */
import { TimeoutError } from '@mpcache/mpc-core';

interface Held<T> {
  value: T;
  timer: NodeJS.Timeout;
  onExpire: (value: T) => void;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Rendezvous<T> {
  private readonly held = new Map<string, Held<T>>();
  private readonly waiting = new Map<string, Waiter<T>>();

  /** Give `value` to the waiter for `key`, or hold it; false (nothing done) if a value is already held. */
  offer(key: string, value: T, timeoutMs: number, onExpire: (value: T) => void): boolean {
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      clearTimeout(w.timer);
      w.resolve(value);
      return true;
    }
    if (this.held.has(key)) return false;
    const timer = setTimeout(() => {
      this.held.delete(key);
      onExpire(value);
    }, timeoutMs);
    this.held.set(key, { value, timer, onExpire });
    return true;
  }

  /** The value offered for `key`, now or within `timeoutMs`. */
  wait(key: string, timeoutMs: number, what: string): Promise<T> {
    const h = this.held.get(key);
    if (h) {
      this.held.delete(key);
      clearTimeout(h.timer);
      return Promise.resolve(h.value);
    }
    if (this.waiting.has(key)) return Promise.reject(new RangeError(`${what}: already waiting`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new TimeoutError(`${what}: nothing arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, { resolve, reject, timer });
    });
  }

  /** Drop the waiter (rejecting it with `reason`) and any held value (expiring it) for `key`. */
  cancel(key: string, reason: Error): void {
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      clearTimeout(w.timer);
      w.reject(reason);
    }
    const h = this.held.get(key);
    if (h) {
      this.held.delete(key);
      clearTimeout(h.timer);
      h.onExpire(h.value);
    }
  }

  /** Cancel every key (server shutdown). */
  clear(reason: Error): void {
    for (const k of new Set([...this.waiting.keys(), ...this.held.keys()])) this.cancel(k, reason);
  }
}

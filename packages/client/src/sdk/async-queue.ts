/**
 * A FIFO of messages with one consumer: `shift()` resolves with the next value, waiting if needed.
 * After `fail(err)`, values already queued are still delivered, then every shift rejects with err.
 * Bounded: a push beyond `capacity` queued values drops them and fails the queue with `overflow()`
 * (a party that floods a session); a shift that waits longer than its time limit rejects with `late()`.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  private error: Error | undefined;

  constructor(
    private readonly capacity = Infinity,
    private readonly overflow: () => Error = () => new RangeError('queue overflow'),
  ) {}

  push(value: T): void {
    if (this.error) return;
    const w = this.waiters.shift();
    if (w) w.resolve(value);
    else if (this.items.length >= this.capacity) {
      this.items.length = 0; // the sender broke the protocol: what it queued is not delivered
      this.fail(this.overflow());
    }
    else this.items.push(value);
  }

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  /** The next value; with `timeoutMs`, rejects with `late()` if none comes within it. */
  shift(timeoutMs?: number, late?: () => Error): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        resolve: (v: T) => { clearTimeout(timer); resolve(v); },
        reject: (e: Error) => { clearTimeout(timer); reject(e); },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(late ? late() : new Error(`nothing arrived within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }
}

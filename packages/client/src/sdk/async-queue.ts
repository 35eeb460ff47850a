/**
 * A FIFO of messages with one consumer: `shift()` resolves with the next value, waiting if needed.
 * After `fail(err)`, values already queued are still delivered, then every shift rejects with err.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: { resolve: (v: T) => void; reject: (e: Error) => void }[] = [];
  private error: Error | undefined;

  push(value: T): void {
    if (this.error) return;
    const w = this.waiters.shift();
    if (w) w.resolve(value);
    else this.items.push(value);
  }

  fail(error: Error): void {
    if (this.error) return;
    this.error = error;
    for (const w of this.waiters.splice(0)) w.reject(error);
  }

  shift(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

/** SetupQueue: FIFO slots, a time limit per waiter, idempotent release. */
import { LimitError } from '@mpcache/mpc-core';
import { SetupQueue } from '../src/setup-queue';

describe('SetupQueue', () => {
  it('grants at most `slots` at once, in arrival order', async () => {
    const q = new SetupQueue(2), order: number[] = [];
    const rel = await Promise.all([q.acquire(1000, 'a'), q.acquire(1000, 'b')]);
    const later = [2, 3, 4].map((i) => q.acquire(1000, `w${i}`).then((r) => (order.push(i), r)));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    expect(q.waiting).toBe(3);
    rel[0]();
    rel[0](); // idempotent: frees one slot only
    const r2 = await later[0];
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([2]);
    rel[1]();
    r2();
    const rest = await Promise.all(later.slice(1));
    expect(order).toEqual([2, 3, 4]);
    rest.forEach((r) => r());
    expect(q.waiting).toBe(0);
    // all slots free again
    await Promise.all([q.acquire(10, 'x'), q.acquire(10, 'y')]);
  });

  it('a waiter past its time limit fails with LimitError MPC_ERR_TOO_MANY_SESSIONS and leaves the queue', async () => {
    const q = new SetupQueue(1);
    const held = await q.acquire(1000, 'first');
    await expect(q.acquire(30, 'session s')).rejects.toMatchObject({ name: 'LimitError', code: 'MPC_ERR_TOO_MANY_SESSIONS', message: expect.stringMatching(/session s: no setup slot within 30 ms/) });
    expect(q.waiting).toBe(0);
    held();
    const next = await q.acquire(10, 'next');
    next();
    expect(new LimitError('x', 'MPC_ERR_TOO_MANY_SESSIONS')).toBeInstanceOf(LimitError);
  });

  it('rejects a bad slot count', () => {
    expect(() => new SetupQueue(0)).toThrow(/setup slots/);
  });
});

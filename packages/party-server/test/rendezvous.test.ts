/** Rendezvous: offer then wait, wait then offer, timeouts on both sides, cancel, one value per key. */
import { TimeoutError } from '@mpcache/mpc-core';
import { Rendezvous } from '../src';

describe('Rendezvous', () => {
  it('hands a value over in either order', async () => {
    const r = new Rendezvous<number>();
    expect(r.offer('a', 1, 1000, () => undefined)).toBe(true);
    await expect(r.wait('a', 1000, 'a')).resolves.toBe(1);
    const w = r.wait('b', 1000, 'b');
    expect(r.offer('b', 2, 1000, () => undefined)).toBe(true);
    await expect(w).resolves.toBe(2);
  });

  it('expires an untaken value and times out an unserved waiter', async () => {
    const r = new Rendezvous<number>();
    const expired: number[] = [];
    r.offer('a', 7, 20, (v) => expired.push(v));
    await expect(r.wait('b', 20, 'waiting for b')).rejects.toThrow(TimeoutError);
    await new Promise((res) => setTimeout(res, 30));
    expect(expired).toEqual([7]);
    await expect(r.wait('a', 10, 'a')).rejects.toThrow(/nothing arrived within 10 ms/);
  });

  it('holds one value per key and cancels both sides', async () => {
    const r = new Rendezvous<number>();
    const expired: number[] = [];
    expect(r.offer('a', 1, 1000, (v) => expired.push(v))).toBe(true);
    expect(r.offer('a', 2, 1000, (v) => expired.push(v))).toBe(false);
    r.cancel('a', new Error('bye'));
    expect(expired).toEqual([1]);
    const w = r.wait('b', 1000, 'b');
    r.clear(new Error('shutdown'));
    await expect(w).rejects.toThrow('shutdown');
  });
});

import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { InProcessEventfd } from './vhost-eventfd.js';

describe('InProcessEventfd (eventfd semantics)', () => {
  it('wakes a subscriber on each signal with the counter it consumed', () => {
    const fd = new InProcessEventfd();
    const seen: number[] = [];
    const sub = fd.signals$.subscribe((n) => seen.push(n));
    fd.signal();
    fd.signal();
    expect(seen).toEqual([1, 1]);
    expect([fd.pending, fd.signalled]).toEqual([0, 2]);
    sub.unsubscribe();
  });

  it('accumulates without a waiter; a new waiter is woken at once with the counter (vhost_poll_start())', async () => {
    const fd = new InProcessEventfd();
    fd.signal();
    fd.signal();
    fd.signal();
    expect(fd.pending).toBe(3);
    expect(await firstValueFrom(fd.signals$)).toBe(3);
    expect(fd.pending).toBe(0);
  });

  it('read() returns the counter and clears it, as read(2) on an eventfd', () => {
    const fd = new InProcessEventfd();
    fd.signal();
    fd.signal();
    expect(fd.read()).toBe(2);
    expect(fd.read()).toBe(0);
    expect(fd.signalled).toBe(2);
  });

  it('an unsubscribed waiter is not woken', () => {
    const fd = new InProcessEventfd();
    const seen: number[] = [];
    fd.signals$.subscribe((n) => seen.push(n)).unsubscribe();
    fd.signal();
    expect(seen).toEqual([]);
    expect(fd.pending).toBe(1);
  });
});

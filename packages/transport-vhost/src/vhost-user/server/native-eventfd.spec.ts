import { setTimeout as sleep } from 'node:timers/promises';
import { loadNative } from '@vdpa-kit/native-vhost';
import { describe, expect, it } from 'vitest';
import { NativeEventfd } from './native-eventfd.js';

const native = loadNative();

async function until(cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !cond();) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(2);
  }
}

describe('NativeEventfd', () => {
  it('signal() adds 1 to the real eventfd', () => {
    const fd = native.eventfd();
    const efd = new NativeEventfd(native, fd);
    efd.signal();
    efd.signal();
    expect(native.eventfdReadNumber(fd)).toBe(2);
    native.close(fd);
  });

  it('signals$ wakes on writes from the event loop, at once for a counter already set, and stops on unsubscribe', async () => {
    const fd = native.eventfd(3);
    const seen: number[] = [];
    const sub = new NativeEventfd(native, fd).signals$.subscribe((n) => seen.push(n));
    expect(seen).toEqual([3]);
    native.eventfdWrite(fd, 1n);
    await until(() => seen.length === 2);
    expect(seen).toEqual([3, 1]);
    sub.unsubscribe();
    expect(native.unwatch(fd)).toBe(false);
    native.eventfdWrite(fd, 1n);
    await sleep(20);
    expect(seen).toEqual([3, 1]);
    native.close(fd);
  });
});

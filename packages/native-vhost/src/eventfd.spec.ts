import { describe, expect, it } from 'vitest';
import { loadNative } from './load-native.js';

const native = loadNative();

describe('eventfd', () => {
  it('adds writes to the counter and a read returns and resets it', () => {
    const fd = native.eventfd();
    expect(native.eventfdRead(fd)).toBe(0n);
    native.eventfdWrite(fd);
    native.eventfdWrite(fd, 2);
    native.eventfdWrite(fd, 39n);
    expect(native.eventfdRead(fd)).toBe(42n);
    expect(native.eventfdRead(fd)).toBe(0n);
    native.close(fd);
  });

  it('starts at the initial value and reads as a number', () => {
    const fd = native.eventfd(5);
    expect(native.eventfdReadNumber(fd)).toBe(5);
    expect(native.eventfdReadNumber(fd)).toBe(0);
    native.close(fd);
  });

  it('carries the full u64 range as a bigint and refuses a number read above 2^53', () => {
    const fd = native.eventfd();
    const max = 0xfffffffffffffffen; // 2^64 - 2, the largest counter eventfd(2) allows
    native.eventfdWrite(fd, max);
    expect(native.eventfdRead(fd)).toBe(max);
    native.eventfdWrite(fd, 2n ** 60n);
    expect(() => native.eventfdReadNumber(fd)).toThrow(RangeError);
    expect(native.eventfdRead(fd)).toBe(0n); // that read reset it all the same
    native.close(fd);
  });

  it('throws EAGAIN when a write would overflow and EINVAL for 2^64 - 1 (eventfd(2))', () => {
    const fd = native.eventfd();
    native.eventfdWrite(fd, 0xfffffffffffffffen);
    expect(() => native.eventfdWrite(fd, 1)).toThrow(
      expect.objectContaining({ code: 'EAGAIN', syscall: 'write' }),
    );
    expect(() => native.eventfdWrite(fd, 0xffffffffffffffffn)).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'write' }),
    );
    native.close(fd);
  });

  it('refuses values that are not a u64', () => {
    const fd = native.eventfd();
    expect(() => native.eventfdWrite(fd, -1)).toThrow(RangeError);
    expect(() => native.eventfdWrite(fd, 1.5)).toThrow(RangeError);
    expect(() => native.eventfdWrite(fd, 2n ** 64n)).toThrow(RangeError);
    expect(() => native.eventfdWrite(fd, -1n)).toThrow(RangeError);
    expect(() => native.eventfd(2 ** 32)).toThrow(RangeError);
    native.close(fd);
  });

  it('passes over a socket and still shares the counter', () => {
    const [a, b] = native.socketpair();
    const kick = native.eventfd();
    native.sendmsg(a, new Uint8Array([0]), [kick]);
    const got = native.recvmsg(b, 1, 1)?.fds[0];
    if (got === undefined) throw new Error('no fd received');
    native.eventfdWrite(got, 3);
    expect(native.eventfdRead(kick)).toBe(3n);
    for (const fd of [a, b, kick, got]) native.close(fd);
  });
});

import { describe, expect, it } from 'vitest';
import { NativeError } from './errors.js';
import { loadNative } from './load-native.js';

const native = loadNative();

/** The error a call throws (the test fails if it does not throw). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('errors', () => {
  it('throws NativeError with the errno name and the syscall for a closed fd', () => {
    const fd = native.eventfd();
    native.close(fd);
    const cases: [() => unknown, string][] = [
      [() => native.sendmsg(fd, new Uint8Array(1)), 'sendmsg'],
      [() => native.recvmsg(fd, 8, 0), 'recvmsg'],
      [() => native.accept(fd), 'accept4'],
      [() => native.eventfdRead(fd), 'read'],
      [() => native.eventfdWrite(fd, 1), 'write'],
      [() => native.setNonBlocking(fd), 'fcntl'],
      [() => native.close(fd), 'close'],
    ];
    for (const [call, syscall] of cases) {
      const e = thrown(call);
      expect(e).toBeInstanceOf(NativeError);
      expect(e).toMatchObject({ name: 'NativeError', code: 'EBADF', syscall, errno: 9 });
      expect((e as Error).message).toBe(`${syscall} on fd ${fd}: bad file descriptor`);
    }
  });

  it('names the errno of a wrong kind of fd', () => {
    const efd = native.eventfd();
    expect(thrown(() => native.recvmsg(efd, 8, 0))).toMatchObject({ code: 'ENOTSOCK', syscall: 'recvmsg' });
    expect(thrown(() => native.accept(efd))).toMatchObject({ code: 'ENOTSOCK', syscall: 'accept4' });
    const [a, b] = native.socketpair();
    expect(thrown(() => native.accept(a))).toMatchObject({ code: 'EINVAL', syscall: 'accept4' });
    // An empty memfd reads 0 bytes where an eventfd always gives 8.
    const mem = native.memfd('not-an-eventfd', 0);
    expect(thrown(() => native.eventfdRead(mem))).toMatchObject({ code: 'EINVAL', syscall: 'read' });
    for (const fd of [efd, a, b, mem]) native.close(fd);
  });

  it('throws TypeError and RangeError for bad arguments, never a NativeError', () => {
    expect(() => native.close(-1)).toThrow(RangeError);
    expect(() => native.close(1.5)).toThrow(RangeError);
    expect(() => native.close('3' as unknown as number)).toThrow(TypeError);
    expect(() => native.sendmsg(0, [1] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => native.sendmsg(0, new Uint16Array(1) as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => native.recvmsg(0, 8, 254)).toThrow(RangeError);
    expect(() => native.listen('a\0b')).toThrow(RangeError);
    expect(() => native.watch(0, 1, 'no' as unknown as () => void)).toThrow(TypeError);
  });
});

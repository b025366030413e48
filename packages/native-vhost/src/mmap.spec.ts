import { constants } from 'node:buffer';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeError } from './errors.js';
import { loadNative } from './load-native.js';

const native = loadNative();
const page = native.pageSize;
const dir = mkdtempSync(join(tmpdir(), 'native-vhost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readAt(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  expect(readSync(fd, out, 0, length, position)).toBe(length);
  return out;
}

describe('mmap', () => {
  it('shares a memfd both ways: writes through the mapping reach the fd and the reverse', () => {
    const fd = native.memfd('guest-ram', 4 * page);
    const ab = native.mmap(fd, 0, 4 * page);
    expect(ab.byteLength).toBe(4 * page);
    const view = new Uint8Array(ab);
    view.set([1, 2, 3, 4], page + 10);
    expect([...readAt(fd, page + 10, 4)]).toEqual([1, 2, 3, 4]);
    writeSync(fd, Buffer.from([9, 8, 7]), 0, 3, 3 * page);
    expect([...view.subarray(3 * page, 3 * page + 3)]).toEqual([9, 8, 7]);
    expect(native.munmap(ab)).toBe(true);
    native.close(fd);
  });

  it('maps a temp file at a page-aligned offset, and two mappings of one fd see each other', () => {
    const fd = openSync(join(dir, 'ram.bin'), 'w+');
    ftruncateSync(fd, 3 * page);
    const whole = native.mmap(fd, 0, 3 * page);
    const tail = native.mmap(fd, BigInt(2 * page), page);
    new Uint32Array(tail)[0] = 0xdeadbeef;
    expect(new DataView(whole).getUint32(2 * page, true)).toBe(0xdeadbeef);
    expect(readAt(fd, 2 * page, 4).readUInt32LE(0)).toBe(0xdeadbeef);
    // Atomics work on the external (non-shared) ArrayBuffer, as ring code uses them.
    const idx = new Uint16Array(whole);
    Atomics.store(idx, 1, 0xffff);
    expect(Atomics.add(idx, 1, 2)).toBe(0xffff);
    expect(readAt(fd, 2, 2).readUInt16LE(0)).toBe(1);
    closeSync(fd); // the mappings outlive the fd
    new Uint8Array(whole)[0] = 5;
    expect(new Uint8Array(whole)[0]).toBe(5);
    expect(native.munmap(whole)).toBe(true);
    expect(native.munmap(tail)).toBe(true);
  });

  it('maps an fd received over a socket, the way a vhost-user back-end maps guest memory', () => {
    const [front, back] = native.socketpair();
    const mem = native.memfd('front-end', 2 * page);
    const frontView = new Uint8Array(native.mmap(mem, 0, 2 * page));
    native.sendmsg(front, new Uint8Array([5]), [mem]);
    const got = native.recvmsg(back, 8, 8)?.fds[0];
    if (got === undefined) throw new Error('no fd received');
    const backAb = native.mmap(got, page, page);
    native.close(got);
    frontView[page + 1] = 0x5a;
    expect(new Uint8Array(backAb)[1]).toBe(0x5a);
    new Uint8Array(backAb)[2] = 0xa5;
    expect(frontView[page + 2]).toBe(0xa5);
    expect(native.munmap(backAb)).toBe(true);
    expect(native.munmap(frontView.buffer as ArrayBuffer)).toBe(true);
    for (const fd of [front, back, mem]) native.close(fd);
  });

  it('munmap detaches the buffer so no view reaches the unmapped pages, and is safe to repeat', () => {
    const fd = native.memfd('detach', page);
    const ab = native.mmap(fd, 0, page);
    const view = new Uint8Array(ab);
    view[0] = 1;
    expect(native.munmap(ab)).toBe(true);
    expect(ab.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[0]).toBeUndefined();
    expect(native.munmap(ab)).toBe(false);
    expect(native.munmap(new ArrayBuffer(8))).toBe(false);
    expect(() => native.munmap(view as unknown as ArrayBuffer)).toThrow(TypeError);
    expect(readAt(fd, 0, 1)[0]).toBe(1);
    native.close(fd);
  });

  it('maps again and again at the address just released (the kernel reuses it) without trouble', () => {
    const fd = native.memfd('reuse', 16 * page);
    for (let i = 0; i < 2000; i++) {
      const ab = native.mmap(fd, 0, 16 * page);
      const view = new Uint32Array(ab);
      view[i] = i;
      expect(view[i - 1] ?? i - 1).toBe(i - 1); // the previous mapping's write is in the file
      expect(native.munmap(ab)).toBe(true);
    }
    native.close(fd);
  });

  it('refuses an unaligned offset, a zero length, a range past the end of the file and a bad fd', () => {
    const fd = native.memfd('checks', 2 * page);
    const attempt = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('mmap did not throw');
    };
    const unaligned = attempt(() => native.mmap(fd, 100, page));
    expect(unaligned).toBeInstanceOf(NativeError);
    expect(unaligned).toMatchObject({ code: 'EINVAL', syscall: 'mmap' });
    expect((unaligned as Error).message).toMatch(/not a multiple of the page size/);
    expect(attempt(() => native.mmap(fd, 0, 0))).toMatchObject({ code: 'EINVAL' });
    const past = attempt(() => native.mmap(fd, page, 2 * page));
    expect(past).toMatchObject({ code: 'ENXIO', syscall: 'mmap' });
    expect((past as Error).message).toMatch(/past the end of the file/);
    expect(attempt(() => native.mmap(fd, 2n ** 63n, page))).toMatchObject({ code: 'EOVERFLOW' });
    // Longer than Node makes an ArrayBuffer (buffer.constants.MAX_LENGTH): refused before mmap(2).
    const tooLong = attempt(() => native.mmap(fd, 0, constants.MAX_LENGTH + page));
    expect(tooLong).toMatchObject({ code: 'EOVERFLOW', syscall: 'mmap' });
    expect((tooLong as Error).message).toMatch(/more than an ArrayBuffer holds here/);
    expect(() => native.mmap(fd, -1, page)).toThrow(RangeError);
    expect(() => native.mmap(fd, 2n ** 64n, page)).toThrow(RangeError);
    native.close(fd);
    expect(attempt(() => native.mmap(fd, 0, page))).toMatchObject({ code: 'EBADF', syscall: 'fstat' });
    const [a, b] = native.socketpair();
    expect(attempt(() => native.mmap(a, 0, page))).toMatchObject({ code: 'ENODEV', syscall: 'mmap' });
    native.close(a);
    native.close(b);
  });
});

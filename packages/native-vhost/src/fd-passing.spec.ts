import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeError } from './errors.js';
import { loadNative } from './load-native.js';

const native = loadNative();
const dir = mkdtempSync(join(tmpdir(), 'native-vhost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads one message, failing the test when nothing is there. */
function recv(fd: number, maxBytes: number, maxFds: number) {
  const msg = native.recvmsg(fd, maxBytes, maxFds);
  if (msg === null) throw new Error(`nothing to receive on fd ${fd}`);
  return msg;
}

/** A connected pair through a listening socket at a fresh path: [client, server side, listener]. */
function connectedPair(name: string): [number, number, number] {
  const path = join(dir, name);
  const listener = native.listen(path);
  const client = native.connect(path);
  const server = native.accept(listener);
  if (server === null) throw new Error('no pending connection');
  return [client, server, listener];
}

describe('unix sockets', () => {
  it('listens with mode 0600 by default and with the mode asked for, whatever the umask', () => {
    const old = process.umask(0);
    try {
      const a = native.listen(join(dir, 'default.sock'));
      const b = native.listen(join(dir, 'group.sock'), { mode: 0o660, backlog: 1 });
      expect(statSync(join(dir, 'default.sock')).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'group.sock')).mode & 0o777).toBe(0o660);
      expect(statSync(join(dir, 'default.sock')).isSocket()).toBe(true);
      native.close(a);
      native.close(b);
    } finally {
      process.umask(old);
    }
  });

  it('accept returns null when nobody connects, then the connection once someone does', () => {
    const path = join(dir, 'accept.sock');
    const listener = native.listen(path);
    expect(native.accept(listener)).toBeNull();
    const client = native.connect(path);
    const server = native.accept(listener);
    expect(server).not.toBeNull();
    native.sendmsg(client, new Uint8Array([1, 2, 3]));
    expect([...recv(server as number, 16, 0).bytes]).toEqual([1, 2, 3]);
    for (const fd of [client, server as number, listener]) native.close(fd);
  });

  it('refuses a path already in use, a missing listener and a path too long for sun_path', () => {
    const path = join(dir, 'busy.sock');
    const listener = native.listen(path);
    expect(() => native.listen(path)).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }),
    );
    expect(() => native.connect(join(dir, 'nobody.sock'))).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'connect' }),
    );
    expect(() => native.listen(join(dir, 'x'.repeat(120)))).toThrow(RangeError);
    native.close(listener);
  });

  it('switches a socket between blocking and non-blocking', () => {
    const [a, b] = native.socketpair();
    native.setNonBlocking(b, false);
    native.sendmsg(a, new Uint8Array([3]));
    expect([...recv(b, 8, 0).bytes]).toEqual([3]); // data there: a blocking read returns at once
    native.setNonBlocking(b, true);
    expect(native.recvmsg(b, 8, 0)).toBeNull(); // empty: no wait
    native.close(a);
    native.close(b);
  });

  it('reports end of stream when the peer closes', () => {
    const [a, b] = native.socketpair();
    expect(native.recvmsg(b, 8, 0)).toBeNull();
    native.close(a);
    expect(recv(b, 8, 4)).toEqual({ bytes: new Uint8Array(0), fds: [], eof: true });
    native.close(b);
  });
});

describe('SCM_RIGHTS', () => {
  it('passes a file fd that refers to the same file: written through one, read through the other', () => {
    const [client, server, listener] = connectedPair('pass.sock');
    const file = openSync(join(dir, 'shared.bin'), 'w+');
    native.sendmsg(client, new Uint8Array([0x2a]), [file]);
    const msg = recv(server, 64, 8);
    expect([...msg.bytes]).toEqual([0x2a]);
    expect(msg.fds).toHaveLength(1);
    const got = msg.fds[0] as number;
    expect(got).not.toBe(file);
    expect(fstatSync(got).ino).toBe(fstatSync(file).ino);

    writeSync(file, Buffer.from('written by the sender'), 0, undefined, 0);
    const back = Buffer.alloc(21);
    expect(readSync(got, back, 0, 21, 0)).toBe(21);
    expect(back.toString()).toBe('written by the sender');

    writeSync(got, Buffer.from('RECEIVER'), 0, undefined, 0);
    const front = Buffer.alloc(8);
    readSync(file, front, 0, 8, 0);
    expect(front.toString()).toBe('RECEIVER');

    closeSync(file);
    native.close(got);
    for (const fd of [client, server, listener]) native.close(fd);
  });

  it('passes several fds in one message, in order, with the bytes they came with', () => {
    const [a, b] = native.socketpair();
    const efds = [native.eventfd(1), native.eventfd(2), native.eventfd(3)];
    native.sendmsg(a, new Uint8Array(12).fill(7), efds);
    const msg = recv(b, 12, 8);
    expect(msg.bytes).toEqual(new Uint8Array(12).fill(7));
    expect(msg.fds.map((fd) => native.eventfdRead(fd))).toEqual([1n, 2n, 3n]);
    for (const fd of [...efds, ...msg.fds, a, b]) native.close(fd);
  });

  it('throws EMSGSIZE and closes every received fd when more fds arrive than fit (MSG_CTRUNC)', () => {
    const [a, b] = native.socketpair();
    const efds = [native.eventfd(), native.eventfd(), native.eventfd()];
    const before = native.openFdCount();
    native.sendmsg(a, new Uint8Array([1]), efds);
    let caught: unknown;
    try {
      native.recvmsg(b, 16, 1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NativeError);
    expect(caught).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg' });
    expect((caught as Error).message).toMatch(/MSG_CTRUNC/);
    expect(native.openFdCount()).toBe(before);

    // No room for fds at all: the same.
    native.sendmsg(a, new Uint8Array([2]), [efds[0] as number]);
    expect(() => native.recvmsg(b, 16, 0)).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
    expect(native.openFdCount()).toBe(before);
    for (const fd of [...efds, a, b]) native.close(fd);
  });

  it('refuses fds without a byte to carry them, and more fds than one message carries', () => {
    const [a, b] = native.socketpair();
    expect(() => native.sendmsg(a, new Uint8Array(0), [a])).toThrow(RangeError);
    expect(() => native.sendmsg(a, new Uint8Array(1), new Array<number>(254).fill(a))).toThrow(RangeError);
    expect(() => native.sendmsg(a, new Uint8Array(1), [-1])).toThrow(RangeError);
    native.close(a);
    native.close(b);
  });

  it('reports EAGAIN when the socket buffer is full, and a partial send as a count', () => {
    const [a, b] = native.socketpair();
    const chunk = new Uint8Array(1 << 16);
    let sent = 0;
    let caught: unknown;
    for (let i = 0; i < 1000 && caught === undefined; i++) {
      try {
        sent += native.sendmsg(a, chunk);
      } catch (e) {
        caught = e;
      }
    }
    expect(sent).toBeGreaterThan(0);
    expect(caught).toMatchObject({ code: 'EAGAIN', syscall: 'sendmsg' });
    native.close(a);
    native.close(b);
  });
});

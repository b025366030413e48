import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNative } from './load-native.js';

const native = loadNative();
const CYCLES = 1000;

describe('fd leaks', () => {
  it(`leaves the open fd count unchanged after ${CYCLES} send/recv cycles with fds`, () => {
    const [a, b] = native.socketpair();
    const kick = native.eventfd();
    const call = native.eventfd();
    const before = native.openFdCount();
    for (let i = 0; i < CYCLES; i++) {
      native.sendmsg(a, new Uint8Array([i & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), [kick, call]);
      const msg = native.recvmsg(b, 12, 8);
      if (msg === null || msg.fds.length !== 2 || msg.bytes[0] !== (i & 0xff)) {
        throw new Error(`cycle ${i}: unexpected message ${JSON.stringify(msg)}`);
      }
      expect(native.openFdCount()).toBe(before + 2);
      for (const fd of msg.fds) native.close(fd);
    }
    expect(native.openFdCount()).toBe(before);
    for (const fd of [a, b, kick, call]) native.close(fd);
  });

  it(`leaves it unchanged after ${CYCLES} truncated (MSG_CTRUNC) receives`, () => {
    const [a, b] = native.socketpair();
    const fds = [native.eventfd(), native.eventfd(), native.eventfd()];
    const before = native.openFdCount();
    for (let i = 0; i < CYCLES; i++) {
      native.sendmsg(a, new Uint8Array([1]), fds);
      expect(() => native.recvmsg(b, 1, 2)).toThrow(expect.objectContaining({ code: 'EMSGSIZE' }));
    }
    expect(native.openFdCount()).toBe(before);
    for (const fd of [a, b, ...fds]) native.close(fd);
  });

  it(`leaves it unchanged after ${CYCLES} listen/connect/accept/close cycles and watches`, () => {
    const before = native.openFdCount();
    for (let i = 0; i < CYCLES; i++) {
      const [x, y] = native.socketpair();
      native.watch(x, 1, () => undefined);
      native.close(x);
      native.close(y);
    }
    expect(native.openFdCount()).toBe(before);
  });

  it('counts exactly what /proc/self/fd lists', () => {
    const before = native.openFdCount();
    const fd = native.eventfd();
    expect(native.openFdCount()).toBe(before + 1);
    native.close(fd);
    expect(native.openFdCount()).toBe(before);
  });

  it('unmaps a mapping when its ArrayBuffer is garbage-collected', () => {
    const addon = fileURLToPath(new URL('../build/Release/vhost_native.node', import.meta.url));
    const script = `
      const { readFileSync } = require('node:fs');
      const native = require(${JSON.stringify(addon)});
      const mapped = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('memfd:gc-probe')).length;
      const fd = native.memfdCreate('gc-probe', 1 << 20);
      // In a function, so that no stack slot of this script keeps the last buffer alive.
      const fill = () => {
        const keep = [];
        for (let i = 0; i < 64; i++) keep.push(new Uint8Array(native.mmap(fd, 0, 1 << 20)));
        return mapped();
      };
      const during = fill();
      native.close(fd);
      // The finalizers run some loop turns after the GC, how many is not fixed (two setImmediate turns
      // were seen to fall short on a loaded machine): poll, bounded.
      const deadline = Date.now() + 10000;
      const check = () => {
        globalThis.gc();
        const left = mapped();
        if (left === 0 || Date.now() > deadline) console.log(during + ' ' + left);
        else setTimeout(check, 10);
      };
      check();
    `;
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('64 0');
  }, 30_000);
});

import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadNative } from './load-native.js';
import { POLL_DISCONNECT, POLL_READABLE } from './poll-events.js';

const native = loadNative();

/** Lets the event loop run a few turns (poll phase included). */
const turns = () => new Promise<void>((resolve) => setTimeout(resolve, 30));

/** Resolves with the events of the next callback on fd (and stops watching it). */
function nextEvents(fd: number, events: number, onReady: () => void = () => undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    native.watch(fd, events, (error, ready) => {
      native.unwatch(fd);
      onReady();
      if (error !== undefined) reject(error);
      else resolve(ready);
    });
  });
}

describe('watch', () => {
  it('calls back on the event loop when an eventfd becomes readable, and not before', async () => {
    const fd = native.eventfd();
    let calls = 0;
    native.watch(fd, POLL_READABLE, () => {
      calls++;
      native.eventfdRead(fd); // drain: the watch is level-triggered
    });
    await turns();
    expect(calls).toBe(0);
    native.eventfdWrite(fd, 1);
    expect(calls).toBe(0); // never synchronously
    await turns();
    expect(calls).toBe(1);
    native.eventfdWrite(fd, 1);
    await turns();
    expect(calls).toBe(2);
    expect(native.unwatch(fd)).toBe(true);
    native.close(fd);
  });

  it('calls back on a listener when a client connects, then on the accepted connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'native-vhost-'));
    const path = join(dir, 'server.sock');
    const listener = native.listen(path);
    const accepted = new Promise<number>((resolve) => {
      native.watch(listener, POLL_READABLE, () => {
        const conn = native.accept(listener);
        if (conn !== null) resolve(conn);
      });
    });
    const client = native.connect(path);
    const conn = await accepted;
    const ready = nextEvents(conn, POLL_READABLE);
    native.sendmsg(client, new Uint8Array([0x2a]));
    expect(await ready).toBe(POLL_READABLE);
    expect(native.recvmsg(conn, 8, 0)?.bytes).toEqual(new Uint8Array([0x2a]));
    for (const fd of [client, conn, listener]) native.close(fd);
    rmSync(dir, { recursive: true });
  });

  it('delivers a socket message with its fds to the callback', async () => {
    const [a, b] = native.socketpair();
    const kick = native.eventfd();
    const ready = nextEvents(b, POLL_READABLE);
    native.sendmsg(a, new Uint8Array([1, 2]), [kick]);
    expect((await ready) & POLL_READABLE).toBe(POLL_READABLE);
    const msg = native.recvmsg(b, 16, 4);
    expect(msg?.bytes).toEqual(new Uint8Array([1, 2]));
    expect(msg?.fds).toHaveLength(1);
    for (const fd of [a, b, kick, ...(msg?.fds ?? [])]) native.close(fd);
  });

  it('reports the peer hanging up', async () => {
    const [a, b] = native.socketpair();
    const ready = nextEvents(b, POLL_READABLE | POLL_DISCONNECT);
    native.close(a);
    expect((await ready) & (POLL_READABLE | POLL_DISCONNECT)).not.toBe(0);
    expect(native.recvmsg(b, 16, 0)?.eof).toBe(true);
    native.close(b);
  });

  it('stops calling back after unwatch', async () => {
    const fd = native.eventfd();
    let calls = 0;
    native.watch(fd, POLL_READABLE, () => calls++);
    expect(native.unwatch(fd)).toBe(true);
    expect(native.unwatch(fd)).toBe(false);
    native.eventfdWrite(fd, 1);
    await turns();
    expect(calls).toBe(0);
    native.close(fd);
  });

  it('replaces the callback when an fd is watched again', async () => {
    const fd = native.eventfd();
    const seen: string[] = [];
    native.watch(fd, POLL_READABLE, () => seen.push('first'));
    native.watch(fd, POLL_READABLE, () => {
      seen.push('second');
      native.eventfdRead(fd);
    });
    native.eventfdWrite(fd, 1);
    await turns();
    expect(seen).toEqual(['second']);
    native.close(fd);
  });

  it('closing a watched fd drops its watch, so a reused fd number is watched afresh', async () => {
    const old = native.eventfd(1); // readable from the start
    let oldCalls = 0;
    native.watch(old, POLL_READABLE, () => oldCalls++);
    native.close(old);
    const reused = native.eventfd();
    expect(reused).toBe(old); // the lowest free number comes back
    expect(native.unwatch(reused)).toBe(false);
    const ready = nextEvents(reused, POLL_READABLE);
    native.eventfdWrite(reused, 1);
    expect(await ready).toBe(POLL_READABLE);
    expect(oldCalls).toBe(0);
    native.close(reused);
  });

  it('closes a watched fd from inside its own callback', async () => {
    const fd = native.eventfd(1);
    let calls = 0;
    await new Promise<void>((resolve) => {
      native.watch(fd, POLL_READABLE, () => {
        calls++;
        native.close(fd);
        resolve();
      });
    });
    await turns();
    expect(calls).toBe(1);
    expect(() => native.close(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('refuses a closed fd (EBADF) and a regular file (EPERM: epoll cannot watch it)', () => {
    const fd = native.eventfd();
    native.close(fd);
    expect(() => native.watch(fd, POLL_READABLE, () => undefined)).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'native-vhost-'));
    const file = openSync(join(dir, 'f'), 'w');
    expect(() => native.watch(file, POLL_READABLE, () => undefined)).toThrow(
      expect.objectContaining({ code: 'EPERM', syscall: 'poll' }),
    );
    expect(native.unwatch(file)).toBe(false);
    closeSync(file);
    rmSync(dir, { recursive: true });
    expect(() => native.watch(0, 8, () => undefined)).toThrow(RangeError);
  });

  it("hands a callback's exception to uncaughtException, never into the addon", () => {
    const addon = fileURLToPath(new URL('../build/Release/vhost_native.node', import.meta.url));
    const script = `
      const native = require(${JSON.stringify(addon)});
      const fd = native.eventfd(1);
      let calls = 0;
      process.on('uncaughtException', (e) => {
        console.log('caught ' + e.message + ' after ' + calls + ' call');
        native.close(fd);
      });
      native.watch(fd, 1, () => { calls++; throw new Error('boom'); });
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('caught boom after 1 call');
    expect(run.status).toBe(0);
  }, 30_000);
});

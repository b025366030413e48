import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../src/index.js';

const native = loadNative();
const addon = fileURLToPath(new URL('../build/Release/vhost_native.node', import.meta.url));

/** Runs `body` in a worker that has the addon as `native` and the fds in `workerData`. */
function inWorker(body: string, workerData: unknown): Worker {
  return new Worker(`const native = require(${JSON.stringify(addon)});\n${body}`, {
    eval: true,
    workerData,
  });
}

describe('the addon in worker threads (the data-plane design)', () => {
  it('a worker maps guest memory by fd number and rings a call eventfd the main thread watches', async () => {
    const page = native.pageSize;
    const mem = native.memfd('worker-ram', 2 * page);
    const call = native.eventfd();
    const main = new Uint8Array(native.mmap(mem, 0, 2 * page));
    const called = new Promise<number>((resolve) => {
      native.watch(call, 1, (_error, events) => {
        native.unwatch(call);
        resolve(events);
      });
    });
    const worker = inWorker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const ab = native.mmap(workerData.mem, workerData.page, workerData.page);
       new Uint8Array(ab)[7] = 0x77;
       native.munmap(ab);
       native.eventfdWrite(workerData.call, 1);
       parentPort.postMessage('done');`,
      { mem, call, page },
    );
    const done = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    expect(done).toBe('done');
    expect(await called).toBe(1);
    expect(main[page + 7]).toBe(0x77);
    expect(native.eventfdRead(call)).toBe(1n);
    await worker.terminate();
    native.munmap(main.buffer as ArrayBuffer);
    native.close(mem);
    native.close(call);
  });

  it('a worker torn down with live watches and mappings leaves the process healthy', async () => {
    const before = native.openFdCount();
    const worker = inWorker(
      `const { parentPort } = require('node:worker_threads');
       const fd = native.eventfd(0);
       native.watch(fd, 1, () => {});
       const mem = native.memfdCreate('left-mapped', 4096);
       globalThis.keep = native.mmap(mem, 0, 4096);
       native.close(mem);
       parentPort.postMessage(fd);`,
      {},
    );
    const fd = await new Promise<number>((resolve) => worker.once('message', resolve));
    expect(typeof fd).toBe('number');
    await worker.terminate();
    // The worker's fds are the process's: its eventfd stays open until closed, here.
    expect(native.openFdCount()).toBe(before + 1);
    native.close(fd);
    expect(native.openFdCount()).toBe(before);
    // The main thread's addon still works after the worker's environment went away.
    const probe = native.eventfd(3);
    expect(native.eventfdRead(probe)).toBe(3n);
    native.close(probe);
  });
});

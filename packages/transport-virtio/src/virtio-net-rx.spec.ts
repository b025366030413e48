import { DmaAllocator, GuestMemory, Iotlb, Iov, PooledVirtqueue, Vringh } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import type { RxBatch } from './net-interface.js';
import { NetRxQueue } from './virtio-net-rx.js';

const HDR = 12;
const NUM = 8;
const BUF = 128;

/** A receive queue over a pooled vq and the device side of its ring (a `Vringh`, identity IOTLB). */
function setup(options: { eventIdx?: boolean; accept?: boolean } = {}) {
  const mem = GuestMemory.create({ size: 1 << 16 });
  const dma = new DmaAllocator(mem);
  const kicks: number[] = [];
  const eventIdx = options.eventIdx ?? false;
  const vq = PooledVirtqueue.create(mem, dma, {
    index: 0,
    num: NUM,
    eventIdx,
    bufSize: BUF,
    writable: true,
    notify: (q) => kicks.push(q.availIdx),
  });
  const batches: string[][] = [];
  const sink = (b: RxBatch): boolean => {
    const frames: string[] = [];
    for (let i = 0; i < b.count; i++) {
      frames.push(Buffer.from(b.data[i].subarray(b.offsets[i], b.offsets[i] + b.lengths[i])).toString());
    }
    batches.push(frames);
    return options.accept ?? true;
  };
  const rx = NetRxQueue.create({ vq, pair: 3, hdrLen: HDR, sink });
  const dev = new Vringh();
  const { descAddr, availAddr, usedAddr } = vq.deviceLayout;
  dev.init({ num: NUM, descAddr, availAddr, usedAddr, eventIdx, mem, iotlb: Iotlb.identity() });
  const wiov = new Iov();
  /** The device writes a zero header and `text` into the next available buffer. */
  const receive = (text: string, len = HDR + text.length): void => {
    const head = dev.getdesc(null, wiov);
    if (head < 0) throw new Error('no receive buffer');
    const bytes = new Uint8Array(HDR + text.length);
    bytes.set(Buffer.from(text), HDR);
    dev.push(wiov, bytes);
    dev.complete(head, len);
  };
  return { mem, vq, rx, dev, kicks, batches, receive };
}

const frame = (n: number): string => `frame ${n} ${'.'.repeat(20)}`;

describe('NetRxQueue', () => {
  it('posts every buffer with one avail index store and kicks when the device asks', () => {
    const { vq, rx, dev, kicks } = setup();
    rx.refill();
    expect(dev.availIdx()).toBe(NUM);
    expect(vq.numFree).toBe(0);
    expect(kicks).toEqual([NUM]);
    expect(rx.counters.kicks).toBe(1);
    // Nothing free: no post, no kick decision.
    rx.refill();
    expect(kicks).toHaveLength(1);
  });

  it('delivers what the device wrote as one batch, header stripped, and reposts the buffers', () => {
    const { rx, dev, batches, receive } = setup();
    rx.refill();
    receive(frame(1));
    receive(frame(2));
    expect(rx.poll()).toBe(2);
    expect(batches).toEqual([[frame(1), frame(2)]]);
    expect(rx.batch.queue).toBe(3);
    expect(rx.counters.snapshot()).toMatchObject({ kind: 'rx', packets: 2, bytes: 2 * frame(1).length });
    // Both buffers are available again, in ring order after the first eight.
    expect(dev.availIdx()).toBe(NUM + 2);
    expect(rx.poll()).toBe(0);
  });

  it('counts a frame shorter than a header and an Ethernet header as an error, and drops a refused batch', () => {
    const { rx, batches, receive } = setup({ accept: false });
    rx.refill();
    receive('short', HDR + 5);
    receive(frame(1));
    expect(rx.poll()).toBe(1);
    expect(batches).toEqual([[frame(1)]]);
    expect(rx.counters.snapshot()).toMatchObject({ packets: 1, errors: 1, drops: 1 });
  });

  it('takes every used buffer around the ring, a full ring per batch at most', () => {
    const { rx, batches, receive } = setup();
    rx.refill();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < NUM; i++) receive(frame(round * NUM + i));
      expect(rx.poll()).toBe(NUM);
    }
    expect(batches.flat()).toEqual(Array.from({ length: 3 * NUM }, (_, i) => frame(i)));
  });

  it('throws EIO for a used length beyond the buffer and for a used id not in flight', () => {
    const { rx, dev } = setup();
    rx.refill();
    const wiov = new Iov();
    const head = dev.getdesc(null, wiov);
    dev.complete(head, BUF + 1);
    expect(() => rx.poll()).toThrow(/used len 129 is beyond the 128 writable bytes of id 0/);
    expect(() => rx.poll()).toThrow(/broken/);

    const other = setup();
    other.rx.poll();
    // Nothing was posted: any used element is a lie.
    other.dev.complete(0, 20);
    expect(() => other.rx.poll()).toThrow(expect.objectContaining({ code: 'EIO' }));
  });

  it('re-enables callbacks after the last batch, and polls again when buffers arrived meanwhile', () => {
    const { vq, rx, receive } = setup({ eventIdx: true });
    rx.refill();
    receive(frame(1));
    expect(rx.poll()).toBe(1);
    // used_event follows the last used index: the device interrupts for the next buffer.
    expect(vq.moreUsed()).toBe(false);
    receive(frame(2));
    expect(vq.moreUsed()).toBe(true);
    expect(rx.poll()).toBe(1);
  });

  it('stops polling once destroyed, and refuses a pool that is not writable', () => {
    const { mem, rx, receive } = setup();
    rx.refill();
    receive(frame(1));
    rx.destroy();
    expect(rx.poll()).toBe(0);
    const dma = new DmaAllocator(mem, { base: 0x8000 });
    const tx = PooledVirtqueue.create(mem, dma, {
      index: 1,
      num: 4,
      eventIdx: false,
      bufSize: BUF,
      writable: false,
      notify: () => undefined,
    });
    expect(() => NetRxQueue.create({ vq: tx, pair: 0, hdrLen: HDR, sink: () => true })).toThrow(
      /device-writable/,
    );
  });
});

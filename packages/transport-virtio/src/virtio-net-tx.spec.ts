import { VIRTQ_USED_F_NO_NOTIFY } from '@vdpa-kit/virtio-spec';
import { DmaAllocator, GuestMemory, Iotlb, Iov, PooledVirtqueue, Vringh, VringError } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { NetTxQueue } from './virtio-net-tx.js';

const HDR = 12;
const NUM = 8;
const BUF = 128;
const MAX_FRAME = BUF - HDR;

/** A transmit queue over a pooled vq and the device side of its ring (a `Vringh`, identity IOTLB). */
function setup(options: { eventIdx?: boolean } = {}) {
  const mem = GuestMemory.create({ size: 1 << 16 });
  const dma = new DmaAllocator(mem);
  const kicks: number[] = [];
  const vq = PooledVirtqueue.create(mem, dma, {
    index: 1,
    num: NUM,
    eventIdx: options.eventIdx ?? false,
    bufSize: BUF,
    writable: false,
    notify: (q) => kicks.push(q.availIdx),
  });
  // Stale bytes where the headers go: the queue must zero them.
  mem.regions()[0].bytes.fill(0xee, vq.bufferAddr(0), vq.bufferAddr(0) + NUM * vq.bufStride);
  const tx = NetTxQueue.create({ vq, hdrLen: HDR, maxFrame: MAX_FRAME });
  const dev = new Vringh();
  const { descAddr, availAddr, usedAddr } = vq.deviceLayout;
  dev.init({
    num: NUM,
    descAddr,
    availAddr,
    usedAddr,
    eventIdx: options.eventIdx ?? false,
    mem,
    iotlb: Iotlb.identity(),
  });
  const riov = new Iov();
  /** The device takes every available chain and completes it with `len`; returns the chains' bytes. */
  const drain = (len = 0): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let head = dev.getdesc(riov, null); head >= 0; head = dev.getdesc(riov, null)) {
      const bytes = new Uint8Array(riov.totalLength);
      dev.pull(riov, bytes);
      out.push(bytes);
      dev.complete(head, len);
    }
    return out;
  };
  return { mem, vq, tx, dev, kicks, drain };
}

function frame(n: number, len = 60): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (n * 17 + i) & 0xff);
}

describe('NetTxQueue', () => {
  it('makes the frames of a burst available with one avail index store at flush, header zeroed', () => {
    const { vq, tx, dev, kicks, drain } = setup();
    expect(tx.send(frame(1))).toBe(true);
    expect(tx.send(frame(2, 100))).toBe(true);
    // Nothing is published before the flush.
    expect(dev.availIdx()).toBe(0);
    expect(tx.freeSlots).toBe(NUM - 2);
    tx.flush();
    expect(vq.availIdx).toBe(2);
    expect(dev.availIdx()).toBe(2);
    expect(kicks).toEqual([2]);
    expect(tx.counters.kicks).toBe(1);
    const chains = drain();
    expect(chains.map((c) => c.length)).toEqual([HDR + 60, HDR + 100]);
    expect([...chains[0].subarray(0, HDR)]).toEqual(new Array<number>(HDR).fill(0));
    expect(chains[0].subarray(HDR)).toEqual(frame(1));
    expect(chains[1].subarray(HDR)).toEqual(frame(2, 100));
    // A flush with nothing queued decides nothing.
    tx.flush();
    expect(kicks).toHaveLength(1);
  });

  it('counts completed frames and their bytes when it reclaims', () => {
    const { tx, drain } = setup();
    tx.send(frame(1, 60));
    tx.send(frame(2, 80));
    tx.flush();
    drain();
    expect(tx.reclaim()).toBe(2);
    expect(tx.counters.snapshot()).toMatchObject({ queue: 1, kind: 'tx', packets: 2, bytes: 140 });
    expect(tx.reclaim()).toBe(0);
    expect(tx.freeSlots).toBe(NUM);
  });

  it('uses the slots in ring order across the wrap', () => {
    const { tx, drain } = setup();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) expect(tx.send(frame(round * 5 + i))).toBe(true);
      tx.flush();
      const chains = drain();
      expect(chains.map((c) => c.subarray(HDR))).toEqual([0, 1, 2, 3, 4].map((i) => frame(round * 5 + i)));
      expect(tx.reclaim()).toBe(5);
    }
  });

  it('on a full ring reclaims, then flushes and reclaims, then drops', () => {
    const { tx, drain } = setup();
    for (let i = 0; i < NUM; i++) expect(tx.send(frame(i))).toBe(true);
    expect(tx.freeSlots).toBe(0);
    // Full: the send flushes the pending frames (the device takes them only later) and drops.
    expect(tx.send(frame(99))).toBe(false);
    expect(tx.counters.drops).toBe(1);
    expect(tx.counters.kicks).toBe(1);
    drain();
    // Completed but not reclaimed: the next send reclaims first.
    expect(tx.send(frame(100))).toBe(true);
    expect(tx.counters.packets).toBe(NUM);
  });

  it('kicks only when the device asks: NO_NOTIFY without EVENT_IDX, avail_event with it', () => {
    const plain = setup();
    plain.mem.writeU16(plain.vq.layout.usedAddr, VIRTQ_USED_F_NO_NOTIFY);
    plain.tx.send(frame(1));
    plain.tx.flush();
    expect(plain.kicks).toEqual([]);

    const ev = setup({ eventIdx: true });
    ev.tx.send(frame(1));
    ev.tx.flush();
    expect(ev.kicks).toEqual([1]);
    // avail_event stays 0: the device asked for a kick once index 0 was passed, and it was.
    ev.tx.send(frame(2));
    ev.tx.flush();
    expect(ev.kicks).toEqual([1]);
    ev.dev.notifyEnable();
    ev.drain();
    ev.dev.notifyEnable();
    ev.tx.send(frame(3));
    ev.tx.flush();
    expect(ev.kicks).toEqual([1, 3]);
  });

  it('throws EIO when the device breaks the ring protocol, and on every call after', () => {
    const { tx, dev } = setup();
    tx.send(frame(1));
    tx.flush();
    const riov = new Iov();
    const head = dev.getdesc(riov, null);
    // A transmit buffer is read-only for the device: a used length other than 0 is a lie.
    dev.complete(head, 5);
    expect(() => tx.reclaim()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(() => tx.send(frame(2))).toThrow(VringError);
    expect(() => tx.reclaim()).toThrow(/broken/);

    const other = setup();
    other.tx.send(frame(1));
    other.tx.flush();
    // A used id that was never made available.
    other.dev.complete(3, 0);
    expect(() => other.tx.reclaim()).toThrow(/used id 3 is not in flight/);
  });

  it('refuses a frame of 0 bytes or beyond maxFrame, and a pool that cannot carry the frames', () => {
    const { mem, tx } = setup();
    expect(() => tx.send(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => tx.send(new Uint8Array(MAX_FRAME + 1))).toThrow(`frame of ${MAX_FRAME + 1} bytes`);
    const dma = new DmaAllocator(mem, { base: 0x8000 });
    const rx = PooledVirtqueue.create(mem, dma, {
      index: 0,
      num: 4,
      eventIdx: false,
      bufSize: BUF,
      writable: true,
      notify: () => undefined,
    });
    expect(() => NetTxQueue.create({ vq: rx, hdrLen: HDR, maxFrame: 60 })).toThrow(/device-readable/);
    const small = PooledVirtqueue.create(mem, dma, {
      index: 1,
      num: 4,
      eventIdx: false,
      bufSize: 64,
      writable: false,
      notify: () => undefined,
    });
    expect(() => NetTxQueue.create({ vq: small, hdrLen: HDR, maxFrame: 60 })).toThrow(/72 bytes/);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { GuestMemory } from './guest-memory.js';
import { DmaAllocator, type DmaAllocatorOptions } from './dma-allocator.js';
import { PooledVirtqueue } from './pooled-virtqueue.js';
import type { PooledVirtqueueOptions } from './pooled-virtqueue-options.js';
import { Virtqueue } from './virtqueue.js';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  vringAvailSize,
  vringDescSize,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import type { SplitRingLayout } from './split-ring-layout.js';
import { FakeDevice } from '../test/fake-device.js';
import { errorOf } from '../test/error-of.js';

const MEM_SIZE = 1 << 16;
const U16_MASK = 0xffff;
const DMA_OFFSET = 0x1000_0000;

interface Side {
  mem: GuestMemory;
  dma: DmaAllocator;
  vq: PooledVirtqueue;
  dev: FakeDevice;
  /** `vq.availIdx` at each notify. */
  kicks: number[];
  /** `avail.idx` in ring memory at each notify: what the device would see. */
  seen: number[];
  /** `vq.lastUsedIdx` at each callback. */
  callbacks: number[];
}

/** One pooled queue (default: TX, num 4, 256-byte buffers) over its own memory, with a fake device. */
function side(
  options: Partial<PooledVirtqueueOptions> = {},
  dmaOptions: DmaAllocatorOptions = {},
  onNotify?: (q: PooledVirtqueue) => void,
): Side {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const dma = new DmaAllocator(mem, dmaOptions);
  const kicks: number[] = [];
  const seen: number[] = [];
  const callbacks: number[] = [];
  const vq = PooledVirtqueue.create(mem, dma, {
    index: 0,
    num: 4,
    eventIdx: false,
    bufSize: 256,
    writable: false,
    notify: (q) => {
      kicks.push(q.availIdx);
      seen.push(mem.readU16(q.layout.availAddr + 2));
      onNotify?.(q);
    },
    callback: (q) => callbacks.push(q.lastUsedIdx),
    ...options,
  });
  return {
    mem,
    dma,
    vq,
    dev: new FakeDevice(mem, vq.layout, options.initialIdx ?? 0),
    kicks,
    seen,
    callbacks,
  };
}

interface Desc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}

function readDesc(mem: GuestMemory, layout: SplitRingLayout, i: number): Desc {
  const d = layout.descAddr + 16 * i;
  return {
    addr: mem.readU64(d),
    len: mem.readU32(d + 8),
    flags: mem.readU16(d + 12),
    next: mem.readU16(d + 14),
  };
}

function availIdxInMem(s: Side): number {
  return s.mem.readU16(s.vq.layout.availAddr + 2);
}

function availEntry(s: Side, i: number): number {
  return s.mem.readU16(s.vq.layout.availAddr + 4 + 2 * i);
}

function usedIdxInMem(s: Side): number {
  return s.mem.readU16(s.vq.layout.usedAddr + 2);
}

/** Writes the used index directly, as a device that does not follow the protocol would. */
function setUsedIdx(s: Side, idx: number): void {
  s.mem.writeU16(s.vq.layout.usedAddr + 2, idx & U16_MASK);
}

/** The device address of buffer `slot` (what its descriptor must hold). */
function devAddr(s: Side, slot: number): number {
  return s.vq.bufferAddr(slot) + s.dma.dmaOffset;
}

function inFlightSlots(vq: PooledVirtqueue): number[] {
  const out: number[] = [];
  for (let i = 0; i < vq.num; i++) if (vq.inFlight(i)) out.push(i);
  return out;
}

/** `len` bytes of test data, deterministic in `seed` and `slot`. */
function frame(seed: number, slot: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed * 31 + slot * 7 + i * 13 + 1) & 0xff;
  return out;
}

/** Expects `fn` to throw a VringError with this code and message. */
function expectError(fn: () => unknown, code: string, message: string): void {
  const err = errorOf(fn);
  expect([err.code, err.message]).toEqual([code, message]);
}

const good: PooledVirtqueueOptions = {
  index: 0,
  num: 4,
  eventIdx: false,
  bufSize: 256,
  writable: false,
  notify: () => {},
};

describe('PooledVirtqueue.create', () => {
  function expectCreateRejected(options: Partial<PooledVirtqueueOptions>, message: string): void {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const dma = new DmaAllocator(mem);
    const before = dma.available();
    expectError(() => PooledVirtqueue.create(mem, dma, { ...good, ...options }), 'EINVAL', message);
    expect(dma.available()).toBe(before);
  }

  it.each([-1, 1.5, Number.NaN, 2 ** 53])('rejects index %s with EINVAL', (index) => {
    expectCreateRejected({ index }, `virtqueue index ${index} is not a non-negative integer`);
  });

  it.each([
    [3, 'queue size 3 is not a power of two'],
    [6, 'queue size 6 is not a power of two'],
    [0, 'queue size 0 is not in 1..32768'],
    [65536, 'queue size 65536 is not in 1..32768'],
    [1.5, 'queue size 1.5 is not in 1..32768'],
  ])('rejects num %s with EINVAL', (num, message) => {
    expectCreateRejected({ num }, message);
  });

  it.each([0, 1.5, 2 ** 31, -1, Number.NaN])('rejects bufSize %s with EINVAL', (bufSize) => {
    expectCreateRejected({ bufSize }, `buffer size ${bufSize} is not in 1..2147483647`);
  });

  it.each([3, 0, -4, 1.5, 96, 2 ** 31])('rejects bufAlign %s with EINVAL', (bufAlign) => {
    expectCreateRejected({ bufAlign }, `buffer alignment ${bufAlign} is not a power of two`);
  });

  it.each([-1, 65536, 1.5])('rejects initialIdx %s with EINVAL', (initialIdx) => {
    expectCreateRejected({ initialIdx }, `initial ring index ${initialIdx} is not a u16`);
  });

  it('throws ENOMEM with nothing left allocated when the pool does not fit', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    // The rings of num 4 take a few hundred bytes; a pool of 4 * 256 does not fit beside them.
    const dma = new DmaAllocator(mem, { size: 1024 });
    const before = dma.available();
    expect(before).toBe(1024);
    const err = errorOf(() => PooledVirtqueue.create(mem, dma, good));
    expect(err.code).toBe('ENOMEM');
    expect(dma.available()).toBe(before);
    // The rings alone fit: nothing leaked, a smaller pool is then accepted.
    const vq = PooledVirtqueue.create(mem, dma, { ...good, bufSize: 64 });
    expect(dma.available()).toBeLessThan(before);
    vq.destroy();
    expect(dma.available()).toBe(before);
  });

  it('throws ENOMEM with nothing left allocated when even the rings do not fit', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const dma = new DmaAllocator(mem, { size: 48 });
    expect(errorOf(() => PooledVirtqueue.create(mem, dma, good)).code).toBe('ENOMEM');
    expect(dma.available()).toBe(48);
    // In the legacy contiguous layout too.
    expect(errorOf(() => PooledVirtqueue.create(mem, dma, { ...good, align: 4096 })).code).toBe('ENOMEM');
    expect(dma.available()).toBe(48);
  });

  describe.each([
    { dmaOffset: 0, writable: false },
    { dmaOffset: 0, writable: true },
    { dmaOffset: DMA_OFFSET, writable: false },
    { dmaOffset: DMA_OFFSET, writable: true },
  ])('with dmaOffset $dmaOffset, writable $writable', ({ dmaOffset, writable }) => {
    it('binds descriptor i to buffer i and fills the avail ring with 0..num-1', () => {
      const s = side({ num: 8, bufSize: 100, writable }, { dmaOffset });
      const { vq } = s;
      expect(vq.bufSize).toBe(100);
      expect(vq.writable).toBe(writable);
      expect(vq.bufStride).toBe(128);
      expect(vq.poolAddr % 64).toBe(0);
      for (let i = 0; i < 8; i++) {
        expect(vq.bufferAddr(i)).toBe(vq.poolAddr + 128 * i);
        expect(readDesc(s.mem, vq.layout, i)).toEqual({
          addr: vq.bufferAddr(i) + dmaOffset,
          len: 100,
          flags: writable ? VIRTQ_DESC_F_WRITE : 0,
          next: 0,
        });
        expect(availEntry(s, i)).toBe(i);
      }
      expect(vq.deviceLayout).toEqual({
        num: 8,
        descAddr: vq.layout.descAddr + dmaOffset,
        availAddr: vq.layout.availAddr + dmaOffset,
        usedAddr: vq.layout.usedAddr + dmaOffset,
      });
      expect(availIdxInMem(s)).toBe(0);
      expect(usedIdxInMem(s)).toBe(0);
      expect(s.dev.availFlags()).toBe(0);
      expect([vq.numFree, vq.freeRun(), vq.nextSlot, vq.availIdx, vq.lastUsedIdx]).toEqual([8, 8, 0, 0, 0]);
      expect(vq.isBroken).toBe(false);
      expect(inFlightSlots(vq)).toEqual([]);
      expect(s.dev.pop()).toBeUndefined();
    });
  });

  it('zeroes the rings over dirty memory and starts every index at initialIdx', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    mem.fill(0, MEM_SIZE, 0xa5);
    const dma = new DmaAllocator(mem);
    const vq = PooledVirtqueue.create(mem, dma, { ...good, num: 8, eventIdx: true, initialIdx: 65533 });
    const { availAddr, usedAddr } = vq.layout;
    expect(mem.readU16(availAddr)).toBe(0); // avail.flags
    expect(mem.readU16(availAddr + 2)).toBe(65533);
    expect(mem.readU16(availAddr + 4 + 2 * 8)).toBe(65533); // used_event
    expect(mem.readU16(usedAddr)).toBe(0); // used.flags
    expect(mem.readU16(usedAddr + 2)).toBe(65533);
    expect(mem.readU16(usedAddr + 4 + 8 * 8)).toBe(65533); // avail_event
    for (let i = 0; i < 8; i++)
      expect([mem.readU32(usedAddr + 4 + 8 * i), mem.readU32(usedAddr + 8 + 8 * i)]).toEqual([0, 0]);
    expect([vq.availIdx, vq.lastUsedIdx, vq.nextSlot, vq.numFree, vq.freeRun()]).toEqual([
      65533, 65533, 5, 8, 8,
    ]);
  });

  it.each([
    [100, undefined, 128],
    [64, undefined, 64],
    [65, undefined, 128],
    [1, 1, 1],
    [3, 4, 4],
    [5, 4, 8],
    [1, 2, 2],
    [4096, 4096, 4096],
    [4097, 16, 4112],
  ])('bufSize %s with bufAlign %s has stride %s, every buffer aligned', (bufSize, bufAlign, stride) => {
    const s = side({ bufSize, ...(bufAlign === undefined ? {} : { bufAlign }) });
    const align = bufAlign ?? 64;
    expect(s.vq.bufStride).toBe(stride);
    for (let i = 0; i < 4; i++) {
      expect(s.vq.bufferAddr(i)).toBe(s.vq.poolAddr + i * stride);
      expect(s.vq.bufferAddr(i) % align).toBe(0);
      expect(readDesc(s.mem, s.vq.layout, i).addr).toBe(s.vq.poolAddr + i * stride);
    }
  });

  it('bufferOffset indexes vq.bytes at the buffer, in a region that is not at gpa 0 nor at buffer offset 0', () => {
    const mem = GuestMemory.create({ size: 0x1000 });
    const backing = new ArrayBuffer(0x10000);
    const regionGpa = 0x8000_0000;
    mem.addRegion(regionGpa, backing, 0x1000, 0x8000);
    const dma = new DmaAllocator(mem, { base: regionGpa });
    const vq = PooledVirtqueue.create(mem, dma, { ...good, num: 4, bufSize: 100 });
    expect(vq.bytes).toBe(mem.regionOf(regionGpa, 1).bytes);
    expect(vq.poolAddr).toBeGreaterThanOrEqual(regionGpa);
    for (let i = 0; i < 4; i++) {
      expect(vq.bufferOffset(i)).toBe(vq.bufferAddr(i) - regionGpa);
      vq.bytes.set(frame(1, i, 100), vq.bufferOffset(i));
    }
    for (let i = 0; i < 4; i++) {
      expect(mem.view(vq.bufferAddr(i), 100)).toEqual(frame(1, i, 100));
      // The same bytes in the backing buffer, past the region's own offset.
      expect(new Uint8Array(backing, 0x1000 + vq.bufferOffset(i), 100)).toEqual(frame(1, i, 100));
    }
  });
});

describe('post', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Everything a rejected post must leave as it was. */
  function state(s: Side): unknown {
    return {
      mem: availIdxInMem(s),
      availIdx: s.vq.availIdx,
      freeRun: s.vq.freeRun(),
      numFree: s.vq.numFree,
      inFlight: inFlightSlots(s.vq),
      kicks: [...s.kicks],
    };
  }

  it.each([
    [-1, undefined, 'post count -1 is not an integer in 0..4'],
    [1.5, undefined, 'post count 1.5 is not an integer in 0..4'],
    [Number.NaN, undefined, 'post count NaN is not an integer in 0..4'],
    [5, undefined, 'post count 5 is not an integer in 0..4'],
    [3, [10, 10], 'post count 3 is not an integer in 0..2'],
    [5, [1, 1, 1, 1, 1, 1], 'post count 5 is not an integer in 0..4'],
  ])('rejects count %s (lens %j) with EINVAL', (count, lens, message) => {
    const s = side();
    const before = state(s);
    expectError(() => s.vq.post(count, lens), 'EINVAL', message);
    expect(state(s)).toEqual(before);
  });

  describe.each([false, true])('writable %s', (writable) => {
    it.each([
      [[10, 0, 10], 'buffer length 0 is not in 1..256 (post element 1)'],
      [[10, 20, 257], 'buffer length 257 is not in 1..256 (post element 2)'],
      [[1.5], 'buffer length 1.5 is not in 1..256 (post element 0)'],
      [[10, Number.NaN], 'buffer length NaN is not in 1..256 (post element 1)'],
      [[10, 10, -1], 'buffer length -1 is not in 1..256 (post element 2)'],
      [[2 ** 32 + 10], 'buffer length 4294967306 is not in 1..256 (post element 0)'],
    ])('rejects lens %j with EINVAL and publishes nothing', (lens, message) => {
      const s = side({ writable });
      s.vq.post(1, [7]);
      expect(s.dev.pop()?.head).toBe(0);
      const before = state(s);
      expectError(() => s.vq.post(lens.length, lens), 'EINVAL', message);
      expect(state(s)).toEqual(before);
      expect(s.dev.pop()).toBeUndefined();
      // A following good post takes the same slots, with its own lengths.
      s.vq.post(3, [11, 12, 13]);
      expect(s.vq.availIdx).toBe(4);
      const chains = [s.dev.pop(), s.dev.pop(), s.dev.pop()];
      expect(s.dev.pop()).toBeUndefined();
      expect(chains.map((c) => c?.head)).toEqual([1, 2, 3]);
      expect(chains.map((c) => (writable ? c?.writable : c?.readable))).toEqual([
        [{ addr: devAddr(s, 1), len: 11 }],
        [{ addr: devAddr(s, 2), len: 12 }],
        [{ addr: devAddr(s, 3), len: 13 }],
      ]);
    });
  });

  it('offers whole buffers in a post without lengths after a post with a bad length', () => {
    const s = side();
    expectError(
      () => s.vq.post(3, [10, 20, 0]),
      'EINVAL',
      'buffer length 0 is not in 1..256 (post element 2)',
    );
    expect(s.vq.availIdx).toBe(0);
    s.vq.post(3);
    expect([0, 1, 2].map((i) => readDesc(s.mem, s.vq.layout, i).len)).toEqual([256, 256, 256]);
  });

  it('ignores lens elements past count', () => {
    const s = side();
    s.vq.post(2, [5, 6, 0, Number.NaN]);
    expect([readDesc(s.mem, s.vq.layout, 0).len, readDesc(s.mem, s.vq.layout, 1).len]).toEqual([5, 6]);
    expect(readDesc(s.mem, s.vq.layout, 2).len).toBe(256);
    expect(s.vq.availIdx).toBe(2);
  });

  it('throws ENOSPC, publishing nothing, when count > freeRun()', () => {
    const s = side();
    s.vq.post(3);
    const before = state(s);
    expectError(() => s.vq.post(2), 'ENOSPC', 'virtqueue 0: 1 buffers can be posted, not 2');
    expectError(() => s.vq.post(2, [1, 1]), 'ENOSPC', 'virtqueue 0: 1 buffers can be posted, not 2');
    expect(state(s)).toEqual(before);
    s.vq.post(1);
    expectError(() => s.vq.post(1), 'ENOSPC', 'virtqueue 0: 0 buffers can be posted, not 1');
    expect([s.vq.availIdx, s.vq.freeRun(), s.vq.numFree]).toEqual([4, 0, 0]);
  });

  it('checks the space before the lengths', () => {
    const s = side();
    s.vq.post(4);
    expectError(() => s.vq.post(1, [0]), 'ENOSPC', 'virtqueue 0: 0 buffers can be posted, not 1');
  });

  it('publishes avail.idx with one store, after the descriptor lengths, and the device sees the slots in order', () => {
    const s = side({ num: 8 });
    s.vq.post(3);
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) s.dev.use(c.head, 0);
    expect(s.vq.reclaim()).toBe(3);
    expect(s.vq.nextSlot).toBe(3);
    const view = s.mem.regionOf(0, 1).view;
    const idxOff = s.vq.layout.availAddr + 2;
    const set16 = vi.spyOn(DataView.prototype, 'setUint16');
    const set32 = vi.spyOn(DataView.prototype, 'setUint32');
    s.vq.post(5, [10, 20, 30, 40, 50]);
    const idxStores = set16.mock.calls
      .map((args, i) => ({ args, ctx: set16.mock.contexts[i], order: set16.mock.invocationCallOrder[i] }))
      .filter((c) => c.ctx === view && c.args[0] === idxOff);
    expect(idxStores.map((c) => c.args[1])).toEqual([8]);
    const lenStores = set32.mock.calls
      .map((args, i) => ({ args, ctx: set32.mock.contexts[i], order: set32.mock.invocationCallOrder[i] }))
      .filter((c) => c.ctx === view);
    expect(lenStores.map((c) => c.args[0])).toEqual(
      [3, 4, 5, 6, 7].map((slot) => s.vq.layout.descAddr + 16 * slot + 8),
    );
    expect(lenStores.map((c) => c.args[1])).toEqual([10, 20, 30, 40, 50]);
    for (const c of lenStores) expect(c.order).toBeLessThan(idxStores[0].order);
    vi.restoreAllMocks();
    const heads: number[] = [];
    const lens: number[] = [];
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) {
      heads.push(c.head);
      expect(c.writable).toEqual([]);
      expect(c.readable).toHaveLength(1);
      expect(c.readable[0].addr).toBe(devAddr(s, c.head));
      lens.push(c.readable[0].len);
    }
    expect(heads).toEqual([3, 4, 5, 6, 7]);
    expect(lens).toEqual([10, 20, 30, 40, 50]);
    expect([s.vq.availIdx, s.vq.nextSlot, s.vq.numFree, s.vq.freeRun()]).toEqual([8, 0, 3, 3]);
    expect(inFlightSlots(s.vq)).toEqual([3, 4, 5, 6, 7]);
    expect(s.kicks).toEqual([]);
  });

  it('a TX post writes each descriptor len, a post without lens restores bufSize', () => {
    const s = side();
    s.vq.post(3, [10, 20, 30]);
    expect([0, 1, 2, 3].map((i) => readDesc(s.mem, s.vq.layout, i).len)).toEqual([10, 20, 30, 256]);
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) s.dev.use(c.head, 0);
    expect(s.vq.reclaim()).toBe(3);
    s.vq.post(3); // slots 3, 0, 1
    expect([0, 1, 2, 3].map((i) => readDesc(s.mem, s.vq.layout, i).len)).toEqual([256, 256, 30, 256]);
    const segs = [s.dev.pop(), s.dev.pop(), s.dev.pop()].map((c) => [c?.head, c?.readable]);
    expect(segs).toEqual([
      [3, [{ addr: devAddr(s, 3), len: 256 }]],
      [0, [{ addr: devAddr(s, 0), len: 256 }]],
      [1, [{ addr: devAddr(s, 1), len: 256 }]],
    ]);
  });

  it('an RX post without lens after an RX post with lens restores len = bufSize and the limit', () => {
    const s = side({ writable: true });
    s.vq.post(4, [10, 20, 30, 40]);
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) s.dev.use(c.head, c.writable[0].len);
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    expect(s.vq.reap(slots, lens)).toBe(4);
    expect([...lens]).toEqual([10, 20, 30, 40]);
    s.vq.post(4);
    for (let i = 0; i < 4; i++) {
      expect(readDesc(s.mem, s.vq.layout, i)).toEqual({
        addr: devAddr(s, i),
        len: 256,
        flags: VIRTQ_DESC_F_WRITE,
        next: 0,
      });
    }
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) {
      expect(c.writable).toEqual([{ addr: devAddr(s, c.head), len: 256 }]);
      s.dev.use(c.head, 256);
    }
    expect(s.vq.reap(slots, lens)).toBe(4);
    expect([...slots]).toEqual([0, 1, 2, 3]);
    expect([...lens]).toEqual([256, 256, 256, 256]);
    expect(s.vq.isBroken).toBe(false);
  });

  it('post(0) publishes nothing visible', () => {
    const s = side({ initialIdx: 9 });
    const before = state(s);
    s.vq.post(0);
    s.vq.post(0, []);
    expect(state(s)).toEqual(before);
    expect(availIdxInMem(s)).toBe(9);
    expect(s.dev.pop()).toBeUndefined();
    expect(s.kicks).toEqual([]);
  });

  it('throws EIO on a broken or destroyed queue, even for count 0', () => {
    const s = side();
    s.vq.post(1);
    s.dev.use(3, 0);
    expectError(() => s.vq.reclaim(), 'EIO', 'virtqueue 0: used id 3 is not in flight');
    for (const count of [0, 1, -1]) expectError(() => s.vq.post(count), 'EIO', 'virtqueue 0 is broken');
    expect(s.vq.availIdx).toBe(1);
    s.vq.destroy();
    expectError(() => s.vq.post(1), 'EIO', 'virtqueue 0 is destroyed');
  });
});

describe.each([0, DMA_OFFSET])('round trip through the device (dmaOffset %s)', (dmaOffset) => {
  it('TX: frames written via bytes/bufferOffset reach the device; reclaim takes them back', () => {
    const s = side({ num: 4, bufSize: 64, writable: false }, { dmaOffset });
    const lens = [64, 1, 33, 17];
    for (let k = 0; k < 4; k++) s.vq.bytes.set(frame(5, k, lens[k]), s.vq.bufferOffset(k));
    s.vq.post(4, lens);
    expect(s.vq.kick()).toBe(true);
    expect(s.kicks).toEqual([4]);
    expect(s.seen).toEqual([4]);
    for (let k = 0; k < 4; k++) {
      const c = s.dev.pop();
      expect(c?.head).toBe(k);
      expect(c?.writable).toEqual([]);
      expect(c?.readable).toEqual([{ addr: s.vq.bufferAddr(k) + dmaOffset, len: lens[k] }]);
      const seg = c?.readable[0] ?? { addr: 0, len: 0 };
      expect(s.mem.view(seg.addr - dmaOffset, seg.len)).toEqual(frame(5, k, lens[k]));
      s.dev.use(k, 0);
    }
    expect(s.dev.pop()).toBeUndefined();
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([0, 0]);
    expect(s.vq.moreUsed()).toBe(true);
    expect(s.vq.reclaim()).toBe(4);
    expect(s.vq.reclaim()).toBe(0);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.lastUsedIdx]).toEqual([4, 4, 4]);
    expect(inFlightSlots(s.vq)).toEqual([]);
  });

  it('RX: the bytes the device writes are at bufferOffset(slot), reap gives slots and lens in used order', () => {
    const s = side({ num: 4, bufSize: 128, writable: true }, { dmaOffset });
    s.vq.post(4);
    const chains = [s.dev.pop(), s.dev.pop(), s.dev.pop(), s.dev.pop()];
    expect(chains.map((c) => c?.head)).toEqual([0, 1, 2, 3]);
    const order = [2, 0, 3, 1];
    const written = [50, 128, 0, 7];
    for (let k = 0; k < 4; k++) {
      const c = chains[order[k]];
      const seg = c?.writable[0] ?? { addr: 0, len: 0 };
      expect(seg).toEqual({ addr: s.vq.bufferAddr(order[k]) + dmaOffset, len: 128 });
      s.mem.write(seg.addr - dmaOffset, frame(9, order[k], written[k]));
      s.dev.use(order[k], written[k]);
    }
    const slots: number[] = [0, 0, 0, 0];
    const lens = new Uint32Array(4);
    expect(s.vq.reap(slots, lens)).toBe(4);
    expect(slots).toEqual(order);
    expect([...lens]).toEqual(written);
    for (let k = 0; k < 4; k++) {
      const off = s.vq.bufferOffset(slots[k]);
      expect(s.vq.bytes.subarray(off, off + lens[k])).toEqual(frame(9, slots[k], written[k]));
    }
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([4, 4]);
  });
});

describe('reap and reclaim bounds', () => {
  function usedAll(s: Side): void {
    for (let c = s.dev.pop(); c !== undefined; c = s.dev.pop()) s.dev.use(c.head, 0);
  }

  it('reap takes at most max, lens.length and slots.length', () => {
    const s = side({ num: 8 });
    s.vq.post(8);
    usedAll(s);
    const lens = new Uint32Array(8);
    expect(s.vq.reap(new Uint32Array(8), lens, 2)).toBe(2);
    expect(s.vq.reap(new Uint16Array(1), lens)).toBe(1);
    expect(s.vq.reap(new Uint16Array(8), new Uint32Array(2))).toBe(2);
    expect(s.vq.reap(new Uint16Array(8), lens, 1.9)).toBe(1);
    expect(s.vq.reap(new Uint16Array(8), lens, -3)).toBe(0);
    expect(s.vq.lastUsedIdx).toBe(6);
    const slots = new Uint16Array(8).fill(99);
    expect(s.vq.reap(slots, lens, 100)).toBe(2);
    expect([...slots]).toEqual([6, 7, 99, 99, 99, 99, 99, 99]);
  });

  it('reclaim takes at most max (floored), all by default', () => {
    const s = side({ num: 8 });
    s.vq.post(8);
    usedAll(s);
    expect(s.vq.reclaim(0)).toBe(0);
    expect(s.vq.reclaim(-1)).toBe(0);
    expect(s.vq.reclaim(2.7)).toBe(2);
    expect(s.vq.numFree).toBe(2);
    expect(s.vq.reclaim()).toBe(6);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.lastUsedIdx]).toEqual([8, 8, 8]);
  });
});

describe('out-of-order use', () => {
  it('the oldest buffer in flight holds back posting past its slot', () => {
    const s = side({ num: 4, writable: true });
    s.vq.post(4);
    for (let k = 0; k < 4; k++) s.dev.pop();
    s.dev.use(1, 11);
    s.dev.use(2, 22);
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    expect(s.vq.reap(slots, lens)).toBe(2);
    expect([...slots.subarray(0, 2)]).toEqual([1, 2]);
    expect([...lens.subarray(0, 2)]).toEqual([11, 22]);
    expect(s.vq.numFree).toBe(2);
    expect(s.vq.freeRun()).toBe(0);
    expect([s.vq.inFlight(0), s.vq.inFlight(1), s.vq.inFlight(2), s.vq.inFlight(3)]).toEqual([
      true,
      false,
      false,
      true,
    ]);
    expectError(
      () => s.vq.post(1),
      'ENOSPC',
      'virtqueue 0: 0 buffers can be posted, not 1; slot 0 is still in flight',
    );
    expect(s.vq.availIdx).toBe(4);
    s.dev.use(0, 0);
    expect(s.vq.reap(slots, lens)).toBe(1);
    expect([slots[0], lens[0]]).toEqual([0, 0]);
    // Positions 0, 1, 2 are back; position 3 (slot 3) is the oldest in flight: 4 - (4 - 3) = 3.
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([3, 3, 0]);
    expectError(() => s.vq.post(4), 'ENOSPC', 'virtqueue 0: 3 buffers can be posted, not 4');
    s.vq.post(3, [5, 6, 7]);
    const chains = [s.dev.pop(), s.dev.pop(), s.dev.pop()];
    expect(s.dev.pop()).toBeUndefined();
    expect(chains.map((c) => [c?.head, c?.writable[0]?.len])).toEqual([
      [0, 5],
      [1, 6],
      [2, 7],
    ]);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot, s.vq.availIdx]).toEqual([0, 0, 3, 7]);
    // Slot 3 completes last: then everything is free again.
    s.dev.use(3, 3);
    s.dev.use(2, 7);
    s.dev.use(1, 6);
    s.dev.use(0, 5);
    expect(s.vq.reap(slots, lens)).toBe(4);
    expect([...slots]).toEqual([3, 2, 1, 0]);
    expect([...lens]).toEqual([3, 7, 6, 5]);
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([4, 4]);
  });

  it('a held slot that is not the next one: numFree counts it, freeRun stops before it', () => {
    const s = side({ num: 8 });
    s.vq.post(8);
    for (const id of [0, 1, 2, 4, 5, 7]) s.dev.use(id, 0);
    expect(s.vq.reclaim()).toBe(6);
    // Slots 3 and 6 in flight; 0, 1, 2 are free in ring order from nextSlot 0.
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([6, 3, 0]);
    expectError(
      () => s.vq.post(4),
      'ENOSPC',
      'virtqueue 0: 3 buffers can be posted, not 4; slot 3 is still in flight',
    );
    s.vq.post(3);
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([3, 0]);
    s.dev.use(3, 0);
    expect(s.vq.reclaim()).toBe(1);
    // Oldest in flight is now slot 6 (position 6): 8 - (11 - 6) = 3: slots 3, 4, 5.
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([4, 3, 3]);
    s.dev.use(6, 0);
    expect(s.vq.reclaim()).toBe(1);
    // Oldest in flight is position 8 (slot 0, posted again): 8 - (11 - 8) = 5.
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([5, 5]);
  });

  it('in one reap, a use of the oldest after uses ahead of it frees them all', () => {
    const s = side({ num: 4 });
    s.vq.post(4);
    s.dev.use(2, 0);
    s.dev.use(1, 0);
    s.dev.use(0, 0);
    expect(s.vq.reclaim()).toBe(3);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([3, 3, 0]);
    s.vq.post(3);
    expect(inFlightSlots(s.vq)).toEqual([0, 1, 2, 3]);
  });

  it('interleaves across the u16 wrap', () => {
    const s = side({ num: 4, writable: true, initialIdx: 65534 });
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    s.vq.post(4); // positions 65534, 65535, 0, 1: slots 2, 3, 0, 1
    expect(s.vq.availIdx).toBe(2);
    const heads = [s.dev.pop(), s.dev.pop(), s.dev.pop(), s.dev.pop()].map((c) => c?.head);
    expect(heads).toEqual([2, 3, 0, 1]);
    s.dev.use(3, 3);
    s.dev.use(0, 10);
    expect(s.vq.reap(slots, lens)).toBe(2);
    expect([...slots.subarray(0, 2), ...lens.subarray(0, 2)]).toEqual([3, 0, 3, 10]);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([2, 0, 2]);
    expectError(
      () => s.vq.post(1),
      'ENOSPC',
      'virtqueue 0: 0 buffers can be posted, not 1; slot 2 is still in flight',
    );
    s.dev.use(2, 2);
    expect(s.vq.reap(slots, lens)).toBe(1);
    // Positions 65534, 65535 and 0 are back; position 1 (slot 1) is in flight: 4 - (2 - 1) = 3.
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot, s.vq.lastUsedIdx]).toEqual([3, 3, 2, 1]);
    s.vq.post(3);
    expect([s.dev.pop(), s.dev.pop(), s.dev.pop()].map((c) => c?.head)).toEqual([2, 3, 0]);
    expect(s.vq.availIdx).toBe(5);
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([0, 0]);
    s.dev.use(1, 1);
    s.dev.use(0, 0);
    s.dev.use(3, 30);
    expect(s.vq.reap(slots, lens, 2)).toBe(2);
    expect([...slots.subarray(0, 2)]).toEqual([1, 0]);
    // Oldest is position 2 (slot 2): 4 - (5 - 2) = 1.
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([2, 1, 1]);
    expect(s.vq.reap(slots, lens)).toBe(1);
    expect([slots[0], lens[0]]).toEqual([3, 30]);
    expect([s.vq.numFree, s.vq.freeRun()]).toEqual([3, 1]);
    s.dev.use(2, 200);
    expect(s.vq.reap(slots, lens)).toBe(1);
    expect([s.vq.numFree, s.vq.freeRun(), s.vq.lastUsedIdx]).toEqual([4, 4, 5]);
  });
});

describe('bad device writes', () => {
  function expectBroken(s: Side, fn: () => unknown, message: string): void {
    expect(s.vq.isBroken).toBe(false);
    expectError(fn, 'EIO', message);
    expect(s.vq.isBroken).toBe(true);
    expectError(() => s.vq.reclaim(), 'EIO', 'virtqueue 0 is broken');
    expectError(() => s.vq.reap(new Uint16Array(4), new Uint32Array(4)), 'EIO', 'virtqueue 0 is broken');
    expectError(() => s.vq.post(0), 'EIO', 'virtqueue 0 is broken');
    expectError(() => s.vq.kick(), 'EIO', 'virtqueue 0 is broken');
  }

  it('a used idx ahead of avail idx', () => {
    const s = side();
    s.vq.post(2);
    setUsedIdx(s, 3);
    expectBroken(s, () => s.vq.reclaim(), 'virtqueue 0: used idx 3 is ahead of avail idx 2 (last used 0)');
  });

  it('a used idx ahead of avail idx, even for max 0', () => {
    const s = side({ index: 5, initialIdx: 65535 });
    setUsedIdx(s, 0);
    expectError(
      () => s.vq.reap([], new Uint32Array(4), 0),
      'EIO',
      'virtqueue 5: used idx 0 is ahead of avail idx 65535 (last used 65535)',
    );
    expect(s.vq.isBroken).toBe(true);
  });

  it.each([4, 5, 0xffff_ffff])('a used id %s out of range', (id) => {
    const s = side();
    s.vq.post(1);
    s.dev.use(id, 0);
    expectBroken(s, () => s.vq.reclaim(), `virtqueue 0: used id ${id} is out of range for queue size 4`);
  });

  it('a used id already reaped', () => {
    const s = side();
    s.vq.post(2);
    s.dev.use(0, 0);
    expect(s.vq.reclaim()).toBe(1);
    s.dev.use(0, 0);
    expectBroken(s, () => s.vq.reclaim(), 'virtqueue 0: used id 0 is not in flight');
  });

  it('a used id never posted', () => {
    const s = side({ writable: true });
    s.vq.post(1);
    s.dev.use(3, 0);
    expectBroken(
      s,
      () => s.vq.reap(new Uint16Array(4), new Uint32Array(4)),
      'virtqueue 0: used id 3 is not in flight',
    );
  });

  it('the same id twice in one batch', () => {
    const s = side();
    s.vq.post(2);
    s.dev.use(0, 0);
    s.dev.use(0, 0);
    expect(s.vq.reclaim()).toBe(1);
    expectBroken(s, () => s.vq.reclaim(), 'virtqueue 0: used id 0 is not in flight');
  });

  it('an RX len beyond the posted length (and the posted length is fine)', () => {
    const s = side({ writable: true });
    s.vq.post(2, [100, 100]);
    s.dev.use(0, 100);
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    expect(s.vq.reap(slots, lens)).toBe(1);
    expect(lens[0]).toBe(100);
    s.dev.use(1, 101);
    expectBroken(
      s,
      () => s.vq.reap(slots, lens),
      'virtqueue 0: used len 101 is beyond the 100 writable bytes of id 1',
    );
  });

  it('an RX len beyond bufSize for a whole-buffer post', () => {
    const s = side({ writable: true });
    s.vq.post(1);
    s.dev.use(0, 257);
    expectBroken(
      s,
      () => s.vq.reclaim(),
      'virtqueue 0: used len 257 is beyond the 256 writable bytes of id 0',
    );
  });

  it('a TX len of 1 (limit 0)', () => {
    const s = side({ writable: false });
    s.vq.post(1, [50]);
    s.dev.use(0, 1);
    expectBroken(s, () => s.vq.reclaim(), 'virtqueue 0: used len 1 is beyond the 0 writable bytes of id 0');
  });

  it('a bad element after good ones: that call returns the good ones, the next call throws', () => {
    const s = side({ writable: true });
    s.vq.post(4, [10, 10, 10, 10]);
    s.dev.use(2, 5);
    s.dev.use(0, 10);
    s.dev.use(1, 11);
    s.dev.use(3, 1);
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    expect(s.vq.reap(slots, lens)).toBe(2);
    expect([...slots.subarray(0, 2), ...lens.subarray(0, 2)]).toEqual([2, 0, 5, 10]);
    expect(s.vq.isBroken).toBe(false);
    expect(s.vq.lastUsedIdx).toBe(2);
    expect(s.vq.numFree).toBe(2);
    expectBroken(
      s,
      () => s.vq.reap(slots, lens),
      'virtqueue 0: used len 11 is beyond the 10 writable bytes of id 1',
    );
    expect(s.vq.lastUsedIdx).toBe(2);
  });

  it('a bad element past max is not read', () => {
    const s = side();
    s.vq.post(2);
    s.dev.use(0, 0);
    s.dev.use(9, 0);
    expect(s.vq.reclaim(1)).toBe(1);
    expect(s.vq.isBroken).toBe(false);
    expectBroken(s, () => s.vq.reclaim(1), 'virtqueue 0: used id 9 is out of range for queue size 4');
  });

  it('reset() makes the queue work again from index 0 with every buffer free and the rings re-written', () => {
    const s = side({ num: 4, writable: true, initialIdx: 700, eventIdx: true });
    s.vq.post(3, [1, 2, 3]);
    s.vq.disableCb();
    s.dev.use(7, 0);
    expect(errorOf(() => s.vq.reclaim()).code).toBe('EIO');
    expect(s.vq.isBroken).toBe(true);
    // A device that scribbles over the driver's areas.
    const { descAddr, availAddr, usedAddr } = s.vq.layout;
    s.mem.fill(descAddr, vringDescSize(4), 0x5a);
    s.mem.fill(availAddr, vringAvailSize(4), 0x5a);
    s.mem.fill(usedAddr, vringUsedSize(4), 0x5a);
    s.vq.reset();
    expect(s.vq.isBroken).toBe(false);
    expect([s.vq.availIdx, s.vq.lastUsedIdx, s.vq.nextSlot, s.vq.numFree, s.vq.freeRun()]).toEqual([
      0, 0, 0, 4, 4,
    ]);
    expect(inFlightSlots(s.vq)).toEqual([]);
    for (let i = 0; i < 4; i++) {
      expect(readDesc(s.mem, s.vq.layout, i)).toEqual({
        addr: devAddr(s, i),
        len: 256,
        flags: VIRTQ_DESC_F_WRITE,
        next: 0,
      });
      expect(availEntry(s, i)).toBe(i);
    }
    expect(availIdxInMem(s)).toBe(0);
    expect(s.mem.readU16(availAddr)).toBe(0);
    expect(usedIdxInMem(s)).toBe(0);
    expect(s.mem.readU16(usedAddr)).toBe(0);
    const dev = new FakeDevice(s.mem, s.vq.layout, 0);
    s.vq.post(4);
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    for (let k = 0; k < 4; k++) {
      const c = dev.pop();
      expect(c?.head).toBe(k);
      expect(c?.writable).toEqual([{ addr: devAddr(s, k), len: 256 }]);
      dev.use(k, 256 - k);
    }
    expect(s.vq.reap(slots, lens)).toBe(4);
    expect([...slots, ...lens]).toEqual([0, 1, 2, 3, 256, 255, 254, 253]);
    // Interrupts are enabled again: used_event follows.
    expect(dev.usedEvent()).toBe(4);
    expect(dev.availFlags()).toBe(0);
  });
});

describe('notification', () => {
  it('reap with max 0 leaves used_event alone', () => {
    const s = side({ eventIdx: true });
    s.vq.post(4);
    expect(s.vq.enableCbDelayed()).toBe(true);
    expect(s.dev.usedEvent()).toBe(3);
    s.dev.use(0, 0);
    s.dev.use(1, 0);
    expect(s.vq.reap(new Uint16Array(4), new Uint32Array(4), 0)).toBe(0);
    expect(s.vq.reclaim(0)).toBe(0);
    expect(s.dev.usedEvent()).toBe(3);
    expect(s.vq.lastUsedIdx).toBe(0);
  });

  it('an empty used ring read leaves used_event alone, and so does a max that is not a positive number', () => {
    const s = side({ eventIdx: true });
    s.vq.post(4);
    expect(s.vq.enableCbDelayed()).toBe(true);
    expect(s.dev.usedEvent()).toBe(3);
    // Nothing used yet: reading must not rewrite the enableCbDelayed threshold.
    expect(s.vq.reap(new Uint16Array(4), new Uint32Array(4))).toBe(0);
    expect(s.vq.reclaim()).toBe(0);
    expect(s.dev.usedEvent()).toBe(3);
    s.dev.use(0, 0);
    expect(s.vq.reap(new Uint16Array(4), new Uint32Array(4), Number.NaN)).toBe(0);
    expect(s.vq.reclaim(Number.NaN)).toBe(0);
    expect(s.vq.reclaim(-1)).toBe(0);
    expect(s.dev.usedEvent()).toBe(3);
    expect(s.vq.reclaim()).toBe(1);
    expect(s.dev.usedEvent()).toBe(1);
  });

  it('with EVENT_IDX and callbacks enabled used_event follows lastUsedIdx; disableCb stops that', () => {
    const s = side({ eventIdx: true, num: 8 });
    s.vq.post(8);
    for (let id = 0; id < 8; id++) s.dev.use(id, 0);
    expect(s.vq.reclaim(3)).toBe(3);
    expect(s.dev.usedEvent()).toBe(3);
    expect(s.vq.reap(new Uint16Array(8), new Uint32Array(8), 2)).toBe(2);
    expect(s.dev.usedEvent()).toBe(5);
    s.vq.disableCb();
    expect(s.dev.availFlags()).toBe(VIRTQ_AVAIL_F_NO_INTERRUPT);
    expect(s.vq.reclaim(2)).toBe(2);
    expect(s.vq.lastUsedIdx).toBe(7);
    expect(s.dev.usedEvent()).toBe(5);
    expect(s.vq.enableCb()).toBe(false); // one more is pending
    expect(s.dev.usedEvent()).toBe(7);
    expect(s.dev.availFlags()).toBe(0);
    expect(s.vq.reclaim()).toBe(1);
    expect(s.dev.usedEvent()).toBe(8);
    expect(s.vq.enableCb()).toBe(true);
  });

  it('without EVENT_IDX used_event is never written', () => {
    const s = side({ eventIdx: false, initialIdx: 40 });
    s.vq.post(4);
    for (let id = 0; id < 4; id++) s.dev.use(id, 0);
    expect(s.vq.reclaim()).toBe(4);
    expect(s.vq.enableCb()).toBe(true);
    expect(s.dev.usedEvent()).toBe(40);
  });

  // Posting 3 from `start` moves avail.idx to start + 3: notify iff avail_event is in [start, start + 3).
  it.each([
    [0, 0, true],
    [0, 1, true],
    [0, 2, true],
    [0, 3, false],
    [0, 4, false],
    [0, 0xffff, false],
    [65534, 65534, true],
    [65534, 65535, true],
    [65534, 0, true],
    [65534, 1, false],
    [65534, 65533, false],
  ])('kick with EVENT_IDX from %s with avail_event %s notifies: %s', (start, availEvent, expected) => {
    const s = side({ eventIdx: true, initialIdx: start });
    s.vq.post(3);
    s.dev.setAvailEvent(availEvent);
    expect(s.vq.kick()).toBe(expected);
    expect(s.kicks).toEqual(expected ? [(start + 3) & U16_MASK] : []);
    // Nothing added since the decision: never again.
    s.dev.setAvailEvent(start);
    expect(s.vq.kick()).toBe(false);
    expect(s.vq.kickPrepare()).toBe(false);
  });

  it('kickPrepare decides over the additions since the previous decision, and does not notify', () => {
    const s = side({ eventIdx: true, num: 8 });
    s.vq.post(2);
    s.dev.setAvailEvent(1);
    expect(s.vq.kickPrepare()).toBe(true);
    expect(s.kicks).toEqual([]);
    s.vq.post(2); // avail 2 -> 4, avail_event still 1: already passed
    expect(s.vq.kickPrepare()).toBe(false);
    s.vq.post(3); // 4 -> 7
    s.dev.setAvailEvent(6);
    expect(s.vq.kickPrepare()).toBe(true);
    s.vq.notify();
    expect(s.kicks).toEqual([7]);
  });

  it('without EVENT_IDX, kick notifies unless the device set NO_NOTIFY', () => {
    const s = side({ eventIdx: false });
    s.vq.post(1);
    s.dev.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
    expect(s.vq.kick()).toBe(false);
    s.vq.post(1);
    s.dev.setUsedFlags(0);
    expect(s.vq.kick()).toBe(true);
    expect(s.vq.kick()).toBe(true);
    expect(s.kicks).toEqual([2, 2]);
  });

  it('interrupt calls the callback only when used buffers are pending and the queue is not broken', () => {
    const s = side();
    s.vq.interrupt();
    expect(s.callbacks).toEqual([]);
    s.vq.post(2);
    s.dev.use(1, 0);
    s.vq.interrupt();
    expect(s.callbacks).toEqual([0]);
    s.dev.use(6, 0);
    expect(s.vq.reclaim()).toBe(1);
    expect(errorOf(() => s.vq.reclaim()).code).toBe('EIO');
    s.vq.interrupt();
    expect(s.callbacks).toEqual([0]);
  });

  /**
   * Posts `total` buffers in posts of `sizes` (cycled), the device completing each post at once and the
   * driver reclaiming; never calls kick unless `kickAt` says so before a post. Returns nothing: the
   * side records the notifies.
   */
  function runPosts(
    s: Side,
    sizes: readonly number[],
    total: number,
    kickAt?: (added: number) => boolean,
  ): void {
    const num = s.vq.num;
    let added = 0;
    let pos = s.vq.availIdx;
    for (let i = 0; added < total; i++) {
      if (kickAt?.(added)) s.vq.kick();
      const n = Math.min(sizes[i % sizes.length], total - added);
      s.vq.post(n);
      for (let k = 0; k < n; k++) {
        s.dev.use(pos & (num - 1), 0);
        pos = (pos + 1) & U16_MASK;
      }
      if (s.vq.reclaim() !== n) throw new Error(`reclaim after post ${i}`);
      added += n;
    }
    expect(s.vq.availIdx).toBe(pos);
  }

  it.each([
    { eventIdx: false, initialIdx: 0, sizes: [3, 4, 1, 2, 4] },
    { eventIdx: true, initialIdx: 0, sizes: [3, 4, 1, 2, 4] },
    { eventIdx: true, initialIdx: 1000, sizes: [3, 4, 1, 2, 4] },
    { eventIdx: false, initialIdx: 65535, sizes: [3, 4, 1, 2, 4] },
    // 0xffff = 3 * 21845: a post ends exactly at the forced decision.
    { eventIdx: false, initialIdx: 0, sizes: [3] },
    { eventIdx: true, initialIdx: 7, sizes: [3] },
    // 0xffff = 4 * 16383 + 3: the decision falls inside a post, after its third buffer.
    { eventIdx: true, initialIdx: 0, sizes: [4] },
  ])(
    'post notifies by itself after exactly 0xffff undecided additions (eventIdx $eventIdx, initialIdx $initialIdx, sizes $sizes)',
    ({ eventIdx, initialIdx, sizes }) => {
      const s = side({ num: 4, eventIdx, initialIdx });
      runPosts(s, sizes, 2 * U16_MASK + 9);
      const first = (initialIdx + U16_MASK) & U16_MASK;
      const second = (initialIdx + 2 * U16_MASK) & U16_MASK;
      expect(s.kicks).toEqual([first, second]);
      // avail.idx was published before the notify.
      expect(s.seen).toEqual(s.kicks);
    },
  );

  it('a notify that throws inside post leaves what was posted before it posted', () => {
    const s = side({ num: 4 }, {}, () => {
      throw new Error('doorbell failed');
    });
    runPosts(s, [4], 65532);
    expect(s.vq.availIdx).toBe(65532);
    expect(s.kicks).toEqual([]);
    expect(() => s.vq.post(4)).toThrow('doorbell failed');
    // Positions 65532..65534 (slots 0..2) went out with the forced decision; the fourth did not.
    expect(s.kicks).toEqual([65535]);
    expect([s.vq.availIdx, availIdxInMem(s), s.vq.numFree, s.vq.freeRun()]).toEqual([65535, 65535, 1, 1]);
    expect(inFlightSlots(s.vq)).toEqual([0, 1, 2]);
    expect(s.vq.isBroken).toBe(false);
    // The decision was made: the count restarted, the next post does not notify.
    s.vq.post(1);
    expect([s.vq.availIdx, s.kicks.length]).toEqual([0, 1]);
  });

  it('re-checks the space after a notify that posted itself', () => {
    const s = side({ num: 4 }, {}, (q) => q.post(q.freeRun()));
    runPosts(s, [4], 65532);
    expectError(() => s.vq.post(4), 'ENOSPC', 'virtqueue 0: 0 buffers can be posted, not 1');
    // Three by the outer post, one by the handler: the index wrapped to 0, and nothing more.
    expect(s.kicks).toEqual([65535]);
    expect([s.vq.availIdx, availIdxInMem(s), s.vq.numFree]).toEqual([0, 0, 0]);
    expect(inFlightSlots(s.vq)).toEqual([0, 1, 2, 3]);
  });

  it('re-checks the queue after a notify that destroyed it', () => {
    const s = side({ num: 4 }, {}, (q) => q.destroy());
    runPosts(s, [4], 65532);
    expectError(() => s.vq.post(4), 'EIO', 'virtqueue 0 is destroyed');
    expect(s.kicks).toEqual([65535]);
    expect(s.vq.availIdx).toBe(65535);
  });

  it('checks every length before the forced kick: a bad one after it posts nothing', () => {
    const s = side({ num: 4 });
    runPosts(s, [4], 65532);
    expectError(
      () => s.vq.post(4, [10, 10, 10, 0]),
      'EINVAL',
      'buffer length 0 is not in 1..256 (post element 3)',
    );
    expect(s.kicks).toEqual([]);
    expect([s.vq.availIdx, availIdxInMem(s), s.vq.numFree]).toEqual([65532, 65532, 4]);
    expect(inFlightSlots(s.vq)).toEqual([]);
  });

  it('checks again the lengths a notify changed inside post', () => {
    const lens = [10, 10, 10, 10];
    const s = side({ num: 4 }, {}, () => {
      lens[3] = 257; // past the 256-byte buffers
    });
    runPosts(s, [4], 65532);
    expectError(() => s.vq.post(4, lens), 'EINVAL', 'buffer length 257 is not in 1..256 (post element 3)');
    // The three before the kick stay posted; the changed one was not.
    expect(s.kicks).toEqual([65535]);
    expect([s.vq.availIdx, availIdxInMem(s), s.vq.numFree]).toEqual([65535, 65535, 1]);
    expect(inFlightSlots(s.vq)).toEqual([0, 1, 2]);
  });

  it('stops with ECANCELED after a notify that reset the queue', () => {
    const s = side({ num: 4 }, {}, (q) => q.reset());
    runPosts(s, [4], 65532);
    expectError(
      () => s.vq.post(4),
      'ECANCELED',
      'virtqueue 0 was reset by its notify during a batch: the reset dropped the 3 buffers added ' +
        'before it; 1 of 4 not added',
    );
    expect(s.kicks).toEqual([65535]);
    // The reset queue: nothing in flight, index 0, nothing posted after the reset.
    expect([s.vq.availIdx, availIdxInMem(s), s.vq.numFree, s.vq.freeRun()]).toEqual([0, 0, 4, 4]);
    expect(inFlightSlots(s.vq)).toEqual([]);
    expect(s.vq.isBroken).toBe(false);
  });

  it('a kick decision restarts the count, even one that does not notify', () => {
    const s = side({ num: 4, eventIdx: false });
    s.dev.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
    let decided = -1;
    // One explicit decision after 1001 or more additions; it does not notify (NO_NOTIFY), then the
    // device clears NO_NOTIFY so that the forced decision does.
    runPosts(s, [3, 4, 1], U16_MASK + 2000, (added) => {
      if (decided >= 0 || added < 1001) return false;
      decided = s.vq.availIdx;
      expect(s.vq.kick()).toBe(false);
      s.dev.setUsedFlags(0);
      return false;
    });
    expect(decided).toBeGreaterThanOrEqual(1001);
    expect(decided).toBeLessThan(1010);
    expect(s.kicks).toEqual([(decided + U16_MASK) & U16_MASK]);
    expect(s.seen).toEqual(s.kicks);
  });

  it("notifies at the same additions as Virtqueue's one-by-one adds", () => {
    const sizes = [3, 4, 1, 2, 4];
    const total = U16_MASK + 100;
    const p = side({ num: 4, eventIdx: true, initialIdx: 123 });
    runPosts(p, sizes, total);
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const dma = new DmaAllocator(mem);
    const vKicks: number[] = [];
    const vq = Virtqueue.create<number>(mem, dma, {
      index: 0,
      num: 4,
      eventIdx: true,
      indirect: false,
      initialIdx: 123,
      notify: (q) => vKicks.push(q.availIdx),
    });
    const dev = new FakeDevice(mem, vq.layout, 123);
    const addrs = [0x8000, 0x8000, 0x8000, 0x8000];
    const lens = [1, 1, 1, 1];
    const tokens = [0, 1, 2, 3];
    let added = 0;
    for (let i = 0; added < total; i++) {
      const n = Math.min(sizes[i % sizes.length], total - added);
      for (let k = 0; k < n; k++) vq.addOutbuf(addrs[k], lens[k], tokens[k]);
      for (let c = dev.pop(); c !== undefined; c = dev.pop()) dev.use(c.head, 0);
      let got = 0;
      while (vq.getBuf() !== undefined) got++;
      if (got !== n) throw new Error(`getBuf after add ${i}`);
      added += n;
    }
    expect(vKicks).toHaveLength(1);
    expect(p.kicks).toEqual(vKicks);
  });
});

describe('u16 wrap', () => {
  it('RX: rounds across 65535 -> 0 keep slot = position & 3 and the data intact', () => {
    const s = side({ num: 4, bufSize: 64, writable: true, initialIdx: 65533 });
    const slots = new Uint16Array(4);
    const lens = new Uint32Array(4);
    let pos = 65533;
    const positions: number[] = [];
    for (let round = 0; round < 6; round++) {
      const n = [3, 4, 2, 4, 1, 4][round];
      s.vq.post(n);
      const expected: { slot: number; len: number }[] = [];
      for (let k = 0; k < n; k++) {
        const c = s.dev.pop();
        expect(c?.head).toBe(pos & 3);
        positions.push(pos);
        const seg = c?.writable[0] ?? { addr: 0, len: 0 };
        expect(seg).toEqual({ addr: devAddr(s, pos & 3), len: 64 });
        const len = 1 + ((round * 5 + k * 17) % 64);
        s.mem.write(seg.addr, frame(round, pos & 3, len));
        expected.push({ slot: pos & 3, len });
        pos = (pos + 1) & U16_MASK;
      }
      expect(s.dev.pop()).toBeUndefined();
      // Used in reverse order.
      for (const e of [...expected].reverse()) s.dev.use(e.slot, e.len);
      expect(s.vq.reap(slots, lens)).toBe(n);
      const rev = [...expected].reverse();
      for (let k = 0; k < n; k++) {
        expect([slots[k], lens[k]]).toEqual([rev[k].slot, rev[k].len]);
        const off = s.vq.bufferOffset(slots[k]);
        expect(s.vq.bytes.subarray(off, off + lens[k])).toEqual(frame(round, slots[k], lens[k]));
      }
      expect([s.vq.availIdx, s.vq.lastUsedIdx, s.vq.numFree, s.vq.freeRun(), s.vq.nextSlot]).toEqual([
        pos,
        pos,
        4,
        4,
        pos & 3,
      ]);
    }
    expect(positions.slice(0, 5)).toEqual([65533, 65534, 65535, 0, 1]);
    expect(pos).toBe((65533 + 18) & U16_MASK);
  });

  it('TX: frames cross the wrap intact', () => {
    const s = side({ num: 4, bufSize: 32, writable: false, initialIdx: 65533 }, { dmaOffset: DMA_OFFSET });
    let pos = 65533;
    for (let round = 0; round < 5; round++) {
      const n = 3;
      const lens = [5 + round, 32, 1];
      for (let k = 0; k < n; k++) {
        const slot = (s.vq.nextSlot + k) & 3;
        s.vq.bytes.set(frame(round, slot, lens[k]), s.vq.bufferOffset(slot));
      }
      s.vq.post(n, lens);
      for (let k = 0; k < n; k++) {
        const c = s.dev.pop();
        expect(c?.head).toBe(pos & 3);
        const seg = c?.readable[0] ?? { addr: 0, len: 0 };
        expect(seg.len).toBe(lens[k]);
        expect(s.mem.view(seg.addr - DMA_OFFSET, seg.len)).toEqual(frame(round, pos & 3, lens[k]));
        s.dev.use(pos & 3, 0);
        pos = (pos + 1) & U16_MASK;
      }
      expect(s.vq.reclaim()).toBe(n);
    }
    expect(s.vq.availIdx).toBe(pos);
    expect(pos).toBe(12);
  });
});

describe('slot accessors', () => {
  it.each([-1, 4, 1.5, Number.NaN, 2 ** 32])(
    'bufferOffset, bufferAddr and inFlight throw ERANGE for %s',
    (slot) => {
      const s = side();
      const message = `slot ${slot} is not in 0..3`;
      expectError(() => s.vq.bufferOffset(slot), 'ERANGE', message);
      expectError(() => s.vq.bufferAddr(slot), 'ERANGE', message);
      expectError(() => s.vq.inFlight(slot), 'ERANGE', message);
    },
  );

  it('accept 0..num-1', () => {
    const s = side();
    expect([0, 1, 2, 3].map((i) => s.vq.bufferAddr(i) - s.vq.poolAddr)).toEqual([0, 256, 512, 768]);
  });
});

describe('destroy', () => {
  it('frees the rings and the pool; the datapath then throws EIO; twice is fine', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const dma = new DmaAllocator(mem);
    const other = dma.alloc(100);
    const before = dma.available();
    const vq = PooledVirtqueue.create(mem, dma, { ...good, num: 8, bufSize: 1000, align: 4096 });
    expect(dma.available()).toBeLessThanOrEqual(before - 8 * 1024);
    vq.post(3);
    vq.destroy();
    expect(dma.available()).toBe(before);
    expect(vq.isBroken).toBe(true);
    const destroyed = 'virtqueue 0 is destroyed';
    expectError(() => vq.post(1), 'EIO', destroyed);
    expectError(() => vq.post(0), 'EIO', destroyed);
    expectError(() => vq.reap(new Uint16Array(8), new Uint32Array(8)), 'EIO', destroyed);
    expectError(() => vq.reclaim(), 'EIO', destroyed);
    expectError(() => vq.kick(), 'EIO', destroyed);
    expectError(() => vq.kickPrepare(), 'EIO', destroyed);
    expectError(() => vq.notify(), 'EIO', destroyed);
    expectError(() => vq.enableCb(), 'EIO', destroyed);
    expectError(() => vq.reset(), 'EIO', destroyed);
    vq.destroy();
    expect(dma.available()).toBe(before);
    // The other block is still allocated and can be freed once.
    dma.free(other);
    expect(errorOf(() => dma.free(other)).code).toBe('EINVAL');
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { DmaAllocator } from './dma-allocator.js';
import { BufferList } from './virtqueue-buffer-list.js';
import { Virtqueue } from './virtqueue.js';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY } from '@vdpa-kit/virtio-spec';
import type { VirtqueueOptions } from './virtqueue-options.js';
import { FakeDevice, type Seg } from '../test/fake-device.js';
import { errorOf } from '../test/error-of.js';

const MEM_SIZE = 1 << 22;
const U16 = 0x10000;

interface Setup<T> {
  mem: GuestMemory;
  dma: DmaAllocator;
  vq: Virtqueue<T>;
  dev: FakeDevice;
  kicks: number[];
  callbacks: number[];
}

function setup<T = string>(options: Partial<VirtqueueOptions<T>> = {}): Setup<T> {
  const mem = GuestMemory.create({ size: MEM_SIZE });
  const dma = new DmaAllocator(mem);
  const kicks: number[] = [];
  const callbacks: number[] = [];
  const vq = Virtqueue.create<T>(mem, dma, {
    index: 0,
    num: 8,
    eventIdx: false,
    indirect: false,
    notify: (q) => kicks.push(q.availIdx),
    callback: (q) => callbacks.push(q.lastUsedIdx),
    ...options,
  });
  return { mem, dma, vq, dev: new FakeDevice(mem, vq.layout, options.initialIdx ?? 0), kicks, callbacks };
}

const HIGH = 0x1_2345_6000; // above 4 GiB: exercises both halves of le64 addr

describe('Virtqueue.create', () => {
  it('allocates separate minimally aligned areas and zeroes them', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    mem.fill(0, MEM_SIZE, 0xa5);
    const dma = new DmaAllocator(mem);
    const vq = Virtqueue.create(mem, dma, {
      index: 3,
      num: 64,
      eventIdx: true,
      indirect: false,
      notify: () => {},
    });
    const { descAddr, availAddr, usedAddr, num } = vq.layout;
    expect(num).toBe(64);
    expect(descAddr % 16).toBe(0);
    expect(availAddr % 2).toBe(0);
    expect(usedAddr % 4).toBe(0);
    expect([...mem.view(descAddr, 16 * 64)].every((b) => b === 0)).toBe(true);
    expect([...mem.view(availAddr, 6 + 2 * 64)].every((b) => b === 0)).toBe(true);
    expect([...mem.view(usedAddr, 6 + 8 * 64)].every((b) => b === 0)).toBe(true);
    expect(vq.index).toBe(3);
    expect(vq.numFree).toBe(64);
    expect(vq.isBroken).toBe(false);
  });

  it('allocates the legacy contiguous layout when an alignment is given', () => {
    const { vq, dma } = setup({ num: 256, align: 4096 });
    const { descAddr, availAddr, usedAddr } = vq.layout;
    expect(descAddr % 4096).toBe(0);
    expect(availAddr).toBe(descAddr + 4096);
    expect(usedAddr).toBe(descAddr + 8192);
    expect(dma.available()).toBeLessThanOrEqual(MEM_SIZE - 10246);
  });

  it('destroy frees every area, including the indirect pool, and breaks the queue', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const dma = new DmaAllocator(mem);
    const before = dma.available();
    const vq = Virtqueue.create(mem, dma, {
      index: 0,
      num: 32,
      eventIdx: false,
      indirect: true,
      notify: () => {},
    });
    expect(dma.available()).toBeLessThan(before - 32 * 16 * 16);
    vq.destroy();
    vq.destroy();
    expect(dma.available()).toBe(before);
    expect(vq.isBroken).toBe(true);
    expect(errorOf(() => vq.addOutbuf(HIGH, 1, 'x')).message).toBe('virtqueue 0 is destroyed');
    expect(errorOf(() => vq.reset()).code).toBe('EIO');
  });

  it.each([
    [{ index: -1 }, 'virtqueue index -1 is not a non-negative integer'],
    [{ num: 300 }, 'queue size 300 is not a power of two'],
    [{ num: 65536 }, 'queue size 65536 is not in 1..32768'],
    [{ align: 100 }, 'queue alignment 100 is not a power of two'],
    [{ indirect: true, maxIndirect: 0 }, 'indirect table size 0 is not in 1..8'],
    [{ indirect: true, maxIndirect: 9 }, 'indirect table size 9 is not in 1..8'],
    [{ initialIdx: 65536 }, 'initial ring index 65536 is not a u16'],
  ] as const)('rejects %o with EINVAL', (bad, message) => {
    const err = errorOf(() => setup(bad));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(message);
  });

  it('fails with ENOMEM and leaves nothing allocated when memory is short', () => {
    const mem = GuestMemory.create({ size: 8192 });
    const dma = new DmaAllocator(mem);
    const err = errorOf(() =>
      Virtqueue.create(mem, dma, { index: 0, num: 256, eventIdx: false, indirect: true, notify: () => {} }),
    );
    expect(err.code).toBe('ENOMEM');
    expect(dma.available()).toBe(8192);
  });
});

describe('add and getBuf', () => {
  it('publishes a direct chain: readable first, then writable, linked by NEXT', () => {
    const { vq, dev } = setup();
    const out = new BufferList().push(HIGH, 16).push(HIGH + 0x100, 512);
    const inb = new BufferList().push(0x3000, 1);
    vq.add(out, inb, 'req');
    expect(vq.numFree).toBe(5);
    expect(vq.availIdx).toBe(1);
    expect(dev.availIdx()).toBe(1);
    const chain = dev.pop();
    expect(chain).toEqual({
      head: 0,
      indirect: false,
      readable: [
        { addr: HIGH, len: 16 },
        { addr: HIGH + 0x100, len: 512 },
      ],
      writable: [{ addr: 0x3000, len: 1 }],
    });
  });

  it('returns the token and the used length, then frees the descriptors', () => {
    const { vq, dev } = setup();
    expect(vq.getBuf()).toBeUndefined();
    vq.add(new BufferList().push(HIGH, 16), new BufferList().push(0x3000, 100), 'req');
    const chain = dev.pop();
    dev.use(chain?.head ?? -1, 42);
    expect(vq.moreUsed()).toBe(true);
    expect(vq.getBuf()).toBe('req');
    expect(vq.lastLen).toBe(42);
    expect(vq.lastUsedIdx).toBe(1);
    expect(vq.numFree).toBe(8);
    expect(vq.moreUsed()).toBe(false);
    expect(vq.getBuf()).toBeUndefined();
  });

  it('addOutbuf and addInbuf publish one descriptor each with the right direction', () => {
    const { vq, dev } = setup();
    vq.addOutbuf(HIGH, 60, 'tx');
    vq.addInbuf(0x4000, 1514, 'rx');
    expect(vq.numFree).toBe(6);
    expect(dev.pop()).toEqual({
      head: 0,
      indirect: false,
      readable: [{ addr: HIGH, len: 60 }],
      writable: [],
    });
    expect(dev.pop()).toEqual({
      head: 1,
      indirect: false,
      readable: [],
      writable: [{ addr: 0x4000, len: 1514 }],
    });
    dev.use(1, 1514);
    dev.use(0, 0);
    expect([vq.getBuf(), vq.lastLen, vq.getBuf(), vq.lastLen]).toEqual(['rx', 1514, 'tx', 0]);
  });

  it('reuses descriptors freed out of order', () => {
    const { vq, dev } = setup({ num: 4 });
    for (const t of ['a', 'b', 'c', 'd']) vq.addOutbuf(HIGH, 1, t);
    const heads = [0, 1, 2, 3].map(() => dev.pop()?.head ?? -1);
    dev.use(heads[2], 0);
    dev.use(heads[0], 0);
    expect([vq.getBuf(), vq.getBuf()]).toEqual(['c', 'a']);
    expect(vq.numFree).toBe(2);
    vq.add(new BufferList().push(HIGH, 1), new BufferList().push(HIGH, 2), 'e');
    const chain = dev.pop();
    expect([heads[0], heads[2]]).toContain(chain?.head);
    expect(chain?.readable).toEqual([{ addr: HIGH, len: 1 }]);
    expect(chain?.writable).toEqual([{ addr: HIGH, len: 2 }]);
    expect(vq.numFree).toBe(0);
  });

  it.each([
    ['an empty chain', new BufferList(), new BufferList(), 'buffer chain of 0 buffers is empty'],
    [
      'a zero total length',
      new BufferList().push(HIGH, 0),
      new BufferList().push(HIGH, 0),
      'buffer chain of 2 buffers has zero total length',
    ],
    [
      'a chain longer than the queue',
      new BufferList(1).push(1, 1).push(2, 1).push(3, 1).push(4, 1).push(5, 1),
      new BufferList().push(6, 1).push(7, 1).push(8, 1).push(9, 1),
      'buffer chain of 9 buffers is longer than queue size 8',
    ],
  ])('rejects %s with EINVAL', (_what, out, inb, message) => {
    const { vq } = setup({ indirect: true });
    const err = errorOf(() => vq.add(out, inb, 't'));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(message);
    expect(vq.numFree).toBe(8);
    expect(vq.availIdx).toBe(0);
  });

  it('rejects bad single buffers and undefined tokens', () => {
    const { vq } = setup<string | undefined>();
    expect(errorOf(() => vq.addOutbuf(HIGH, 0, 't')).message).toBe('buffer length 0 is not in 1..4294967295');
    expect(errorOf(() => vq.addInbuf(-1, 4, 't')).code).toBe('ERANGE');
    expect(errorOf(() => vq.addOutbuf(HIGH, 4, undefined)).message).toBe('token of virtqueue 0 is undefined');
    expect(vq.numFree).toBe(8);
  });

  it('throws ENOSPC when not enough descriptors are free', () => {
    const { vq } = setup({ num: 4 });
    vq.addOutbuf(HIGH, 1, 'a');
    vq.addOutbuf(HIGH, 1, 'b');
    const three = new BufferList().push(1, 1).push(2, 1).push(3, 1);
    const err = errorOf(() => vq.add(three, new BufferList(), 'c'));
    expect(err.code).toBe('ENOSPC');
    expect(err.message).toBe('virtqueue 0 has 2 free descriptors, the chain needs 3');
    vq.addOutbuf(HIGH, 1, 'c');
    vq.addInbuf(HIGH, 1, 'd');
    expect(vq.numFree).toBe(0);
    expect(errorOf(() => vq.addOutbuf(HIGH, 1, 'e')).code).toBe('ENOSPC');
    expect(vq.availIdx).toBe(4);
  });
});

describe('indirect descriptors', () => {
  it('put a multi-buffer chain in a table and take one ring descriptor', () => {
    const { vq, dev } = setup({ indirect: true, maxIndirect: 4 });
    const out = new BufferList().push(HIGH, 12).push(HIGH + 64, 1500);
    const inb = new BufferList().push(0x5000, 1);
    vq.add(out, inb, 'ind');
    expect(vq.numFree).toBe(7);
    const chain = dev.pop();
    expect(chain).toEqual({
      head: 0,
      indirect: true,
      readable: [
        { addr: HIGH, len: 12 },
        { addr: HIGH + 64, len: 1500 },
      ],
      writable: [{ addr: 0x5000, len: 1 }],
    });
    dev.use(0, 1);
    expect(vq.getBuf()).toBe('ind');
    expect(vq.numFree).toBe(8);
  });

  it('give each head its own table, so chains in flight do not overwrite each other', () => {
    const { vq, dev } = setup({ indirect: true, maxIndirect: 2 });
    vq.add(new BufferList().push(1, 10), new BufferList().push(2, 20), 'a');
    vq.add(new BufferList().push(3, 30), new BufferList().push(4, 40), 'b');
    expect(vq.numFree).toBe(6);
    expect(dev.pop()?.readable).toEqual([{ addr: 1, len: 10 }]);
    expect(dev.pop()?.writable).toEqual([{ addr: 4, len: 40 }]);
  });

  it('are not used for a single buffer nor for a chain longer than maxIndirect', () => {
    const { vq, dev } = setup({ indirect: true, maxIndirect: 2 });
    vq.addOutbuf(HIGH, 8, 'one');
    vq.add(new BufferList().push(1, 1).push(2, 1), new BufferList().push(3, 1), 'three');
    expect(vq.numFree).toBe(4);
    expect(dev.pop()?.indirect).toBe(false);
    const three = dev.pop();
    expect(three?.indirect).toBe(false);
    expect(three?.readable.length).toBe(2);
    dev.use(three?.head ?? -1, 1);
    expect(vq.getBuf()).toBe('three');
    expect(vq.numFree).toBe(7);
  });

  it('need only one free descriptor', () => {
    const { vq, dev } = setup({ num: 2, indirect: true });
    vq.addOutbuf(HIGH, 1, 'a');
    vq.add(new BufferList().push(1, 1), new BufferList().push(3, 1), 'b');
    expect(vq.numFree).toBe(0);
    dev.pop();
    expect(dev.pop()?.indirect).toBe(true);
  });
});

describe('kick suppression', () => {
  it('without EVENT_IDX notifies unless the device set NO_NOTIFY', () => {
    const { vq, dev, kicks } = setup();
    vq.addOutbuf(HIGH, 1, 'a');
    expect(vq.kick()).toBe(true);
    dev.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
    vq.addOutbuf(HIGH, 1, 'b');
    expect(vq.kickPrepare()).toBe(false);
    expect(vq.kick()).toBe(false);
    dev.setUsedFlags(0);
    vq.addOutbuf(HIGH, 1, 'c');
    expect(vq.kick()).toBe(true);
    expect(kicks).toEqual([1, 3]);
  });

  it('with EVENT_IDX notifies only when avail_event was passed since the previous decision', () => {
    const { vq, dev, kicks } = setup({ eventIdx: true });
    // Ignores NO_NOTIFY: flags are not used with EVENT_IDX.
    dev.setUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
    vq.addOutbuf(HIGH, 1, 'a');
    vq.addOutbuf(HIGH, 1, 'b');
    vq.addOutbuf(HIGH, 1, 'c');
    expect(vq.kick()).toBe(true); // avail_event 0 in [0, 3)
    dev.setAvailEvent(1);
    vq.addOutbuf(HIGH, 1, 'd');
    vq.addOutbuf(HIGH, 1, 'e');
    expect(vq.kick()).toBe(false); // 1 not in [3, 5)
    dev.setAvailEvent(5);
    expect(vq.kickPrepare()).toBe(false); // nothing added: [5, 5) is empty
    vq.addOutbuf(HIGH, 1, 'f');
    expect(vq.kick()).toBe(true); // 5 in [5, 6)
    expect(kicks).toEqual([3, 6]);
  });

  it('with EVENT_IDX decides correctly across the u16 wrap', () => {
    const { vq, dev, kicks } = setup({ eventIdx: true, initialIdx: 65534 });
    vq.addOutbuf(HIGH, 1, 'a');
    vq.addOutbuf(HIGH, 1, 'b');
    vq.addOutbuf(HIGH, 1, 'c');
    expect(vq.availIdx).toBe(1);
    expect(dev.availIdx()).toBe(1);
    expect(vq.kick()).toBe(true); // avail_event starts at 65534, in [65534, 1)
    dev.setAvailEvent(1);
    vq.addOutbuf(HIGH, 1, 'd');
    expect(vq.kick()).toBe(true); // 1 in [1, 2)
    expect(kicks).toEqual([1, 2]);
  });

  it('kicks by itself before 0xffff additions go undecided', () => {
    const { vq, dev, kicks } = setup({ num: 4 });
    for (let i = 0; i < 0xffff; i++) {
      vq.addOutbuf(HIGH, 1, 't');
      dev.use(dev.pop()?.head ?? -1, 0);
      vq.getBuf();
    }
    expect(kicks).toEqual([0xffff]);
  });
});

describe('interrupt suppression', () => {
  it('disableCb sets NO_INTERRUPT and enableCb clears it, re-checking the used ring', () => {
    const { vq, dev } = setup();
    vq.disableCb();
    expect(dev.availFlags()).toBe(VIRTQ_AVAIL_F_NO_INTERRUPT);
    expect(vq.enableCb()).toBe(true);
    expect(dev.availFlags()).toBe(0);
    vq.disableCb();
    vq.addOutbuf(HIGH, 1, 'a');
    dev.use(dev.pop()?.head ?? -1, 0);
    // The device used a buffer while callbacks were off: enableCb must report it.
    expect(vq.enableCb()).toBe(false);
    expect(vq.getBuf()).toBe('a');
    expect(vq.enableCb()).toBe(true);
  });

  it('with EVENT_IDX enableCb writes used_event = last used idx and getBuf advances it', () => {
    const { vq, dev } = setup({ eventIdx: true });
    for (const t of ['a', 'b', 'c']) vq.addOutbuf(HIGH, 1, t);
    for (let i = 0; i < 3; i++) dev.use(dev.pop()?.head ?? -1, 0);
    vq.getBuf();
    expect(dev.usedEvent()).toBe(1);
    vq.disableCb();
    vq.getBuf();
    // Callbacks off: used_event is left where it was.
    expect(dev.usedEvent()).toBe(1);
    expect(vq.enableCb()).toBe(false);
    expect(dev.usedEvent()).toBe(2);
    vq.getBuf();
    expect(dev.usedEvent()).toBe(3);
    expect(vq.enableCb()).toBe(true);
  });

  it('enableCbDelayed sets used_event to last used + 3/4 of the outstanding buffers', () => {
    const { vq, dev } = setup({ eventIdx: true, initialIdx: 65533 });
    for (let i = 0; i < 8; i++) vq.addOutbuf(HIGH, 1, `t${i}`);
    vq.disableCb();
    expect(vq.enableCbDelayed()).toBe(true);
    expect(dev.usedEvent()).toBe((65533 + 6) % U16);
    for (let i = 0; i < 6; i++) dev.use(dev.pop()?.head ?? -1, 0);
    expect(vq.enableCbDelayed()).toBe(true); // 6 used, threshold 6
    dev.use(dev.pop()?.head ?? -1, 0);
    expect(vq.enableCbDelayed()).toBe(false); // 7 used > 6
    for (let i = 0; i < 5; i++) vq.getBuf();
    // 3 outstanding: floor(9 / 4) = 2 past last used.
    expect(vq.enableCbDelayed()).toBe(true);
    expect(dev.usedEvent()).toBe((65533 + 5 + 2) % U16);
    expect(dev.availFlags()).toBe(0);
  });

  it('interrupt calls the callback only when used buffers are pending and the queue is sound', () => {
    const { vq, dev, callbacks } = setup();
    vq.interrupt();
    vq.addOutbuf(HIGH, 1, 'a');
    vq.addOutbuf(HIGH, 1, 'b');
    vq.interrupt();
    dev.use(dev.pop()?.head ?? -1, 0);
    vq.interrupt();
    expect(callbacks).toEqual([0]);
    dev.use(7, 0);
    vq.getBuf();
    expect(() => vq.getBuf()).toThrow(VringError);
    vq.interrupt();
    expect(callbacks).toEqual([0]);
  });
});

describe('a device that breaks the protocol', () => {
  function brokenBy(act: (s: Setup<string>) => void): { vq: Virtqueue<string>; err: VringError } {
    const s = setup();
    s.vq.add(new BufferList().push(HIGH, 10), new BufferList().push(0x6000, 100), 'a');
    s.dev.pop();
    act(s);
    return { vq: s.vq, err: errorOf(() => s.vq.getBuf()) };
  }

  it.each([
    [
      'a used id out of range',
      (s: Setup<string>) => s.dev.use(8, 0),
      'virtqueue 0: used id 8 is out of range for queue size 8',
    ],
    [
      'a used id not in flight',
      (s: Setup<string>) => s.dev.use(3, 0),
      'virtqueue 0: used id 3 is not in flight',
    ],
    [
      'a used len beyond the writable bytes',
      (s: Setup<string>) => s.dev.use(0, 101),
      'virtqueue 0: used len 101 is beyond the 100 writable bytes of id 0',
    ],
    [
      'more used elements than outstanding',
      (s: Setup<string>) => {
        s.dev.use(0, 0);
        s.dev.use(0, 0);
      },
      'virtqueue 0: used idx 2 is ahead of avail idx 1 (last used 0)',
    ],
  ])('%s is EIO and breaks the queue', (_what, act, message) => {
    const { vq, err } = brokenBy(act);
    expect(err.code).toBe('EIO');
    expect(err.message).toBe(message);
    expect(vq.isBroken).toBe(true);
    for (const op of [
      () => vq.getBuf(),
      () => vq.addOutbuf(HIGH, 1, 'b'),
      () => vq.add(new BufferList().push(1, 1), new BufferList(), 'b'),
      () => vq.kickPrepare(),
      () => vq.kick(),
      () => vq.notify(),
      () => vq.enableCb(),
      () => vq.enableCbDelayed(),
    ]) {
      expect(errorOf(op).message).toBe('virtqueue 0 is broken');
    }
  });

  it('a used id completed twice is caught the second time', () => {
    const { vq, dev } = setup();
    vq.addOutbuf(HIGH, 1, 'a');
    dev.pop();
    dev.use(0, 0);
    vq.addOutbuf(HIGH, 1, 'b');
    dev.use(0, 0);
    expect(vq.getBuf()).toBe('a');
    // 'b' took descriptor 1, so head 0 is free now.
    expect(errorOf(() => vq.getBuf()).message).toBe('virtqueue 0: used id 0 is not in flight');
  });

  it('used len equal to the writable bytes is accepted', () => {
    const { vq, err } = (() => {
      const s = setup();
      s.vq.add(new BufferList().push(HIGH, 10), new BufferList().push(1, 60).push(2, 40), 'a');
      s.dev.use(s.dev.pop()?.head ?? -1, 100);
      return { vq: s.vq, err: s.vq.getBuf() };
    })();
    expect(err).toBe('a');
    expect(vq.lastLen).toBe(100);
  });
});

describe('teardown and reset', () => {
  it('detachUnusedBuf hands back every chain in flight after a device reset, even when broken', () => {
    const { vq, dev } = setup({ indirect: true });
    vq.addOutbuf(HIGH, 1, 'a');
    vq.add(new BufferList().push(1, 1).push(2, 1), new BufferList().push(3, 1), 'b');
    vq.add(new BufferList().push(1, 1), new BufferList().push(3, 1), 'c');
    dev.pop();
    dev.use(5, 0);
    expect(() => vq.getBuf()).toThrow(VringError);
    const detached: (string | undefined)[] = [];
    for (let t = vq.detachUnusedBuf(); t !== undefined; t = vq.detachUnusedBuf()) detached.push(t);
    expect(detached.sort()).toEqual(['a', 'b', 'c']);
    expect(vq.numFree).toBe(8);
    expect(vq.availIdx).toBe(0);
    expect(dev.availIdx()).toBe(0);
  });

  it('reset returns to indices 0, zeroed rings and a working queue', () => {
    const { vq, mem, kicks } = setup({ eventIdx: true, initialIdx: 65000 });
    vq.addOutbuf(HIGH, 1, 'a');
    vq.disableCb();
    vq.kick();
    vq.reset();
    expect([vq.availIdx, vq.lastUsedIdx, vq.numFree, vq.lastLen, vq.isBroken]).toEqual([0, 0, 8, 0, false]);
    const { descAddr, availAddr, usedAddr } = vq.layout;
    expect([...mem.view(descAddr, 16 * 8)].every((b) => b === 0)).toBe(true);
    expect([...mem.view(availAddr, 6 + 2 * 8)].every((b) => b === 0)).toBe(true);
    expect([...mem.view(usedAddr, 6 + 8 * 8)].every((b) => b === 0)).toBe(true);
    const dev = new FakeDevice(mem, vq.layout);
    vq.addOutbuf(HIGH, 1, 'b');
    expect(vq.kick()).toBe(true);
    dev.use(dev.pop()?.head ?? -1, 0);
    expect(vq.getBuf()).toBe('b');
    expect(kicks).toEqual([65001, 1]);
  });

  it('reset clears a broken queue', () => {
    const { vq, dev } = setup();
    dev.use(9, 0);
    expect(errorOf(() => vq.getBuf()).code).toBe('EIO');
    vq.reset();
    expect(vq.isBroken).toBe(false);
    expect(vq.moreUsed()).toBe(false);
  });
});

describe('u16 wrap-around', () => {
  it('runs many times round the index space from near 65535 without losing a kick', () => {
    const { vq, dev, kicks } = setup<number>({ num: 16, eventIdx: true, indirect: true, initialIdx: 65530 });
    const out = new BufferList();
    const inb = new BufferList();
    let next = 0;
    let done = 0;
    let armed = true; // the device is idle and has set avail_event = its last avail idx
    let lostWakeups = 0;
    let spuriousKicks = 0;
    let wakeups = 0;
    const iterations = 3 * U16 + 100;
    // Bounded, so that a bug that stops progress fails the test instead of hanging it.
    for (let pass = 0; done < iterations && pass < 4 * iterations; pass++) {
      // Keep up to 5 requests in flight with varying shapes.
      const before = vq.availIdx;
      while (vq.numFree >= 3 && next < iterations && next - done < 5) {
        out.clear().push(HIGH + next, 1 + (next % 3));
        inb.clear();
        for (let k = 0; k < next % 3; k++) inb.push(0x7000 + k, 10);
        vq.add(out, inb, next++);
      }
      // A kick is due when the device was armed and something was added since.
      const due = armed && vq.availIdx !== before;
      const kicked = vq.kick();
      if (due && !kicked) lostWakeups++;
      // A stale avail_event falls inside the window again once every 2^16 indices: a harmless extra kick.
      if (kicked && !due) spuriousKicks++;
      if (due) {
        wakeups++;
        armed = false;
      }
      // The device completes 1..3 per pass, everything every fourth pass; when it runs dry it re-arms
      // (vringh notify_enable).
      const budget = pass % 4 === 3 ? U16 : 1 + (pass % 4);
      for (let c = 0; c < budget; c++) {
        const chain = dev.pop();
        if (chain === undefined) break;
        dev.use(chain.head, chain.writable.length * 10);
      }
      if (!armed && dev.availIdx() === dev.lastAvail) {
        dev.setAvailEvent(dev.lastAvail);
        armed = true;
      }
      for (let t = vq.getBuf(); t !== undefined; t = vq.getBuf()) {
        if (t !== done) throw new Error(`token ${t} returned, expected ${done}`);
        if (vq.lastLen !== (t % 3) * 10) throw new Error(`len ${vq.lastLen} for token ${t}`);
        done++;
      }
    }
    expect(lostWakeups).toBe(0);
    expect(spuriousKicks).toBeLessThanOrEqual(Math.ceil(iterations / U16));
    expect(kicks.length).toBe(wakeups + spuriousKicks);
    expect(wakeups).toBeGreaterThan(1000);
    expect(done).toBe(iterations);
    expect(vq.numFree).toBe(16);
    expect(vq.availIdx).toBe((65530 + iterations) % U16);
    expect(vq.lastUsedIdx).toBe(vq.availIdx);
    expect(dev.availIdx()).toBe(vq.availIdx);
  });
});

describe('property: random add/complete sequences', () => {
  type Op =
    | { kind: 'add'; outLens: number[]; inLens: number[] }
    | { kind: 'complete'; pick: number; lenFrac: number }
    | { kind: 'get' };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('add' as const),
      outLens: fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 4 }),
      inLens: fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 4 }),
    }),
    fc.record({
      kind: fc.constant('complete' as const),
      pick: fc.nat(),
      lenFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    fc.record({ kind: fc.constant('get' as const) }),
  );

  interface Held {
    descs: number;
    writable: number;
    out: Seg[];
    in: Seg[];
  }

  it('keeps numFree consistent and returns every token exactly once', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 16),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.array(opArb, { maxLength: 120 }),
        (num, indirect, initialIdx, ops) => {
          const maxIndirect = 3;
          const { vq, dev } = setup<number>({ num, indirect, maxIndirect, initialIdx });
          const out = new BufferList(1);
          const inb = new BufferList(1);
          const held = new Map<number, Held>(); // the test's own accounting of chains in flight
          const availOrder: number[] = []; // tokens in the order the device will see them
          const popped = new Map<number, number>(); // head -> token, seen by the device, not yet used
          const returned: number[] = [];
          let nextToken = 0;
          const heldDescs = (): number => [...held.values()].reduce((n, h) => n + h.descs, 0);

          const pollDevice = (): void => {
            for (let c = dev.pop(); c !== undefined; c = dev.pop()) {
              const token = availOrder.shift() ?? -1;
              const h = held.get(token);
              expect(popped.has(c.head)).toBe(false);
              expect(c.readable).toEqual(h?.out);
              expect(c.writable).toEqual(h?.in);
              expect(c.indirect).toBe(
                indirect && h !== undefined && h.descs === 1 && h.out.length + h.in.length > 1,
              );
              popped.set(c.head, token);
            }
          };
          const getAll = (): void => {
            for (let t = vq.getBuf(); t !== undefined; t = vq.getBuf()) {
              const h = held.get(t);
              expect(h).toBeDefined();
              expect(vq.lastLen).toBeLessThanOrEqual(h?.writable ?? -1);
              held.delete(t);
              returned.push(t);
            }
          };

          for (const op of ops) {
            if (op.kind === 'add') {
              const outSegs = op.outLens.map((len, k) => ({ addr: HIGH + 4096 * k, len }));
              const inSegs = op.inLens.map((len, k) => ({ addr: 0x10_0000 + 4096 * k, len }));
              out.clear();
              inb.clear();
              for (const s of outSegs) out.push(s.addr, s.len);
              for (const s of inSegs) inb.push(s.addr, s.len);
              const total = outSegs.length + inSegs.length;
              const bytes = [...op.outLens, ...op.inLens].reduce((a, b) => a + b, 0);
              const descs = indirect && total > 1 && total <= maxIndirect ? 1 : total;
              const token = nextToken;
              if (total === 0 || bytes === 0 || total > num) {
                expect(errorOf(() => vq.add(out, inb, token)).code).toBe('EINVAL');
              } else if (descs > vq.numFree) {
                expect(errorOf(() => vq.add(out, inb, token)).code).toBe('ENOSPC');
              } else {
                vq.add(out, inb, token);
                held.set(token, {
                  descs,
                  writable: op.inLens.reduce((a, b) => a + b, 0),
                  out: outSegs,
                  in: inSegs,
                });
                availOrder.push(token);
                nextToken++;
              }
            } else if (op.kind === 'complete') {
              pollDevice();
              const heads = [...popped.keys()];
              if (heads.length > 0) {
                const head = heads[op.pick % heads.length];
                const token = popped.get(head) ?? -1;
                popped.delete(head);
                dev.use(head, Math.floor((held.get(token)?.writable ?? 0) * op.lenFrac));
              }
            } else {
              getAll();
            }
            expect(vq.numFree).toBe(num - heldDescs());
            expect(vq.isBroken).toBe(false);
          }

          // Drain: the device completes everything left, newest first, and the driver collects it.
          pollDevice();
          for (const head of [...popped.keys()].reverse()) dev.use(head, 0);
          getAll();
          expect(returned.sort((a, b) => a - b)).toEqual([...Array(nextToken).keys()]);
          expect(vq.numFree).toBe(num);
          expect(vq.lastUsedIdx).toBe(vq.availIdx);
          expect(held.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

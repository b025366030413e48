import { describe, expect, it, vi } from 'vitest';
import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_ACCESS_WO,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from '@vdpa-kit/virtio-spec';
import { VringError, type VringErrno } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import { Iov } from './iov.js';
import { Vringh, type VringhInitOptions } from './vringh.js';

// Rings are laid out by hand here (virtio 1.2 §2.7), independently of the driver-side code:
//   descriptor {le64 addr @0, le32 len @8, le16 flags @12, le16 next @14}
//   avail      {le16 flags @0, le16 idx @2, le16 ring[Q] @4, le16 used_event @4+2Q}
//   used       {le16 flags @0, le16 idx @2, {le32 id, le32 len}[Q] @4, le16 avail_event @4+8Q}
const DESC = 0x1000;
const AVAIL = 0x3000;
const USED = 0x4000;
const BUF = 0x8000;
const MEM_SIZE = 0x20000;
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;
const I = VIRTQ_DESC_F_INDIRECT;

/** A driver side written with DataView stores. */
class HandRing {
  nextAvail = 0;

  constructor(
    readonly view: DataView,
    readonly num: number,
    private readonly base = { desc: DESC, avail: AVAIL, used: USED },
  ) {}

  /** Writes descriptor `i` of the table at `table` (the ring's own table by default). */
  desc(i: number, addr: number, len: number, flags = 0, next = 0, table = this.base.desc): void {
    const off = table + 16 * i;
    this.view.setUint32(off, addr % 2 ** 32, true);
    this.view.setUint32(off + 4, Math.floor(addr / 2 ** 32), true);
    this.view.setUint32(off + 8, len, true);
    this.view.setUint16(off + 12, flags, true);
    this.view.setUint16(off + 14, next, true);
  }

  /** Puts heads in the avail ring and publishes them with one idx store. */
  publish(...heads: number[]): void {
    for (const h of heads) {
      this.view.setUint16(this.base.avail + 4 + 2 * (this.nextAvail % this.num), h, true);
      this.nextAvail = (this.nextAvail + 1) & 0xffff;
    }
    this.setAvailIdx(this.nextAvail);
  }

  setAvailIdx(idx: number): void {
    this.view.setUint16(this.base.avail + 2, idx, true);
  }

  setAvailFlags(flags: number): void {
    this.view.setUint16(this.base.avail, flags, true);
  }

  setUsedEvent(idx: number): void {
    this.view.setUint16(this.base.avail + 4 + 2 * this.num, idx, true);
  }

  usedFlags(): number {
    return this.view.getUint16(this.base.used, true);
  }

  usedIdx(): number {
    return this.view.getUint16(this.base.used + 2, true);
  }

  usedElem(slot: number): { id: number; len: number } {
    const off = this.base.used + 4 + 8 * slot;
    return { id: this.view.getUint32(off, true), len: this.view.getUint32(off + 4, true) };
  }

  availEvent(): number {
    return this.view.getUint16(this.base.used + 4 + 8 * this.num, true);
  }
}

interface Setup {
  mem: GuestMemory;
  view: DataView;
  vrh: Vringh;
  ring: HandRing;
  riov: Iov;
  wiov: Iov;
}

function setup(options: Partial<Omit<VringhInitOptions, 'mem'>> & { memSize?: number } = {}): Setup {
  const num = options.num ?? 8;
  const mem = GuestMemory.create({ size: options.memSize ?? MEM_SIZE });
  const view = mem.regions()[0].view;
  const vrh = new Vringh();
  vrh.init({
    num,
    descAddr: options.descAddr ?? DESC,
    availAddr: options.availAddr ?? AVAIL,
    usedAddr: options.usedAddr ?? USED,
    eventIdx: options.eventIdx ?? false,
    mem,
    iotlb: options.iotlb ?? Iotlb.identity(),
  });
  return { mem, view, vrh, ring: new HandRing(view, num), riov: new Iov(), wiov: new Iov() };
}

/** Runs `fn` and returns the VringError it throws (failing the test if it throws nothing else). */
function vringError(fn: () => unknown): VringError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VringError);
    return err as VringError;
  }
  throw new Error('expected a VringError, nothing was thrown');
}

function expectCode(fn: () => unknown, code: VringErrno, message?: RegExp): VringError {
  const err = vringError(fn);
  expect(err.code).toBe(code);
  if (message) expect(err.message).toMatch(message);
  return err;
}

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describe('Vringh.init', () => {
  it('accepts every power of two from 1 to 32768', () => {
    for (let num = 1; num <= 32768; num *= 2) {
      const { vrh } = setup({ num, memSize: 0x100000, descAddr: 0, availAddr: 0x80000, usedAddr: 0x90000 });
      expect(vrh.num).toBe(num);
    }
  });

  it.each([0, 3, 300, 65536, 1.5, -4])('rejects queue size %s with EINVAL naming it', (num) => {
    const err = expectCode(() => setup({ num }), 'EINVAL');
    expect(err.message).toContain(String(num));
  });

  it('rejects an area beyond 2^53 with ERANGE', () => {
    expectCode(() => setup({ descAddr: -16 }), 'ERANGE', /descriptor table/);
    expectCode(() => setup({ usedAddr: 2 ** 53 - 8 }), 'ERANGE', /used ring/);
  });

  it('zeroes the indices', () => {
    const { vrh, mem } = setup();
    vrh.lastAvailIdx = 7;
    vrh.lastUsedIdx = 9;
    vrh.init({
      num: 8,
      descAddr: DESC,
      availAddr: AVAIL,
      usedAddr: USED,
      eventIdx: false,
      mem,
      iotlb: Iotlb.identity(),
    });
    expect([vrh.lastAvailIdx, vrh.lastUsedIdx]).toEqual([0, 0]);
  });

  it('refuses ring operations before init', () => {
    const vrh = new Vringh();
    expectCode(() => vrh.getdesc(new Iov(), new Iov()), 'EINVAL', /not initialised/);
    expectCode(() => vrh.complete(0, 0), 'EINVAL', /not initialised/);
    expectCode(() => vrh.needNotify(), 'EINVAL', /not initialised/);
  });
});

describe('Vringh.getdesc', () => {
  it('returns -1 on an empty ring and resets both lists', () => {
    const { vrh, riov, wiov, mem } = setup();
    riov.add(mem.regions()[0].bytes, 0, 10);
    wiov.add(mem.regions()[0].bytes, 0, 10);
    expect(vrh.getdesc(riov, wiov)).toBe(-1);
    expect([riov.count, riov.totalLength, wiov.count, wiov.totalLength]).toEqual([0, 0, 0, 0]);
    expect(vrh.lastAvailIdx).toBe(0);
    expect(vrh.hasWork()).toBe(false);
  });

  it('gathers a readable + writable chain and moves lastAvailIdx', () => {
    const { vrh, ring, riov, wiov, mem } = setup();
    ring.desc(3, BUF, 100, R | N, 5);
    ring.desc(5, BUF + 0x1000, 40, W | N, 1);
    ring.desc(1, BUF + 0x2000, 60, W);
    mem.write(BUF, bytes(100));
    ring.publish(3);
    expect(vrh.hasWork()).toBe(true);
    expect(vrh.availIdx()).toBe(1);

    expect(vrh.getdesc(riov, wiov)).toBe(3);
    expect(vrh.lastAvailIdx).toBe(1);
    expect([riov.count, riov.totalLength]).toEqual([1, 100]);
    expect([wiov.count, wiov.totalLength]).toEqual([2, 100]);

    const got = new Uint8Array(100);
    expect(vrh.pull(riov, got)).toBe(100);
    expect(got).toEqual(bytes(100));
    const reply = bytes(100, 9);
    expect(vrh.push(wiov, reply)).toBe(100);
    expect(mem.view(BUF + 0x1000, 40)).toEqual(reply.subarray(0, 40));
    expect(mem.view(BUF + 0x2000, 60)).toEqual(reply.subarray(40));
    expect(vrh.getdesc(riov, wiov)).toBe(-1);
  });

  it('takes chains in avail order, then reports empty', () => {
    const { vrh, ring, riov, wiov } = setup();
    for (let i = 0; i < 4; i++) ring.desc(i, BUF + 0x100 * i, 16, W);
    ring.publish(2, 0, 3);
    const heads = [
      vrh.getdesc(riov, wiov),
      vrh.getdesc(riov, wiov),
      vrh.getdesc(riov, wiov),
      vrh.getdesc(riov, wiov),
    ];
    expect(heads).toEqual([2, 0, 3, -1]);
  });

  it('accepts zero-length descriptors and adds no segment for them', () => {
    const { vrh, ring, riov, wiov } = setup();
    // A zero-length descriptor's address is never translated: 2^60 would otherwise be ERANGE.
    ring.desc(0, 2 ** 60, 0, R | N, 1);
    ring.desc(1, BUF, 8, R | N, 2);
    ring.desc(2, 0, 0, W);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect([riov.count, riov.totalLength, wiov.count, wiov.totalLength]).toEqual([1, 8, 0, 0]);
  });

  it('accepts a null list for a kind the chain does not use', () => {
    const { vrh, ring, riov } = setup();
    ring.desc(0, BUF, 8, R);
    ring.publish(0);
    expect(vrh.getdesc(riov, null)).toBe(0);
    expect(riov.totalLength).toBe(8);
  });

  it('gathers single-descriptor chains below and above 4 GiB alike', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    tlb.addRange(BigInt(2 ** 40), BigInt(2 ** 40 + 0xfff), BigInt(BUF), VHOST_ACCESS_RW);
    const { vrh, ring, riov, wiov, mem } = setup({ iotlb: tlb });
    mem.write(BUF, bytes(16));
    ring.desc(0, 2 ** 40, 16, R);
    ring.desc(1, BUF, 16, W);
    ring.desc(2, 2 ** 40 + 8, 8, W);
    ring.publish(0, 1, 2);
    const got = new Uint8Array(16);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect([riov.count, riov.totalLength, wiov.count, vrh.pull(riov, got)]).toEqual([1, 16, 0, 16]);
    expect(got).toEqual(bytes(16));
    expect(vrh.getdesc(riov, wiov)).toBe(1);
    expect([riov.count, wiov.count, wiov.totalLength]).toEqual([0, 1, 16]);
    expect(vrh.getdesc(riov, wiov)).toBe(2);
    expect(vrh.push(wiov, bytes(8, 5))).toBe(8);
    expect(mem.view(BUF + 8, 8)).toEqual(bytes(8, 5));
  });

  it('accepts a chain of exactly queue-size descriptors', () => {
    const { vrh, ring, riov, wiov } = setup({ num: 4 });
    for (let i = 0; i < 4; i++) ring.desc(i, BUF + 0x100 * i, 4, i === 3 ? R : R | N, i + 1);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect([riov.count, riov.totalLength]).toEqual([4, 16]);
  });

  it('merges descriptors that are contiguous in memory into one segment', () => {
    const { vrh, ring, riov, wiov } = setup();
    ring.desc(0, BUF, 8, W | N, 1);
    ring.desc(1, BUF + 8, 8, W);
    ring.publish(0);
    vrh.getdesc(riov, wiov);
    expect([wiov.count, wiov.totalLength]).toEqual([1, 16]);
  });

  describe('indirect descriptors', () => {
    const TABLE = 0x6000;

    it('walks an indirect table (WRITE on the indirect descriptor itself is ignored)', () => {
      const { vrh, ring, riov, wiov, mem } = setup();
      ring.desc(0, BUF, 10, R | N, 1, TABLE);
      ring.desc(1, BUF + 0x100, 20, R | N, 2, TABLE);
      ring.desc(2, BUF + 0x200, 30, W, 0, TABLE);
      ring.desc(4, TABLE, 3 * 16, I | W);
      ring.publish(4);
      mem.write(BUF, bytes(10));
      expect(vrh.getdesc(riov, wiov)).toBe(4);
      expect([riov.count, riov.totalLength, wiov.count, wiov.totalLength]).toEqual([2, 30, 1, 30]);
      const got = new Uint8Array(10);
      vrh.pull(riov, got);
      expect(got).toEqual(bytes(10));
    });

    it('follows direct descriptors that end in an indirect one', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF + 0x300, 5, R, 0, TABLE);
      ring.desc(1, BUF + 0x400, 6, W, 0, TABLE);
      ring.desc(0, BUF, 4, R | N, 2);
      ring.desc(2, TABLE, 16, I);
      ring.desc(3, TABLE + 16, 16, I);
      ring.publish(0, 3);
      expect(vrh.getdesc(riov, wiov)).toBe(0);
      expect([riov.count, riov.totalLength, wiov.totalLength]).toEqual([2, 9, 0]);
      expect(vrh.getdesc(riov, wiov)).toBe(3);
      expect([riov.totalLength, wiov.totalLength]).toEqual([0, 6]);
    });

    it('reads a table that the IOTLB scatters over two memory regions', () => {
      const mem = GuestMemory.create({ size: MEM_SIZE });
      mem.addRegion(0x100000, new ArrayBuffer(0x1000));
      const iotlb = Iotlb.identity();
      const vrh = new Vringh();
      vrh.init({ num: 8, descAddr: DESC, availAddr: AVAIL, usedAddr: USED, eventIdx: false, mem, iotlb });
      const ring = new HandRing(mem.regions()[0].view, 8);
      // IOVA 0x1_0000_0000 + [0, 24) -> end of region 0, [24, 48) -> start of region 1: descriptor 1
      // straddles the two regions.
      const iova = 2 ** 32;
      const tlb = new Iotlb();
      tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
      tlb.addRange(BigInt(iova), BigInt(iova + 23), BigInt(MEM_SIZE - 24), VHOST_ACCESS_RO);
      tlb.addRange(BigInt(iova + 24), BigInt(iova + 47), 0x100000n, VHOST_ACCESS_RO);
      vrh.setIotlb(tlb);
      const scratch = new DataView(new ArrayBuffer(48));
      const table = new HandRing(scratch, 8);
      table.desc(0, BUF, 7, R | N, 1, 0);
      table.desc(1, BUF + 0x100, 9, W | N, 2, 0);
      table.desc(2, BUF + 0x200, 11, W, 0, 0);
      const raw = new Uint8Array(scratch.buffer);
      mem.write(MEM_SIZE - 24, raw.subarray(0, 24));
      mem.write(0x100000, raw.subarray(24));
      ring.desc(0, iova, 48, I);
      ring.publish(0);
      const riov = new Iov();
      const wiov = new Iov();
      expect(vrh.getdesc(riov, wiov)).toBe(0);
      expect([riov.totalLength, wiov.totalLength, wiov.count]).toEqual([7, 20, 2]);
    });
  });

  describe('errors', () => {
    // vringh.c: __vringh_get_head() compares avail->idx with last_avail_idx only for equality.
    it('does not check how far avail idx moved: takes every entry it says is available', () => {
      const { vrh, ring, riov, wiov } = setup({ num: 4 });
      for (let i = 0; i < 4; i++) ring.desc(i, BUF + 0x10 * i, 1 + i, R);
      ring.publish(0, 1, 2, 3);
      ring.setAvailIdx(6);
      const heads = [];
      for (let h = vrh.getdesc(riov, wiov); h >= 0; h = vrh.getdesc(riov, wiov)) heads.push(h);
      // Entries 4 and 5 are slots 0 and 1 again.
      expect(heads).toEqual([0, 1, 2, 3, 0, 1]);
      expect(vrh.lastAvailIdx).toBe(6);
    });

    // vringh.c: __vringh_get_head() returns -EINVAL for head >= num before `(*last_avail_idx)++`.
    it('EINVAL for a head not below the queue size, not consuming it', () => {
      const { vrh, ring, riov, wiov, view } = setup({ num: 4 });
      ring.desc(1, BUF, 1, R);
      ring.publish(4, 1);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /head 4/);
      expect(vrh.lastAvailIdx).toBe(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /head 4/);
      expect(vrh.lastAvailIdx).toBe(0);
      // The driver rewrites the entry: the same slot is taken now.
      view.setUint16(AVAIL + 4, 1, true);
      expect(vrh.getdesc(riov, wiov)).toBe(1);
      expect(vrh.lastAvailIdx).toBe(1);
    });

    it('EINVAL for next beyond the table, consuming the chain', () => {
      const { vrh, ring, riov, wiov } = setup({ num: 4 });
      ring.desc(0, BUF, 1, R | N, 4);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /next 4/);
      expect(vrh.lastAvailIdx).toBe(1);
    });

    it('EINVAL for next beyond an indirect table', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF, 1, R | N, 2, 0x6000);
      ring.desc(0, 0x6000, 32, I);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /next 2 .*indirect table size 2/);
    });

    // vringh.c: move_to_indirect() refuses `len % sizeof(struct vring_desc)` only.
    it.each([8, 17])('EINVAL for an indirect table length of %s', (len) => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, 0x6000, len, I);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', new RegExp(`indirect table length ${len}`));
      expect(vrh.lastAvailIdx).toBe(1);
    });

    // An empty table: __vringh_iov() still reads its descriptor 0, then `indirect_count > desc_max`.
    it('ELOOP for an indirect table length of 0 (its first descriptor is read and is one too many)', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF, 4, R, 0, 0x6000);
      ring.desc(0, 0x6000, 0, I);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'ELOOP', /indirect table of head 0 .*its 0 descriptors/);
    });

    it('EINVAL for an indirect descriptor inside an indirect table', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, 0x6100, 16, I, 0, 0x6000);
      ring.desc(0, 0x6000, 16, I);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /itself indirect/);
    });

    // vringh.c: move_to_indirect() saves `desc->next` as up_next; return_from_indirect() resumes there
    // when the table ends, and `up_next > 0` treats a next of 0 as the end of the chain.
    it('resumes the chain at next after an indirect table with NEXT; a next of 0 ends it', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF, 1, R | N, 1, 0x6000);
      ring.desc(1, BUF + 0x10, 2, R, 0, 0x6000);
      ring.desc(0, 0x6000, 32, I | N, 2);
      ring.desc(2, BUF + 0x20, 4, W);
      ring.desc(3, 0x6000, 32, I | N, 0);
      ring.desc(4, 0x6000, 32, I | N, 8);
      ring.publish(0, 3, 4);
      expect(vrh.getdesc(riov, wiov)).toBe(0);
      expect([riov.totalLength, wiov.totalLength]).toEqual([3, 4]);
      expect(vrh.getdesc(riov, wiov)).toBe(3);
      expect([riov.totalLength, wiov.totalLength]).toEqual([3, 0]);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /next 8 of head 4 is not below the table size 8/);
    });

    it('takes a second indirect table reached by next after the first (it is not nested)', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF, 1, R, 0, 0x6000);
      ring.desc(0, 0x6000, 16, I | N, 1);
      ring.desc(1, 0x6000, 16, I);
      ring.publish(0);
      // Descriptor 1 is an indirect table of the ring's chain again, and its only entry ends the chain.
      expect(vrh.getdesc(riov, wiov)).toBe(0);
      expect(riov.totalLength).toBe(2);
    });

    it('EINVAL for a readable descriptor after a writable one, also a zero-length one and across an indirect table', () => {
      const a = setup();
      a.ring.desc(0, BUF, 4, W | N, 1);
      a.ring.desc(1, BUF + 0x100, 4, R);
      a.ring.publish(0);
      expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'EINVAL', /readable descriptor 1 .*follows a writable/);

      const b = setup();
      b.ring.desc(0, 0, 0, W | N, 1);
      b.ring.desc(1, BUF, 4, R);
      b.ring.publish(0);
      expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'EINVAL', /follows a writable/);

      const c = setup();
      c.ring.desc(0, BUF, 4, R, 0, 0x6000);
      c.ring.desc(0, BUF, 4, W | N, 1);
      c.ring.desc(1, 0x6000, 16, I);
      c.ring.publish(0);
      expectCode(() => c.vrh.getdesc(c.riov, c.wiov), 'EINVAL', /follows a writable/);
    });

    it('ELOOP for a self loop, a cycle and a looping indirect table', () => {
      const a = setup();
      a.ring.desc(0, BUF, 4, R | N, 0);
      a.ring.publish(0);
      expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'ELOOP', /head 0 loops/);

      const b = setup({ num: 4 });
      b.ring.desc(2, BUF, 4, R | N, 3);
      b.ring.desc(3, BUF, 4, R | N, 2);
      b.ring.publish(2);
      expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'ELOOP');
      expect(b.vrh.lastAvailIdx).toBe(1);

      const c = setup();
      c.ring.desc(0, BUF, 4, R | N, 1, 0x6000);
      c.ring.desc(1, BUF, 4, R | N, 0, 0x6000);
      c.ring.desc(0, 0x6000, 32, I);
      c.ring.publish(0);
      expectCode(() => c.vrh.getdesc(c.riov, c.wiov), 'ELOOP', /indirect table/);
    });

    // vringh.c: __vringh_iov() answers -EINVAL (WARN_ON) without either list, after the head was taken.
    it('EINVAL when neither list is given, consuming the chain', () => {
      const { vrh, ring } = setup();
      ring.desc(0, BUF, 4, R);
      ring.publish(0);
      expectCode(() => vrh.getdesc(null, null), 'EINVAL', /neither a readable nor a writable iov/);
      expect(vrh.lastAvailIdx).toBe(1);
    });

    it('EPROTO for a buffer kind whose list is null', () => {
      const a = setup();
      a.ring.desc(0, BUF, 4, W);
      a.ring.publish(0);
      expectCode(() => a.vrh.getdesc(a.riov, null), 'EPROTO', /writable descriptor 0/);

      const b = setup();
      b.ring.desc(0, BUF, 4, R);
      b.ring.publish(0);
      expectCode(() => b.vrh.getdesc(null, b.wiov), 'EPROTO', /readable descriptor 0/);
    });

    it('EINVAL for an unmapped buffer, EFAULT for one mapped outside memory', () => {
      const a = setup();
      a.ring.desc(0, MEM_SIZE + 0x1000, 4, R);
      a.ring.publish(0);
      // identity map: the IOVA is mapped, the physical address is outside guest memory
      expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'EFAULT');

      const tlb = new Iotlb();
      tlb.addRange(0n, BigInt(BUF - 1), 0n, VHOST_ACCESS_RW);
      const b = setup({ iotlb: tlb });
      b.ring.desc(0, BUF, 4, R);
      b.ring.publish(0);
      expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'EINVAL', /iova 0x8000 is not mapped/);
    });

    it('translates an address beyond 2^53 as a u64: identity maps it outside guest memory (EFAULT)', () => {
      const a = setup();
      a.ring.desc(0, 2 ** 60, 4, R);
      a.ring.publish(0);
      expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'EFAULT', /physical address 0x1000000000000000/);

      const b = setup();
      b.ring.desc(0, 2 ** 53 - 2, 4, R);
      b.ring.publish(0);
      expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'EFAULT', /outside guest memory/);
    });

    it('gathers buffers and an indirect table at IOVAs above 2^53 that map into guest memory', () => {
      const tlb = new Iotlb();
      tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
      // IOVA 2^60 + x -> physical 0x6000 + x
      tlb.addRange(1n << 60n, (1n << 60n) + 0x1fffn, 0x6000n, VHOST_ACCESS_RW);
      const { vrh, ring, riov, wiov, mem } = setup({ iotlb: tlb });
      ring.desc(0, 2 ** 60 + 0x1000, 6, R | N, 1, 0x6000);
      ring.desc(1, 2 ** 60 + 0x1100, 10, W, 0, 0x6000);
      ring.desc(5, 2 ** 60, 32, I);
      ring.publish(5);
      mem.write(0x7000, bytes(6));
      expect(vrh.getdesc(riov, wiov)).toBe(5);
      const got = new Uint8Array(6);
      vrh.pull(riov, got);
      expect([got, wiov.totalLength]).toEqual([bytes(6), 10]);
    });

    it('EINVAL for a chain longer than 2^32 - 1 bytes', () => {
      const { vrh, ring, riov, wiov } = setup();
      ring.desc(0, BUF, 1, R | N, 1);
      ring.desc(1, BUF, 0xffff_ffff, W);
      ring.publish(0);
      expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /4294967296 bytes/);
    });
  });
});

describe('Vringh with a partial IOTLB', () => {
  // IOVA layout: ring areas and buffers at IOVA 0x10_0000 + x map to physical x.
  const OFF = 0x10_0000;

  function partial(perms: { desc?: number; avail?: number; used?: number }): Setup & { tlb: Iotlb } {
    const tlb = new Iotlb();
    tlb.addRange(BigInt(OFF + DESC), BigInt(OFF + DESC + 0x7ff), BigInt(DESC), perms.desc ?? VHOST_ACCESS_RO);
    tlb.addRange(
      BigInt(OFF + AVAIL),
      BigInt(OFF + AVAIL + 0xff),
      BigInt(AVAIL),
      perms.avail ?? VHOST_ACCESS_RO,
    );
    tlb.addRange(BigInt(OFF + USED), BigInt(OFF + USED + 0xff), BigInt(USED), perms.used ?? VHOST_ACCESS_WO);
    tlb.addRange(BigInt(OFF + BUF), BigInt(OFF + BUF + 0xfff), BigInt(BUF), VHOST_ACCESS_RO);
    tlb.addRange(
      BigInt(OFF + BUF + 0x1000),
      BigInt(OFF + BUF + 0x1fff),
      BigInt(BUF + 0x1000),
      VHOST_ACCESS_WO,
    );
    const s = setup({ iotlb: tlb, descAddr: OFF + DESC, availAddr: OFF + AVAIL, usedAddr: OFF + USED });
    return { ...s, tlb };
  }

  it('works with an RO table and avail ring, a WO used ring, RO and WO buffers', () => {
    const { vrh, ring, riov, wiov, mem } = partial({});
    ring.desc(0, OFF + BUF, 16, R | N, 1);
    ring.desc(1, OFF + BUF + 0x1000, 16, W);
    ring.publish(0);
    mem.write(BUF, bytes(16));
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    const got = new Uint8Array(16);
    vrh.pull(riov, got);
    expect(got).toEqual(bytes(16));
    vrh.push(wiov, bytes(16, 3));
    expect(mem.view(BUF + 0x1000, 16)).toEqual(bytes(16, 3));
    vrh.complete(0, 16);
    expect(ring.usedIdx()).toBe(1);
    expect(ring.usedElem(0)).toEqual({ id: 0, len: 16 });
  });

  it('EPERM for a writable descriptor in RO memory and a readable one in WO memory', () => {
    const a = partial({});
    a.ring.desc(0, OFF + BUF, 16, W);
    a.ring.publish(0);
    expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'EPERM', /read-only, write denied/);

    const b = partial({});
    b.ring.desc(0, OFF + BUF + 0x1000, 16, R);
    b.ring.publish(0);
    expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'EPERM', /write-only, read denied/);
  });

  // vringh.c: copydesc_iotlb() turns any failed translation of a descriptor into -EFAULT.
  it('EFAULT for an indirect table in WO memory', () => {
    const { vrh, ring, riov, wiov } = partial({});
    ring.desc(0, OFF + BUF + 0x1000, 16, I);
    ring.publish(0);
    const err = expectCode(() => vrh.getdesc(riov, wiov), 'EFAULT', /indirect table of head 0/);
    expect((err.cause as VringError).code).toBe('EPERM');
  });

  it('EINVAL for a buffer running into a hole', () => {
    const { vrh, ring, riov, wiov } = partial({});
    ring.desc(0, OFF + BUF + 0x1ff0, 0x20, W);
    ring.publish(0);
    expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /not mapped/);
  });

  // vringh.c: getu16_iotlb() returns iotlb_translate()'s error (nothing consumed yet); the head is
  // consumed before __vringh_iov() reads the descriptor, and copydesc_iotlb() answers -EFAULT.
  it('EPERM from getdesc for a WO avail ring, consuming nothing; EFAULT for a WO descriptor table, consuming the chain', () => {
    const a = partial({ desc: VHOST_ACCESS_WO });
    a.ring.desc(0, OFF + BUF, 16, R);
    a.ring.publish(0);
    expectCode(() => a.vrh.getdesc(a.riov, a.wiov), 'EFAULT', /descriptor table/);
    expect(a.vrh.lastAvailIdx).toBe(1);

    const b = partial({ avail: VHOST_ACCESS_WO });
    b.ring.desc(0, OFF + BUF, 16, R);
    b.ring.publish(0);
    expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'EPERM', /available ring/);
    expect(b.vrh.lastAvailIdx).toBe(0);
  });

  // putused_iotlb() answers -EFAULT for the element; putu16_iotlb() the translation's error.
  it('EFAULT from complete, EPERM from notifyEnable and notifyDisable for an RO used ring; nothing counted', () => {
    const { vrh, ring, riov, wiov } = partial({ used: VHOST_ACCESS_RO });
    ring.desc(0, OFF + BUF, 16, R);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expectCode(() => vrh.complete(0, 0), 'EFAULT', /used ring/);
    expectCode(() => vrh.notifyEnable(), 'EPERM', /used ring/);
    expectCode(() => vrh.notifyDisable(), 'EPERM', /used ring/);
    expect(vrh.needNotify()).toBe(true);
    expect(vrh.lastUsedIdx).toBe(0);
  });

  it('EINVAL while the ring is unmapped, then works once the IOTLB maps it', () => {
    const tlb = new Iotlb();
    const { vrh, ring, riov, wiov } = setup({ iotlb: tlb });
    ring.desc(0, BUF, 4, R);
    ring.publish(0);
    expectCode(() => vrh.getdesc(riov, wiov), 'EINVAL', /available ring at iova 0x3000/);
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
  });

  // vringh.c: getu16_iotlb() translates each field on its own, so the area may be scattered.
  it('reads a ring area the IOTLB scatters over discontiguous memory, field by field', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    // The avail ring's first 0x10 bytes map at AVAIL, the rest 0x100 bytes further on.
    tlb.addRange(0x50000n, 0x5000fn, BigInt(AVAIL), VHOST_ACCESS_RO);
    tlb.addRange(0x50010n, 0x5001fn, BigInt(AVAIL + 0x110), VHOST_ACCESS_RO);
    const { vrh, riov, wiov, view, ring } = setup({ iotlb: tlb, availAddr: 0x50000 });
    ring.desc(3, BUF, 4, R);
    ring.desc(5, BUF, 6, R);
    // Slots 0..5 at AVAIL+4.., slots 6 and 7 at AVAIL+0x110+0..3.
    view.setUint16(AVAIL + 4, 3, true);
    view.setUint16(AVAIL + 0x110 + 2, 5, true);
    view.setUint16(AVAIL + 2, 1, true);
    expect(vrh.getdesc(riov, wiov)).toBe(3);
    vrh.lastAvailIdx = 7;
    view.setUint16(AVAIL + 2, 8, true);
    expect(vrh.getdesc(riov, wiov)).toBe(5);
    expect(riov.totalLength).toBe(6);
  });

  // getu16_iotlb() translates into one segment: a field split over two entries is -ENOBUFS.
  it('ENOBUFS for avail idx split over two IOTLB entries, even adjacent ones', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x50000n, 0x50002n, BigInt(AVAIL), VHOST_ACCESS_RO);
    tlb.addRange(0x50003n, 0x5ffffn, BigInt(AVAIL + 3), VHOST_ACCESS_RO);
    const { vrh, riov, wiov } = setup({ iotlb: tlb, availAddr: 0x50000 });
    expectCode(() => vrh.getdesc(riov, wiov), 'ENOBUFS', /available ring .*spans two iotlb entries/);
    expect(vrh.lastAvailIdx).toBe(0);
  });

  it('accepts a ring area split over IOTLB entries that map to adjacent memory', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x50000n, 0x50007n, BigInt(DESC), VHOST_ACCESS_RO);
    tlb.addRange(0x50008n, 0x5ffffn, BigInt(DESC + 8), VHOST_ACCESS_RW);
    const { vrh, ring, riov, wiov } = setup({ iotlb: tlb, descAddr: 0x50000 });
    ring.desc(0, BUF, 4, R);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
  });

  it('translates the ring again when the IOTLB changes, and after setIotlb', () => {
    const { vrh, ring, riov, wiov, tlb, view } = partial({});
    ring.desc(0, OFF + BUF, 4, R);
    ring.desc(1, OFF + BUF, 8, R);
    ring.publish(0, 0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect(riov.totalLength).toBe(4);
    // Point the descriptor table's IOVA at a copy whose descriptor 0 is 12 bytes long.
    const COPY = 0xa000;
    new HandRing(view, 8).desc(0, OFF + BUF, 12, R, 0, COPY);
    tlb.delRange(BigInt(OFF + DESC), BigInt(OFF + DESC));
    tlb.addRange(BigInt(OFF + DESC), BigInt(OFF + DESC + 0x7ff), BigInt(COPY), VHOST_ACCESS_RO);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect(riov.totalLength).toBe(12);

    ring.publish(0);
    vrh.setIotlb(Iotlb.identity());
    // Identity now: the ring's IOVAs (0x10_xxxx) are outside the 128 KiB memory.
    expectCode(() => vrh.getdesc(riov, wiov), 'EFAULT');
  });
});

describe('Vringh after guest memory changed', () => {
  it('reads and writes the rings in the region that replaced theirs', () => {
    const { mem, vrh, ring, riov, wiov } = setup();
    ring.desc(0, BUF, 16, R);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    vrh.complete(0, 0);
    // The same guest-physical range, now backed by other memory where the driver made chain 1 available.
    mem.removeRegion(0);
    const fresh = mem.addRegion(0, new ArrayBuffer(MEM_SIZE));
    const next = new HandRing(fresh.view, 8);
    next.desc(1, BUF + 0x100, 8, R);
    next.publish(0, 1);
    fresh.bytes.fill(0x5a, BUF + 0x100, BUF + 0x108);
    expect(vrh.getdesc(riov, wiov)).toBe(1);
    const got = new Uint8Array(8);
    vrh.pull(riov, got);
    expect(Array.from(got)).toEqual(new Array<number>(8).fill(0x5a));
    vrh.complete(1, 0);
    expect(next.usedIdx()).toBe(2);
    expect(next.usedElem(1)).toEqual({ id: 1, len: 0 });
  });

  it('EFAULT when the region of the rings was removed', () => {
    const { mem, vrh, ring, riov, wiov } = setup();
    ring.desc(0, BUF, 16, R);
    ring.publish(0);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    mem.removeRegion(0);
    expectCode(() => vrh.getdesc(riov, wiov), 'EFAULT');
  });
});

describe('Vringh pull and push', () => {
  it('copy across several segments and memory regions', () => {
    const mem = GuestMemory.create({ size: MEM_SIZE });
    const second = new ArrayBuffer(0x1000);
    mem.addRegion(0x100000, second);
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(MEM_SIZE - 1), 0n, VHOST_ACCESS_RW);
    // One IOVA range over the last 10 bytes of region 0 and the first 20 of region 1.
    tlb.addRange(0x200000n, 0x200009n, BigInt(MEM_SIZE - 10), VHOST_ACCESS_RW);
    tlb.addRange(0x20000an, 0x20001dn, 0x100000n, VHOST_ACCESS_RW);
    const vrh = new Vringh();
    vrh.init({ num: 8, descAddr: DESC, availAddr: AVAIL, usedAddr: USED, eventIdx: false, mem, iotlb: tlb });
    const ring = new HandRing(mem.regions()[0].view, 8);
    ring.desc(0, BUF, 5, R | N, 1);
    ring.desc(1, 0x200000, 30, R | N, 2);
    ring.desc(2, 0x200000, 30, W | N, 3);
    ring.desc(3, BUF + 0x100, 6, W);
    ring.publish(0);
    const data = bytes(35);
    mem.write(BUF, data.subarray(0, 5));
    mem.write(MEM_SIZE - 10, data.subarray(5, 15));
    mem.write(0x100000, data.subarray(15, 35));
    const riov = new Iov(1);
    const wiov = new Iov(1);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect([riov.count, wiov.count]).toEqual([3, 3]);

    const got = new Uint8Array(64);
    expect(vrh.pull(riov, got, 20)).toBe(20);
    expect(vrh.pull(riov, got.subarray(20))).toBe(15);
    expect(vrh.pull(riov, got)).toBe(0);
    expect(got.subarray(0, 35)).toEqual(data);

    const reply = bytes(40, 5);
    expect(vrh.push(wiov, reply)).toBe(36);
    expect(mem.view(MEM_SIZE - 10, 10)).toEqual(reply.subarray(0, 10));
    expect(new Uint8Array(second, 0, 20)).toEqual(reply.subarray(10, 30));
    expect(mem.view(BUF + 0x100, 6)).toEqual(reply.subarray(30, 36));
  });

  it('copy at most len bytes, and never more than the array holds', () => {
    const { vrh, ring, riov, wiov, mem } = setup();
    ring.desc(0, BUF, 16, R | N, 1);
    ring.desc(1, BUF + 0x100, 16, W);
    ring.publish(0);
    vrh.getdesc(riov, wiov);
    expect(vrh.pull(riov, new Uint8Array(4), 100)).toBe(4);
    expect(vrh.pull(riov, new Uint8Array(16), 3)).toBe(3);
    expect(vrh.push(wiov, new Uint8Array([1, 2, 3]), 10)).toBe(3);
    expect(mem.view(BUF + 0x100, 4)).toEqual(new Uint8Array([1, 2, 3, 0]));
  });
});

describe('Vringh.complete', () => {
  it('writes the used element, then used->idx', () => {
    const { vrh, ring } = setup();
    vrh.complete(5, 123);
    vrh.complete(2, 0xffff_ffff);
    expect(ring.usedIdx()).toBe(2);
    expect([ring.usedElem(0), ring.usedElem(1)]).toEqual([
      { id: 5, len: 123 },
      { id: 2, len: 0xffff_ffff },
    ]);
    expect(vrh.lastUsedIdx).toBe(0);
  });

  it('EINVAL for a head not below the queue size, ERANGE for a length that is not a u32; nothing written', () => {
    const { vrh, ring } = setup();
    expectCode(() => vrh.complete(8, 0), 'EINVAL', /head 8/);
    expectCode(() => vrh.complete(-1, 0), 'EINVAL');
    expectCode(() => vrh.complete(0, 2 ** 32), 'ERANGE', /4294967296/);
    expectCode(() => vrh.complete(0, -1), 'ERANGE');
    expect(ring.usedIdx()).toBe(0);
  });

  it('wraps the used ring and its u16 index from 65530', () => {
    const { vrh, ring, riov, wiov } = setup({ num: 8 });
    vrh.lastAvailIdx = 65530;
    vrh.lastUsedIdx = 65530;
    ring.nextAvail = 65530;
    for (let i = 0; i < 8; i++) ring.desc(i, BUF + 0x10 * i, 16, W);
    ring.publish(0, 1, 2, 3, 4, 5, 6, 7);
    expect(vrh.availIdx()).toBe(2);
    const heads: number[] = [];
    for (let h = vrh.getdesc(riov, wiov); h >= 0; h = vrh.getdesc(riov, wiov)) {
      heads.push(h);
      vrh.complete(h, 16);
    }
    expect(heads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(vrh.lastAvailIdx).toBe(2);
    expect(ring.usedIdx()).toBe(2);
    // slot = idx mod 8: 65530 mod 8 = 2
    expect(ring.usedElem(2)).toEqual({ id: 0, len: 16 });
    expect(ring.usedElem(1)).toEqual({ id: 7, len: 16 });
    vrh.needNotify();
    expect(vrh.lastUsedIdx).toBe(2);
  });
});

describe('Vringh.needNotify', () => {
  it('without EVENT_IDX follows VIRTQ_AVAIL_F_NO_INTERRUPT, even with nothing completed', () => {
    const { vrh, ring } = setup();
    expect(vrh.needNotify()).toBe(true);
    vrh.complete(0, 0);
    ring.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    expect(vrh.needNotify()).toBe(false);
    expect(vrh.lastUsedIdx).toBe(1);
    ring.setAvailFlags(0);
    vrh.complete(0, 0);
    expect(vrh.needNotify()).toBe(true);
    expect(vrh.lastUsedIdx).toBe(2);
  });

  it('without EVENT_IDX ignores used_event', () => {
    const { vrh, ring } = setup();
    ring.setUsedEvent(100);
    vrh.complete(0, 0);
    expect(vrh.needNotify()).toBe(true);
  });

  // old = lastUsedIdx, new = old + completed: notify iff used_event in [old, new) mod 2^16.
  it.each([
    { old: 0, completed: 3, usedEvent: 0, notify: true },
    { old: 0, completed: 3, usedEvent: 2, notify: true },
    { old: 0, completed: 3, usedEvent: 3, notify: false },
    { old: 0, completed: 3, usedEvent: 65535, notify: false },
    { old: 10, completed: 0, usedEvent: 10, notify: false },
    { old: 10, completed: 1, usedEvent: 10, notify: true },
    { old: 10, completed: 1, usedEvent: 9, notify: false },
    { old: 65530, completed: 10, usedEvent: 65530, notify: true },
    { old: 65530, completed: 10, usedEvent: 65535, notify: true },
    { old: 65530, completed: 10, usedEvent: 3, notify: true },
    { old: 65530, completed: 10, usedEvent: 4, notify: false },
    { old: 65530, completed: 10, usedEvent: 65529, notify: false },
  ])(
    'with EVENT_IDX: old $old, $completed completed, used_event $usedEvent -> $notify',
    ({ old, completed, usedEvent, notify }) => {
      const { vrh, ring } = setup({ eventIdx: true, num: 16 });
      vrh.lastUsedIdx = old;
      for (let k = 0; k < completed; k++) vrh.complete(k, 1);
      // used->idx is written by complete() only; setting lastUsedIdx does not touch the ring.
      expect(ring.usedIdx()).toBe(completed === 0 ? 0 : (old + completed) & 0xffff);
      ring.setUsedEvent(usedEvent);
      ring.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT); // ignored with EVENT_IDX
      expect(vrh.needNotify()).toBe(notify);
      expect(vrh.lastUsedIdx).toBe((old + completed) & 0xffff);
      // The batch is closed: nothing new completed, no notification.
      expect(vrh.needNotify()).toBe(false);
    },
  );

  it('with EVENT_IDX always notifies after more than 65535 completions', () => {
    const { vrh, ring } = setup({ eventIdx: true, num: 16 });
    for (let k = 0; k < 65536; k++) vrh.complete(k & 15, 0);
    // new == old after a full u16 turn: the window rule alone would say no.
    ring.setUsedEvent(0);
    expect(ring.usedIdx()).toBe(0);
    expect(vrh.needNotify()).toBe(true);
    expect(vrh.lastUsedIdx).toBe(0);
  });
});

describe('Vringh notification enable / disable', () => {
  it('without EVENT_IDX sets and clears VIRTQ_USED_F_NO_NOTIFY', () => {
    const { vrh, ring } = setup();
    vrh.notifyDisable();
    expect(ring.usedFlags()).toBe(VIRTQ_USED_F_NO_NOTIFY);
    expect(vrh.notifyEnable()).toBe(true);
    expect(ring.usedFlags()).toBe(0);
  });

  it('with EVENT_IDX writes avail_event = lastAvailIdx and leaves used flags alone', () => {
    const { vrh, ring } = setup({ eventIdx: true });
    vrh.lastAvailIdx = 65533;
    ring.setAvailIdx(65533);
    vrh.notifyDisable();
    expect(ring.usedFlags()).toBe(0);
    expect(ring.availEvent()).toBe(0);
    expect(vrh.notifyEnable()).toBe(true);
    expect(ring.availEvent()).toBe(65533);
  });

  it.each([false, true])('returns false when buffers arrived meanwhile (eventIdx %s)', (eventIdx) => {
    const { vrh, ring, riov, wiov } = setup({ eventIdx });
    ring.desc(0, BUF, 4, R);
    ring.publish(0);
    expect(vrh.notifyEnable()).toBe(false);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect(vrh.notifyEnable()).toBe(true);
    if (eventIdx) expect(ring.availEvent()).toBe(1);
  });
});

describe('Vringh vq state', () => {
  it('lastAvailIdx set/get picks the avail slot to read next', () => {
    const { vrh, ring, riov, wiov } = setup({ num: 4 });
    vrh.lastAvailIdx = 65535;
    expect(vrh.lastAvailIdx).toBe(65535);
    ring.nextAvail = 65535;
    ring.desc(2, BUF, 4, R);
    ring.publish(2);
    expect(vrh.getdesc(riov, wiov)).toBe(2);
    expect(vrh.lastAvailIdx).toBe(0);
  });

  it('rejects indices that are not u16 with ERANGE', () => {
    const { vrh } = setup();
    expectCode(() => (vrh.lastAvailIdx = 65536), 'ERANGE', /last avail idx 65536/);
    expectCode(() => (vrh.lastUsedIdx = -1), 'ERANGE', /last used idx -1/);
    expectCode(() => (vrh.lastUsedIdx = 0.5), 'ERANGE');
  });

  it('completes at lastUsedIdx after a restore (the simulator sets it to lastAvailIdx)', () => {
    const { vrh, ring } = setup({ num: 8 });
    vrh.lastAvailIdx = 300;
    vrh.lastUsedIdx = vrh.lastAvailIdx;
    vrh.complete(1, 2);
    expect(ring.usedIdx()).toBe(301);
    expect(ring.usedElem(300 % 8)).toEqual({ id: 1, len: 2 });
  });
});

describe('Vringh chain length and walk cost (vringh.c: __vringh_iov)', () => {
  const TABLE = 0x10_0000;

  /** Writes a linear chain of `n` zero-length readable descriptors (i -> i + 1) at `table`. */
  function linearTable(view: DataView, table: number, n: number, last = n - 1): void {
    const ring = new HandRing(view, 1);
    for (let i = 0; i < n; i++) ring.desc(i, 0, 0, i === last ? R : R | N, i + 1, table);
  }

  // The kernel counts the ring's descriptors against num and an indirect table's against its own
  // size; here the whole chain, indirect descriptors included, is bounded by num (the budget of
  // docs/kernel-differences.md), so that a guest cannot make one chain cost 2^28 steps.
  it('ELOOP at num + 1 descriptors, those of an indirect table included', () => {
    const { vrh, ring, riov, wiov, view } = setup({ num: 8, memSize: 0x20_0000 });
    linearTable(view, TABLE, 7);
    linearTable(view, TABLE + 0x1000, 8);
    linearTable(view, TABLE + 0x2000, 9);
    // 1 + 7, 8, 1 + 8 and 9 descriptors.
    ring.desc(0, BUF, 4, R | N, 1);
    ring.desc(1, TABLE, 7 * 16, I);
    ring.desc(2, TABLE + 0x1000, 8 * 16, I);
    ring.desc(3, BUF, 4, R | N, 5);
    ring.desc(5, TABLE + 0x1000, 8 * 16, I);
    ring.desc(4, TABLE + 0x2000, 9 * 16, I);
    ring.publish(0, 2, 3, 4);
    expect(vrh.getdesc(riov, wiov)).toBe(0);
    expect(vrh.getdesc(riov, wiov)).toBe(2);
    expectCode(() => vrh.getdesc(riov, wiov), 'ELOOP', /head 3 loops: more than queue size 8 descriptors/);
    expectCode(() => vrh.getdesc(riov, wiov), 'ELOOP', /head 4 loops/);
    expect(vrh.lastAvailIdx).toBe(4);
  });

  it('a kick of num chains of 65,536 zero-length indirect descriptors each walks num + 1 per chain', () => {
    const num = 256;
    const { vrh, ring, riov, wiov, view, mem } = setup({ num, memSize: 0x20_0000 });
    linearTable(view, TABLE, 0x1_0000);
    for (let h = 0; h < num; h++) ring.desc(h, TABLE, 0x1_0000 * 16, I);
    ring.publish(...Array.from({ length: num }, (_, h) => h));
    // Count the descriptors read: each indirect descriptor is read from the table's memory.
    const reads = vi.spyOn(mem, 'findRegion');
    for (let h = 0; h < num; h++) expectCode(() => vrh.getdesc(riov, wiov), 'ELOOP', /head \d+ loops/);
    expect(vrh.lastAvailIdx).toBe(num);
    // The table lies in one region: its window is found once, not per descriptor or per chain.
    expect(reads.mock.calls.length).toBeLessThan(16);
  });

  /**
   * A table of `n` descriptors at IOVA 2^32, each `per` descriptors in an IOTLB entry of their own
   * mapped to shuffled physical places, with a chain 0 -> 1 -> ... of `chain` descriptors.
   */
  function scatteredTable(n: number, per: number, chain: number) {
    const num = 256;
    const s = setup({ num, memSize: 0x10_0000 + n * 16 + 0x1000 });
    const iotlb = new Iotlb();
    iotlb.addRange(0n, 0xf_ffffn, 0n, VHOST_ACCESS_RW);
    const pieces = n / per;
    const order = Array.from({ length: pieces }, (_, i) => i);
    let x = 12345;
    for (let i = pieces - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const scratch = new DataView(new ArrayBuffer(n * 16));
    linearTable(scratch, 0, n, chain - 1);
    const raw = new Uint8Array(scratch.buffer);
    const iova = 2 ** 32;
    for (let k = 0; k < pieces; k++) {
      const pa = TABLE + order[k] * per * 16;
      s.mem.write(pa, raw.subarray(k * per * 16, (k + 1) * per * 16));
      iotlb.addRange(
        BigInt(iova + k * per * 16),
        BigInt(iova + (k + 1) * per * 16 - 1),
        BigInt(pa),
        VHOST_ACCESS_RO,
      );
    }
    s.vrh.setIotlb(iotlb);
    s.ring.desc(0, iova, n * 16, I);
    s.ring.publish(0);
    // The ring areas are checked on first use: that is not the walk's cost.
    s.vrh.availIdx();
    s.vrh.ringStateForBatch();
    return { ...s, iotlb, lookups: vi.spyOn(iotlb, 'entryAt') };
  }

  it('looks up each IOTLB entry of an indirect table once, not per descriptor or per step', () => {
    // 65,536 entries of one descriptor each: a chain of 2 reads 2 of them.
    const a = scatteredTable(0x1_0000, 1, 2);
    expect(a.vrh.getdesc(a.riov, a.wiov)).toBe(0);
    expect(a.lookups.mock.calls.length).toBeLessThanOrEqual(4);
    // The same table walked to the bound: num + 1 descriptors, one lookup each.
    const b = scatteredTable(0x1_0000, 1, 0x1_0000);
    expectCode(() => b.vrh.getdesc(b.riov, b.wiov), 'ELOOP');
    expect(b.lookups.mock.calls.length).toBeLessThanOrEqual(256 + 1 + 2);
    // 16 descriptors per entry (256-byte pieces on shuffled places): a chain of 256 costs 16 lookups.
    const c = scatteredTable(0x1000, 16, 256);
    expect(c.vrh.getdesc(c.riov, c.wiov)).toBe(0);
    expect(c.lookups.mock.calls.length).toBeLessThanOrEqual(16 + 2);
  });
});

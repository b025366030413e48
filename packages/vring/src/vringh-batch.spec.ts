import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VHOST_ACCESS_RO,
  VHOST_ACCESS_RW,
  VHOST_ACCESS_WO,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from '@vdpa-kit/virtio-spec';
import { VringError } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import { IotlbWindow } from './iotlb-window.js';
import { Iov } from './iov.js';
import { Vringh } from './vringh.js';
import { VringhBatch } from './vringh-batch.js';

// Rings laid out by hand (virtio 1.2 §2.7): descriptor {le64 addr, le32 len, le16 flags, le16 next},
// avail {flags, idx, ring[Q]}, used {flags, idx, {id, len}[Q]}.
const NUM = 8;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const BUF = 0x8000;
const R = 0;
const W = VIRTQ_DESC_F_WRITE;
const N = VIRTQ_DESC_F_NEXT;

interface Ring {
  mem: GuestMemory;
  view: DataView;
  bytes: Uint8Array;
  vrh: Vringh;
  desc(i: number, addr: number, len: number, flags?: number, next?: number): void;
  publish(...heads: number[]): void;
}

function ring(iotlb: Iotlb = Iotlb.identity(), mem = GuestMemory.create({ size: 0x20000 })): Ring {
  const region = mem.regions()[0];
  const view = region.view;
  const vrh = new Vringh();
  vrh.init({ num: NUM, descAddr: DESC, availAddr: AVAIL, usedAddr: USED, eventIdx: false, mem, iotlb });
  let next = 0;
  return {
    mem,
    view,
    bytes: region.bytes,
    vrh,
    desc(i, addr, len, flags = 0, nxt = 0) {
      const off = DESC + 16 * i;
      view.setUint32(off, addr % 2 ** 32, true);
      view.setUint32(off + 4, Math.floor(addr / 2 ** 32), true);
      view.setUint32(off + 8, len, true);
      view.setUint16(off + 12, flags, true);
      view.setUint16(off + 14, nxt, true);
    },
    publish(...heads) {
      for (const h of heads) {
        view.setUint16(AVAIL + 4 + 2 * (next % NUM), h, true);
        next = (next + 1) & 0xffff;
      }
      view.setUint16(AVAIL + 2, next, true);
    },
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof VringError) return err.code;
    throw err;
  }
  return 'none';
}

describe('VringhBatch', () => {
  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(codeOf(() => new VringhBatch({ capacity }))).toBe('EINVAL');
    }
    expect(new VringhBatch().capacity).toBe(64);
  });

  it('grows past its capacity and keeps every chain', () => {
    const r = ring();
    for (let i = 0; i < 5; i++) r.desc(i, BUF + 0x100 * i, 10 + i);
    r.publish(0, 1, 2, 3, 4);
    const batch = new VringhBatch({ capacity: 1 });
    expect(r.vrh.getdescBatch(batch, 64)).toBe(5);
    expect(batch.capacity).toBeGreaterThanOrEqual(5);
    expect(Array.from(batch.heads.subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
    for (let k = 0; k < 5; k++) {
      expect(batch.readLength(k)).toBe(10 + k);
      expect(batch.writeLength(k)).toBe(0);
      expect(batch.segOffs[batch.start(k)]).toBe(BUF + 0x100 * k);
    }
  });

  it('keeps every segment when a chain of several descriptors comes before simple ones', () => {
    const r = ring();
    // Header and data in two descriptors, then single-descriptor chains, into a small batch.
    r.desc(0, BUF, 12, N, 1);
    r.desc(1, BUF + 0x100, 48);
    for (let i = 2; i < 8; i++) r.desc(i, BUF + 0x100 * i, 60);
    // Exactly as many chains as the batch holds, so that only the walk's reservation can make room.
    r.publish(0, 2, 3, 4);
    const batch = new VringhBatch({ capacity: 4 });
    expect(r.vrh.getdescBatch(batch, 8)).toBe(4);
    expect(batch.segments).toBe(5);
    expect(batch.readLength(0)).toBe(60);
    for (let k = 1; k < 4; k++) {
      expect(batch.readLength(k)).toBe(60);
      expect(batch.segOffs[batch.start(k)]).toBe(BUF + 0x100 * (k + 1));
    }
    const riov = new Iov();
    batch.loadIov(3, riov, null);
    expect(riov.totalLength).toBe(60);
  });

  it('splits a mixed chain into readable then writable segments', () => {
    const r = ring();
    r.desc(2, BUF, 12, R | N, 5);
    r.desc(5, BUF + 0x100, 20, W | N, 6);
    r.desc(6, BUF + 0x300, 30, W);
    r.desc(7, BUF + 0x400, 40, W);
    r.publish(2, 7);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(2);
    expect(batch.readLength(0)).toBe(12);
    expect(batch.writeLength(0)).toBe(50);
    expect(batch.ends[0] - batch.readEnds[0]).toBe(2);
    expect(batch.readLength(1)).toBe(0);
    expect(batch.writeLength(1)).toBe(40);
    expect(batch.segOffs[batch.readEnds[1]]).toBe(BUF + 0x400);
  });

  it('takes at most max chains and leaves the rest for the next call', () => {
    const r = ring();
    for (let i = 0; i < 4; i++) r.desc(i, BUF + 0x100 * i, 8);
    r.publish(0, 1, 2, 3);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 0)).toBe(0);
    expect(r.vrh.getdescBatch(batch, 3)).toBe(3);
    expect(r.vrh.lastAvailIdx).toBe(3);
    expect(r.vrh.getdescBatch(batch, 3)).toBe(1);
    expect(batch.heads[0]).toBe(3);
    expect(r.vrh.getdescBatch(batch, 3)).toBe(0);
    for (const max of [-1, 1.5, Number.NaN, Infinity]) {
      expect(codeOf(() => r.vrh.getdescBatch(batch, max))).toBe('EINVAL');
    }
  });

  it('ends the batch before a bad chain, then reports it on the next call', () => {
    const r = ring();
    r.desc(0, BUF, 8);
    r.desc(1, BUF + 0x100, 8, N, 9); // next beyond the table
    r.desc(2, BUF + 0x200, 8);
    r.publish(0, 1, 2);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(1);
    expect(r.vrh.lastAvailIdx).toBe(1);
    expect(codeOf(() => r.vrh.getdescBatch(batch, 8))).toBe('EINVAL');
    // Consumed, as getdesc consumes it, so the ring goes on.
    expect(r.vrh.lastAvailIdx).toBe(2);
    expect(r.vrh.getdescBatch(batch, 8)).toBe(1);
    expect(batch.heads[0]).toBe(2);
  });

  it('gives chains back with abandon, so the next call takes them again', () => {
    const r = ring();
    for (let i = 0; i < 3; i++) r.desc(i, BUF + 0x100 * i, 8);
    r.publish(0, 1, 2);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(3);
    r.vrh.abandon(2);
    expect(r.vrh.lastAvailIdx).toBe(1);
    expect(r.vrh.getdescBatch(batch, 8)).toBe(2);
    expect(Array.from(batch.heads.subarray(0, 2))).toEqual([1, 2]);
    r.vrh.abandon(0);
    expect(r.vrh.lastAvailIdx).toBe(3);
    for (const n of [-1, 1.5, NUM + 1]) expect(codeOf(() => r.vrh.abandon(n))).toBe('EINVAL');
  });

  it('refuses a buffer kind the batch does not take (EPROTO), as a null iov does', () => {
    const r = ring();
    r.desc(0, BUF, 8, W);
    r.publish(0);
    const batch = new VringhBatch({ writable: false });
    expect(codeOf(() => r.vrh.getdescBatch(batch, 8))).toBe('EPROTO');
  });

  it('throws for an avail index that jumps more than the queue size, consuming nothing', () => {
    const r = ring();
    r.view.setUint16(AVAIL + 2, NUM + 1, true);
    expect(codeOf(() => r.vrh.getdescBatch(new VringhBatch(), 8))).toBe('EINVAL');
    expect(r.vrh.lastAvailIdx).toBe(0);
  });

  it('translates through several IOTLB entries and checks each permission', () => {
    const tlb = new Iotlb();
    tlb.addRange(DESC, USED + 0xfff, DESC, VHOST_ACCESS_RW);
    tlb.addRange(0x100000, 0x100fff, BUF, VHOST_ACCESS_RO);
    tlb.addRange(0x200000, 0x200fff, BUF + 0x1000, VHOST_ACCESS_WO);
    const r = ring(tlb);
    r.desc(0, 0x100010, 16);
    r.desc(1, 0x200020, 16, W);
    r.desc(2, 0x100ff8, 8);
    r.desc(3, 0x100ff8, 9); // runs past the entry: a hole
    r.desc(4, 0x200000, 8); // readable through a write-only entry
    r.publish(0, 1, 2, 3, 4);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(3);
    expect(batch.segOffs[0]).toBe(BUF + 0x10);
    expect(batch.segOffs[batch.readEnds[1]]).toBe(BUF + 0x1020);
    expect(batch.segOffs[2]).toBe(BUF + 0xff8);
    expect(codeOf(() => r.vrh.getdescBatch(batch, 8))).toBe('EINVAL');
    expect(codeOf(() => r.vrh.getdescBatch(batch, 8))).toBe('EPERM');
  });

  it('translates correctly with overlapping IOTLB entries (no window)', () => {
    const tlb = Iotlb.identity();
    // A lower-starting entry covers everything; a later one maps the buffer range elsewhere.
    tlb.addRange(BUF, BUF + 0xfff, BUF + 0x4000, VHOST_ACCESS_RW);
    const r = ring(tlb);
    r.desc(0, BUF + 0x10, 16);
    r.publish(0);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(1);
    const riov = new Iov();
    tlb.translate(BUF + 0x10, 16, VHOST_ACCESS_RO, r.mem, riov);
    expect(batch.segOffs[0]).toBe(riov.offs[0]);
  });
});

describe('Vringh.completeMany', () => {
  it('with a count of 0 touches nothing, not even an unmapped used ring', () => {
    const tlb = new Iotlb();
    tlb.addRange(DESC, AVAIL + 0xfff, DESC, VHOST_ACCESS_RW); // no mapping for the used ring
    const r = ring(tlb);
    expect(() => r.vrh.completeMany(new Uint16Array(4), new Uint32Array(4), 0)).not.toThrow();
    expect(codeOf(() => r.vrh.completeMany([1], [0], 1))).toBe('EINVAL');
  });
});

describe('VringhBatch.copyChain', () => {
  it('copies a readable chain into a writable one and returns the bytes copied', () => {
    const r = ring();
    for (let i = 0; i < 64; i++) r.bytes[BUF + i] = i + 1;
    r.desc(0, BUF, 64);
    r.desc(1, BUF + 0x1000, 2048, W);
    r.desc(2, BUF + 0x2000, 16, W);
    r.publish(0, 1, 2);
    const tx = new VringhBatch({ writable: false });
    const rx = new VringhBatch({ readable: false });
    expect(r.vrh.getdescBatch(tx, 1)).toBe(1);
    expect(r.vrh.getdescBatch(rx, 2)).toBe(2);
    expect(tx.copyChain(0, rx, 0)).toBe(64);
    expect(Array.from(r.bytes.subarray(BUF + 0x1000, BUF + 0x1040))).toEqual(
      Array.from({ length: 64 }, (_, i) => i + 1),
    );
    // A shorter destination takes what fits; max bounds the copy.
    expect(tx.copyChain(0, rx, 1)).toBe(16);
    expect(tx.copyChain(0, rx, 0, 10)).toBe(10);
    expect(tx.copyChain(0, rx, 0, 0)).toBe(0);
  });

  it('copies across segments and memory regions', () => {
    const mem = GuestMemory.create({ size: 0x20000 });
    const far = mem.addRegion(0x40000, new ArrayBuffer(0x1000));
    const r = ring(Iotlb.identity(), mem);
    for (let i = 0; i < 30; i++) r.bytes[BUF + i] = 100 + i;
    // Readable 10 + 20 bytes; writable 7 bytes in the far region, then 40 in the first one.
    r.desc(0, BUF, 10, N, 1);
    r.desc(1, BUF + 10 + 0x100, 20, N, 2);
    r.desc(2, 0x40000, 7, W | N, 3);
    r.desc(3, BUF + 0x1000, 40, W);
    for (let i = 0; i < 20; i++) r.bytes[BUF + 10 + 0x100 + i] = 110 + i;
    r.publish(0);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 1)).toBe(1);
    expect(batch.copyChain(0, batch, 0)).toBe(30);
    const got = [
      ...Array.from(far.bytes.subarray(0, 7)),
      ...Array.from(r.bytes.subarray(BUF + 0x1000, BUF + 0x1000 + 23)),
    ];
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => 100 + i));
  });

  it('refuses a chain index outside either batch', () => {
    const r = ring();
    r.desc(0, BUF, 8, W);
    r.publish(0);
    const batch = new VringhBatch();
    r.vrh.getdescBatch(batch, 1);
    expect(codeOf(() => batch.copyChain(1, batch, 0))).toBe('EINVAL');
    expect(codeOf(() => batch.copyChain(0, batch, -1))).toBe('EINVAL');
    expect(codeOf(() => batch.loadIov(3, null, null))).toBe('EINVAL');
  });
});

describe('VringhBatch.loadIov', () => {
  it('loads a chain into Iov lists for the cursor operations', () => {
    const r = ring();
    r.desc(0, BUF, 4, N, 1);
    r.desc(1, BUF + 0x100, 6, W);
    r.bytes.set([1, 2, 3, 4], BUF);
    r.publish(0);
    const batch = new VringhBatch();
    r.vrh.getdescBatch(batch, 1);
    const riov = new Iov();
    const wiov = new Iov();
    batch.loadIov(0, riov, wiov);
    expect(riov.totalLength).toBe(4);
    expect(wiov.totalLength).toBe(6);
    expect(riov.copyTo(wiov)).toBe(4);
    expect(Array.from(r.bytes.subarray(BUF + 0x100, BUF + 0x104))).toEqual([1, 2, 3, 4]);
  });
});

describe('IotlbWindow', () => {
  it('is the part of the entry that lies in one region', () => {
    const mem = GuestMemory.create({ size: 0x1000 });
    mem.addRegion(0x1000, new ArrayBuffer(0x1000));
    const tlb = new Iotlb();
    tlb.addRange(0x10000, 0x11fff, 0, VHOST_ACCESS_RW);
    const w = new IotlbWindow();
    expect(w.refresh(tlb, mem, 0x11010)).toBe(true);
    expect([w.start, w.last, w.delta]).toEqual([0x11000, 0x11fff, -0x10000 - 0x1000]);
    expect(w.bytes).toBe(mem.regions()[1].bytes);
    expect(w.refresh(tlb, mem, 0x10010)).toBe(true);
    expect([w.start, w.last]).toEqual([0x10000, 0x10fff]);
  });

  it('is empty for an unmapped address, a mapping outside memory and overlapping entries', () => {
    const mem = GuestMemory.create({ size: 0x1000 });
    const tlb = new Iotlb();
    tlb.addRange(0x10000, 0x10fff, 0x9000, VHOST_ACCESS_RW);
    const w = new IotlbWindow();
    expect(w.refresh(tlb, mem, 0x20000)).toBe(false);
    expect(w.refresh(tlb, mem, 0x10000)).toBe(false);
    tlb.addRange(0x0, 0xfff, 0x0, VHOST_ACCESS_RW);
    tlb.addRange(0x800, 0x8ff, 0x0, VHOST_ACCESS_RW);
    expect(w.refresh(tlb, mem, 0x10)).toBe(false);
    expect(w.start > w.last).toBe(true);
  });
});

describe('IotlbWindow.cover', () => {
  it('leaves no entry without the permission asked for in the window', () => {
    const mem = GuestMemory.create({ size: 0x2000 });
    const tlb = new Iotlb();
    tlb.addRange(0x10000, 0x10fff, 0x0, VHOST_ACCESS_RW);
    tlb.addRange(0x20000, 0x20fff, 0x1000, VHOST_ACCESS_WO);
    const w = new IotlbWindow();
    expect(w.cover(tlb, mem, 0x10010, 16, VHOST_ACCESS_RO)).toBe(true);
    // A read from the write-only entry: refused, and the window is empty, not that entry.
    expect(w.cover(tlb, mem, 0x20010, 16, VHOST_ACCESS_RO)).toBe(false);
    expect(w.start > w.last).toBe(true);
    // A buffer past the end of an entry it may access: refused, and the window keeps that entry.
    expect(w.cover(tlb, mem, 0x20ff8, 16, VHOST_ACCESS_WO)).toBe(false);
    expect([w.start, w.last, w.perm]).toEqual([0x20000, 0x20fff, VHOST_ACCESS_WO]);
  });
});

describe('IotlbWindow.revalidate', () => {
  function loaded(): { mem: GuestMemory; tlb: Iotlb; w: IotlbWindow } {
    const mem = GuestMemory.create({ size: 0x1000 });
    const tlb = new Iotlb();
    tlb.addRange(0x10000, 0x10fff, 0, VHOST_ACCESS_RW);
    const w = new IotlbWindow();
    expect(w.refresh(tlb, mem, 0x10010)).toBe(true);
    return { mem, tlb, w };
  }
  const empty = (w: IotlbWindow): boolean => w.start > w.last && !w.holds(0x10010, 1, VHOST_ACCESS_RO);

  it('keeps the window while neither the IOTLB nor memory changed', () => {
    const { mem, tlb, w } = loaded();
    w.revalidate(tlb, mem);
    expect([w.start, w.last, w.delta]).toEqual([0x10000, 0x10fff, -0x10000]);
    expect(w.holds(0x10010, 0x10, VHOST_ACCESS_RO)).toBe(true);
  });

  it('empties it when an IOTLB entry was added or removed', () => {
    const { mem, tlb, w } = loaded();
    tlb.addRange(0x20000, 0x20fff, 0, VHOST_ACCESS_RW);
    w.revalidate(tlb, mem);
    expect(empty(w)).toBe(true);
    const second = loaded();
    second.tlb.delRange(0x10000, 0x10fff);
    second.w.revalidate(second.tlb, second.mem);
    expect(empty(second.w)).toBe(true);
  });

  it('empties it when a memory region was added or removed', () => {
    const { mem, tlb, w } = loaded();
    mem.addRegion(0x1000, new ArrayBuffer(0x1000));
    w.revalidate(tlb, mem);
    expect(empty(w)).toBe(true);
    // Loaded again, then the region it lies in is replaced by other memory at the same address.
    expect(w.refresh(tlb, mem, 0x10010)).toBe(true);
    mem.removeRegion(0);
    mem.addRegion(0, new ArrayBuffer(0x1000));
    w.revalidate(tlb, mem);
    expect(empty(w)).toBe(true);
  });

  it('empties it for another IOTLB or memory, even one at the same generation', () => {
    const { mem, tlb, w } = loaded();
    const twin = new Iotlb();
    twin.addRange(0x10000, 0x10fff, 0, VHOST_ACCESS_RW);
    expect(twin.generation).toBe(tlb.generation);
    w.revalidate(twin, mem);
    expect(empty(w)).toBe(true);
    const other = loaded();
    const otherMem = GuestMemory.create({ size: 0x1000 });
    expect(otherMem.generation).toBe(other.mem.generation);
    other.w.revalidate(other.tlb, otherMem);
    expect(empty(other.w)).toBe(true);
  });
});

describe('Vringh.getdescBatch after a change of mapping or memory', () => {
  it('translates the next batch through the new mapping', () => {
    const tlb = new Iotlb();
    tlb.addRange(0, 0x7fff, 0, VHOST_ACCESS_RW);
    tlb.addRange(0x100000, 0x100fff, BUF, VHOST_ACCESS_RW);
    const r = ring(tlb);
    r.desc(0, 0x100010, 16, R);
    r.desc(1, 0x100020, 16, R);
    const batch = new VringhBatch({ capacity: 4, writable: false });
    r.publish(0);
    expect(r.vrh.getdescBatch(batch, 4)).toBe(1);
    expect(batch.segOffs[0]).toBe(BUF + 0x10);
    // The same IOVAs now map 0x1000 higher.
    tlb.delRange(0x100000, 0x100fff);
    tlb.addRange(0x100000, 0x100fff, BUF + 0x1000, VHOST_ACCESS_RW);
    r.publish(1);
    expect(r.vrh.getdescBatch(batch, 4)).toBe(1);
    expect(batch.segOffs[0]).toBe(BUF + 0x1000 + 0x20);
  });

  it('does not read a buffer through a region that was removed', () => {
    const mem = GuestMemory.create({ size: 0x10000 });
    mem.addRegion(0x10000, new ArrayBuffer(0x10000));
    const r = ring(Iotlb.identity(), mem);
    r.desc(0, 0x10010, 16, R);
    r.desc(1, 0x10020, 16, R);
    const batch = new VringhBatch({ capacity: 4, writable: false });
    r.publish(0);
    expect(r.vrh.getdescBatch(batch, 4)).toBe(1);
    expect(batch.segBufs[0]).toBe(mem.regions()[1].bytes);
    mem.removeRegion(0x10000);
    r.publish(1);
    expect(() => r.vrh.getdescBatch(batch, 4)).toThrow(VringError);
    expect(batch.count).toBe(0);
  });
});

// An indirect chain takes the general walk inside a batch.
describe('indirect chains in a batch', () => {
  it('gathers an indirect table like getdesc', () => {
    const r = ring();
    const table = 0x6000;
    const entry = (i: number, addr: number, len: number, flags: number, next: number): void => {
      r.view.setUint32(table + 16 * i, addr, true);
      r.view.setUint32(table + 16 * i + 4, 0, true);
      r.view.setUint32(table + 16 * i + 8, len, true);
      r.view.setUint16(table + 16 * i + 12, flags, true);
      r.view.setUint16(table + 16 * i + 14, next, true);
    };
    entry(0, BUF, 5, N, 1);
    entry(1, BUF + 0x100, 7, W, 0);
    r.desc(4, table, 32, VIRTQ_DESC_F_INDIRECT);
    r.desc(5, BUF + 0x200, 3);
    r.publish(4, 5);
    const batch = new VringhBatch();
    expect(r.vrh.getdescBatch(batch, 8)).toBe(2);
    expect([batch.readLength(0), batch.writeLength(0), batch.readLength(1)]).toEqual([5, 7, 3]);
  });
});

describe('Vringh.getdescBatch on well-formed chains (property)', () => {
  it('gives the segments getdesc gives, whatever mix of chain lengths fills the batch', () => {
    // Chains of 1-3 descriptors with buffers that never touch (so no two segments merge).
    const chainsArb = fc.array(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }), {
      minLength: 1,
      maxLength: NUM,
    });
    fc.assert(
      fc.property(chainsArb, fc.integer({ min: 1, max: NUM }), (chains, capacity) => {
        const one = ring();
        const many = ring();
        let d = 0;
        const heads: number[] = [];
        for (const lens of chains) {
          if (d + lens.length > NUM) break;
          heads.push(d);
          lens.forEach((len, j) => {
            const last = j === lens.length - 1;
            for (const r of [one, many])
              r.desc(d + j, BUF + 0x80 * (d + j), len, last ? R : N, last ? 0 : d + j + 1);
          });
          d += lens.length;
        }
        one.publish(...heads);
        many.publish(...heads);
        const batch = new VringhBatch({ capacity });
        expect(many.vrh.getdescBatch(batch, NUM)).toBe(heads.length);
        const riov = new Iov();
        for (let k = 0; k < heads.length; k++) {
          expect(one.vrh.getdesc(riov, null)).toBe(batch.heads[k]);
          const got: number[][] = [];
          for (let s = batch.start(k); s < batch.readEnds[k]; s++)
            got.push([batch.segOffs[s], batch.segLens[s]]);
          const want: number[][] = [];
          for (let i = 0; i < riov.count; i++) want.push([riov.offs[i], riov.lens[i]]);
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IOVA_MAX, VringError, type VringErrno } from './errors.js';
import { GuestMemory, type MemoryRegion } from './guest-memory.js';
import { Iov } from './iov.js';
import { VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { Iotlb, type IotlbAccess } from './iotlb.js';

/** The `code` of the VringError `fn` throws, or `undefined` if it returns. Rethrows anything else. */
function codeOf(fn: () => unknown): VringErrno | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof VringError) return err.code;
    throw err;
  }
  return undefined;
}

const PAGE = 0x1000;

/** `[start, last, addr, perm]` of every entry, in address order. */
function table(tlb: Iotlb): number[][] {
  return tlb.entries().map((m) => [m.start, m.last, m.addr, m.perm]);
}

/** The segments of `iov` as `[region gpa, offset in region, length]`. */
function segments(iov: Iov, mem: GuestMemory): number[][] {
  return Array.from({ length: iov.count }, (_, i) => {
    const r = mem.regions().find((x) => x.bytes === iov.bufs[i]);
    return [r === undefined ? -1 : r.gpa, iov.offs[i], iov.lens[i]];
  });
}

/** Memory: region A [0x10000, +4 pages) and, adjacent, region B [0x14000, +4 pages) in another buffer. */
function twoRegions(): GuestMemory {
  const mem = GuestMemory.create({ size: 4 * PAGE, base: 0x1_0000 });
  mem.addRegion(0x1_4000, new ArrayBuffer(4 * PAGE));
  return mem;
}

describe('Iotlb addRange', () => {
  it('keeps entries in address order with their permission and opaque context', () => {
    const tlb = new Iotlb();
    const ctx = { fd: 3 };
    tlb.addRange(0x3000, 0x3fff, 0x9000, VHOST_ACCESS_RO);
    tlb.addRange(0x1000, 0x1fff, 0x8000, VHOST_ACCESS_RW, ctx);
    tlb.addRange(0x2000, 0x2000, 0xa000, VHOST_ACCESS_WO);
    expect(table(tlb)).toEqual([
      [0x1000, 0x1fff, 0x8000, VHOST_ACCESS_RW],
      [0x2000, 0x2000, 0xa000, VHOST_ACCESS_WO],
      [0x3000, 0x3fff, 0x9000, VHOST_ACCESS_RO],
    ]);
    expect(tlb.entries()[0].opaque).toBe(ctx);
    expect('opaque' in tlb.entries()[1]).toBe(false);
    expect(tlb.size).toBe(3);
  });

  it('throws EFAULT when last < start, naming the range', () => {
    const tlb = new Iotlb();
    expect(codeOf(() => tlb.addRange(0x2000, 0x1fff, 0, VHOST_ACCESS_RW))).toBe('EFAULT');
    expect(() => tlb.addRange(0x2000, 0x1fff, 0, VHOST_ACCESS_RW)).toThrow(
      'iotlb range 0x2000-0x1fff ends before it starts',
    );
    expect(tlb.size).toBe(0);
  });

  it.each([0, 4, 7, -1])('throws EINVAL for permission %i', (perm) => {
    expect(codeOf(() => new Iotlb().addRange(0, 0xfff, 0, perm))).toBe('EINVAL');
  });

  it.each([
    ['a negative start', -1, 0xfff, 0],
    ['a start beyond 2^53', 2 ** 53, 2 ** 53, 0],
    ['a last beyond 2^53', 0, 2 ** 53, 0],
    ['a negative address', 0, 0xfff, -PAGE],
    ['a target range ending beyond 2^53', 0, 0xfff, IOVA_MAX - 0x7ff],
  ])('throws ERANGE for %s', (_what, start, last, addr) => {
    expect(codeOf(() => new Iotlb().addRange(start, last, addr, VHOST_ACCESS_RW))).toBe('ERANGE');
  });

  it('does not check for overlaps (callers do, as in the kernel)', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x2fff, 0x8000, VHOST_ACCESS_RO);
    tlb.addRange(0x2000, 0x3fff, 0x9000, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x2fff, 0xa000, VHOST_ACCESS_WO);
    expect(table(tlb)).toEqual([
      [0x1000, 0x2fff, 0x8000, VHOST_ACCESS_RO],
      [0x1000, 0x2fff, 0xa000, VHOST_ACCESS_WO],
      [0x2000, 0x3fff, 0x9000, VHOST_ACCESS_RW],
    ]);
  });

  it('accepts the whole address space as one entry', () => {
    const tlb = new Iotlb();
    tlb.addRange(0, IOVA_MAX, 0, VHOST_ACCESS_RO);
    expect(table(tlb)).toEqual([[0, IOVA_MAX, 0, VHOST_ACCESS_RO]]);
  });
});

describe('Iotlb delRange', () => {
  function three(): Iotlb {
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x0fff, 0x10000, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 0x20000, VHOST_ACCESS_RW);
    tlb.addRange(0x2000, 0x2fff, 0x30000, VHOST_ACCESS_RW);
    return tlb;
  }

  it('removes every overlapping entry whole, without splitting', () => {
    const tlb = three();
    tlb.delRange(0x1800, 0x2000);
    expect(table(tlb)).toEqual([[0, 0xfff, 0x10000, VHOST_ACCESS_RW]]);
  });

  it('treats both ends as inclusive', () => {
    const tlb = three();
    tlb.delRange(0x0fff, 0x0fff);
    expect(table(tlb).map(([start]) => start)).toEqual([0x1000, 0x2000]);
    tlb.delRange(0x1fff, 0x1fff);
    expect(table(tlb).map(([start]) => start)).toEqual([0x2000]);
  });

  it('keeps entries that only touch the range', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x1fff, 0, VHOST_ACCESS_RW);
    tlb.addRange(0x3000, 0x3fff, 0, VHOST_ACCESS_RW);
    tlb.delRange(0x2000, 0x2fff);
    expect(tlb.size).toBe(2);
  });

  it('removes all overlapping copies of overlapping entries', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x2fff, 0, VHOST_ACCESS_RW);
    tlb.addRange(0x2000, 0x3fff, 0, VHOST_ACCESS_RW);
    tlb.addRange(0x5000, 0x5fff, 0, VHOST_ACCESS_RW);
    tlb.delRange(0x2800, 0x2800);
    expect(table(tlb).map(([start]) => start)).toEqual([0x5000]);
  });

  it('removes everything for [0, IOVA_MAX]', () => {
    const tlb = three();
    tlb.delRange(0, IOVA_MAX);
    expect(tlb.size).toBe(0);
  });

  it.each([
    ['NaN', Number.NaN, 0x1000],
    ['a negative start', -1, 0x1000],
    ['a last beyond 2^53', 0, 2 ** 53],
  ])('throws ERANGE for %s and removes nothing', (_what, start, last) => {
    const tlb = three();
    expect(codeOf(() => tlb.delRange(start, last))).toBe('ERANGE');
    expect(tlb.size).toBe(3);
  });

  it('forgets a deleted entry that was the last lookup hit', () => {
    const tlb = three();
    expect(tlb.lookup(0x1800)?.addr).toBe(0x20000);
    tlb.delRange(0x1000, 0x1000);
    expect(tlb.lookup(0x1800)).toBeUndefined();
  });
});

describe('Iotlb reset, first, lookup', () => {
  it('reset removes every entry', () => {
    const tlb = Iotlb.identity();
    expect(tlb.lookup(0x1234)).toBeDefined();
    tlb.reset();
    expect([tlb.size, tlb.lookup(0x1234), tlb.first(0, IOVA_MAX)]).toEqual([0, undefined, undefined]);
  });

  it('first returns the lowest-starting entry overlapping the range', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x3000, 0x3fff, 3, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 1, VHOST_ACCESS_RW);
    tlb.addRange(0x0800, 0x27ff, 2, VHOST_ACCESS_RW);
    expect(tlb.first(0x2000, 0x3fff)?.addr).toBe(2);
    expect(tlb.first(0x2800, 0x3000)?.addr).toBe(3);
    expect(tlb.first(0x1800, 0x1800)?.addr).toBe(2);
    expect(tlb.first(0x2800, 0x2fff)).toBeUndefined();
    expect(tlb.first(0x4000, IOVA_MAX)).toBeUndefined();
    expect(tlb.first(0, 0x7ff)).toBeUndefined();
  });

  it('lookup finds the entry containing an address, both ends inclusive', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW);
    tlb.addRange(0x3000, 0x3fff, 0xb000, VHOST_ACCESS_RO);
    const found = [0xfff, 0x1000, 0x1fff, 0x2000, 0x2fff, 0x3000, 0x3fff, 0x4000].map(
      (a) => tlb.lookup(a)?.addr,
    );
    expect(found).toEqual([undefined, 0xa000, 0xa000, undefined, undefined, 0xb000, 0xb000, undefined]);
  });

  it('lookup with overlapping entries returns the lowest-starting one, as kernel translation does', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x1fff, 1, VHOST_ACCESS_RO);
    tlb.addRange(0x1000, 0x2fff, 2, VHOST_ACCESS_RW);
    tlb.addRange(0x1800, 0x18ff, 3, VHOST_ACCESS_RW);
    // Warm the cache with entry 2, then ask for an address entry 1 also covers.
    expect(tlb.lookup(0x2800)?.addr).toBe(2);
    expect(tlb.lookup(0x1800)?.addr).toBe(1);
    expect(tlb.lookup(0x2000)?.addr).toBe(2);
  });

  it('lookup breaks ties between equal starts by insertion order', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x1fff, 1, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 2, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1000)?.addr).toBe(1);
  });

  it('lookup agrees with a linear scan for random overlapping tables', () => {
    const entry = fc.tuple(fc.integer({ min: 0, max: 0x100 }), fc.integer({ min: 0, max: 0x40 }));
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 0x150 }), { maxLength: 30 }),
        (entries, queries) => {
          const tlb = new Iotlb();
          entries.forEach(([start, n], i) => tlb.addRange(start, start + n, i, VHOST_ACCESS_RW));
          const sorted = [...tlb.entries()];
          return queries.every((q) => tlb.lookup(q) === sorted.find((m) => m.start <= q && q <= m.last));
        },
      ),
    );
  });

  it('finds nothing for NaN', () => {
    expect(Iotlb.identity().lookup(Number.NaN)).toBeUndefined();
  });
});

describe('Iotlb identity', () => {
  it('is one RW entry over the whole address space', () => {
    const tlb = Iotlb.identity();
    expect(table(tlb)).toEqual([[0, IOVA_MAX, 0, VHOST_ACCESS_RW]]);
    expect(tlb.isIdentity()).toBe(true);
  });

  it('translates any address to itself', () => {
    const mem = GuestMemory.create({ size: 4 * PAGE, base: 0x7000_0000 });
    const iov = new Iov();
    Iotlb.identity().translate(0x7000_0100, 0x20, VHOST_ACCESS_WO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x7000_0000, 0x100, 0x20]]);
  });

  it.each([
    ['empty', (t: Iotlb) => t.reset()],
    ['with an extra entry', (t: Iotlb) => t.addRange(0x1000, 0x1fff, 0, VHOST_ACCESS_RW)],
  ])('is no longer identity when %s', (_what, change) => {
    const tlb = Iotlb.identity();
    change(tlb);
    expect(tlb.isIdentity()).toBe(false);
  });

  it.each([
    ['read-only', 0, IOVA_MAX, 0, VHOST_ACCESS_RO],
    ['offset', 0, IOVA_MAX - PAGE, PAGE, VHOST_ACCESS_RW],
    ['shorter', 0, IOVA_MAX - 1, 0, VHOST_ACCESS_RW],
    ['starting later', 1, IOVA_MAX, 1, VHOST_ACCESS_RW],
  ])('does not call a %s whole-space entry identity', (_what, start, last, addr, perm) => {
    const tlb = new Iotlb();
    tlb.addRange(start, last, addr, perm);
    expect(tlb.isIdentity()).toBe(false);
  });

  it('recognises an identity table built by hand', () => {
    const tlb = new Iotlb();
    expect(tlb.isIdentity()).toBe(false);
    tlb.addRange(0, IOVA_MAX, 0, VHOST_ACCESS_RW);
    expect(tlb.isIdentity()).toBe(true);
  });
});

describe('Iotlb limit', () => {
  it('throws ENOMEM when full without retire, and accepts again after a delete', () => {
    const tlb = new Iotlb({ limit: 2 });
    tlb.addRange(0x1000, 0x1fff, 0, VHOST_ACCESS_RW);
    tlb.addRange(0x2000, 0x2fff, 0, VHOST_ACCESS_RW);
    expect(codeOf(() => tlb.addRange(0x3000, 0x3fff, 0, VHOST_ACCESS_RW))).toBe('ENOMEM');
    expect(() => tlb.addRange(0x3000, 0x3fff, 0, VHOST_ACCESS_RW)).toThrow('iotlb is full (2 entries)');
    tlb.delRange(0x1000, 0x1000);
    tlb.addRange(0x3000, 0x3fff, 0, VHOST_ACCESS_RW);
    expect(table(tlb).map(([start]) => start)).toEqual([0x2000, 0x3000]);
  });

  it('evicts the oldest entry by insertion, not by address, with retire', () => {
    const tlb = new Iotlb({ limit: 3, retire: true });
    tlb.addRange(0x5000, 0x5fff, 5, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 1, VHOST_ACCESS_RW);
    tlb.addRange(0x3000, 0x3fff, 3, VHOST_ACCESS_RW);
    tlb.addRange(0x7000, 0x7fff, 7, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([1, 3, 7]);
    tlb.addRange(0x0000, 0x0fff, 0, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([0, 3, 7]);
  });

  it('evicts in insertion order among the survivors of a delete', () => {
    const tlb = new Iotlb({ limit: 2, retire: true });
    tlb.addRange(0x1000, 0x1fff, 1, VHOST_ACCESS_RW);
    tlb.addRange(0x2000, 0x2fff, 2, VHOST_ACCESS_RW);
    tlb.delRange(0x1000, 0x1fff);
    tlb.addRange(0x3000, 0x3fff, 3, VHOST_ACCESS_RW);
    tlb.addRange(0x4000, 0x4fff, 4, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([3, 4]);
  });

  it('forgets an evicted entry that was the last lookup hit', () => {
    const tlb = new Iotlb({ limit: 1, retire: true });
    tlb.addRange(0x1000, 0x1fff, 1, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1800)?.addr).toBe(1);
    tlb.addRange(0x2000, 0x2fff, 2, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1800)).toBeUndefined();
    expect(tlb.lookup(0x2800)?.addr).toBe(2);
  });

  it('is unlimited by default', () => {
    const tlb = new Iotlb();
    for (let i = 0; i < 3000; i++) tlb.addRange(i * PAGE, i * PAGE + PAGE - 1, 0, VHOST_ACCESS_RW);
    expect(tlb.size).toBe(3000);
  });
});

describe('Iotlb generation', () => {
  it('bumps on every change and only on changes', () => {
    const tlb = new Iotlb();
    const mem = GuestMemory.create({ size: PAGE });
    const seen = [tlb.generation];
    tlb.addRange(0, 0xfff, 0, VHOST_ACCESS_RW);
    seen.push(tlb.generation);
    tlb.lookup(0x10);
    tlb.first(0, 0x10);
    tlb.translate(0, 0x10, VHOST_ACCESS_RO, mem, new Iov());
    seen.push(tlb.generation);
    tlb.delRange(0x2000, 0x2fff);
    seen.push(tlb.generation);
    tlb.delRange(0, 0);
    seen.push(tlb.generation);
    tlb.reset();
    seen.push(tlb.generation);
    expect(seen.map((g) => g - seen[0])).toEqual([0, 1, 1, 1, 2, 3]);
  });

  it('bumps on copyFrom', () => {
    const tlb = new Iotlb();
    const before = tlb.generation;
    tlb.copyFrom(Iotlb.identity());
    expect(tlb.generation).toBeGreaterThan(before);
  });

  it('does not bump when an add is refused', () => {
    const tlb = new Iotlb({ limit: 1 });
    tlb.addRange(0, 0xfff, 0, VHOST_ACCESS_RW);
    const before = tlb.generation;
    codeOf(() => tlb.addRange(0x1000, 0x1fff, 0, VHOST_ACCESS_RW));
    codeOf(() => tlb.addRange(0x3000, 0x2fff, 0, VHOST_ACCESS_RW));
    expect(tlb.generation).toBe(before);
  });
});

describe('Iotlb copyFrom', () => {
  it('replaces the entries with a copy of the other table, opaque included', () => {
    const src = new Iotlb();
    const ctx = { fd: 7 };
    src.addRange(0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RO, ctx);
    src.addRange(0x3000, 0x3fff, 0xb000, VHOST_ACCESS_WO);
    const dst = Iotlb.identity();
    dst.copyFrom(src);
    expect(table(dst)).toEqual(table(src));
    expect(dst.entries()[0].opaque).toBe(ctx);
  });

  it('is independent of the source afterwards', () => {
    const src = new Iotlb();
    src.addRange(0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW);
    const dst = new Iotlb();
    dst.copyFrom(src);
    src.reset();
    src.addRange(0x5000, 0x5fff, 0, VHOST_ACCESS_RW);
    expect(table(dst)).toEqual([[0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW]]);
  });

  it('leaves a table copied onto itself unchanged', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW);
    tlb.addRange(0x2000, 0x2fff, 0xb000, VHOST_ACCESS_RO);
    tlb.copyFrom(tlb);
    expect(table(tlb)).toEqual([
      [0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW],
      [0x2000, 0x2fff, 0xb000, VHOST_ACCESS_RO],
    ]);
  });

  it('throws ENOMEM when the source does not fit this table’s limit', () => {
    const src = new Iotlb();
    src.addRange(0x1000, 0x1fff, 0, VHOST_ACCESS_RW);
    src.addRange(0x2000, 0x2fff, 0, VHOST_ACCESS_RW);
    expect(codeOf(() => new Iotlb({ limit: 1 }).copyFrom(src))).toBe('ENOMEM');
  });
});

describe('Iotlb translate', () => {
  it('maps an iova range inside one entry to one segment', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x100_0000, 0x100_0fff, 0x1_1000, VHOST_ACCESS_RO);
    const iov = new Iov();
    tlb.translate(0x100_0010, 0x20, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0x1010, 0x20]]);
    expect(iov.totalLength).toBe(0x20);
  });

  it('reads and writes the bytes the mapping points at', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x8000, 0x8fff, 0x1_2000, VHOST_ACCESS_RW);
    mem.write(0x1_2004, new Uint8Array([1, 2, 3, 4]));
    const riov = new Iov();
    tlb.translate(0x8004, 4, VHOST_ACCESS_RO, mem, riov);
    const got = new Uint8Array(4);
    riov.pull(got);
    const wiov = new Iov();
    tlb.translate(0x8100, 2, VHOST_ACCESS_WO, mem, wiov);
    wiov.push(new Uint8Array([9, 8]));
    expect([...got, mem.readU8(0x1_2100), mem.readU8(0x1_2101)]).toEqual([1, 2, 3, 4, 9, 8]);
  });

  it('splits a range across entries that map to separate places', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x0fff, 0x1_3000, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 0x1_0000, VHOST_ACCESS_RO);
    const iov = new Iov();
    tlb.translate(0x0ff0, 0x20, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([
      [0x1_0000, 0x3ff0, 0x10],
      [0x1_0000, 0x0000, 0x10],
    ]);
  });

  it('merges segments of adjacent entries that are contiguous in memory', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x0fff, 0x1_0000, VHOST_ACCESS_RO);
    tlb.addRange(0x1000, 0x1fff, 0x1_1000, VHOST_ACCESS_RW);
    const iov = new Iov();
    tlb.translate(0x0800, 0x1000, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0x800, 0x1000]]);
  });

  it('splits a range whose physical target spans two memory regions', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x7fff, 0x1_0000, VHOST_ACCESS_RW);
    const iov = new Iov();
    tlb.translate(0x3ffc, 8, VHOST_ACCESS_WO, mem, iov);
    expect(segments(iov, mem)).toEqual([
      [0x1_0000, 0x3ffc, 4],
      [0x1_4000, 0, 4],
    ]);
  });

  it('appends to what the iov already holds', () => {
    const mem = twoRegions();
    const tlb = Iotlb.identity();
    const iov = new Iov();
    tlb.translate(0x1_0000, 4, VHOST_ACCESS_RO, mem, iov);
    tlb.translate(0x1_0004, 4, VHOST_ACCESS_RO, mem, iov);
    tlb.translate(0x1_0100, 4, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([
      [0x1_0000, 0, 8],
      [0x1_0000, 0x100, 4],
    ]);
  });

  it('after a hit, treats ranges that leave the hit entry or its memory region as the walk does', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x0fff, 0x1_0000, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 0x1_2000, VHOST_ACCESS_RO);
    // 0x2000-0x2fff is a hole.
    tlb.addRange(0x3000, 0x8fff, 0x1_0000, VHOST_ACCESS_RW);
    tlb.addRange(0x9000, 0x9fff, 0x10_0000, VHOST_ACCESS_RW);
    const warm = (iova: number): void => tlb.translate(iova, 4, VHOST_ACCESS_RO, mem, new Iov());
    const iov = new Iov();
    warm(0x0100);
    tlb.translate(0x0ff8, 0x10, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([
      [0x1_0000, 0x0ff8, 8],
      [0x1_0000, 0x2000, 8],
    ]);
    warm(0x0100);
    expect(codeOf(() => tlb.translate(0x0ff8, 0x10, VHOST_ACCESS_WO, mem, new Iov()))).toBe('EPERM');
    warm(0x1100);
    expect(codeOf(() => tlb.translate(0x1ff8, 0x10, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EINVAL');
    warm(0x3000);
    const split = new Iov();
    tlb.translate(0x6ffc, 8, VHOST_ACCESS_WO, mem, split);
    expect(segments(split, mem)).toEqual([
      [0x1_0000, 0x3ffc, 4],
      [0x1_4000, 0, 4],
    ]);
    expect(codeOf(() => tlb.translate(0x9000, 4, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EFAULT');
    expect(codeOf(() => tlb.translate(0x9004, 4, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EFAULT');
    warm(0x3000);
    expect(codeOf(() => tlb.translate(0x3000 + 0.5, 4, VHOST_ACCESS_RO, mem, new Iov()))).toBe('ERANGE');
    expect(codeOf(() => tlb.translate(0x3000, 0.5, VHOST_ACCESS_RO, mem, new Iov()))).toBe('ERANGE');
  });

  it('translates a zero length to nothing, even where nothing is mapped', () => {
    const iov = new Iov();
    new Iotlb().translate(0x1234, 0, VHOST_ACCESS_RO, twoRegions(), iov);
    expect(iov.count).toBe(0);
  });

  it.each([
    ['an empty table', [], 0x1000, 0x10],
    ['a start below every entry', [[0x2000, 0x2fff]], 0x1ff0, 0x20],
    ['a start after every entry', [[0x2000, 0x2fff]], 0x3000, 0x1],
    [
      'a gap between two entries',
      [
        [0x1000, 0x1fff],
        [0x2001, 0x2fff],
      ],
      0x1ff0,
      0x20,
    ],
    ['a range running past the last entry', [[0x1000, 0x1fff]], 0x1ff0, 0x11],
  ])('throws EINVAL for a hole: %s', (_what, ranges, iova, len) => {
    const tlb = new Iotlb();
    for (const [start, last] of ranges)
      tlb.addRange(start, last, 0x1_0000 + (start & 0x3fff), VHOST_ACCESS_RW);
    expect(codeOf(() => tlb.translate(iova, len, VHOST_ACCESS_RO, twoRegions(), new Iov()))).toBe('EINVAL');
  });

  it('names the unmapped iova in the hole message', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000, 0x1fff, 0x1_0000, VHOST_ACCESS_RW);
    expect(() => tlb.translate(0x1ff0, 0x20, VHOST_ACCESS_RO, twoRegions(), new Iov())).toThrow(
      'iova 0x2000 is not mapped',
    );
  });

  it.each([
    ['read', VHOST_ACCESS_WO, VHOST_ACCESS_RO, 'EPERM'],
    ['write', VHOST_ACCESS_RO, VHOST_ACCESS_WO, 'EPERM'],
    ['read', VHOST_ACCESS_RO, VHOST_ACCESS_RO, undefined],
    ['write', VHOST_ACCESS_WO, VHOST_ACCESS_WO, undefined],
    ['read', VHOST_ACCESS_RW, VHOST_ACCESS_RO, undefined],
    ['write', VHOST_ACCESS_RW, VHOST_ACCESS_WO, undefined],
  ] as const)('a %s of an entry with permission %i needing %i gives %s', (_what, perm, access, code) => {
    const tlb = new Iotlb();
    tlb.addRange(0, 0xfff, 0x1_0000, perm);
    expect(codeOf(() => tlb.translate(0x10, 8, access, twoRegions(), new Iov()))).toBe(code);
  });

  it('throws EPERM when only the second entry of a range lacks the permission', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x0000, 0x0fff, 0x1_0000, VHOST_ACCESS_RW);
    tlb.addRange(0x1000, 0x1fff, 0x1_1000, VHOST_ACCESS_RO);
    expect(codeOf(() => tlb.translate(0x0ff0, 0x20, VHOST_ACCESS_WO, twoRegions(), new Iov()))).toBe('EPERM');
    expect(() => tlb.translate(0x0ff0, 0x20, VHOST_ACCESS_WO, twoRegions(), new Iov())).toThrow(
      'iova 0x1000 is mapped read-only, write denied',
    );
  });

  it.each([
    ['entirely outside memory', 0x10_0000, 0, 0x10],
    ['starting in memory and running off its end', 0x1_7ff0, 0, 0x20],
    ['below memory', 0x0_f000, 0, 0x10],
  ])('throws EFAULT for a physical target %s', (_what, addr, iova, len) => {
    const tlb = new Iotlb();
    tlb.addRange(0, 0xffff, addr, VHOST_ACCESS_RW);
    expect(codeOf(() => tlb.translate(iova, len, VHOST_ACCESS_RO, twoRegions(), new Iov()))).toBe('EFAULT');
  });

  it('throws EFAULT for a target in a gap between memory regions', () => {
    const mem = GuestMemory.create({ size: PAGE, base: 0 });
    mem.addRegion(2 * PAGE, new ArrayBuffer(PAGE));
    expect(codeOf(() => Iotlb.identity().translate(PAGE - 8, 16, VHOST_ACCESS_RO, mem, new Iov()))).toBe(
      'EFAULT',
    );
  });

  it.each([
    ['a negative iova', -1, 8],
    ['an iova beyond 2^53', 2 ** 53, 8],
    ['a fractional iova', 0.5, 8],
    ['a negative length', 0, -8],
    ['a fractional length', 0, 1.5],
  ])('throws ERANGE for %s', (_what, iova, len) => {
    expect(
      codeOf(() => Iotlb.identity().translate(iova, len, VHOST_ACCESS_RO, twoRegions(), new Iov())),
    ).toBe('ERANGE');
  });

  it('throws EINVAL for a range running past 2^53 - 1', () => {
    const mem = new GuestMemory();
    mem.addRegion(IOVA_MAX - 0xff, new ArrayBuffer(0x100));
    expect(codeOf(() => Iotlb.identity().translate(IOVA_MAX - 3, 8, VHOST_ACCESS_RO, mem, new Iov()))).toBe(
      'EINVAL',
    );
  });
});

interface Entry {
  readonly start: number;
  readonly last: number;
  readonly addr: number;
  readonly perm: number;
}

const IOVA_SPACE = 0x4000;
const PA_SPACE = 0x3000;

/** Non-overlapping entries in `[0, IOVA_SPACE)` from sorted cut points, some left as holes. */
const entriesArb: fc.Arbitrary<Entry[]> = fc
  .uniqueArray(fc.integer({ min: 1, max: IOVA_SPACE - 1 }), { maxLength: 12 })
  .chain((cuts) => {
    const edges = [0, ...[...cuts].sort((a, b) => a - b), IOVA_SPACE];
    const spans = edges.slice(1).map((end, i) => [edges[i], end - 1] as const);
    return fc.tuple(
      ...spans.map(([start, last]) =>
        fc.record({
          // Mostly mapped, mostly into memory, so that successes are common too.
          keep: fc.integer({ min: 0, max: 4 }).map((k) => k > 0),
          addr: fc.oneof(fc.integer({ min: 0x400, max: 0x1800 }), fc.integer({ min: 0, max: PA_SPACE })),
          perm: fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
          start: fc.constant(start),
          last: fc.constant(last),
        }),
      ),
    );
  })
  .map((spans) =>
    spans.filter((s) => s.keep).map(({ start, last, addr, perm }) => ({ start, last, addr, perm })),
  );

/** Guest memory: [0x400, 0x1000) and [0x1000, 0x1800) in separate buffers, [0x2000, 0x2800) after a gap. */
function propertyMemory(): GuestMemory {
  const mem = new GuestMemory();
  mem.addRegion(0x400, new ArrayBuffer(0xc00));
  mem.addRegion(0x1000, new ArrayBuffer(0x800));
  mem.addRegion(0x2000, new ArrayBuffer(0x800));
  return mem;
}

/** The errno the reference semantics give for `(iova, len, access)`, checking entries byte by byte. */
function expectedError(
  entries: readonly Entry[],
  regions: readonly MemoryRegion[],
  iova: number,
  len: number,
  access: IotlbAccess,
): VringErrno | undefined {
  for (let a = iova; a < iova + len; a++) {
    const e = entries.find((m) => m.start <= a && a <= m.last);
    if (e === undefined) return 'EINVAL';
    if ((e.perm & access) === 0) return 'EPERM';
    const pa = e.addr + (a - e.start);
    if (!regions.some((r) => r.gpa <= pa && pa < r.gpa + r.size)) return 'EFAULT';
  }
  return undefined;
}

describe('Iotlb translate property', () => {
  it('either throws EINVAL/EPERM/EFAULT as the reference says, or covers exactly len bytes with permitted, exact mappings', () => {
    fc.assert(
      fc.property(
        entriesArb,
        fc.integer({ min: 0, max: IOVA_SPACE + 0x10 }),
        fc.oneof(fc.integer({ min: 0, max: 0x40 }), fc.integer({ min: 0, max: 0x900 })),
        fc.constantFrom<IotlbAccess>(VHOST_ACCESS_RO, VHOST_ACCESS_WO),
        (entries, iova, len, access) => {
          const mem = propertyMemory();
          const regions = mem.regions();
          const tlb = new Iotlb();
          // Insert in a scrambled order: the table must sort.
          for (const e of [...entries].reverse()) tlb.addRange(e.start, e.last, e.addr, e.perm);
          const iov = new Iov(1);
          let code: VringErrno | undefined;
          try {
            tlb.translate(iova, len, access, mem, iov);
          } catch (err) {
            if (!(err instanceof VringError)) throw err;
            code = err.code;
          }
          if (code !== undefined)
            return (
              ['EINVAL', 'EPERM', 'EFAULT'].includes(code) &&
              code === expectedError(entries, regions, iova, len, access)
            );
          if (expectedError(entries, regions, iova, len, access) !== undefined) return false;
          let total = 0;
          let cursor = iova;
          for (let i = 0; i < iov.count; i++) {
            const r = regions.find((x) => x.bytes === iov.bufs[i]);
            if (r === undefined || iov.offs[i] + iov.lens[i] > r.size) return false;
            total += iov.lens[i];
            // Walk the segment entry by entry: a merged segment may span several entries.
            let pa = r.gpa + iov.offs[i];
            let left = iov.lens[i];
            while (left > 0) {
              const e = entries.find((m) => m.start <= cursor && cursor <= m.last);
              if (e === undefined || (e.perm & access) === 0 || e.addr + (cursor - e.start) !== pa)
                return false;
              const n = Math.min(left, e.last - cursor + 1);
              cursor += n;
              pa += n;
              left -= n;
            }
          }
          return total === len && cursor === iova + len;
        },
      ),
      { numRuns: 500 },
    );
  });
});

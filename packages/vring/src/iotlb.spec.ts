import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IOVA_MAX, VringError, type VringErrno } from './errors.js';
import { U64_LIMIT } from '@vdpa-kit/virtio-spec';
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
const U64_MAX = U64_LIMIT - 1n;

/** `[start, last, addr, perm]` of every entry, in address order (as numbers: these tables stay below 2^53). */
function table(tlb: Iotlb): number[][] {
  return tlb.entries().map((m) => [Number(m.start), Number(m.last), Number(m.addr), m.perm]);
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
    tlb.addRange(0x3000n, 0x3fffn, 0x9000n, VHOST_ACCESS_RO);
    tlb.addRange(0x1000n, 0x1fffn, 0x8000n, VHOST_ACCESS_RW, ctx);
    tlb.addRange(0x2000n, 0x2000n, 0xa000n, VHOST_ACCESS_WO);
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
    expect(codeOf(() => tlb.addRange(0x2000n, 0x1fffn, 0n, VHOST_ACCESS_RW))).toBe('EFAULT');
    expect(() => tlb.addRange(0x2000n, 0x1fffn, 0n, VHOST_ACCESS_RW)).toThrow(
      'iotlb range 0x2000-0x1fff ends before it starts',
    );
    expect(tlb.size).toBe(0);
  });

  // vhost_iotlb_add_range_ctx() stores any `unsigned int perm`; translation checks the bits it needs.
  it.each([0, 4, 7, 0xffff_ffff])('accepts permission %i, as the kernel does', (perm) => {
    const tlb = new Iotlb();
    tlb.addRange(0n, 0xfffn, 0n, perm);
    expect(tlb.entries()[0].perm).toBe(perm);
  });

  it.each([-1, 1.5, 2 ** 32, Number.NaN])('throws EINVAL for permission %s, not a u32', (perm) => {
    expect(codeOf(() => new Iotlb().addRange(0n, 0xfffn, 0n, perm))).toBe('EINVAL');
  });

  it.each([
    ['a negative start', -1n, 0xfffn, 0n],
    ['a start beyond 2^64 - 1', 1n << 64n, 1n << 64n, 0n],
    ['a last beyond 2^64 - 1', 0n, 1n << 64n, 0n],
    ['a negative address', 0n, 0xfffn, -0x1000n],
    ['an address beyond 2^64 - 1', 0n, 0xfffn, 1n << 64n],
  ])('throws ERANGE for %s', (_what, start, last, addr) => {
    expect(codeOf(() => new Iotlb().addRange(start, last, addr, VHOST_ACCESS_RW))).toBe('ERANGE');
  });

  it('holds u64 bounds exactly, and a target range running past 2^64 - 1 (unchecked, as in the kernel)', () => {
    const tlb = new Iotlb();
    tlb.addRange(0xffff_ffff_ffff_0000n, 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_f000n, VHOST_ACCESS_RO);
    tlb.addRange((1n << 53n) + 1n, (1n << 53n) + 1n, 3n, VHOST_ACCESS_WO);
    expect(tlb.entries()).toEqual([
      { start: (1n << 53n) + 1n, last: (1n << 53n) + 1n, addr: 3n, perm: VHOST_ACCESS_WO },
      {
        start: 0xffff_ffff_ffff_0000n,
        last: 0xffff_ffff_ffff_fffen,
        addr: 0xffff_ffff_ffff_f000n,
        perm: VHOST_ACCESS_RO,
      },
    ]);
  });

  // vhost_iotlb_add_range_ctx(): "If the range being mapped is [0, ULONG_MAX], split it into two entries
  // otherwise its size would overflow u64."
  it('stores [0, 2^64 - 1] as two halves, the second at addr + 2^63 (u64 wrap-around)', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, U64_MAX, 0x10n, VHOST_ACCESS_RO, 'ctx');
    expect(tlb.entries()).toEqual([
      { start: 0n, last: (1n << 63n) - 1n, addr: 0x10n, perm: VHOST_ACCESS_RO, opaque: 'ctx' },
      { start: 1n << 63n, last: U64_MAX, addr: (1n << 63n) + 0x10n, perm: VHOST_ACCESS_RO, opaque: 'ctx' },
    ]);
    const wrapped = new Iotlb();
    wrapped.addRange(0n, U64_MAX, U64_MAX, VHOST_ACCESS_RW);
    expect(wrapped.entries().map((m) => m.addr)).toEqual([U64_MAX, (1n << 63n) - 1n]);
    // Only the exact whole space is split.
    const almost = new Iotlb();
    almost.addRange(0n, U64_MAX - 1n, 0n, VHOST_ACCESS_RW);
    almost.addRange(1n, U64_MAX, 0n, VHOST_ACCESS_RW);
    expect(almost.size).toBe(2);
  });

  it('does not check for overlaps (callers do, as in the kernel)', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x2fffn, 0x8000n, VHOST_ACCESS_RO);
    tlb.addRange(0x2000n, 0x3fffn, 0x9000n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x2fffn, 0xa000n, VHOST_ACCESS_WO);
    expect(table(tlb)).toEqual([
      [0x1000, 0x2fff, 0x8000, VHOST_ACCESS_RO],
      [0x1000, 0x2fff, 0xa000, VHOST_ACCESS_WO],
      [0x2000, 0x3fff, 0x9000, VHOST_ACCESS_RW],
    ]);
  });

  it('accepts [0, IOVA_MAX] as one entry (only [0, 2^64 - 1] is split)', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, BigInt(IOVA_MAX), 0n, VHOST_ACCESS_RO);
    expect(table(tlb)).toEqual([[0, IOVA_MAX, 0, VHOST_ACCESS_RO]]);
  });
});

describe('Iotlb delRange', () => {
  function three(): Iotlb {
    const tlb = new Iotlb();
    tlb.addRange(0x0000n, 0x0fffn, 0x10000n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 0x20000n, VHOST_ACCESS_RW);
    tlb.addRange(0x2000n, 0x2fffn, 0x30000n, VHOST_ACCESS_RW);
    return tlb;
  }

  it('removes every overlapping entry whole, without splitting', () => {
    const tlb = three();
    tlb.delRange(0x1800n, 0x2000n);
    expect(table(tlb)).toEqual([[0, 0xfff, 0x10000, VHOST_ACCESS_RW]]);
  });

  it('treats both ends as inclusive', () => {
    const tlb = three();
    tlb.delRange(0x0fffn, 0x0fffn);
    expect(table(tlb).map(([start]) => start)).toEqual([0x1000, 0x2000]);
    tlb.delRange(0x1fffn, 0x1fffn);
    expect(table(tlb).map(([start]) => start)).toEqual([0x2000]);
  });

  it('keeps entries that only touch the range', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x3000n, 0x3fffn, 0n, VHOST_ACCESS_RW);
    tlb.delRange(0x2000n, 0x2fffn);
    expect(tlb.size).toBe(2);
  });

  it('removes all overlapping copies of overlapping entries', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x2fffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x2000n, 0x3fffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x5000n, 0x5fffn, 0n, VHOST_ACCESS_RW);
    tlb.delRange(0x2800n, 0x2800n);
    expect(table(tlb).map(([start]) => start)).toEqual([0x5000]);
  });

  it('removes everything for [0, IOVA_MAX]', () => {
    const tlb = three();
    tlb.delRange(0n, BigInt(IOVA_MAX));
    expect(tlb.size).toBe(0);
  });

  it.each([
    ['a negative start', -1n, 0x1000n],
    ['a last beyond 2^64 - 1', 0n, 1n << 64n],
  ])('throws ERANGE for %s and removes nothing', (_what, start, last) => {
    const tlb = three();
    expect(codeOf(() => tlb.delRange(start, last))).toBe('ERANGE');
    expect(tlb.size).toBe(3);
  });

  it('removes entries above 2^53 exactly', () => {
    const tlb = three();
    tlb.addRange(1n << 60n, (1n << 60n) + 0xfffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange((1n << 60n) + 0x1000n, (1n << 60n) + 0x1fffn, 0n, VHOST_ACCESS_RW);
    tlb.delRange((1n << 60n) + 0xfffn, (1n << 60n) + 0xfffn);
    expect(tlb.entries().map((m) => m.start)).toEqual([0n, 0x1000n, 0x2000n, (1n << 60n) + 0x1000n]);
    tlb.delRange(0n, U64_MAX);
    expect(tlb.size).toBe(0);
  });

  it('forgets a deleted entry that was the last lookup hit', () => {
    const tlb = three();
    expect(tlb.lookup(0x1800)?.addr).toBe(0x20000n);
    tlb.delRange(0x1000n, 0x1000n);
    expect(tlb.lookup(0x1800)).toBeUndefined();
  });
});

describe('Iotlb reset, first, lookup', () => {
  it('reset removes every entry', () => {
    const tlb = Iotlb.identity();
    expect(tlb.lookup(0x1234)).toBeDefined();
    tlb.reset();
    expect([tlb.size, tlb.lookup(0x1234), tlb.first(0n, U64_MAX)]).toEqual([0, undefined, undefined]);
  });

  it('first returns the lowest-starting entry overlapping the range', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x3000n, 0x3fffn, 3n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 1n, VHOST_ACCESS_RW);
    tlb.addRange(0x0800n, 0x27ffn, 2n, VHOST_ACCESS_RW);
    expect(tlb.first(0x2000n, 0x3fffn)?.addr).toBe(2n);
    expect(tlb.first(0x2800n, 0x3000n)?.addr).toBe(3n);
    expect(tlb.first(0x1800n, 0x1800n)?.addr).toBe(2n);
    expect(tlb.first(0x2800n, 0x2fffn)).toBeUndefined();
    expect(tlb.first(0x4000n, BigInt(IOVA_MAX))).toBeUndefined();
    expect(tlb.first(0n, 0x7ffn)).toBeUndefined();
  });

  it('lookup finds the entry containing an address, both ends inclusive', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0xa000n, VHOST_ACCESS_RW);
    tlb.addRange(0x3000n, 0x3fffn, 0xb000n, VHOST_ACCESS_RO);
    const found = [0xfff, 0x1000, 0x1fff, 0x2000, 0x2fff, 0x3000, 0x3fff, 0x4000].map(
      (a) => tlb.lookup(a)?.addr,
    );
    expect(found).toEqual([undefined, 0xa000n, 0xa000n, undefined, undefined, 0xb000n, 0xb000n, undefined]);
  });

  it('lookup with overlapping entries returns the lowest-starting one, as kernel translation does', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x0000n, 0x1fffn, 1n, VHOST_ACCESS_RO);
    tlb.addRange(0x1000n, 0x2fffn, 2n, VHOST_ACCESS_RW);
    tlb.addRange(0x1800n, 0x18ffn, 3n, VHOST_ACCESS_RW);
    // Warm the cache with entry 2, then ask for an address entry 1 also covers.
    expect(tlb.lookup(0x2800)?.addr).toBe(2n);
    expect(tlb.lookup(0x1800)?.addr).toBe(1n);
    expect(tlb.lookup(0x2000)?.addr).toBe(2n);
  });

  it('lookup breaks ties between equal starts by insertion order', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 1n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 2n, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1000)?.addr).toBe(1n);
  });

  it('lookup agrees with a linear scan for random overlapping tables', () => {
    const entry = fc.tuple(fc.integer({ min: 0, max: 0x100 }), fc.integer({ min: 0, max: 0x40 }));
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 0x150 }), { maxLength: 30 }),
        (entries, queries) => {
          const tlb = new Iotlb();
          entries.forEach(([start, n], i) =>
            tlb.addRange(BigInt(start), BigInt(start + n), BigInt(i), VHOST_ACCESS_RW),
          );
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
  // vdpa_sim.c: vdpasim_create() maps [0, ULONG_MAX] -> 0 RW, which vhost_iotlb_add_range_ctx() splits.
  it('is the RW passthrough of the whole u64 space, as the kernel’s two halves', () => {
    const tlb = Iotlb.identity();
    expect(tlb.entries()).toEqual([
      { start: 0n, last: (1n << 63n) - 1n, addr: 0n, perm: VHOST_ACCESS_RW },
      { start: 1n << 63n, last: U64_MAX, addr: 1n << 63n, perm: VHOST_ACCESS_RW },
    ]);
    expect(tlb.isIdentity()).toBe(true);
    expect(tlb.first(U64_MAX, U64_MAX)?.start).toBe(1n << 63n);
  });

  it('translates any address to itself', () => {
    const mem = GuestMemory.create({ size: 4 * PAGE, base: 0x7000_0000 });
    const iov = new Iov();
    Iotlb.identity().translate(0x7000_0100, 0x20, VHOST_ACCESS_WO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x7000_0000, 0x100, 0x20]]);
  });

  it.each([
    ['empty', (t: Iotlb) => t.reset()],
    ['with an extra entry', (t: Iotlb) => t.addRange(0x1000n, 0x1fffn, 0n, VHOST_ACCESS_RW)],
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
    tlb.addRange(BigInt(start), BigInt(last), BigInt(addr), perm);
    expect(tlb.isIdentity()).toBe(false);
  });

  it('recognises an identity table built by hand, whole or as the two halves', () => {
    const tlb = new Iotlb();
    expect(tlb.isIdentity()).toBe(false);
    tlb.addRange(0n, U64_MAX, 0n, VHOST_ACCESS_RW);
    expect(tlb.isIdentity()).toBe(true);
    const halves = new Iotlb();
    halves.addRange(1n << 63n, U64_MAX, 1n << 63n, VHOST_ACCESS_RW);
    halves.addRange(0n, (1n << 63n) - 1n, 0n, VHOST_ACCESS_RW);
    expect(halves.isIdentity()).toBe(true);
    const old = new Iotlb();
    old.addRange(0n, BigInt(IOVA_MAX), 0n, VHOST_ACCESS_RW);
    expect(old.isIdentity()).toBe(false);
  });
});

describe('Iotlb limit', () => {
  // vhost_iotlb_add_range_ctx() looks at the limit only with VHOST_IOTLB_FLAG_RETIRE.
  it('does not enforce the limit without retire, as the kernel does not', () => {
    const tlb = new Iotlb({ limit: 2 });
    tlb.addRange(0x1000n, 0x1fffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x2000n, 0x2fffn, 0n, VHOST_ACCESS_RW);
    tlb.addRange(0x3000n, 0x3fffn, 0n, VHOST_ACCESS_RW);
    expect(table(tlb).map(([start]) => start)).toEqual([0x1000, 0x2000, 0x3000]);
  });

  it('with retire and a limit of 1, the second half of the whole space evicts the first', () => {
    const tlb = new Iotlb({ limit: 1, retire: true });
    tlb.addRange(0n, U64_MAX, 0n, VHOST_ACCESS_RW);
    expect(tlb.entries().map((m) => m.start)).toEqual([1n << 63n]);
  });

  it('evicts the oldest entry by insertion, not by address, with retire', () => {
    const tlb = new Iotlb({ limit: 3, retire: true });
    tlb.addRange(0x5000n, 0x5fffn, 5n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 1n, VHOST_ACCESS_RW);
    tlb.addRange(0x3000n, 0x3fffn, 3n, VHOST_ACCESS_RW);
    tlb.addRange(0x7000n, 0x7fffn, 7n, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([1, 3, 7]);
    tlb.addRange(0x0000n, 0x0fffn, 0n, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([0, 3, 7]);
  });

  it('evicts in insertion order among the survivors of a delete', () => {
    const tlb = new Iotlb({ limit: 2, retire: true });
    tlb.addRange(0x1000n, 0x1fffn, 1n, VHOST_ACCESS_RW);
    tlb.addRange(0x2000n, 0x2fffn, 2n, VHOST_ACCESS_RW);
    tlb.delRange(0x1000n, 0x1fffn);
    tlb.addRange(0x3000n, 0x3fffn, 3n, VHOST_ACCESS_RW);
    tlb.addRange(0x4000n, 0x4fffn, 4n, VHOST_ACCESS_RW);
    expect(table(tlb).map(([, , addr]) => addr)).toEqual([3, 4]);
  });

  it('forgets an evicted entry that was the last lookup hit', () => {
    const tlb = new Iotlb({ limit: 1, retire: true });
    tlb.addRange(0x1000n, 0x1fffn, 1n, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1800)?.addr).toBe(1n);
    tlb.addRange(0x2000n, 0x2fffn, 2n, VHOST_ACCESS_RW);
    expect(tlb.lookup(0x1800)).toBeUndefined();
    expect(tlb.lookup(0x2800)?.addr).toBe(2n);
  });

  it('is unlimited by default', () => {
    const tlb = new Iotlb();
    for (let i = 0; i < 3000; i++)
      tlb.addRange(BigInt(i * PAGE), BigInt(i * PAGE + PAGE - 1), 0n, VHOST_ACCESS_RW);
    expect(tlb.size).toBe(3000);
  });
});

describe('Iotlb generation', () => {
  it('bumps on every change and only on changes', () => {
    const tlb = new Iotlb();
    const mem = GuestMemory.create({ size: PAGE });
    const seen = [tlb.generation];
    tlb.addRange(0n, 0xfffn, 0n, VHOST_ACCESS_RW);
    seen.push(tlb.generation);
    tlb.lookup(0x10);
    tlb.first(0n, 0x10n);
    tlb.translate(0, 0x10, VHOST_ACCESS_RO, mem, new Iov());
    seen.push(tlb.generation);
    tlb.delRange(0x2000n, 0x2fffn);
    seen.push(tlb.generation);
    tlb.delRange(0n, 0n);
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
    tlb.addRange(0n, 0xfffn, 0n, VHOST_ACCESS_RW);
    const before = tlb.generation;
    codeOf(() => tlb.addRange(0x1000n, 0x1fffn, 0n, -1));
    codeOf(() => tlb.addRange(0x3000n, 0x2fffn, 0n, VHOST_ACCESS_RW));
    codeOf(() => tlb.addRange(0x3000n, 1n << 64n, 0n, VHOST_ACCESS_RW));
    expect(tlb.generation).toBe(before);
  });
});

describe('Iotlb copyFrom', () => {
  it('replaces the entries with a copy of the other table, opaque included', () => {
    const src = new Iotlb();
    const ctx = { fd: 7 };
    src.addRange(0x1000n, 0x1fffn, 0xa000n, VHOST_ACCESS_RO, ctx);
    src.addRange(0x3000n, 0x3fffn, 0xb000n, VHOST_ACCESS_WO);
    const dst = Iotlb.identity();
    dst.copyFrom(src);
    expect(table(dst)).toEqual(table(src));
    expect(dst.entries()[0].opaque).toBe(ctx);
  });

  it('is independent of the source afterwards', () => {
    const src = new Iotlb();
    src.addRange(0x1000n, 0x1fffn, 0xa000n, VHOST_ACCESS_RW);
    const dst = new Iotlb();
    dst.copyFrom(src);
    src.reset();
    src.addRange(0x5000n, 0x5fffn, 0n, VHOST_ACCESS_RW);
    expect(table(dst)).toEqual([[0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW]]);
  });

  it('leaves a table copied onto itself unchanged', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0xa000n, VHOST_ACCESS_RW);
    tlb.addRange(0x2000n, 0x2fffn, 0xb000n, VHOST_ACCESS_RO);
    tlb.copyFrom(tlb);
    expect(table(tlb)).toEqual([
      [0x1000, 0x1fff, 0xa000, VHOST_ACCESS_RW],
      [0x2000, 0x2fff, 0xb000, VHOST_ACCESS_RO],
    ]);
  });

  it('copies past this table’s limit without retire (vdpasim_set_map() adds every entry)', () => {
    const src = new Iotlb();
    src.addRange(0x1000n, 0x1fffn, 0n, VHOST_ACCESS_RW);
    src.addRange(0x2000n, 0x2fffn, 0n, VHOST_ACCESS_RW);
    const dst = new Iotlb({ limit: 1 });
    dst.copyFrom(src);
    expect(dst.size).toBe(2);
  });

  it('copies the identity halves as they are', () => {
    const dst = new Iotlb();
    dst.copyFrom(Iotlb.identity());
    expect(dst.entries()).toEqual(Iotlb.identity().entries());
  });
});

describe('Iotlb translate', () => {
  it('maps an iova range inside one entry to one segment', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x100_0000n, 0x100_0fffn, 0x1_1000n, VHOST_ACCESS_RO);
    const iov = new Iov();
    tlb.translate(0x100_0010, 0x20, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0x1010, 0x20]]);
    expect(iov.totalLength).toBe(0x20);
  });

  it('reads and writes the bytes the mapping points at', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x8000n, 0x8fffn, 0x1_2000n, VHOST_ACCESS_RW);
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
    tlb.addRange(0x0000n, 0x0fffn, 0x1_3000n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 0x1_0000n, VHOST_ACCESS_RO);
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
    tlb.addRange(0x0000n, 0x0fffn, 0x1_0000n, VHOST_ACCESS_RO);
    tlb.addRange(0x1000n, 0x1fffn, 0x1_1000n, VHOST_ACCESS_RW);
    const iov = new Iov();
    tlb.translate(0x0800, 0x1000, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0x800, 0x1000]]);
  });

  it('splits a range whose physical target spans two memory regions', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(0x0000n, 0x7fffn, 0x1_0000n, VHOST_ACCESS_RW);
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
    tlb.addRange(0x0000n, 0x0fffn, 0x1_0000n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 0x1_2000n, VHOST_ACCESS_RO);
    // 0x2000-0x2fff is a hole.
    tlb.addRange(0x3000n, 0x8fffn, 0x1_0000n, VHOST_ACCESS_RW);
    tlb.addRange(0x9000n, 0x9fffn, 0x10_0000n, VHOST_ACCESS_RW);
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
      tlb.addRange(BigInt(start), BigInt(last), BigInt(0x1_0000 + (start & 0x3fff)), VHOST_ACCESS_RW);
    expect(codeOf(() => tlb.translate(iova, len, VHOST_ACCESS_RO, twoRegions(), new Iov()))).toBe('EINVAL');
  });

  it('names the unmapped iova in the hole message', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, 0x1_0000n, VHOST_ACCESS_RW);
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
    tlb.addRange(0n, 0xfffn, 0x1_0000n, perm);
    expect(codeOf(() => tlb.translate(0x10, 8, access, twoRegions(), new Iov()))).toBe(code);
  });

  it('throws EPERM when only the second entry of a range lacks the permission', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x0000n, 0x0fffn, 0x1_0000n, VHOST_ACCESS_RW);
    tlb.addRange(0x1000n, 0x1fffn, 0x1_1000n, VHOST_ACCESS_RO);
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
    tlb.addRange(0n, 0xffffn, BigInt(addr), VHOST_ACCESS_RW);
    expect(codeOf(() => tlb.translate(iova, len, VHOST_ACCESS_RO, twoRegions(), new Iov()))).toBe('EFAULT');
  });

  it('names the first physical address outside memory; the segments before it stay appended', () => {
    const tlb = new Iotlb();
    tlb.addRange(0n, 0xffffn, 0x1_7ff0n, VHOST_ACCESS_RW);
    const mem = twoRegions();
    const iov = new Iov();
    expect(() => tlb.translate(0, 0x20, VHOST_ACCESS_RO, mem, iov)).toThrow(
      'physical address 0x18000 (iova 0x0) is outside guest memory',
    );
    expect(segments(iov, mem)).toEqual([[0x1_4000, 0x3ff0, 0x10]]);
  });

  it('throws EFAULT for an entry whose u64 target wraps below 0', () => {
    const tlb = new Iotlb();
    tlb.addRange(0x1000n, 0x1fffn, U64_LIMIT - 0x10n, VHOST_ACCESS_RW);
    const iov = new Iov();
    expect(codeOf(() => tlb.translate(0x1000, 8, VHOST_ACCESS_RO, twoRegions(), iov))).toBe('EFAULT');
    expect(iov.count).toBe(0);
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

  it('translates a range running past 2^53 - 1 through the u64 entries; its target there is not memory', () => {
    const mem = new GuestMemory();
    mem.addRegion(IOVA_MAX - 0xff, new ArrayBuffer(0x100));
    expect(codeOf(() => Iotlb.identity().translate(IOVA_MAX - 3, 8, VHOST_ACCESS_RO, mem, new Iov()))).toBe(
      'EFAULT',
    );
    // An entry from just below 2^53 to far above maps the whole range into memory at 0x100.
    const tlb = new Iotlb();
    tlb.addRange(BigInt(IOVA_MAX - 3), 1n << 60n, 0x100n, VHOST_ACCESS_RO);
    const low = GuestMemory.create({ size: 0x1000 });
    const iov = new Iov();
    tlb.translate(IOVA_MAX - 3, 8, VHOST_ACCESS_RO, low, iov);
    expect(segments(iov, low)).toEqual([[0, 0x100, 8]]);
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
          for (const e of [...entries].reverse())
            tlb.addRange(BigInt(e.start), BigInt(e.last), BigInt(e.addr), e.perm);
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

describe('Iotlb u64 translation', () => {
  const HI_60 = 2 ** 28; // the high u32 of 2^60

  it('translates an IOVA above 2^53 from its u32 halves into guest memory', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(1n << 60n, (1n << 60n) + 0xfffn, 0x1_1000n, VHOST_ACCESS_RO);
    const iov = new Iov();
    tlb.translateU64(HI_60, 0x10, 0x20, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0x1010, 0x20]]);
    expect(codeOf(() => tlb.translateU64(HI_60, 0x10, 0x20, VHOST_ACCESS_WO, mem, new Iov()))).toBe('EPERM');
    expect(codeOf(() => tlb.translateU64(HI_60, 0xff0, 0x20, VHOST_ACCESS_RO, mem, new Iov()))).toBe(
      'EINVAL',
    );
    expect(codeOf(() => tlb.translateU64(HI_60 + 1, 0, 1, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EINVAL');
  });

  it('splits a high range over two entries and over two memory regions', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    tlb.addRange(1n << 60n, (1n << 60n) + 0xfffn, 0x1_3000n, VHOST_ACCESS_RW);
    tlb.addRange((1n << 60n) + 0x1000n, (1n << 60n) + 0x1fffn, 0x1_0000n, VHOST_ACCESS_RW);
    const iov = new Iov();
    tlb.translateU64(HI_60, 0xff0, 0x20, VHOST_ACCESS_WO, mem, iov);
    expect(segments(iov, mem)).toEqual([
      [0x1_0000, 0x3ff0, 0x10],
      [0x1_0000, 0, 0x10],
    ]);
    const across = new Iov();
    tlb.addRange(1n << 61n, (1n << 61n) + 0x7fffn, 0x1_0000n, VHOST_ACCESS_RW);
    tlb.translateU64(2 ** 29, 0x3ffc, 8, VHOST_ACCESS_RO, mem, across);
    expect(segments(across, mem)).toEqual([
      [0x1_0000, 0x3ffc, 4],
      [0x1_4000, 0, 4],
    ]);
  });

  it('takes pa = addr - start + iova modulo 2^64, as the kernel’s u64 arithmetic does', () => {
    const mem = twoRegions();
    const tlb = new Iotlb();
    // addr + (iova - start) wraps past 2^64: (2^64 - 0x1000) + iova - 0x1000 = iova - 0x2000 (mod 2^64)
    tlb.addRange(0x1000n, 0x1_8fffn, U64_LIMIT - 0x1000n, VHOST_ACCESS_RW);
    const iov = new Iov();
    tlb.translate(0x1_2000, 4, VHOST_ACCESS_RO, mem, iov);
    expect(segments(iov, mem)).toEqual([[0x1_0000, 0, 4]]);
    // An IOVA below the wrap maps to 2^64 - x: not guest memory.
    expect(codeOf(() => tlb.translate(0x1000, 4, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EFAULT');
    // A high entry whose target is above 2^53 maps, but not into memory.
    const high = new Iotlb();
    high.addRange(1n << 60n, (1n << 60n) + 0xfffn, 1n << 55n, VHOST_ACCESS_RW);
    expect(codeOf(() => high.translateU64(HI_60, 0, 4, VHOST_ACCESS_RO, mem, new Iov()))).toBe('EFAULT');
  });

  it('refuses a range wrapping past 2^64 - 1 as a hole, and halves that are not u32', () => {
    const mem = twoRegions();
    const tlb = Iotlb.identity();
    expect(codeOf(() => tlb.translateU64(0xffff_ffff, 0xffff_fffc, 8, VHOST_ACCESS_RO, mem, new Iov()))).toBe(
      'EINVAL',
    );
    expect(codeOf(() => tlb.translateU64(2 ** 32, 0, 1, VHOST_ACCESS_RO, mem, new Iov()))).toBe('ERANGE');
    expect(codeOf(() => tlb.translateU64(0, -1, 1, VHOST_ACCESS_RO, mem, new Iov()))).toBe('ERANGE');
    const none = new Iov();
    tlb.translateU64(0xffff_ffff, 0xffff_ffff, 0, VHOST_ACCESS_RO, mem, none);
    expect(none.count).toBe(0);
  });

  it('agrees with a BigInt reference for random u64 tables and ranges', () => {
    const base = 1n << 60n;
    const entry = fc.record({
      start: fc.bigInt({ min: 0n, max: 0x4000n }),
      size: fc.bigInt({ min: 1n, max: 0x1000n }),
      addr: fc.oneof(
        fc.bigInt({ min: 0x1_0000n, max: 0x1_8000n }),
        fc.bigInt({ min: 0n, max: U64_LIMIT - 1n }),
      ),
      perm: fc.constantFrom(VHOST_ACCESS_RO, VHOST_ACCESS_WO, VHOST_ACCESS_RW),
    });
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 0x5000n }),
        fc.integer({ min: 1, max: 0x900 }),
        fc.constantFrom<IotlbAccess>(VHOST_ACCESS_RO, VHOST_ACCESS_WO),
        (entries, off, len, access) => {
          const mem = twoRegions();
          const tlb = new Iotlb();
          for (const e of entries) tlb.addRange(base + e.start, base + e.start + e.size - 1n, e.addr, e.perm);
          const maps = tlb.entries();
          // Reference: byte by byte, the lowest-starting entry holding the address.
          let expected: VringErrno | undefined;
          const pas: bigint[] = [];
          for (let k = 0n; k < BigInt(len); k++) {
            const a = base + off + k;
            const m = maps.find((x) => x.start <= a && a <= x.last);
            if (m === undefined) {
              expected = 'EINVAL';
              break;
            }
            if ((m.perm & access) === 0) {
              expected = 'EPERM';
              break;
            }
            const pa = (m.addr - m.start + a) & (U64_LIMIT - 1n);
            if (!mem.regions().some((r) => BigInt(r.gpa) <= pa && pa < BigInt(r.gpa + r.size))) {
              expected = 'EFAULT';
              break;
            }
            pas.push(pa);
          }
          const iova = base + off;
          const iov = new Iov(1);
          const code = codeOf(() =>
            tlb.translateU64(Number(iova >> 32n), Number(iova & 0xffff_ffffn), len, access, mem, iov),
          );
          if (code !== expected) return false;
          if (code !== undefined) return true;
          const got: bigint[] = [];
          for (let i = 0; i < iov.count; i++) {
            const r = mem.regions().find((x) => x.bytes === iov.bufs[i]);
            if (r === undefined) return false;
            for (let k = 0; k < iov.lens[i]; k++) got.push(BigInt(r.gpa + iov.offs[i] + k));
          }
          return got.length === pas.length && got.every((pa, i) => pa === pas[i]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

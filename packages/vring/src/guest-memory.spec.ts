import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IOVA_MAX, VringError, type VringErrno } from './errors.js';
import { GuestMemory, readU64, writeU64 } from './guest-memory.js';

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

const BASE = 0x1_0000;
const SIZE = 0x1000;
const END = BASE + SIZE;

/** Every accessor as `(mem, gpa) => access`, with the number of bytes it touches. */
const accessors: ReadonlyArray<readonly [string, number, (mem: GuestMemory, gpa: number) => unknown]> = [
  ['readU8', 1, (m, a) => m.readU8(a)],
  ['readU16', 2, (m, a) => m.readU16(a)],
  ['readU32', 4, (m, a) => m.readU32(a)],
  ['readU64', 8, (m, a) => m.readU64(a)],
  ['writeU8', 1, (m, a) => m.writeU8(a, 0xaa)],
  ['writeU16', 2, (m, a) => m.writeU16(a, 0xaaaa)],
  ['writeU32', 4, (m, a) => m.writeU32(a, 0xaaaa_aaaa)],
  ['writeU64', 8, (m, a) => m.writeU64(a, 0xaa)],
  ['read', 12, (m, a) => m.read(a, new Uint8Array(12))],
  ['write', 12, (m, a) => m.write(a, new Uint8Array(12).fill(0xaa))],
  ['fill', 12, (m, a) => m.fill(a, 12, 0xaa)],
  ['view', 12, (m, a) => m.view(a, 12)],
];

/** Two adjacent regions over different buffers, then a gap, then a third region. */
function threeRegions(): GuestMemory {
  const mem = GuestMemory.create({ size: SIZE, base: BASE });
  mem.addRegion(END, new ArrayBuffer(SIZE));
  mem.addRegion(END + 2 * SIZE, new ArrayBuffer(SIZE));
  return mem;
}

describe('GuestMemory regions', () => {
  it('creates one region at the base over a plain ArrayBuffer by default', () => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE });
    const [r] = mem.regions();
    expect(mem.regions()).toHaveLength(1);
    expect(r.gpa).toBe(BASE);
    expect(r.size).toBe(SIZE);
    expect(r.buffer).toBeInstanceOf(ArrayBuffer);
    expect(r.bytes.length).toBe(SIZE);
    expect(r.view.byteLength).toBe(SIZE);
  });

  it('creates memory at address 0 when no base is given', () => {
    expect(GuestMemory.create({ size: SIZE }).regions()[0].gpa).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects a memory size of %s with EINVAL', (size) => {
    expect(codeOf(() => GuestMemory.create({ size }))).toBe('EINVAL');
  });

  it('keeps regions sorted by address whatever the insertion order', () => {
    const mem = new GuestMemory();
    mem.addRegion(0x3000, new ArrayBuffer(0x100));
    mem.addRegion(0x1000, new ArrayBuffer(0x100));
    mem.addRegion(0x2000, new ArrayBuffer(0x100));
    expect(mem.regions().map((r) => r.gpa)).toEqual([0x1000, 0x2000, 0x3000]);
  });

  it('accepts adjacent regions', () => {
    const mem = threeRegions();
    expect(mem.regions().map((r) => [r.gpa, r.size])).toEqual([
      [BASE, SIZE],
      [END, SIZE],
      [END + 2 * SIZE, SIZE],
    ]);
  });

  it.each([
    ['the same range', BASE, SIZE],
    ['the start', BASE - 0x10, 0x20],
    ['the end', END - 1, 0x20],
    ['the inside', BASE + 0x10, 0x10],
    ['all of it', BASE - 0x10, SIZE + 0x20],
  ])('rejects a region overlapping %s of another with EEXIST', (_what, gpa, size) => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE });
    expect(codeOf(() => mem.addRegion(gpa, new ArrayBuffer(size)))).toBe('EEXIST');
    expect(mem.regions()).toHaveLength(1);
  });

  it('names both regions in the overlap message', () => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE });
    expect(() => mem.addRegion(BASE + 0x10, new ArrayBuffer(0x10))).toThrow(
      `region 0x${(BASE + 0x10).toString(16)}+0x10 overlaps region 0x${BASE.toString(16)}`,
    );
  });

  it('maps a region over part of a buffer', () => {
    const buffer = new ArrayBuffer(0x100);
    const mem = new GuestMemory();
    const r = mem.addRegion(0x4000, buffer, 0x40, 0x20);
    mem.writeU8(0x4000, 7);
    mem.writeU8(0x401f, 9);
    const raw = new Uint8Array(buffer);
    expect([raw[0x40], raw[0x5f], r.bufferOffset, r.size]).toEqual([7, 9, 0x40, 0x20]);
    expect(codeOf(() => mem.readU8(0x4020))).toBe('EFAULT');
  });

  it.each([
    ['an empty buffer', 0, 0],
    ['an offset past the buffer', 0x200, undefined],
    ['a size past the buffer', 0, 0x101],
    ['a negative offset', -1, 0x10],
    ['a fractional offset', 0.5, 0x10],
    ['a fractional size', 0, 0.5],
  ])('rejects %s with EINVAL', (_what, offset, size) => {
    const mem = new GuestMemory();
    const buffer = new ArrayBuffer(offset === 0 && size === 0 ? 0 : 0x100);
    expect(codeOf(() => mem.addRegion(0, buffer, offset, size))).toBe('EINVAL');
  });

  it.each([
    ['a negative address', -0x1000],
    ['an address beyond 2^53', 2 ** 53],
    ['a region ending beyond 2^53', IOVA_MAX - 0x7f],
  ])('rejects %s with ERANGE', (_what, gpa) => {
    expect(codeOf(() => new GuestMemory().addRegion(gpa, new ArrayBuffer(0x100)))).toBe('ERANGE');
  });

  it('accepts a region whose last byte is 2^53 - 1', () => {
    const mem = new GuestMemory();
    mem.addRegion(IOVA_MAX - 0xff, new ArrayBuffer(0x100));
    mem.writeU8(IOVA_MAX, 5);
    expect(mem.readU8(IOVA_MAX)).toBe(5);
  });
});

describe('GuestMemory bounds', () => {
  describe.each(accessors)('%s', (_name, width, access) => {
    it('works on the first and the last bytes of a region', () => {
      const mem = threeRegions();
      expect(codeOf(() => access(mem, BASE))).toBeUndefined();
      expect(codeOf(() => access(mem, END - width))).toBeUndefined();
    });

    const outside: Array<readonly [string, number]> = [
      ['below the first region', BASE - 1],
      ['crossing the end of the last region', END + 3 * SIZE - width + 1],
      ['just after the last region', END + 3 * SIZE],
      ['in the gap between regions', END + SIZE + 0x10],
      ['crossing from a region into the gap', END + SIZE - width + 1],
      ['beyond 2^53', 2 ** 53],
      ['at a negative address', -1],
      ['at a fractional address', BASE + 0.5],
      ['at NaN', Number.NaN],
    ];
    // A one-byte access cannot straddle two regions.
    if (width > 1)
      outside.push(['crossing the end of a region into its adjacent neighbour', END - width + 1]);

    it.each(outside)('throws EFAULT %s', (_where, gpa) => {
      expect(codeOf(() => access(threeRegions(), gpa))).toBe('EFAULT');
    });
  });

  it('leaves memory untouched when a write crosses a region end', () => {
    const mem = threeRegions();
    expect(codeOf(() => mem.write(END - 2, new Uint8Array([1, 2, 3, 4])))).toBe('EFAULT');
    expect(codeOf(() => mem.fill(END - 2, 4, 9))).toBe('EFAULT');
    expect(codeOf(() => mem.writeU32(END - 2, 0xffff_ffff))).toBe('EFAULT');
    expect([mem.readU8(END - 2), mem.readU8(END - 1), mem.readU8(END), mem.readU8(END + 1)]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('rejects a negative or fractional length in regionOf with EFAULT', () => {
    const mem = threeRegions();
    expect(codeOf(() => mem.regionOf(BASE, -1))).toBe('EFAULT');
    expect(codeOf(() => mem.regionOf(BASE, 1.5))).toBe('EFAULT');
  });

  it('treats a zero length as a question about the address itself', () => {
    const mem = threeRegions();
    expect(mem.regionOf(BASE, 0).gpa).toBe(BASE);
    expect(codeOf(() => mem.read(END + SIZE, new Uint8Array(0)))).toBe('EFAULT');
    expect(codeOf(() => mem.read(BASE, new Uint8Array(0)))).toBeUndefined();
  });

  it('names the offending range in the message', () => {
    const mem = threeRegions();
    expect(() => mem.readU32(END - 1)).toThrow(
      `guest range 0x${(END - 1).toString(16)}+4 is not inside one memory region`,
    );
  });
});

describe('GuestMemory accessors', () => {
  it('reads and writes little-endian integers', () => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE });
    mem.writeU32(BASE, 0x1234_5678);
    mem.writeU16(BASE + 4, 0xabcd);
    mem.writeU8(BASE + 6, 0xef);
    expect(Array.from(mem.view(BASE, 7))).toEqual([0x78, 0x56, 0x34, 0x12, 0xcd, 0xab, 0xef]);
    expect(mem.readU32(BASE)).toBe(0x1234_5678);
    expect(mem.readU16(BASE + 1)).toBe(0x3456);
    expect(mem.readU8(BASE + 5)).toBe(0xab);
  });

  it('stores u32 values modulo 2^32', () => {
    const mem = GuestMemory.create({ size: SIZE });
    mem.writeU32(0, -1);
    expect(mem.readU32(0)).toBe(0xffff_ffff);
  });

  it('copies on read and write, and aliases on view', () => {
    const mem = GuestMemory.create({ size: SIZE });
    const src = new Uint8Array([1, 2, 3]);
    mem.write(0x10, src);
    src[0] = 9;
    const dst = new Uint8Array(3);
    mem.read(0x10, dst);
    dst[1] = 9;
    const view = mem.view(0x10, 3);
    view[2] = 7;
    expect(Array.from(dst)).toEqual([1, 9, 3]);
    expect(Array.from(mem.view(0x10, 3))).toEqual([1, 2, 7]);
  });

  it('fills a range', () => {
    const mem = GuestMemory.create({ size: SIZE });
    mem.fill(0x11, 3, 0x5a);
    expect(Array.from(mem.view(0x10, 5))).toEqual([0, 0x5a, 0x5a, 0x5a, 0]);
    mem.fill(0x12, 1);
    expect(mem.readU8(0x12)).toBe(0);
  });
});

describe('GuestMemory u64', () => {
  it('round-trips 2^53 - 1', () => {
    const mem = GuestMemory.create({ size: SIZE });
    mem.writeU64(8, IOVA_MAX);
    expect(mem.readU64(8)).toBe(IOVA_MAX);
    expect([mem.readU32(8), mem.readU32(12)]).toEqual([0xffff_ffff, 0x1f_ffff]);
  });

  it('round-trips any safe integer, little-endian', () => {
    const mem = GuestMemory.create({ size: SIZE });
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => {
        mem.writeU64(0x20, value);
        const lo = mem.readU32(0x20);
        const hi = mem.readU32(0x24);
        return mem.readU64(0x20) === value && hi * 2 ** 32 + lo === value;
      }),
    );
  });

  it.each([
    ['2^53', 0, 0x20_0000],
    ['2^64 - 1', 0xffff_ffff, 0xffff_ffff],
    ['2^63', 0, 0x8000_0000],
  ])('reads %s as ERANGE', (_what, lo, hi) => {
    const mem = GuestMemory.create({ size: SIZE });
    mem.writeU32(0, lo);
    mem.writeU32(4, hi);
    expect(codeOf(() => mem.readU64(0))).toBe('ERANGE');
  });

  it.each([2 ** 53, -1, 0.5, Number.NaN])('refuses to write %s with ERANGE and writes nothing', (value) => {
    const mem = GuestMemory.create({ size: SIZE });
    expect(codeOf(() => mem.writeU64(0, value))).toBe('ERANGE');
    expect([mem.readU32(0), mem.readU32(4)]).toEqual([0, 0]);
  });

  it('exports readU64/writeU64 over any DataView', () => {
    const view = new DataView(new ArrayBuffer(16));
    writeU64(view, 4, 0x1_2345_6789);
    expect([view.getUint32(4, true), view.getUint32(8, true)]).toEqual([0x2345_6789, 1]);
    expect(readU64(view, 4)).toBe(0x1_2345_6789);
    view.setUint32(8, 0x20_0000, true);
    expect(codeOf(() => readU64(view, 4))).toBe('ERANGE');
  });
});

describe('GuestMemory over a SharedArrayBuffer', () => {
  it('backs memory with a SharedArrayBuffer when asked', () => {
    const mem = GuestMemory.create({ size: SIZE, shared: true });
    expect(mem.regions()[0].buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('makes writes visible through any other view of the buffer (what a worker sees)', () => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE, shared: true });
    const other = new Int32Array(mem.regions()[0].buffer);
    mem.writeU32(BASE + 8, 42);
    Atomics.store(other, 3, 7);
    expect(Atomics.load(other, 2)).toBe(42);
    expect(mem.readU32(BASE + 12)).toBe(7);
  });

  it('accepts a SharedArrayBuffer region next to an ArrayBuffer one', () => {
    const mem = GuestMemory.create({ size: SIZE });
    mem.addRegion(SIZE, new SharedArrayBuffer(SIZE));
    mem.writeU64(SIZE + 8, 0x1_0000_0001);
    expect(mem.readU64(SIZE + 8)).toBe(0x1_0000_0001);
    expect(codeOf(() => mem.readU32(SIZE - 2))).toBe('EFAULT');
  });
});

describe('GuestMemory removeRegion', () => {
  it('removes the region starting at the address', () => {
    const mem = threeRegions();
    mem.removeRegion(END);
    expect(mem.regions().map((r) => r.gpa)).toEqual([BASE, END + 2 * SIZE]);
    expect(codeOf(() => mem.readU8(END))).toBe('EFAULT');
    expect(mem.readU8(BASE)).toBe(0);
  });

  it('throws ENOENT for an address that does not start a region', () => {
    const mem = threeRegions();
    expect(codeOf(() => mem.removeRegion(BASE + 1))).toBe('ENOENT');
    expect(codeOf(() => mem.removeRegion(END + SIZE))).toBe('ENOENT');
    expect(mem.regions()).toHaveLength(3);
  });

  it('forgets a removed region that was the last lookup hit', () => {
    const mem = threeRegions();
    expect(mem.findRegion(END + 0x10)?.gpa).toBe(END);
    mem.removeRegion(END);
    expect(mem.findRegion(END + 0x10)).toBeUndefined();
    expect(codeOf(() => mem.writeU8(END + 0x10, 1))).toBe('EFAULT');
  });

  it('finds a new region added where a cached one was removed', () => {
    const mem = threeRegions();
    mem.writeU8(END + 0x10, 1);
    mem.removeRegion(END);
    const fresh = new ArrayBuffer(SIZE);
    new Uint8Array(fresh)[0x10] = 2;
    mem.addRegion(END, fresh);
    expect(mem.readU8(END + 0x10)).toBe(2);
    expect(mem.findRegion(END)?.buffer).toBe(fresh);
  });

  it('keeps the other regions reachable after removing one that was not cached', () => {
    const mem = threeRegions();
    mem.writeU8(BASE, 3);
    mem.removeRegion(END + 2 * SIZE);
    expect(mem.readU8(BASE)).toBe(3);
    expect(codeOf(() => mem.readU8(END + 2 * SIZE))).toBe('EFAULT');
  });
});

describe('GuestMemory generation', () => {
  it('moves when a region is added or removed, and not on a refused change or an access', () => {
    const mem = threeRegions();
    const g0 = mem.generation;
    mem.writeU32(BASE, 1);
    mem.readU32(BASE);
    mem.findRegion(END);
    expect(mem.generation).toBe(g0);
    expect(codeOf(() => mem.addRegion(BASE, new ArrayBuffer(SIZE)))).toBe('EEXIST');
    expect(codeOf(() => mem.removeRegion(BASE + 1))).toBe('ENOENT');
    expect(mem.generation).toBe(g0);
    mem.removeRegion(END);
    const g1 = mem.generation;
    expect(g1).not.toBe(g0);
    mem.addRegion(END, new ArrayBuffer(SIZE));
    expect(mem.generation).not.toBe(g1);
    expect(mem.generation).not.toBe(g0);
  });
});

describe('GuestMemory findRegion', () => {
  it('does not let the last-hit cache answer for the byte after a region', () => {
    const mem = GuestMemory.create({ size: SIZE, base: BASE });
    expect(mem.findRegion(BASE)?.gpa).toBe(BASE);
    expect(mem.findRegion(END, 0)).toBeUndefined();
    expect(mem.findRegion(END)).toBeUndefined();
  });

  it('finds no region for NaN', () => {
    const mem = threeRegions();
    expect(mem.findRegion(Number.NaN)).toBeUndefined();
  });

  it('agrees with a linear scan for any address and length', () => {
    const mem = threeRegions();
    const regions = mem.regions();
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: BASE - 0x20, max: END + 3 * SIZE + 0x20 }),
            fc.integer({ min: 0, max: 0x30 }),
          ),
        ),
        (queries) =>
          queries.every(([gpa, len]) => {
            const end = gpa + Math.max(len, 1);
            const expected = regions.find((r) => gpa >= r.gpa && end <= r.gpa + r.size);
            return mem.findRegion(gpa, len) === expected;
          }),
      ),
    );
  });
});

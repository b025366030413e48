import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VringError, type VringErrno } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { DmaAllocator } from './dma-allocator.js';

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

const BASE = 0x10_0000;
const SIZE = 0x1_0000;
const PAGE = 0x1000;

function memory(): GuestMemory {
  return GuestMemory.create({ size: SIZE, base: BASE });
}

describe('DmaAllocator range', () => {
  it('manages all of the first region by default', () => {
    const dma = new DmaAllocator(memory());
    expect(dma.range()).toEqual({ base: BASE, limit: BASE + SIZE });
    expect(dma.available()).toBe(SIZE);
  });

  it('manages a sub-range when given base and size', () => {
    const dma = new DmaAllocator(memory(), { base: BASE + PAGE, size: 2 * PAGE });
    expect(dma.range()).toEqual({ base: BASE + PAGE, limit: BASE + 3 * PAGE });
    expect(dma.alloc(2 * PAGE, 1)).toBe(BASE + PAGE);
    expect(codeOf(() => dma.alloc(1, 1))).toBe('ENOMEM');
  });

  it('extends from base to the end of its region when only base is given', () => {
    const dma = new DmaAllocator(memory(), { base: BASE + SIZE - PAGE });
    expect(dma.available()).toBe(PAGE);
  });

  it('uses the lowest region when there are several', () => {
    const mem = memory();
    mem.addRegion(PAGE, new ArrayBuffer(PAGE));
    expect(new DmaAllocator(mem).range()).toEqual({ base: PAGE, limit: 2 * PAGE });
  });

  it.each([
    ['a base outside memory', { base: BASE + SIZE }],
    ['a range past the end of the region', { base: BASE + PAGE, size: SIZE }],
  ])('rejects %s with EFAULT', (_what, options) => {
    expect(codeOf(() => new DmaAllocator(memory(), options))).toBe('EFAULT');
  });

  it('rejects memory without regions with EFAULT', () => {
    expect(codeOf(() => new DmaAllocator(new GuestMemory()))).toBe('EFAULT');
  });

  it.each([0, -PAGE, 1.5])('rejects a range size of %s with EINVAL', (size) => {
    expect(codeOf(() => new DmaAllocator(memory(), { size }))).toBe('EINVAL');
  });

  it('rejects a base beyond 2^53 with ERANGE', () => {
    expect(codeOf(() => new DmaAllocator(memory(), { base: 2 ** 53 }))).toBe('ERANGE');
  });
});

describe('DmaAllocator alloc', () => {
  it('aligns to 16 bytes by default', () => {
    const dma = new DmaAllocator(memory());
    const a = dma.alloc(3);
    const b = dma.alloc(3);
    expect([a, b]).toEqual([BASE, BASE + 16]);
  });

  it.each([1, 2, 64, PAGE, 0x8000])('aligns to %i', (align) => {
    const dma = new DmaAllocator(memory(), { base: BASE + 1, size: SIZE - 1 });
    const addr = dma.alloc(5, align);
    expect(addr % align).toBe(0);
    expect(addr).toBeGreaterThanOrEqual(BASE + 1);
    expect(addr - (BASE + 1)).toBeLessThan(align);
  });

  it('keeps the alignment padding free for later allocations', () => {
    const dma = new DmaAllocator(memory());
    dma.alloc(8, 1);
    const page = dma.alloc(PAGE, PAGE);
    expect(page).toBe(BASE + PAGE);
    expect(dma.available()).toBe(SIZE - PAGE - 8);
    expect(dma.alloc(PAGE - 8, 1)).toBe(BASE + 8);
  });

  it('is first-fit: a freed hole is reused before the space after it', () => {
    const dma = new DmaAllocator(memory());
    const a = dma.alloc(0x100, 1);
    const b = dma.alloc(0x100, 1);
    dma.alloc(0x100, 1);
    dma.free(b);
    expect(dma.alloc(0x40, 1)).toBe(b);
    expect(dma.alloc(0x100, 1)).toBe(a + 0x300);
    expect(dma.alloc(0xc0, 1)).toBe(b + 0x40);
  });

  it('skips a free block that is large enough but not once aligned', () => {
    const dma = new DmaAllocator(memory(), { base: BASE + 0x10, size: PAGE });
    const a = dma.alloc(0x10, 1);
    dma.alloc(0x10, 1);
    dma.free(a);
    // The hole [0x10, 0x20) holds 16 bytes but no 32-aligned address; the next block starts at 0x30.
    expect(dma.alloc(0x10, 0x20)).toBe(BASE + 0x40);
    expect(dma.alloc(0x10, 0x10)).toBe(BASE + 0x10);
  });

  it('hands out every byte, then throws ENOMEM naming the request', () => {
    const dma = new DmaAllocator(memory());
    expect(dma.alloc(SIZE, 1)).toBe(BASE);
    expect(dma.available()).toBe(0);
    expect(codeOf(() => dma.alloc(1, 1))).toBe('ENOMEM');
    expect(() => dma.alloc(1, 1)).toThrow('no free dma block of 1 bytes aligned to 1 (0 bytes free)');
  });

  it('throws ENOMEM for a request larger than the range', () => {
    expect(codeOf(() => new DmaAllocator(memory()).alloc(SIZE + 1, 1))).toBe('ENOMEM');
  });

  it('throws ENOMEM when free space is fragmented below the request', () => {
    const dma = new DmaAllocator(memory(), { size: 4 * 0x100 });
    const blocks = [0, 1, 2, 3].map(() => dma.alloc(0x100, 1));
    dma.free(blocks[0]);
    dma.free(blocks[2]);
    expect(dma.available()).toBe(0x200);
    expect(codeOf(() => dma.alloc(0x200, 1))).toBe('ENOMEM');
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('rejects a size of %s with EINVAL', (size) => {
    expect(codeOf(() => new DmaAllocator(memory()).alloc(size))).toBe('EINVAL');
  });

  it.each([0, -4, 3, 12, 1.5, Number.NaN, 3 * 2 ** 32, 2 ** 32 + 2 ** 31])(
    'rejects an alignment of %s with EINVAL',
    (align) => {
      expect(codeOf(() => new DmaAllocator(memory()).alloc(16, align))).toBe('EINVAL');
    },
  );

  it('accepts an alignment above 2^32 that is a power of two (and cannot satisfy it here)', () => {
    expect(codeOf(() => new DmaAllocator(memory()).alloc(16, 2 ** 33))).toBe('ENOMEM');
  });
});

describe('DmaAllocator free', () => {
  it.each([
    ['in order', [0, 1, 2]],
    ['in reverse', [2, 1, 0]],
    ['middle last', [0, 2, 1]],
    ['middle first', [1, 0, 2]],
  ])('coalesces neighbours when freeing %s', (_order, order) => {
    const dma = new DmaAllocator(memory());
    const third = SIZE / 4;
    const blocks = [dma.alloc(third, 1), dma.alloc(third, 1), dma.alloc(third, 1)];
    for (const i of order) dma.free(blocks[i]);
    expect(dma.available()).toBe(SIZE);
    expect(dma.alloc(SIZE, 1)).toBe(BASE);
  });

  it('throws EINVAL on a double free', () => {
    const dma = new DmaAllocator(memory());
    const a = dma.alloc(64);
    dma.free(a);
    expect(codeOf(() => dma.free(a))).toBe('EINVAL');
    expect(dma.available()).toBe(SIZE);
  });

  it('throws EINVAL for an address that was never allocated, naming it', () => {
    const dma = new DmaAllocator(memory());
    const a = dma.alloc(64);
    expect(codeOf(() => dma.free(a + 16))).toBe('EINVAL');
    expect(() => dma.free(BASE + 0x999)).toThrow(
      `0x${(BASE + 0x999).toString(16)} is not an allocated dma block`,
    );
    expect(dma.available()).toBe(SIZE - 64);
  });
});

type Step =
  | { readonly kind: 'alloc'; readonly size: number; readonly alignLog2: number }
  | { readonly kind: 'free'; readonly pick: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('alloc' as const),
    size: fc.integer({ min: 1, max: 0x900 }),
    alignLog2: fc.integer({ min: 0, max: 10 }),
  }),
  fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
);

describe('DmaAllocator property', () => {
  it('never hands out overlapping or out-of-range blocks, and frees back to the full size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x3ff }),
        fc.integer({ min: 0x400, max: 0x8000 }),
        fc.array(step, { maxLength: 120 }),
        (skew, size, steps) => {
          const base = BASE + skew;
          const dma = new DmaAllocator(memory(), { base, size });
          const live = new Map<number, number>();
          for (const s of steps) {
            if (s.kind === 'alloc') {
              const align = 2 ** s.alignLog2;
              let addr: number;
              try {
                addr = dma.alloc(s.size, align);
              } catch (err) {
                if (err instanceof VringError && err.code === 'ENOMEM') continue;
                throw err;
              }
              if (addr % align !== 0 || addr < base || addr + s.size > base + size) return false;
              for (const [a, n] of live) if (addr < a + n && a < addr + s.size) return false;
              live.set(addr, s.size);
            } else if (live.size > 0) {
              const addrs = [...live.keys()];
              const addr = addrs[s.pick % addrs.length];
              dma.free(addr);
              live.delete(addr);
            }
            const used = [...live.values()].reduce((a, b) => a + b, 0);
            if (dma.available() !== size - used) return false;
          }
          for (const addr of live.keys()) dma.free(addr);
          return dma.available() === size && dma.alloc(size, 1) === base;
        },
      ),
    );
  });
});

describe('DmaAllocator.reserve', () => {
  it('takes a free range out of what alloc hands out, and free gives it back', () => {
    const mem = GuestMemory.create({ size: 0x10000 });
    const dma = new DmaAllocator(mem);
    expect(dma.reserve(0x4000, 0x4000)).toBe(0x4000);
    expect(dma.available()).toBe(0xc000);
    const seen: number[] = [];
    for (let n = 0; n < 12; n++) seen.push(dma.alloc(0x1000, 0x1000));
    expect(seen.some((a) => a >= 0x4000 && a < 0x8000)).toBe(false);
    for (const a of seen) dma.free(a);
    dma.free(0x4000);
    expect(dma.available()).toBe(0x10000);
  });

  it('clips the range to the managed one, and ignores one outside it', () => {
    const mem = GuestMemory.create({ size: 0x10000 });
    const dma = new DmaAllocator(mem, { base: 0x8000, size: 0x4000 });
    expect(dma.reserve(0x7000, 0x2000)).toBe(0x8000);
    expect(dma.available()).toBe(0x3000);
    expect(dma.reserve(0x0, 0x1000)).toBeUndefined();
    expect(dma.reserve(0xc000, 0x1000)).toBeUndefined();
  });

  it('refuses a range that is partly allocated (EBUSY) and bad arguments (EINVAL, ERANGE)', () => {
    const mem = GuestMemory.create({ size: 0x10000 });
    const dma = new DmaAllocator(mem);
    const a = dma.alloc(0x100, 0x1000);
    expect(() => dma.reserve(a + 0x80, 0x1000)).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(dma.available()).toBe(0x10000 - 0x100);
    expect(() => dma.reserve(0x2000, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => dma.reserve(-1, 16)).toThrow(expect.objectContaining({ code: 'ERANGE' }));
  });
});

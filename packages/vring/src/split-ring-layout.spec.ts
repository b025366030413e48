import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { vringUsedSize } from '@vdpa-kit/virtio-spec';
import {
  checkQueueSize,
  legacyLayout,
  validateLayout,
  vringSize,
  type SplitRingLayout,
} from './split-ring-layout.js';
import { errorOf } from '../test/error-of.js';

/** The spec's formula (§2.7.2), written out independently of the implementation. */
function specVringSize(q: number, align: number): number {
  const first = 16 * q + 2 * (3 + q);
  return Math.ceil(first / align) * align + 2 * 3 + 8 * q;
}

describe('split ring sizes', () => {
  it('computes the legacy size for num 256, align 4096 by the spec formula', () => {
    // 16·256 + 2·259 = 4614, aligned up to 8192; + 6 + 2048.
    expect(specVringSize(256, 4096)).toBe(10246);
    expect(vringSize(256, 4096)).toBe(10246);
  });

  it('matches the spec formula for every size and a range of alignments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 2, max: 16 }), (qLog, aLog) => {
        const q = 2 ** qLog;
        const align = 2 ** aLog;
        expect(vringSize(q, align)).toBe(specVringSize(q, align));
      }),
    );
  });
});

describe('checkQueueSize', () => {
  it('accepts every power of two from 1 to 32768', () => {
    for (let q = 1; q <= 32768; q *= 2) expect(() => checkQueueSize(q)).not.toThrow();
  });

  it('rejects a size that is not a power of two, naming it', () => {
    const err = errorOf(() => checkQueueSize(300));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe('queue size 300 is not a power of two');
  });

  it.each([0, -4, 65536, 2.5, Number.NaN])('rejects %s as out of range', (q) => {
    const err = errorOf(() => checkQueueSize(q));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain(`queue size ${q}`);
  });
});

describe('legacyLayout', () => {
  it('places avail right after desc and used at the next alignment boundary', () => {
    const l = legacyLayout(0x10000, 256, 4096);
    expect(l).toEqual({ num: 256, descAddr: 0x10000, availAddr: 0x11000, usedAddr: 0x12000 });
    expect(l.usedAddr + vringUsedSize(256) - l.descAddr).toBe(vringSize(256, 4096));
  });

  it('places used right after avail when the avail ring already ends aligned', () => {
    // num 1: desc 16 bytes, avail 8 bytes -> avail ends at base + 24, aligned to 4.
    expect(legacyLayout(0x2000, 1, 4)).toEqual({
      num: 1,
      descAddr: 0x2000,
      availAddr: 0x2010,
      usedAddr: 0x2018,
    });
  });

  it('rejects an alignment that is not a power of two', () => {
    const err = errorOf(() => legacyLayout(0, 8, 3000));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe('queue alignment 3000 is not a power of two');
  });

  it('rejects an alignment too small for the used ring', () => {
    // num 2: avail ends at 32 + 10 = 42, which is 2-aligned but not 4-aligned.
    const err = errorOf(() => legacyLayout(0, 2, 2));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe('used ring address 0x2a is not 4-byte aligned');
  });

  it('rejects a misaligned base', () => {
    expect(errorOf(() => legacyLayout(0x1008, 4, 4096)).message).toBe(
      'descriptor table address 0x1008 is not 16-byte aligned',
    );
  });
});

describe('validateLayout', () => {
  const good: SplitRingLayout = { num: 64, descAddr: 0x1000, availAddr: 0x1402, usedAddr: 0x1504 };

  it('accepts minimal alignments', () => {
    expect(() => validateLayout(good)).not.toThrow();
  });

  it.each([
    [{ ...good, num: 300 }, 'queue size 300 is not a power of two'],
    [{ ...good, descAddr: 0x1008 }, 'descriptor table address 0x1008 is not 16-byte aligned'],
    [{ ...good, availAddr: 0x1401 }, 'available ring address 0x1401 is not 2-byte aligned'],
    [{ ...good, usedAddr: 0x1502 }, 'used ring address 0x1502 is not 4-byte aligned'],
  ])('rejects %o with EINVAL', (layout, message) => {
    const err = errorOf(() => validateLayout(layout));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(message);
  });

  it('rejects an address beyond 2^53 with ERANGE', () => {
    const err = errorOf(() => validateLayout({ ...good, usedAddr: Number.MAX_SAFE_INTEGER - 3 }));
    expect(err.code).toBe('ERANGE');
    expect(err.message).toContain('used ring end');
  });
});

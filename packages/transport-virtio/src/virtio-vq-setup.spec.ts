import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VIRTQ_MAX_SIZE } from '@vdpa-kit/virtio-spec';
import { VirtioError } from './errors.js';
import { chooseQueueSize } from './virtio-vq-setup.js';

describe('chooseQueueSize', () => {
  it('picks a power of two within [min, max], at most the request unless min forces more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: VIRTQ_MAX_SIZE }),
        fc.integer({ min: 1, max: VIRTQ_MAX_SIZE }),
        fc.integer({ min: 1, max: VIRTQ_MAX_SIZE }),
        (requested, a, b) => {
          const min = Math.min(a, b);
          const max = Math.max(a, b);
          let num: number;
          try {
            num = chooseQueueSize('vdpa0', 0, requested, min, max);
          } catch (err) {
            expect(err).toBeInstanceOf(VirtioError);
            return;
          }
          expect(num & (num - 1)).toBe(0);
          expect(num).toBeGreaterThanOrEqual(min);
          expect(num).toBeLessThanOrEqual(max);
          if (min < max && num > requested) expect(num).toBeLessThan(2 * min);
        },
      ),
    );
  });

  it('caps at the device maximum and rounds down to a power of two', () => {
    expect(chooseQueueSize('vdpa0', 0, 256, 1, 128)).toBe(128);
    expect(chooseQueueSize('vdpa0', 0, 256, 1, 1000)).toBe(256);
    expect(chooseQueueSize('vdpa0', 0, 300, 1, 1000)).toBe(256);
    expect(chooseQueueSize('vdpa0', 0, 4, 64, 1024)).toBe(64);
  });

  it('uses exactly max when max equals min, and fails when that is not a power of two', () => {
    expect(chooseQueueSize('vdpa0', 3, 16, 512, 512)).toBe(512);
    expect(() => chooseQueueSize('vdpa0', 3, 16, 100, 100)).toThrow(
      /vq 3 has no power-of-two size between min 100 and max 100/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { copyBytes, copyWithinBytes } from './byte-copy.js';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, k) => k + 1);

describe('byte copies', () => {
  it('copy within one view with memmove semantics, both directions of overlap', () => {
    const up = bytes(8);
    copyWithinBytes(up, 2, 0, 5);
    expect(Array.from(up)).toEqual([1, 2, 1, 2, 3, 4, 5, 8]);
    const down = bytes(8);
    copyBytes(down, 0, down, 2, 5);
    expect(Array.from(down)).toEqual([3, 4, 5, 6, 7, 6, 7, 8]);
  });

  it('copy between views, also of the same buffer (overlapping ranges stay exact)', () => {
    const src = bytes(6);
    const dst = new Uint8Array(6);
    copyBytes(dst, 1, src, 2, 3);
    expect(Array.from(dst)).toEqual([0, 3, 4, 5, 0, 0]);
    const buf = bytes(8);
    const a = buf.subarray(0, 8);
    const b = buf.subarray(1, 8);
    copyBytes(b, 0, a, 0, 5);
    expect(Array.from(buf)).toEqual([1, 1, 2, 3, 4, 5, 7, 8]);
  });

  it('never write outside the destination view', () => {
    const buf = new Uint8Array(8);
    const dst = buf.subarray(2, 6);
    expect(() => copyBytes(dst, 2, bytes(4), 0, 4)).toThrow(RangeError);
    expect(Array.from(buf)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // Within one view a copy is clamped to it, as copyWithin clamps.
    const one = bytes(4);
    copyWithinBytes(one, 2, 0, 4);
    expect(Array.from(one)).toEqual([1, 2, 1, 2]);
  });

  it('use the methods as they were when the module loaded', () => {
    const saved = Uint8Array.prototype.copyWithin;
    try {
      Uint8Array.prototype.copyWithin = function patched(): Uint8Array {
        throw new Error('patched copyWithin called');
      };
      const b = bytes(4);
      copyWithinBytes(b, 0, 2, 2);
      expect(Array.from(b)).toEqual([3, 4, 3, 4]);
    } finally {
      Uint8Array.prototype.copyWithin = saved;
    }
  });
});

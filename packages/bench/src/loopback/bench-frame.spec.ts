import { describe, expect, it } from 'vitest';
import { BenchError } from '../errors.js';
import { benchFrame, checkFrameSize } from './bench-frame.js';

describe('benchFrame', () => {
  it('addresses the frame to the given MAC from a local unicast source, EtherType 0x88b5', () => {
    const dest = [0x52, 0x54, 0, 0, 0, 1];
    const f = benchFrame(64, dest);
    expect(f.length).toBe(64);
    expect([...f.subarray(0, 6)]).toEqual(dest);
    expect(f[6] & 0x03).toBe(0x02);
    expect([f[12], f[13]]).toEqual([0x88, 0xb5]);
  });

  it('refuses sizes outside 60..1514 and a MAC that is not 6 bytes', () => {
    expect(checkFrameSize(60)).toBe(60);
    expect(checkFrameSize(1514)).toBe(1514);
    expect(() => checkFrameSize(59)).toThrow(BenchError);
    expect(() => benchFrame(1515, [1, 2, 3, 4, 5, 6])).toThrow(
      'frame size 1515 is not an integer in 60..1514',
    );
    expect(() => benchFrame(64, [1, 2, 3])).toThrow('destination mac of 3 bytes is not 6 bytes');
  });
});

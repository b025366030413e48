import { describe, expect, it } from 'vitest';
import { BufferList } from './virtqueue-buffer-list.js';
import { errorOf } from '../test/error-of.js';

describe('BufferList', () => {
  it('keeps buffers in order and sums their lengths', () => {
    const list = new BufferList().push(0x1000, 16).push(2 ** 40, 0xffff_ffff);
    expect(list.count).toBe(2);
    expect([list.addr(0), list.len(0), list.addr(1), list.len(1)]).toEqual([
      0x1000,
      16,
      2 ** 40,
      0xffff_ffff,
    ]);
    expect(list.totalLength()).toBe(16 + 0xffff_ffff);
  });

  it('grows past its initial capacity without losing entries', () => {
    const list = new BufferList(1);
    for (let i = 0; i < 100; i++) list.push(i * 4096, i);
    expect(list.count).toBe(100);
    expect(list.addr(99)).toBe(99 * 4096);
    expect(list.len(50)).toBe(50);
    expect(list.totalLength()).toBe((99 * 100) / 2);
  });

  it('clear empties the list for reuse', () => {
    const list = new BufferList().push(1, 1).push(2, 2);
    expect(list.clear().count).toBe(0);
    expect(list.totalLength()).toBe(0);
    list.push(3, 3);
    expect([list.count, list.addr(0), list.len(0)]).toEqual([1, 3, 3]);
  });

  it('rejects bad addresses, lengths and capacities, naming the value', () => {
    const list = new BufferList();
    expect(errorOf(() => list.push(-1, 1)).code).toBe('ERANGE');
    expect(errorOf(() => list.push(2 ** 53, 1)).code).toBe('ERANGE');
    const len = errorOf(() => list.push(0, 2 ** 32));
    expect(len.code).toBe('EINVAL');
    expect(len.message).toBe('buffer length 4294967296 does not fit a descriptor');
    expect(errorOf(() => list.push(0, 1.5)).code).toBe('EINVAL');
    expect(list.count).toBe(0);
    expect(errorOf(() => new BufferList(0)).message).toBe('buffer list capacity 0 is not a positive integer');
  });
});

import { DmaAllocator, GuestMemory } from '@vdpa-kit/vring';
import { describe, expect, it } from 'vitest';
import { NET_BUF_ALIGN } from './constants.js';
import { allocNetBufferPool } from './net-buffer-pool.js';

describe('allocNetBufferPool', () => {
  it('allocates an aligned pool and views it through its region', () => {
    const mem = GuestMemory.create({ size: 1 << 16, base: 0x10000 });
    const dma = new DmaAllocator(mem);
    dma.alloc(10, 16);
    const pool = allocNetBufferPool(mem, dma, 4096);
    expect(pool.addr % NET_BUF_ALIGN).toBe(0);
    expect(pool.bytes).toBe(mem.regions()[0].bytes);
    expect(pool.offset).toBe(pool.addr - 0x10000);
  });

  it('reports ENOMEM when the range is full', () => {
    const mem = GuestMemory.create({ size: 0x1000 });
    const dma = new DmaAllocator(mem);
    expect(() => allocNetBufferPool(mem, dma, 0x2000)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
  });
});

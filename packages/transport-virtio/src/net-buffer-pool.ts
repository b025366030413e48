import type { DmaAllocator, GuestMemory } from '@vdpa-kit/vring';
import { NET_BUF_ALIGN } from './constants.js';

/** A queue's preallocated buffers: one DMA range inside one guest-memory region. */
export interface NetBufferPool {
  /** Guest-physical (DMA) address of the pool. */
  readonly addr: number;
  /** Byte view of the region holding it. */
  readonly bytes: Uint8Array;
  /** Offset of the pool in {@link bytes}. */
  readonly offset: number;
}

/**
 * Allocates the buffer pool of a virtio-net queue: `size` bytes aligned to `NET_BUF_ALIGN`, viewed
 * through the region of `mem` that holds it (a `DmaAllocator` manages a range inside one region, so
 * the lookup is a guard). Nothing stays allocated on failure.
 * @throws VringError `ENOMEM` when the DMA range is full, `EFAULT` if the pool is not inside one region
 * @example
 * const pool = allocNetBufferPool(mem, dma, vq.num * 1536);
 */
export function allocNetBufferPool(mem: GuestMemory, dma: DmaAllocator, size: number): NetBufferPool {
  const addr = dma.alloc(size, NET_BUF_ALIGN);
  try {
    const region = mem.regionOf(addr, size);
    return { addr, bytes: region.bytes, offset: addr - region.gpa };
  } catch (err) {
    dma.free(addr);
    throw err;
  }
}

import { VringError, checkAddress } from './errors.js';
import type { GuestMemory } from './guest-memory.js';

/** Options of {@link DmaAllocator}. */
export interface DmaAllocatorOptions {
  /** First guest-physical address the allocator may hand out (default: the first region's start). */
  readonly base?: number;
  /** Bytes it manages from `base` (default: to the end of the region holding `base`). */
  readonly size?: number;
  /**
   * What the device sees: the DMA (bus) address of guest-physical `gpa` is `gpa + dmaOffset`
   * (default 0, identity). Models a platform IOMMU / vDPA IOTLB mapping the driver's memory at an
   * offset, as `dma_alloc_coherent` returns a CPU address and a DMA address.
   */
  readonly dmaOffset?: number;
}

interface Block {
  addr: number;
  size: number;
}

/**
 * The driver side's DMA allocator (the `dma_alloc_coherent` analogue): first-fit over a range of one
 * memory region, with power-of-two alignment and coalescing frees. Not a hot-path object: drivers
 * allocate rings and buffer pools once.
 *
 * @example
 * const dma = new DmaAllocator(mem);
 * const ring = dma.alloc(4096, 4096);
 * dma.free(ring);
 */
export class DmaAllocator {
  private readonly base: number;
  private readonly limit: number;
  private free_: Block[];
  private readonly used = new Map<number, number>();
  /** Device-visible address of guest-physical address 0 (see {@link DmaAllocatorOptions.dmaOffset}). */
  readonly dmaOffset: number;

  /**
   * @param mem the memory to allocate from
   * @param options the managed range (default: all of the first region)
   * @throws VringError `EFAULT` if the range is not inside one region of `mem`, `EINVAL` for a size that
   * is not a positive integer, `ERANGE` for a base beyond 2^53.
   */
  constructor(mem: GuestMemory, options: DmaAllocatorOptions = {}) {
    const first = mem.regions()[0];
    const base = options.base ?? first?.gpa ?? 0;
    checkAddress(base, 'dma base');
    const region = mem.regionOf(base, 1);
    const size = options.size ?? region.gpa + region.size - base;
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new VringError('EINVAL', `dma range size ${size} is not positive`);
    mem.regionOf(base, size);
    this.base = base;
    this.dmaOffset = options.dmaOffset ?? 0;
    checkAddress(this.dmaOffset, 'dma offset');
    this.limit = base + size;
    this.free_ = [{ addr: base, size }];
  }

  /**
   * Allocates `size` bytes aligned to `align` (a power of two).
   * @returns the guest-physical address
   * @throws VringError `EINVAL` for a bad size or alignment, `ENOMEM` when no free block fits.
   */
  alloc(size: number, align = 16): number {
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new VringError('EINVAL', `dma size ${size} is not positive`);
    // Not `align & (align - 1)`: bitwise operators truncate to 32 bits and would accept 3 * 2^32.
    if (!Number.isSafeInteger(align) || align <= 0 || 2 ** Math.round(Math.log2(align)) !== align) {
      throw new VringError('EINVAL', `dma alignment ${align} is not a power of two`);
    }
    for (let i = 0; i < this.free_.length; i++) {
      const b = this.free_[i];
      const start = Math.ceil(b.addr / align) * align;
      const pad = start - b.addr;
      if (pad + size > b.size) continue;
      const tail = b.size - pad - size;
      const pieces: Block[] = [];
      if (pad > 0) pieces.push({ addr: b.addr, size: pad });
      if (tail > 0) pieces.push({ addr: start + size, size: tail });
      this.free_.splice(i, 1, ...pieces);
      this.used.set(start, size);
      return start;
    }
    throw new VringError(
      'ENOMEM',
      `no free dma block of ${size} bytes aligned to ${align} (${this.available()} bytes free)`,
    );
  }

  /**
   * Frees a block returned by {@link alloc}.
   * @throws VringError `EINVAL` if `addr` is not an allocated block.
   */
  free(addr: number): void {
    const size = this.used.get(addr);
    if (size === undefined)
      throw new VringError('EINVAL', `0x${addr.toString(16)} is not an allocated dma block`);
    this.used.delete(addr);
    const list = this.free_;
    let i = 0;
    while (i < list.length && list[i].addr < addr) i++;
    list.splice(i, 0, { addr, size });
    // Coalesce with the neighbours so that long-running stacks do not fragment.
    if (i + 1 < list.length && list[i].addr + list[i].size === list[i + 1].addr) {
      list[i].size += list[i + 1].size;
      list.splice(i + 1, 1);
    }
    if (i > 0 && list[i - 1].addr + list[i - 1].size === list[i].addr) {
      list[i - 1].size += list[i].size;
      list.splice(i, 1);
    }
  }

  /**
   * Takes `[addr, addr + size)` out of the managed range (as far as it overlaps it) so that
   * {@link alloc} never hands it out: for a component that manages that part of memory itself.
   * @returns the address of the block taken (give it to {@link free} to return it), or undefined when
   * the range does not overlap the managed one
   * @throws VringError `EINVAL` for a bad address or size, `EBUSY` when part of it is allocated.
   * @example
   * shared.reserve(0x800000, 0x400000); // a transport allocates there with an allocator of its own
   */
  reserve(addr: number, size: number): number | undefined {
    checkAddress(addr, 'dma reserve address');
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new VringError('EINVAL', `dma reserve size ${size} is not positive`);
    const start = addr > this.base ? addr : this.base;
    const end = addr + size < this.limit ? addr + size : this.limit;
    if (start >= end) return undefined;
    // Free blocks are coalesced, so a range that is all free lies inside one of them.
    const list = this.free_;
    const i = list.findIndex((b) => b.addr <= start && b.addr + b.size >= end);
    if (i < 0) {
      throw new VringError(
        'EBUSY',
        `dma range 0x${start.toString(16)}-0x${(end - 1).toString(16)} is partly allocated`,
      );
    }
    const b = list[i];
    const pieces: Block[] = [];
    if (start > b.addr) pieces.push({ addr: b.addr, size: start - b.addr });
    if (b.addr + b.size > end) pieces.push({ addr: end, size: b.addr + b.size - end });
    list.splice(i, 1, ...pieces);
    this.used.set(start, end - start);
    return start;
  }

  /** The device-visible (DMA / IOVA) address of guest-physical `gpa`: what goes into descriptors. */
  dmaAddress(gpa: number): number {
    return gpa + this.dmaOffset;
  }

  /** Bytes not allocated. */
  available(): number {
    return this.free_.reduce((n, b) => n + b.size, 0);
  }

  /** The managed range `[base, limit)`. */
  range(): { readonly base: number; readonly limit: number } {
    return { base: this.base, limit: this.limit };
  }
}

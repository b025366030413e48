import type { NativeVhost } from '@vdpa-kit/native-vhost';
import type { GuestMemory } from '@vdpa-kit/vring';
import type { VhostUserMemoryRegion, VhostUserMemoryTable } from '../memory-table.js';

/** Where mapped front-end regions are placed in the stack's `GuestMemory` (above any RAM it models). */
export const VU_MAPPED_REGION_BASE = 2 ** 40;
/** Alignment of a placed region (a huge page, so placement never splits one). */
const UADDR_ALIGN = 2 ** 21;

/** One front-end region mapped into this process and added to the stack's `GuestMemory`. */
export interface VhostUserMappedRegion {
  /** The region as the front-end described it. */
  readonly region: VhostUserMemoryRegion;
  /** Where the region starts in `GuestMemory`: the "userspace address" IOTLB updates carry. */
  readonly uaddr: number;
  /** The mapping (from the page holding `mmapOffset`). */
  readonly buffer: ArrayBuffer;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/**
 * The lowest free, aligned `GuestMemory` address at or above {@link VU_MAPPED_REGION_BASE} with room
 * for `size` bytes.
 * @param mem the stack's `GuestMemory`
 * @param size bytes needed
 */
export function placeRegion(mem: GuestMemory, size: number): number {
  let at = VU_MAPPED_REGION_BASE;
  for (const r of mem.regions()) {
    if (r.gpa + r.size <= at) continue;
    if (at + size <= r.gpa) break;
    at = alignUp(r.gpa + r.size, UADDR_ALIGN);
  }
  return at;
}

/**
 * The memory table's regions mmapped (`mmap(fd, …, MAP_SHARED)` from the page holding `mmap_offset`,
 * vhost-user.rst "Memory regions"; DPDK `vhost_user_mmap_region()`) and added to the `GuestMemory` the
 * vhost-vdpa layer treats as the process address space, each at a free address of its own.
 *
 * @example
 * const mapped = VhostUserMappedMemory.map(native, mem, table);
 * mapped.regions[0].uaddr; // the IOTLB update's uaddr for region 0
 * mapped.unmap();
 */
export class VhostUserMappedMemory {
  private released = false;

  private constructor(
    private readonly native: NativeVhost,
    private readonly mem: GuestMemory,
    /** The mapped regions, in table order. */
    readonly regions: readonly VhostUserMappedRegion[],
  ) {}

  /**
   * Maps every region of `table`; on a failure the regions mapped so far are released again.
   * @throws NativeError the mmap's (`ENXIO`: the fd is shorter than offset + size, `EOVERFLOW`, …)
   * @throws VringError the `GuestMemory` placement's
   */
  static map(native: NativeVhost, mem: GuestMemory, table: VhostUserMemoryTable): VhostUserMappedMemory {
    const done: VhostUserMappedRegion[] = [];
    try {
      for (const region of table.regions) {
        const start = Math.floor(region.mmapOffset / native.pageSize) * native.pageSize;
        const skip = region.mmapOffset - start;
        const buffer = native.mmap(region.fd, start, skip + region.memorySize);
        const uaddr = placeRegion(mem, region.memorySize);
        try {
          mem.addRegion(uaddr, buffer, skip, region.memorySize);
        } catch (err) {
          native.munmap(buffer);
          throw err;
        }
        done.push({ region, uaddr, buffer });
      }
    } catch (err) {
      new VhostUserMappedMemory(native, mem, done).unmap();
      throw err;
    }
    return new VhostUserMappedMemory(native, mem, done);
  }

  /** Removes the regions from `GuestMemory` and unmaps them (idempotent). */
  unmap(): void {
    if (this.released) return;
    this.released = true;
    for (const { uaddr, buffer } of this.regions) {
      this.mem.removeRegion(uaddr);
      this.native.munmap(buffer);
    }
  }
}

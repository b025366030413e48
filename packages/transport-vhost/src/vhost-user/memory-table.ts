import { VHOST_MEMORY_BASELINE_NREGIONS } from '@vdpa-kit/virtio-spec';
import { type VhostUserRegionWire } from './codec.js';
import { VhostUserError } from './errors.js';

/**
 * One validated memory region of the front-end: `memorySize` bytes that the guest sees at
 * `guestPhysAddr`, the front-end at `userspaceAddr`, and the back-end maps from `fd` at `mmapOffset`.
 * Every address is a safe integer (below 2^53) and every end (`start + memorySize`) is at most 2^53.
 */
export interface VhostUserMemoryRegion {
  readonly guestPhysAddr: number;
  readonly memorySize: number;
  readonly userspaceAddr: number;
  readonly mmapOffset: number;
  /** The fd received for the region (the table's owner closes it). */
  readonly fd: number;
}

/** Where a guest-physical or front-end virtual address lands. */
export interface VhostUserRegionHit {
  /** The region, as in {@link VhostUserMemoryTable.regions}. */
  readonly region: VhostUserMemoryRegion;
  /** Its index in {@link VhostUserMemoryTable.regions} (the order of the message). */
  readonly index: number;
  /** Offset of the address from the region's start (add `mmapOffset` for the offset in the fd). */
  readonly offset: number;
}

/** Limits of {@link VhostUserMemoryTable.fromWire}. */
export interface VhostUserMemoryTableOptions {
  /**
   * Largest region accepted, in bytes: a bigger one is refused before anything is mapped. Default
   * 2^40 (1 TiB), far above any guest these front-ends run and far below what would exhaust the
   * address space.
   */
  readonly maxRegionSize?: number;
}

const DEFAULT_MAX_REGION_SIZE = 2 ** 40;
const U64_LIMIT_BIG = 1n << 64n;
const SAFE_LIMIT_BIG = BigInt(Number.MAX_SAFE_INTEGER) + 1n;

function tableError(message: string): VhostUserError {
  return new VhostUserError('BAD_MEMORY_TABLE', 'SET_MEM_TABLE', message);
}

function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

/** Indices of `regions` sorted by `key`, and the sorted starts. */
function sortedBy(
  regions: readonly VhostUserMemoryRegion[],
  key: 'guestPhysAddr' | 'userspaceAddr',
): { order: readonly number[]; starts: readonly number[] } {
  const order = regions.map((_, i) => i).sort((a, b) => regions[a]![key] - regions[b]![key]);
  return { order, starts: order.map((i) => regions[i]![key]) };
}

/**
 * A validated vhost-user memory table (SET_MEM_TABLE) with O(log n) address translation.
 *
 * Validation (DPDK `vhost_user_set_mem_table()`, libvhost-user `vu_set_mem_table_exec()`, plus the
 * checks a back-end that maps regions needs): at most `VHOST_MEMORY_BASELINE_NREGIONS` regions, one
 * fd per region, no zero-sized region, no region above `maxRegionSize`, no region whose end wraps past
 * 2^64 in guest-physical, front-end virtual or fd-offset space, no two regions overlapping in
 * guest-physical or in front-end virtual space.
 *
 * Numbers: every address, size and offset of the table must be below 2^53 and every end at most 2^53
 * (`Number.MAX_SAFE_INTEGER + 1`); a table that is not is refused with `ADDRESS_TOO_LARGE`. x86-64
 * user addresses are below 2^47 and guest-physical addresses below 2^52, so real front-ends never
 * hit it, and every translation below is exact in a `number`.
 *
 * @example
 * const table = VhostUserMemoryTable.fromWire(payload.regions, message.fds);
 * const descGpa = table.uvaToGpa(addr.desc, vringDescSize(num));
 */
export class VhostUserMemoryTable {
  private readonly byGpa: { order: readonly number[]; starts: readonly number[] };
  private readonly byUva: { order: readonly number[]; starts: readonly number[] };

  private constructor(readonly regions: readonly VhostUserMemoryRegion[]) {
    this.byGpa = sortedBy(regions, 'guestPhysAddr');
    this.byUva = sortedBy(regions, 'userspaceAddr');
  }

  /** A table with no region (before the first SET_MEM_TABLE). */
  static empty(): VhostUserMemoryTable {
    return new VhostUserMemoryTable([]);
  }

  /**
   * Validates the regions of a SET_MEM_TABLE payload and the fds received with them.
   *
   * @param wire the regions as decoded
   * @param fds one fd per region, in the same order
   * @param options limits
   * @throws VhostUserError `BAD_MEMORY_TABLE` (count, zero size, size above the limit, wrap past
   *   2^64, overlap), `ADDRESS_TOO_LARGE` (an end above 2^53), `MISSING_FDS` /
   *   `TOO_MANY_FDS` (fd count differs from the region count). The fds stay the caller's.
   */
  static fromWire(
    wire: readonly VhostUserRegionWire[],
    fds: readonly number[],
    options: VhostUserMemoryTableOptions = {},
  ): VhostUserMemoryTable {
    const maxRegionSize = options.maxRegionSize ?? DEFAULT_MAX_REGION_SIZE;
    if (wire.length > VHOST_MEMORY_BASELINE_NREGIONS) {
      throw tableError(`${wire.length} regions exceed ${VHOST_MEMORY_BASELINE_NREGIONS}`);
    }
    if (fds.length !== wire.length) {
      throw new VhostUserError(
        fds.length < wire.length ? 'MISSING_FDS' : 'TOO_MANY_FDS',
        'SET_MEM_TABLE',
        `${fds.length} fds for ${wire.length} regions`,
      );
    }
    const regions = wire.map((r, i) => {
      if (r.memorySize === 0n) throw tableError(`region ${i} has size 0`);
      if (r.memorySize > BigInt(maxRegionSize)) {
        throw tableError(`region ${i} size ${hex(r.memorySize)} exceeds the limit ${hex(maxRegionSize)}`);
      }
      for (const [what, start] of [
        ['guest_phys_addr', r.guestPhysAddr],
        ['userspace_addr', r.userspaceAddr],
        ['mmap_offset', r.mmapOffset],
      ] as const) {
        const end = start + r.memorySize;
        if (end > U64_LIMIT_BIG) {
          throw tableError(`region ${i} ${what} ${hex(start)} + size ${hex(r.memorySize)} wraps past 2^64`);
        }
        if (end > SAFE_LIMIT_BIG) {
          throw new VhostUserError(
            'ADDRESS_TOO_LARGE',
            'SET_MEM_TABLE',
            `region ${i} ${what} ${hex(start)} + size ${hex(r.memorySize)} passes 2^53`,
          );
        }
      }
      return Object.freeze({
        guestPhysAddr: Number(r.guestPhysAddr),
        memorySize: Number(r.memorySize),
        userspaceAddr: Number(r.userspaceAddr),
        mmapOffset: Number(r.mmapOffset),
        fd: fds[i]!,
      });
    });
    const table = new VhostUserMemoryTable(Object.freeze(regions));
    table.checkOverlap(table.byGpa, 'guestPhysAddr', 'guest-physical');
    table.checkOverlap(table.byUva, 'userspaceAddr', 'front-end virtual');
    return table;
  }

  /** The fds of every region, in region order. */
  get fds(): number[] {
    return this.regions.map((r) => r.fd);
  }

  /**
   * Translates a front-end virtual address (SET_VRING_ADDR carries these) to guest-physical.
   *
   * @param uva the front-end virtual address
   * @param length bytes that must lie inside the same region (at least 1)
   * @throws VhostUserError `ADDRESS_NOT_MAPPED` when `[uva, uva + length)` is not inside one region
   */
  uvaToGpa(uva: bigint | number, length = 1): number {
    const hit = this.lookup(this.byUva, 'userspaceAddr', uva, length, 'front-end virtual');
    return hit.region.guestPhysAddr + hit.offset;
  }

  /**
   * Finds the region and offset of a front-end virtual address.
   *
   * @param uva the front-end virtual address
   * @param length bytes that must lie inside the same region (at least 1)
   * @throws VhostUserError `ADDRESS_NOT_MAPPED`
   */
  uvaToRegion(uva: bigint | number, length = 1): VhostUserRegionHit {
    return this.lookup(this.byUva, 'userspaceAddr', uva, length, 'front-end virtual');
  }

  /**
   * Finds the region and offset of a guest-physical address (descriptors carry these).
   *
   * @param gpa the guest-physical address
   * @param length bytes that must lie inside the same region (at least 1)
   * @throws VhostUserError `ADDRESS_NOT_MAPPED`
   */
  gpaToRegion(gpa: bigint | number, length = 1): VhostUserRegionHit {
    return this.lookup(this.byGpa, 'guestPhysAddr', gpa, length, 'guest-physical');
  }

  private checkOverlap(
    sorted: { order: readonly number[]; starts: readonly number[] },
    key: 'guestPhysAddr' | 'userspaceAddr',
    space: string,
  ): void {
    for (let k = 1; k < sorted.order.length; k++) {
      const prev = this.regions[sorted.order[k - 1]!]!;
      const next = this.regions[sorted.order[k]!]!;
      if (prev[key] + prev.memorySize > next[key]) {
        throw tableError(
          `regions ${sorted.order[k - 1]} and ${sorted.order[k]} overlap in ${space} space at ${hex(next[key])}`,
        );
      }
    }
  }

  private lookup(
    sorted: { order: readonly number[]; starts: readonly number[] },
    key: 'guestPhysAddr' | 'userspaceAddr',
    address: bigint | number,
    length: number,
    space: string,
  ): VhostUserRegionHit {
    const addr = typeof address === 'bigint' ? address : BigInt(address);
    const notMapped = (): VhostUserError =>
      new VhostUserError(
        'ADDRESS_NOT_MAPPED',
        '',
        `${space} address ${hex(addr)} (+${length}) is inside no memory region`,
      );
    if (!Number.isSafeInteger(length) || length < 1 || addr < 0n || addr >= SAFE_LIMIT_BIG) throw notMapped();
    const a = Number(addr);
    // Binary search for the last region starting at or below `a`.
    let lo = 0;
    let hi = sorted.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted.starts[mid]! <= a) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) throw notMapped();
    const index = sorted.order[found]!;
    const region = this.regions[index]!;
    const offset = a - region[key];
    if (offset + length > region.memorySize) throw notMapped();
    return { region, index, offset };
  }
}

import { VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, VringError, checkAddress } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { Iov } from './iov.js';

/** Access kinds for {@link Iotlb.translate}: a read needs `VHOST_ACCESS_RO`, a write `VHOST_ACCESS_WO`. */
export type IotlbAccess = typeof VHOST_ACCESS_RO | typeof VHOST_ACCESS_WO;

/** One mapping: IOVAs `[start, last]` (inclusive) map to physical addresses from `addr`. */
export interface IotlbMap {
  readonly start: number;
  readonly last: number;
  readonly addr: number;
  readonly perm: number;
  /** Opaque per-entry context (`vdpa_map_file` in the kernel's VA mode). */
  readonly opaque?: unknown;
}

/** Options of {@link Iotlb}. */
export interface IotlbOptions {
  /** Maximum number of entries, 0 = unlimited (the kernel's `limit`). */
  readonly limit?: number;
  /** When full, evict the oldest entry instead of failing (`VHOST_IOTLB_FLAG_RETIRE`). */
  readonly retire?: boolean;
}

/**
 * An I/O TLB with vhost_iotlb semantics (`vhost/iotlb.c`: `vhost_iotlb_add_range()`,
 * `vhost_iotlb_del_range()`, `vhost_iotlb_itree_first()`): inclusive ranges with RO/WO/RW
 * permissions, no overlap check on add (callers check), `delRange` removes every overlapping entry
 * whole, and translation of `(iova, len, access)` into physical segments where a hole is `EINVAL` and
 * a missing permission is `EPERM`. One instance per address space.
 *
 * @example
 * const tlb = new Iotlb();
 * tlb.addRange(0x1000, 0x1fff, 0x8000, VHOST_ACCESS_RW);
 */
export class Iotlb {
  /** Entries sorted by `start` (overlaps are the caller's business, as in the kernel). */
  private maps: IotlbMap[] = [];
  /** Insertion order, for `retire`. */
  private order: IotlbMap[] = [];
  /**
   * `reach[i]` is the largest `last` of `maps[0..i]`: non-decreasing, so one binary search finds the
   * lowest-starting entry reaching an address even when entries overlap.
   */
  private reach: number[] = [];
  /** True when some entries overlap; the `hit` cache is only exact without overlaps. */
  private overlapping = false;
  private hit: IotlbMap | undefined;
  private readonly limit: number;
  private readonly retire: boolean;
  private generation_ = 0;

  /** @param options entry limit and eviction policy (default: unlimited) */
  constructor(options: IotlbOptions = {}) {
    this.limit = options.limit ?? 0;
    this.retire = options.retire ?? false;
  }

  /** An IOTLB with the single identity entry `[0, IOVA_MAX] -> 0, RW` (vdpa_sim's passthrough). */
  static identity(): Iotlb {
    const tlb = new Iotlb();
    tlb.addRange(0, IOVA_MAX, 0, VHOST_ACCESS_RW);
    return tlb;
  }

  /** Number of entries. */
  get size(): number {
    return this.maps.length;
  }

  /** Bumped on every change; users caching translations compare it. */
  get generation(): number {
    return this.generation_;
  }

  /** True when the table is exactly the identity passthrough entry. */
  isIdentity(): boolean {
    const m = this.maps;
    return (
      m.length === 1 &&
      m[0].start === 0 &&
      m[0].last === IOVA_MAX &&
      m[0].addr === 0 &&
      m[0].perm === VHOST_ACCESS_RW
    );
  }

  /**
   * Adds `[start, last] -> addr` with `perm` (`vhost_iotlb_add_range_ctx`).
   * @throws VringError `EFAULT` if `last < start`, `EINVAL` for a bad permission, `ERANGE` for an
   * address beyond 2^53, `ENOMEM` when the limit is reached and `retire` is off.
   */
  addRange(start: number, last: number, addr: number, perm: number, opaque?: unknown): void {
    checkAddress(start, 'iotlb start');
    checkAddress(last, 'iotlb last');
    checkAddress(addr, 'iotlb address');
    if (last < start)
      throw new VringError(
        'EFAULT',
        `iotlb range 0x${start.toString(16)}-0x${last.toString(16)} ends before it starts`,
      );
    if (perm !== VHOST_ACCESS_RO && perm !== VHOST_ACCESS_WO && perm !== VHOST_ACCESS_RW) {
      throw new VringError('EINVAL', `iotlb permission ${perm} is not RO, WO or RW`);
    }
    if (addr + (last - start) > IOVA_MAX)
      throw new VringError('ERANGE', `iotlb target 0x${addr.toString(16)} overflows`);
    if (this.limit > 0 && this.maps.length >= this.limit) {
      if (!this.retire) throw new VringError('ENOMEM', `iotlb is full (${this.limit} entries)`);
      const oldest = this.order.shift();
      if (oldest) this.maps.splice(this.maps.indexOf(oldest), 1);
    }
    const map: IotlbMap =
      opaque === undefined ? { start, last, addr, perm } : { start, last, addr, perm, opaque };
    // Equal starts keep insertion order, as the kernel's interval tree does.
    let i = this.maps.length;
    while (i > 0 && this.maps[i - 1].start > start) i--;
    this.maps.splice(i, 0, map);
    this.order.push(map);
    this.changed();
  }

  /**
   * Removes every entry overlapping `[start, last]`, whole (`vhost_iotlb_del_range`).
   * @throws VringError `ERANGE` for an address beyond 2^53.
   */
  delRange(start: number, last: number): void {
    checkAddress(start, 'iotlb start');
    checkAddress(last, 'iotlb last');
    const keep = (m: IotlbMap): boolean => m.last < start || m.start > last;
    const before = this.maps.length;
    this.maps = this.maps.filter(keep);
    this.order = this.order.filter(keep);
    if (this.maps.length !== before) this.changed();
  }

  /** Removes every entry. */
  reset(): void {
    this.maps = [];
    this.order = [];
    this.changed();
  }

  /**
   * Replaces this table's entries with a copy of `other`'s (the body of `set_map`). Copying a table
   * onto itself leaves it unchanged.
   * @throws VringError `ENOMEM` when `other` has more entries than this table's limit allows.
   */
  copyFrom(other: Iotlb): void {
    const source = other.entries().slice();
    this.reset();
    for (const m of source) this.addRange(m.start, m.last, m.addr, m.perm, m.opaque);
  }

  /** The lowest-starting entry overlapping `[start, last]` (`vhost_iotlb_itree_first`). */
  first(start: number, last: number): IotlbMap | undefined {
    const i = this.firstReaching(start);
    const m = this.maps[i];
    return m !== undefined && m.start <= last ? m : undefined;
  }

  /** Entries in address order. */
  entries(): readonly IotlbMap[] {
    return this.maps;
  }

  /**
   * The entry containing `iova`, or undefined. With overlapping entries it is the lowest-starting one
   * (the entry the kernel's `iotlb_translate` finds). Remembers the last hit.
   */
  lookup(iova: number): IotlbMap | undefined {
    const h = this.hit;
    if (h !== undefined && iova >= h.start && iova <= h.last) return h;
    const m = this.maps[this.firstReaching(iova)];
    if (m === undefined || m.start > iova) return undefined;
    // Without overlaps the covering entry is unique, so caching it cannot hide a lower-starting one.
    if (!this.overlapping) this.hit = m;
    return m;
  }

  /**
   * The entry that translates every IOVA it covers, for callers that check many buffers against one
   * cached entry (`IotlbWindow`, for `VringhLoopback`): the entry containing `iova` when no two entries overlap, or
   * undefined (no entry, or overlapping entries, where which entry translates an address depends on
   * the address).
   */
  uniqueEntry(iova: number): IotlbMap | undefined {
    if (this.overlapping) return undefined;
    return this.lookup(iova);
  }

  /** Index of the first entry whose prefix-maximum `last` reaches `iova`, or `maps.length`. */
  private firstReaching(iova: number): number {
    const reach = this.reach;
    let lo = 0;
    let hi = reach.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (reach[mid] >= iova) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Rebuilds the search index after any change and bumps the generation. */
  private changed(): void {
    const maps = this.maps;
    const reach = new Array<number>(maps.length);
    let overlapping = false;
    let max = -1;
    for (let i = 0; i < maps.length; i++) {
      if (maps[i].start <= max) overlapping = true;
      if (maps[i].last > max) max = maps[i].last;
      reach[i] = max;
    }
    this.reach = reach;
    this.overlapping = overlapping;
    this.hit = undefined;
    this.generation_++;
  }

  /**
   * Translates `[iova, iova + len)` for `access` and appends the resulting memory segments to `iov`
   * (`iotlb_translate` followed by the physical lookup).
   * @throws VringError `EINVAL` for a hole (no entry, or a gap), `EPERM` when an entry lacks the
   * permission, `EFAULT` when the physical range is outside guest memory, `ERANGE` when `iova` or
   * `len` is not a non-negative safe integer. Segments appended before an error stay in `iov`.
   */
  translate(iova: number, len: number, access: IotlbAccess, mem: GuestMemory, iov: Iov): void {
    // Fast path: the whole range inside the last-hit entry and inside one memory region (the common
    // case of a buffer); anything else, errors included, takes the general walk below.
    const h = this.hit;
    if (
      h !== undefined &&
      len > 0 &&
      iova >= h.start &&
      iova <= h.last - len + 1 &&
      (h.perm & access) !== 0 &&
      Number.isSafeInteger(iova) &&
      Number.isSafeInteger(len)
    ) {
      const pa = h.addr + (iova - h.start);
      const r = mem.findRegion(pa, len);
      if (r !== undefined) {
        iov.add(r.bytes, pa - r.gpa, len);
        return;
      }
    }
    this.translateWalk(iova, len, access, mem, iov);
  }

  private translateWalk(iova: number, len: number, access: IotlbAccess, mem: GuestMemory, iov: Iov): void {
    checkAddress(iova, 'iova');
    checkAddress(len, 'translation length');
    let addr = iova;
    let left = len;
    while (left > 0) {
      const m = this.lookup(addr);
      if (m === undefined) {
        throw new VringError('EINVAL', `iova 0x${addr.toString(16)} is not mapped`);
      }
      if ((m.perm & access) === 0) {
        throw new VringError(
          'EPERM',
          `iova 0x${addr.toString(16)} is mapped ${permName(m.perm)}, ${access === VHOST_ACCESS_RO ? 'read' : 'write'} denied`,
        );
      }
      const inEntry = m.last - addr + 1;
      let n = left < inEntry ? left : inEntry;
      let pa = m.addr + (addr - m.start);
      // A physical range may still span guest-memory regions: split it per region.
      while (n > 0) {
        const r = mem.findRegion(pa, 1);
        if (r === undefined) {
          throw new VringError(
            'EFAULT',
            `physical address 0x${pa.toString(16)} (iova 0x${addr.toString(16)}) is outside guest memory`,
          );
        }
        const off = pa - r.gpa;
        const inRegion = r.size - off;
        const k = n < inRegion ? n : inRegion;
        iov.add(r.bytes, off, k);
        pa += k;
        addr += k;
        left -= k;
        n -= k;
      }
    }
  }
}

function permName(perm: number): string {
  return perm === VHOST_ACCESS_RO ? 'read-only' : perm === VHOST_ACCESS_WO ? 'write-only' : 'read-write';
}

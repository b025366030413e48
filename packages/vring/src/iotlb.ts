import { U32_MAX, VHOST_ACCESS_RO, VHOST_ACCESS_RW, VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { IOVA_MAX, U64_MAX, VringError, checkAddress, checkU64 } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import { IotlbEntry } from './iotlb-entry.js';
import type { Iov } from './iov.js';

/** Access kinds for {@link Iotlb.translate}: a read needs `VHOST_ACCESS_RO`, a write `VHOST_ACCESS_WO`. */
export type IotlbAccess = typeof VHOST_ACCESS_RO | typeof VHOST_ACCESS_WO;

/**
 * One mapping: IOVAs `[start, last]` (inclusive, u64) map to physical addresses from `addr`
 * (`struct vhost_iotlb_map`). Exact 64-bit values: the control path's view of an entry.
 */
export interface IotlbMap {
  readonly start: bigint;
  readonly last: bigint;
  readonly addr: bigint;
  /** `VHOST_ACCESS_*` bits. */
  readonly perm: number;
  /** Opaque per-entry context (`vdpa_map_file` in the kernel's VA mode). */
  readonly opaque?: unknown;
}

/** Options of {@link Iotlb}. */
export interface IotlbOptions {
  /** Maximum number of entries for `retire`, 0 = unlimited (the kernel's `limit`). */
  readonly limit?: number;
  /** When full, evict the oldest entry (`VHOST_IOTLB_FLAG_RETIRE`); without it the limit is not enforced. */
  readonly retire?: boolean;
}

const TWO_32 = 0x1_0000_0000;
/** Largest high word of a u64 that is still a number IOVA (below 2^53). */
const SAFE_HI_MAX = 0x1f_ffff;

/**
 * An I/O TLB with vhost_iotlb semantics (`vhost/iotlb.c`: `vhost_iotlb_add_range_ctx()`,
 * `vhost_iotlb_del_range()`, `vhost_iotlb_itree_first()`): inclusive u64 ranges with permission bits,
 * no overlap check on add (callers check), `delRange` removes every overlapping entry whole, and
 * translation of `(iova, len, access)` into physical segments where a hole is `EINVAL` and a missing
 * permission is `EPERM` (`vringh.c: iotlb_translate()`). One instance per address space.
 *
 * The control path is exact over the whole 64-bit space (`bigint` bounds); translation of an IOVA below
 * 2^53 is all-number ({@link translate}), and of any other u64 IOVA works on its u32 halves
 * ({@link translateU64}), never with a BigInt.
 *
 * @example
 * const tlb = new Iotlb();
 * tlb.addRange(0x1000n, 0x1fffn, 0x8000n, VHOST_ACCESS_RW);
 */
export class Iotlb {
  /** Entries sorted by start (overlaps are the caller's business, as in the kernel). */
  private list: IotlbEntry[] = [];
  /** Insertion order, for `retire`. */
  private order: IotlbEntry[] = [];
  /** The public entries, in the order of {@link list}; rebuilt with the index. */
  private maps: IotlbMap[] = [];
  /**
   * `reach[i]` is the largest (number) `last` of `list[0..i]`: non-decreasing, so one binary search
   * finds the lowest-starting entry reaching an address even when entries overlap. `reachHi` /
   * `reachLo` hold the same for the exact u64 bounds, as u32 halves.
   */
  private reach: number[] = [];
  private reachHi: number[] = [];
  private reachLo: number[] = [];
  /** True when some entries overlap. */
  private overlapping = false;
  /** The index above is stale: rebuilt on the next lookup (so adding n entries is not O(n^2)). */
  private dirty = false;
  /** The entry of the last lookup (exact for every IOVA in `[from, last]`, overlaps or not). */
  private hit: IotlbEntry | undefined;
  private readonly limit: number;
  private readonly retire: boolean;
  private generation_ = 0;

  /** @param options entry limit and eviction policy (default: unlimited) */
  constructor(options: IotlbOptions = {}) {
    this.limit = options.limit ?? 0;
    this.retire = options.retire ?? false;
  }

  /**
   * An IOTLB with the identity passthrough `[0, 2^64 - 1] -> 0, RW` (vdpa_sim's `iommu_pt`), stored as
   * the kernel stores it: two entries, `[0, 2^63 - 1] -> 0` and `[2^63, 2^64 - 1] -> 2^63`.
   */
  static identity(): Iotlb {
    const tlb = new Iotlb();
    tlb.addRange(0n, U64_MAX, 0n, VHOST_ACCESS_RW);
    return tlb;
  }

  /** Number of entries. */
  get size(): number {
    return this.list.length;
  }

  /** Bumped on every change; users caching translations compare it. */
  get generation(): number {
    return this.generation_;
  }

  /** True when the table is exactly the identity passthrough (the two entries {@link identity} adds). */
  isIdentity(): boolean {
    const m = this.entries();
    const half = U64_MAX / 2n;
    return (
      m.length === 2 &&
      m[0].start === 0n &&
      m[0].last === half &&
      m[0].addr === 0n &&
      m[0].perm === VHOST_ACCESS_RW &&
      m[1].start === half + 1n &&
      m[1].last === U64_MAX &&
      m[1].addr === half + 1n &&
      m[1].perm === VHOST_ACCESS_RW
    );
  }

  /**
   * Adds `[start, last] -> addr` with `perm` (`vhost_iotlb_add_range_ctx()`): `[0, 2^64 - 1]` is
   * stored as two halves (its size would overflow a u64); when `retire` is on and the table holds
   * `limit` entries, the oldest is evicted first. Nothing else is checked, as in the kernel: overlaps,
   * permission bits and a target range running past 2^64 are the caller's business.
   * @throws VringError `ERANGE` for a bound that is not a u64, `EINVAL` for a permission that is not a
   * u32, `EFAULT` if `last < start`.
   */
  addRange(start: bigint, last: bigint, addr: bigint, perm: number, opaque?: unknown): void {
    checkU64(start, 'iotlb start');
    checkU64(last, 'iotlb last');
    checkU64(addr, 'iotlb address');
    if (!(Number.isInteger(perm) && perm >= 0 && perm <= U32_MAX)) {
      throw new VringError('EINVAL', `iotlb permission ${perm} is not a u32`);
    }
    if (last < start) {
      throw new VringError('EFAULT', `iotlb range ${hex(start)}-${hex(last)} ends before it starts`);
    }
    let from = start;
    let target = addr;
    if (start === 0n && last === U64_MAX) {
      const mid = last / 2n;
      this.insert(start, mid, addr, perm, opaque);
      // u64 arithmetic, as the kernel's `addr += mid + 1`.
      target = (addr + mid + 1n) & U64_MAX;
      from = mid + 1n;
    }
    this.insert(from, last, target, perm, opaque);
  }

  /**
   * Removes every entry overlapping `[start, last]`, whole (`vhost_iotlb_del_range()`).
   * @throws VringError `ERANGE` for a bound that is not a u64.
   */
  delRange(start: bigint, last: bigint): void {
    checkU64(start, 'iotlb start');
    checkU64(last, 'iotlb last');
    const keep = (e: IotlbEntry): boolean => e.map.last < start || e.map.start > last;
    const before = this.list.length;
    this.list = this.list.filter(keep);
    this.order = this.order.filter(keep);
    if (this.list.length !== before) this.changed();
  }

  /** Removes every entry. */
  reset(): void {
    this.list = [];
    this.order = [];
    this.changed();
  }

  /**
   * Replaces this table's entries with a copy of `other`'s (the body of `set_map`). Copying a table
   * onto itself leaves it unchanged.
   */
  copyFrom(other: Iotlb): void {
    const source = other.entries().slice();
    this.reset();
    for (const m of source) this.addRange(m.start, m.last, m.addr, m.perm, m.opaque);
  }

  /**
   * The lowest-starting entry overlapping `[start, last]` (`vhost_iotlb_itree_first()`).
   * @throws VringError `ERANGE` for a bound that is not a u64.
   */
  first(start: bigint, last: bigint): IotlbMap | undefined {
    checkU64(start, 'iotlb start');
    checkU64(last, 'iotlb last');
    this.index();
    const e = this.list[this.firstReachingU64(Number(start >> 32n), Number(start & 0xffff_ffffn))];
    return e !== undefined && e.map.start <= last ? e.map : undefined;
  }

  /** Entries in address order. */
  entries(): readonly IotlbMap[] {
    this.index();
    return this.maps;
  }

  /**
   * The entry translating number IOVA `iova`, or undefined: with overlapping entries the
   * lowest-starting one holding it (the entry the kernel's `iotlb_translate` finds).
   */
  lookup(iova: number): IotlbMap | undefined {
    const h = this.hit;
    if (h !== undefined && iova >= h.from && iova <= h.last) return h.map;
    return this.entryAt(iova)?.map;
  }

  /**
   * The entry containing `iova` when no two entries overlap, or undefined (no entry, or overlapping
   * entries, where which entry translates an address depends on the address).
   */
  uniqueEntry(iova: number): IotlbMap | undefined {
    this.index();
    if (this.overlapping) return undefined;
    return this.lookup(iova);
  }

  /**
   * The internal entry translating number IOVA `iova` (`iova` ≤ `IOVA_MAX`), or undefined: the one
   * IOTLB search every translation and translation window goes through (one binary search). The
   * entry translates every IOVA in `[entry.from, entry.last]`. Not for use outside vring.
   * @internal
   */
  entryAt(iova: number): IotlbEntry | undefined {
    this.index();
    const reach = this.reach;
    let lo = 0;
    let hi = reach.length;
    // Written so that a NaN address matches no entry and still terminates.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (reach[mid] >= iova) hi = mid;
      else lo = mid + 1;
    }
    const e = this.list[lo];
    if (e === undefined || !(e.start <= iova)) return undefined;
    this.hit = e;
    return e;
  }

  /**
   * Translates `[iova, iova + len)` for `access` and appends the resulting memory segments to `iov`
   * (`vringh.c: iotlb_translate()` followed by the physical lookup). A range reaching past
   * `IOVA_MAX` is translated as {@link translateU64} does.
   * @throws VringError `EINVAL` for a hole (no entry, or a gap), `EPERM` when an entry lacks the
   * permission, `EFAULT` when the physical range is outside guest memory, `ERANGE` when `iova` or
   * `len` is not a non-negative safe integer. Segments appended before an error stay in `iov`.
   */
  translate(iova: number, len: number, access: IotlbAccess, mem: GuestMemory, iov: Iov): void {
    // Fast path: the whole range inside the last-hit entry's translated part and inside one memory
    // region (the common case of a buffer); anything else, errors included, takes the walk below.
    const h = this.hit;
    if (
      h !== undefined &&
      len > 0 &&
      iova >= h.from &&
      iova <= h.last - len + 1 &&
      (h.perm & access) !== 0 &&
      Number.isSafeInteger(iova) &&
      Number.isSafeInteger(len)
    ) {
      const pa = iova + h.delta;
      const r = mem.findRegion(pa, len);
      if (r !== undefined) {
        iov.add(r.bytes, pa - r.gpa, len);
        return;
      }
    }
    this.translateWalk(iova, len, access, mem, iov);
  }

  /**
   * Translates the u64 IOVA range `[hi·2^32 + lo, + len)` for `access`, as {@link translate} does, on
   * the address's u32 halves (a descriptor address above 2^53): the result maps only where the physical
   * address is a guest-memory address. A range running past 2^64 − 1 is a hole, as in the kernel (its
   * last address wraps below its first).
   * @throws VringError as {@link translate}; `ERANGE` when `hi` or `lo` is not a u32.
   */
  translateU64(hi: number, lo: number, len: number, access: IotlbAccess, mem: GuestMemory, iov: Iov): void {
    if (!(hi >>> 0 === hi && lo >>> 0 === lo)) {
      throw new VringError('ERANGE', `iova halves ${String(hi)}:${String(lo)} are not u32`);
    }
    checkAddress(len, 'translation length');
    if (len === 0) return;
    if (hi <= SAFE_HI_MAX && hi * TWO_32 + lo <= IOVA_MAX - (len - 1)) {
      this.translateWalk(hi * TWO_32 + lo, len, access, mem, iov);
      return;
    }
    // The last address, hi:lo + (len - 1), must not wrap past 2^64 - 1.
    const extra = len - 1;
    let endLo = lo + (extra % TWO_32);
    let endHi = hi + Math.floor(extra / TWO_32);
    if (endLo >= TWO_32) {
      endLo -= TWO_32;
      endHi++;
    }
    if (endHi >= TWO_32) {
      throw new VringError('EINVAL', `iova ${hexHalves(hi, lo)}+${len} wraps past 2^64 and is not mapped`);
    }
    this.index();
    let cHi = hi;
    let cLo = lo;
    let left = len;
    while (left > 0) {
      const e = this.list[this.firstReachingU64(cHi, cLo)];
      if (e === undefined || e.startHi > cHi || (e.startHi === cHi && e.startLo > cLo)) {
        throw new VringError('EINVAL', `iova ${hexHalves(cHi, cLo)} is not mapped`);
      }
      if ((e.perm & access) === 0) throw permError(hexHalves(cHi, cLo), e.perm, access);
      // Bytes of the entry from the current address: (last - cur) + 1, from the halves.
      let dHi = e.lastHi - cHi;
      let dLo = e.lastLo - cLo;
      if (dLo < 0) {
        dLo += TWO_32;
        dHi--;
      }
      const inEntry = dHi * TWO_32 + dLo + 1;
      const n = left < inEntry ? left : inEntry;
      // pa = cur + delta, modulo 2^64.
      let pLo = cLo + e.deltaLo;
      let pHi = cHi + e.deltaHi;
      if (pLo >= TWO_32) {
        pLo -= TWO_32;
        pHi++;
      }
      pHi = pHi % TWO_32;
      if (pHi > SAFE_HI_MAX) throw outsideError(hexHalves(pHi, pLo), hexHalves(cHi, cLo));
      const pa = pHi * TWO_32 + pLo;
      const unplaced = addPhysical(pa, n, mem, iov);
      if (unplaced > 0) throw outsideError(`0x${(pa + n - unplaced).toString(16)}`, hexHalves(cHi, cLo));
      left -= n;
      cLo += n % TWO_32;
      cHi += Math.floor(n / TWO_32);
      if (cLo >= TWO_32) {
        cLo -= TWO_32;
        cHi++;
      }
    }
  }

  private translateWalk(iova: number, len: number, access: IotlbAccess, mem: GuestMemory, iov: Iov): void {
    checkAddress(iova, 'iova');
    checkAddress(len, 'translation length');
    if (len > 0 && iova > IOVA_MAX - (len - 1)) {
      this.translateU64(Math.floor(iova / TWO_32), iova % TWO_32, len, access, mem, iov);
      return;
    }
    let addr = iova;
    let left = len;
    while (left > 0) {
      const h = this.hit;
      const m = h !== undefined && addr >= h.from && addr <= h.last ? h : this.entryAt(addr);
      if (m === undefined) {
        throw new VringError('EINVAL', `iova 0x${addr.toString(16)} is not mapped`);
      }
      if ((m.perm & access) === 0) throw permError(`0x${addr.toString(16)}`, m.perm, access);
      const inEntry = m.last - addr + 1;
      const n = left < inEntry ? left : inEntry;
      const pa = addr + m.delta;
      const unplaced = addPhysical(pa, n, mem, iov);
      if (unplaced > 0) throw outsideError(`0x${(pa + n - unplaced).toString(16)}`, `0x${addr.toString(16)}`);
      addr += n;
      left -= n;
    }
  }

  /** Adds one entry (the body of `vhost_iotlb_add_range_ctx()` after its checks). */
  private insert(start: bigint, last: bigint, addr: bigint, perm: number, opaque: unknown): void {
    if (this.retire && this.limit > 0 && this.list.length >= this.limit) {
      const oldest = this.order.shift();
      if (oldest) this.list.splice(this.list.indexOf(oldest), 1);
    }
    const map: IotlbMap =
      opaque === undefined ? { start, last, addr, perm } : { start, last, addr, perm, opaque };
    const entry = new IotlbEntry(map);
    // Equal starts keep insertion order, as the kernel's interval tree does.
    let i = this.list.length;
    while (i > 0 && this.list[i - 1].map.start > start) i--;
    this.list.splice(i, 0, entry);
    this.order.push(entry);
    this.changed();
  }

  /** Index of the first entry whose prefix-maximum `last` reaches u64 `hi:lo`, or the entry count. */
  private firstReachingU64(hi: number, lo: number): number {
    const reachHi = this.reachHi;
    const reachLo = this.reachLo;
    let a = 0;
    let b = reachHi.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (reachHi[mid] > hi || (reachHi[mid] === hi && reachLo[mid] >= lo)) b = mid;
      else a = mid + 1;
    }
    return a;
  }

  /** Marks the search index stale and bumps the generation. */
  private changed(): void {
    this.dirty = true;
    this.hit = undefined;
    this.generation_++;
  }

  /** Rebuilds the search index and the entries' `from` after a change. */
  private index(): void {
    if (!this.dirty) return;
    const list = this.list;
    const n = list.length;
    const reach = new Array<number>(n);
    const reachHi = new Array<number>(n);
    const reachLo = new Array<number>(n);
    const maps = new Array<IotlbMap>(n);
    let overlapping = false;
    let max = -1;
    let maxHi = -1;
    let maxLo = -1;
    for (let i = 0; i < n; i++) {
      const e = list[i];
      maps[i] = e.map;
      if (e.startHi < maxHi || (e.startHi === maxHi && e.startLo <= maxLo)) overlapping = true;
      e.from = e.start > max ? e.start : max + 1;
      if (e.last > max) max = e.last;
      if (e.lastHi > maxHi || (e.lastHi === maxHi && e.lastLo > maxLo)) {
        maxHi = e.lastHi;
        maxLo = e.lastLo;
      }
      reach[i] = max;
      reachHi[i] = maxHi;
      reachLo[i] = maxLo;
    }
    this.maps = maps;
    this.reach = reach;
    this.reachHi = reachHi;
    this.reachLo = reachLo;
    this.overlapping = overlapping;
    this.dirty = false;
  }
}

/**
 * Appends physical `[pa, pa + n)` to `iov`, split per guest-memory region, up to the first address
 * outside guest memory (segments before it stay appended). Returns the bytes not appended, 0 when all
 * were: the caller formats the `EFAULT`, so a translation builds no message string unless it fails.
 */
function addPhysical(pa: number, n: number, mem: GuestMemory, iov: Iov): number {
  let at = pa;
  let left = n;
  while (left > 0) {
    // Beyond IOVA_MAX a number no longer counts bytes exactly; no region lies there anyway.
    const r = at <= IOVA_MAX ? mem.findRegion(at, 1) : undefined;
    if (r === undefined) return left;
    const off = at - r.gpa;
    const inRegion = r.size - off;
    const k = left < inRegion ? left : inRegion;
    iov.add(r.bytes, off, k);
    at += k;
    left -= k;
  }
  return 0;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

function hexHalves(hi: number, lo: number): string {
  return hi === 0 ? `0x${lo.toString(16)}` : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

function permName(perm: number): string {
  const p = perm & VHOST_ACCESS_RW;
  return p === VHOST_ACCESS_RO
    ? 'read-only'
    : p === VHOST_ACCESS_WO
      ? 'write-only'
      : p === 0
        ? 'without access'
        : 'read-write';
}

function permError(iova: string, perm: number, access: IotlbAccess): VringError {
  return new VringError(
    'EPERM',
    `iova ${iova} is mapped ${permName(perm)}, ${access === VHOST_ACCESS_RO ? 'read' : 'write'} denied`,
  );
}

function outsideError(pa: string, iova: string): VringError {
  return new VringError('EFAULT', `physical address ${pa} (iova ${iova}) is outside guest memory`);
}

import { VringError, checkAddress } from './errors.js';

/** Backing store of a memory region. */
export type MemoryBacking = ArrayBuffer | SharedArrayBuffer;

/**
 * A contiguous range of guest-physical addresses backed by (part of) a buffer.
 * `bytes` and `view` are created once; hot paths index them directly with `gpa - region.gpa`.
 */
export interface MemoryRegion {
  /** First guest-physical address of the region. */
  readonly gpa: number;
  /** Size in bytes. */
  readonly size: number;
  /** The backing buffer (shared so a device can run in a worker). */
  readonly buffer: MemoryBacking;
  /** Byte offset of the region inside `buffer`. */
  readonly bufferOffset: number;
  /** A byte view of exactly the region. */
  readonly bytes: Uint8Array;
  /** A DataView of exactly the region (little-endian accessors). */
  readonly view: DataView;
}

/** Options of {@link GuestMemory.create}. */
export interface GuestMemoryOptions {
  /** Size of the single initial region in bytes. */
  readonly size: number;
  /** Guest-physical base of that region (default 0). */
  readonly base?: number;
  /** Back it with a SharedArrayBuffer (default false: plain ArrayBuffer is faster for bulk copies). */
  readonly shared?: boolean;
}

/**
 * Guest-physical memory: a set of non-overlapping regions. Every accessor is bounds-checked and throws
 * `VringError('EFAULT')` for an access that is not wholly inside one region.
 *
 * @example
 * const mem = GuestMemory.create({ size: 1 << 20 });
 * mem.writeU32(0x100, 42);
 */
export class GuestMemory {
  private readonly list: MemoryRegion[] = [];
  private last: MemoryRegion | undefined;
  private generation_ = 0;

  /**
   * Bumped whenever a region is added or removed; users caching translations into regions (ring
   * areas, translation windows) compare it, as they compare the IOTLB's.
   */
  get generation(): number {
    return this.generation_;
  }

  /**
   * Creates memory with one region of `size` bytes at `base`.
   * @throws VringError `EINVAL` unless `size` is a positive safe integer, `ERANGE` for a base beyond 2^53.
   */
  static create(options: GuestMemoryOptions): GuestMemory {
    if (!Number.isSafeInteger(options.size) || options.size <= 0) {
      throw new VringError('EINVAL', `guest memory size ${options.size} is not a positive integer`);
    }
    const mem = new GuestMemory();
    const buffer = options.shared ? new SharedArrayBuffer(options.size) : new ArrayBuffer(options.size);
    mem.addRegion(options.base ?? 0, buffer);
    return mem;
  }

  /**
   * Adds a region at `gpa` over `buffer[offset, offset + size)`.
   * @throws VringError `EINVAL` for an empty or out-of-buffer range, `EEXIST` if it overlaps a region,
   * `ERANGE` for an address beyond 2^53.
   */
  addRegion(gpa: number, buffer: MemoryBacking, offset = 0, size = buffer.byteLength - offset): MemoryRegion {
    checkAddress(gpa, 'region address');
    if (
      !Number.isSafeInteger(size) ||
      size <= 0 ||
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      offset + size > buffer.byteLength
    ) {
      throw new VringError(
        'EINVAL',
        `region of ${size} bytes at buffer offset ${offset} does not fit its buffer`,
      );
    }
    checkAddress(gpa + size - 1, 'region end');
    for (const r of this.list) {
      if (gpa < r.gpa + r.size && r.gpa < gpa + size) {
        throw new VringError(
          'EEXIST',
          `region 0x${gpa.toString(16)}+0x${size.toString(16)} overlaps region 0x${r.gpa.toString(16)}`,
        );
      }
    }
    const region: MemoryRegion = {
      gpa,
      size,
      buffer,
      bufferOffset: offset,
      bytes: new Uint8Array(buffer, offset, size),
      view: new DataView(buffer, offset, size),
    };
    this.list.push(region);
    this.list.sort((a, b) => a.gpa - b.gpa);
    this.generation_++;
    return region;
  }

  /**
   * Removes the region that starts at `gpa`.
   * @throws VringError `ENOENT` if no region starts there.
   */
  removeRegion(gpa: number): void {
    const i = this.list.findIndex((r) => r.gpa === gpa);
    if (i < 0) throw new VringError('ENOENT', `no memory region starts at 0x${gpa.toString(16)}`);
    const [removed] = this.list.splice(i, 1);
    if (this.last === removed) this.last = undefined;
    this.generation_++;
  }

  /** The regions, sorted by address. */
  regions(): readonly MemoryRegion[] {
    return this.list;
  }

  /**
   * The region holding all of `[gpa, gpa + len)`, or `undefined`. A `len` of 0 (or less) asks only
   * about `gpa`. Hot paths call this once per segment; it remembers the last hit.
   */
  findRegion(gpa: number, len = 1): MemoryRegion | undefined {
    const end = gpa + (len > 0 ? len : 1);
    const last = this.last;
    if (last !== undefined && gpa >= last.gpa && end <= last.gpa + last.size) return last;
    const list = this.list;
    let lo = 0;
    let hi = list.length - 1;
    // Written so that a NaN address matches no region and still terminates.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = list[mid];
      if (gpa >= r.gpa && gpa < r.gpa + r.size) {
        if (end > r.gpa + r.size) return undefined;
        this.last = r;
        return r;
      }
      if (gpa < r.gpa) hi = mid - 1;
      else lo = mid + 1;
    }
    return undefined;
  }

  /**
   * The region holding `[gpa, gpa + len)`; a `len` of 0 needs `gpa` itself inside a region.
   * @throws VringError `EFAULT` if no single region holds it or `gpa`/`len` are not non-negative integers.
   */
  regionOf(gpa: number, len: number): MemoryRegion {
    const r =
      Number.isSafeInteger(len) && len >= 0 && Number.isSafeInteger(gpa)
        ? this.findRegion(gpa, len)
        : undefined;
    if (r === undefined) {
      throw new VringError(
        'EFAULT',
        `guest range 0x${gpa.toString(16)}+${len} is not inside one memory region`,
      );
    }
    return r;
  }

  /** Copies `dst.length` bytes from `gpa` into `dst`. @throws VringError `EFAULT` */
  read(gpa: number, dst: Uint8Array): void {
    const r = this.regionOf(gpa, dst.length);
    const off = gpa - r.gpa;
    dst.set(r.bytes.subarray(off, off + dst.length));
  }

  /** Copies `src` to `gpa`. @throws VringError `EFAULT` */
  write(gpa: number, src: Uint8Array): void {
    const r = this.regionOf(gpa, src.length);
    r.bytes.set(src, gpa - r.gpa);
  }

  /** Fills `[gpa, gpa + len)` with `value`. @throws VringError `EFAULT` */
  fill(gpa: number, len: number, value = 0): void {
    const r = this.regionOf(gpa, len);
    const off = gpa - r.gpa;
    r.bytes.fill(value, off, off + len);
  }

  /** A view (not a copy) of `[gpa, gpa + len)`. Allocates: control path only. @throws VringError `EFAULT` */
  view(gpa: number, len: number): Uint8Array {
    const r = this.regionOf(gpa, len);
    const off = gpa - r.gpa;
    return r.bytes.subarray(off, off + len);
  }

  /** Reads a byte. @throws VringError `EFAULT` */
  readU8(gpa: number): number {
    const r = this.regionOf(gpa, 1);
    return r.bytes[gpa - r.gpa];
  }

  /** Reads a little-endian u16. @throws VringError `EFAULT` */
  readU16(gpa: number): number {
    const r = this.regionOf(gpa, 2);
    return r.view.getUint16(gpa - r.gpa, true);
  }

  /** Reads a little-endian u32. @throws VringError `EFAULT` */
  readU32(gpa: number): number {
    const r = this.regionOf(gpa, 4);
    return r.view.getUint32(gpa - r.gpa, true);
  }

  /**
   * Reads a little-endian u64 as a number.
   * @throws VringError `EFAULT` out of bounds, `ERANGE` if the value exceeds 2^53 - 1.
   */
  readU64(gpa: number): number {
    const r = this.regionOf(gpa, 8);
    return readU64(r.view, gpa - r.gpa);
  }

  /** Writes a byte. @throws VringError `EFAULT` */
  writeU8(gpa: number, value: number): void {
    const r = this.regionOf(gpa, 1);
    r.bytes[gpa - r.gpa] = value;
  }

  /** Writes a little-endian u16. @throws VringError `EFAULT` */
  writeU16(gpa: number, value: number): void {
    const r = this.regionOf(gpa, 2);
    r.view.setUint16(gpa - r.gpa, value, true);
  }

  /** Writes a little-endian u32. @throws VringError `EFAULT` */
  writeU32(gpa: number, value: number): void {
    const r = this.regionOf(gpa, 4);
    r.view.setUint32(gpa - r.gpa, value >>> 0, true);
  }

  /** Writes a little-endian u64 from a safe integer. @throws VringError `EFAULT`, `ERANGE` */
  writeU64(gpa: number, value: number): void {
    checkAddress(value, 'u64 value');
    const r = this.regionOf(gpa, 8);
    writeU64(r.view, gpa - r.gpa, value);
  }
}

const TWO_32 = 0x1_0000_0000;
/** Largest high word of a u64 that is still a safe integer: 2^53 - 1 = 0x1f_ffff_ffff_ffff. */
const SAFE_U64_HI_MAX = 0x1f_ffff;

/**
 * Reads a little-endian u64 at `off` of `view` as a number, without BigInt.
 * @throws VringError `ERANGE` if the value exceeds 2^53 - 1.
 */
export function readU64(view: DataView, off: number): number {
  const lo = view.getUint32(off, true);
  const hi = view.getUint32(off + 4, true);
  if (hi > SAFE_U64_HI_MAX) {
    throw new VringError(
      'ERANGE',
      `u64 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} exceeds 2^53 - 1`,
    );
  }
  return hi * TWO_32 + lo;
}

/** Writes a safe non-negative integer as a little-endian u64 at `off` of `view`. */
export function writeU64(view: DataView, off: number, value: number): void {
  view.setUint32(off, value >>> 0, true);
  view.setUint32(off + 4, Math.floor(value / TWO_32), true);
}

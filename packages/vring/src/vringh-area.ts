import { VHOST_ACCESS_WO } from '@vdpa-kit/virtio-spec';
import { VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { IotlbAccess, Iotlb } from './iotlb.js';
import { IotlbWindow } from './iotlb-window.js';
import { Iov } from './iov.js';

/** Generation value that never matches an IOTLB's: the area must be checked before use. */
const STALE = -1;

/** A zero-length view used while the area is not direct, so `view` is never null. */
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/** Bytes of a ring index field (`__virtio16`). */
const RING_U16_BYTES = 2;
/** Bit width of a byte, to assemble a little-endian u16 from its bytes. */
const BITS_PER_BYTE = 8;
const BYTE_MASK = 0xff;

/**
 * One ring area of a device-side virtqueue (descriptor table, available ring or used ring) at an IOVA
 * range, accessed as the kernel's IOTLB accessors do: every access translated through the IOTLB
 * (`vringh.c: getu16_iotlb()`, `putu16_iotlb()`, `copydesc_iotlb()`, `putused_iotlb()`), so an area
 * that spans IOTLB entries mapped to non-adjacent memory, or that is only partly mapped, works as far
 * as the accessed fields translate.
 *
 * The common case is kept fast: when the whole area translates, with the area's permission, into one
 * contiguous range of one memory buffer, and (for an area of 16-bit fields) no entry boundary falls
 * inside a 16-bit field, the area is *direct* and {@link view} covers it, so every access is a plain
 * view access. That is checked once, and again only when the IOTLB's or memory's `generation` moves.
 * Otherwise each access goes through the segmented accessors, which keep the last entry∩region
 * window (an {@link IotlbWindow}) so an access inside it looks nothing up.
 *
 * Errors are the kernel's: a 16-bit field answers `EINVAL` (hole), `EPERM` (permission) or `ENOBUFS`
 * (the field spans two IOTLB entries: `getu16_iotlb` translates into one segment); a descriptor read or
 * a used-element write answers `EFAULT` for any failure (`copydesc_iotlb` and `putused_iotlb` turn a
 * short copy into `-EFAULT`). A physical address outside guest memory is `EFAULT`.
 *
 * @example
 * const area = new VringhArea('available ring', VHOST_ACCESS_RO, true);
 * area.configure(0x2000, 518);
 * const idx = area.ensure(tlb, mem) ? area.view.getUint16(2, true) : area.getU16(tlb, mem, 2);
 */
export class VringhArea {
  /** The whole area while {@link ensure} answers true: offset 0 is the area's first byte. */
  view: DataView = EMPTY_VIEW;
  private iova = 0;
  private size = 0;
  private generation = STALE;
  private memGeneration = STALE;
  private direct = false;
  private readonly window = new IotlbWindow();
  private readonly scratch = new Iov(1);

  /**
   * @param what name used in error messages (`descriptor table`, `available ring`, `used ring`)
   * @param access permission every access to the area needs: `VHOST_ACCESS_RO` to read, `VHOST_ACCESS_WO`
   * to write
   * @param u16Fields the area has 16-bit fields read or written one at a time (the available and used
   * rings), which must not span two IOTLB entries to be direct
   */
  constructor(
    readonly what: string,
    readonly access: IotlbAccess,
    private readonly u16Fields: boolean,
  ) {}

  /** Sets the area's IOVA range and marks it for checking. No memory is touched. */
  configure(iova: number, size: number): void {
    this.iova = iova;
    this.size = size;
    this.invalidate();
  }

  /** Forgets the cached translation (after `setIotlb`, or for another IOTLB or memory object). */
  invalidate(): void {
    this.generation = STALE;
    this.memGeneration = STALE;
    this.direct = false;
    this.view = EMPTY_VIEW;
    this.window.clear();
  }

  /**
   * Whether the area is direct for `iotlb` and `mem` ({@link view} is then valid), checking it first
   * if either changed since the last check. Never throws: an area that does not translate is simply
   * not direct, and its accesses report the error.
   */
  ensure(iotlb: Iotlb, mem: GuestMemory): boolean {
    if (this.generation === iotlb.generation && this.memGeneration === mem.generation) return this.direct;
    return this.check(iotlb, mem);
  }

  /**
   * Reads the little-endian u16 at `off` (`getu16_iotlb`).
   * @throws VringError `EINVAL`, `EPERM`, `ENOBUFS`, `EFAULT` (see the class comment)
   */
  getU16(iotlb: Iotlb, mem: GuestMemory, off: number): number {
    const iova = this.iova + off;
    const w = this.window;
    if (w.cover(iotlb, mem, iova, RING_U16_BYTES, this.access)) {
      const b = w.bytes;
      const o = iova + w.delta;
      return b[o] | (b[o + 1] << BITS_PER_BYTE);
    }
    const pa = this.u16Address(iotlb, iova);
    return this.physicalByte(mem, pa, iova) | (this.physicalByte(mem, pa + 1, iova) << BITS_PER_BYTE);
  }

  /**
   * Writes the little-endian u16 `value` at `off` (`putu16_iotlb`).
   * @throws VringError `EINVAL`, `EPERM`, `ENOBUFS`, `EFAULT` (see the class comment)
   */
  putU16(iotlb: Iotlb, mem: GuestMemory, off: number, value: number): void {
    const iova = this.iova + off;
    const w = this.window;
    if (w.cover(iotlb, mem, iova, RING_U16_BYTES, this.access)) {
      const b = w.bytes;
      const o = iova + w.delta;
      b[o] = value & BYTE_MASK;
      b[o + 1] = (value >>> BITS_PER_BYTE) & BYTE_MASK;
      return;
    }
    const pa = this.u16Address(iotlb, iova);
    // Both bytes are checked before either is written.
    const lo = this.physicalRegion(mem, pa, iova);
    const hi = this.physicalRegion(mem, pa + 1, iova);
    lo.bytes[pa - lo.gpa] = value & BYTE_MASK;
    hi.bytes[pa + 1 - hi.gpa] = (value >>> BITS_PER_BYTE) & BYTE_MASK;
  }

  /**
   * Copies `len` bytes at `off` into `dst` (`copydesc_iotlb`).
   * @throws VringError `EFAULT` for any translation failure (the cause names it)
   */
  read(iotlb: Iotlb, mem: GuestMemory, off: number, dst: Uint8Array, len: number): void {
    const iova = this.iova + off;
    const w = this.window;
    if (w.cover(iotlb, mem, iova, len, this.access)) {
      const b = w.bytes;
      const o = iova + w.delta;
      for (let k = 0; k < len; k++) dst[k] = b[o + k];
      return;
    }
    this.segments(iotlb, mem, iova, len).pull(dst, 0, len);
  }

  /**
   * Copies `len` bytes of `src` to `off` (`putused_iotlb`).
   * @throws VringError `EFAULT` for any translation failure (the cause names it)
   */
  write(iotlb: Iotlb, mem: GuestMemory, off: number, src: Uint8Array, len: number): void {
    const iova = this.iova + off;
    const w = this.window;
    if (w.cover(iotlb, mem, iova, len, this.access)) {
      const b = w.bytes;
      const o = iova + w.delta;
      for (let k = 0; k < len; k++) b[o + k] = src[k];
      return;
    }
    this.segments(iotlb, mem, iova, len).push(src, 0, len);
  }

  /**
   * Decides whether the area is direct: every address translated by an entry granting the access,
   * into one contiguous range of one region's buffer, with no entry boundary splitting a u16 field.
   */
  private check(iotlb: Iotlb, mem: GuestMemory): boolean {
    this.invalidate();
    this.generation = iotlb.generation;
    this.memGeneration = mem.generation;
    const first = this.iova;
    const end = first + this.size;
    let bytes: Uint8Array | undefined;
    let base = 0;
    for (let at = first; at < end;) {
      const e = iotlb.entryAt(at);
      if (e === undefined || (e.perm & this.access) === 0) return false;
      // A 16-bit field split by an entry boundary is ENOBUFS for the kernel's accessors.
      if (this.u16Fields && ((at - first) & 1) !== 0) return false;
      const inEntry = e.last - at + 1;
      const n = end - at < inEntry ? end - at : inEntry;
      const pa = at + e.delta;
      const r = mem.findRegion(pa, n);
      if (r === undefined) return false;
      if (bytes === undefined) {
        bytes = r.bytes;
        base = pa - r.gpa;
      } else if (r.bytes !== bytes || pa - r.gpa !== base + (at - first)) {
        return false;
      }
      at += n;
    }
    if (bytes === undefined) return false;
    this.view = new DataView(bytes.buffer, bytes.byteOffset + base, this.size);
    this.direct = true;
    return true;
  }

  /** The physical address of a u16 field at `iova`, as `iotlb_translate` into one segment finds it. */
  private u16Address(iotlb: Iotlb, iova: number): number {
    const e = iotlb.entryAt(iova);
    if (e === undefined) throw this.error('EINVAL', `iova 0x${iova.toString(16)} is not mapped`);
    if ((e.perm & this.access) === 0) {
      throw this.error(
        'EPERM',
        `iova 0x${iova.toString(16)} is mapped without ${this.accessName()} permission`,
      );
    }
    if (e.last < iova + 1) {
      throw this.error('ENOBUFS', `16-bit field at iova 0x${iova.toString(16)} spans two iotlb entries`);
    }
    return iova + e.delta;
  }

  private physicalRegion(mem: GuestMemory, pa: number, iova: number): { bytes: Uint8Array; gpa: number } {
    const r = mem.findRegion(pa, 1);
    if (r === undefined) {
      throw this.error(
        'EFAULT',
        `physical address 0x${pa.toString(16)} (iova 0x${iova.toString(16)}) is outside guest memory`,
      );
    }
    return r;
  }

  private physicalByte(mem: GuestMemory, pa: number, iova: number): number {
    const r = this.physicalRegion(mem, pa, iova);
    return r.bytes[pa - r.gpa];
  }

  /** `[iova, iova + len)` translated into the scratch list; any failure is `EFAULT`. */
  private segments(iotlb: Iotlb, mem: GuestMemory, iova: number, len: number): Iov {
    const iov = this.scratch;
    iov.reset();
    try {
      iotlb.translate(iova, len, this.access, mem, iov);
    } catch (err) {
      if (err instanceof VringError) {
        throw this.error('EFAULT', `${len} bytes at iova 0x${iova.toString(16)}: ${err.message}`, err);
      }
      throw err;
    }
    return iov;
  }

  private accessName(): string {
    return this.access === VHOST_ACCESS_WO ? 'write' : 'read';
  }

  private error(
    code: 'EINVAL' | 'EPERM' | 'ENOBUFS' | 'EFAULT',
    message: string,
    cause?: unknown,
  ): VringError {
    return new VringError(
      code,
      `${this.what} at iova 0x${this.iova.toString(16)}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

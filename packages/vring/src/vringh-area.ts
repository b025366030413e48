import { VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { IotlbAccess, Iotlb } from './iotlb.js';
import { Iov } from './iov.js';

/** Generation value that never matches an IOTLB's: the area must be translated before use. */
const STALE = -1;

/** A zero-length view used before the first translation, so `view` is never null. */
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/**
 * One ring area of a device-side virtqueue (descriptor table, available ring or used ring): an IOVA
 * range translated once through the IOTLB into a cached `DataView` of guest memory, and translated again
 * only when the IOTLB's or guest memory's `generation` changes (an entry or a region added or removed).
 * Ring accesses then index `view` directly, so the hot path does no per-access lookup.
 *
 * Limitation: the area must translate to one contiguous range of one guest-memory region (contiguous
 * IOTLB entries that map to adjacent physical memory are fine). An area that the IOTLB scatters over
 * discontiguous memory is refused with `EFAULT` rather than read piecewise.
 *
 * @example
 * const area = new VringhArea('available ring', VHOST_ACCESS_RO);
 * area.configure(0x2000, 518);
 * const idx = area.ensure(tlb, mem).getUint16(2, true);
 */
export class VringhArea {
  /** The translated area: offset 0 is the area's first byte, `byteLength` its size. */
  view: DataView = EMPTY_VIEW;
  private iova = 0;
  private size = 0;
  private generation = STALE;
  private memGeneration = STALE;
  private readonly scratch = new Iov(1);

  /**
   * @param what name used in error messages (`descriptor table`, `available ring`, `used ring`)
   * @param access permission every access to the area needs: `VHOST_ACCESS_RO` to read, `VHOST_ACCESS_WO`
   * to write
   */
  constructor(
    readonly what: string,
    readonly access: IotlbAccess,
  ) {}

  /** Sets the area's IOVA range and marks it for translation. No memory is touched. */
  configure(iova: number, size: number): void {
    this.iova = iova;
    this.size = size;
    this.invalidate();
  }

  /** Forgets the cached translation (after `setIotlb`, or for another IOTLB or memory object). */
  invalidate(): void {
    this.generation = STALE;
    this.memGeneration = STALE;
    this.view = EMPTY_VIEW;
  }

  /**
   * The cached view, translating the area first if `iotlb` or `mem` changed since the last translation.
   *
   * @param iotlb the address space the area's IOVAs live in
   * @param mem guest memory the IOTLB maps into
   * @returns a DataView of exactly the area
   * @throws VringError `EINVAL` when part of the area is not mapped, `EPERM` when a mapping lacks the
   * permission, `EFAULT` when it maps outside guest memory or onto discontiguous memory. The area stays
   * untranslated, so the next call tries again.
   */
  ensure(iotlb: Iotlb, mem: GuestMemory): DataView {
    if (this.generation === iotlb.generation && this.memGeneration === mem.generation) return this.view;
    return this.translate(iotlb, mem);
  }

  private translate(iotlb: Iotlb, mem: GuestMemory): DataView {
    this.invalidate();
    const iov = this.scratch;
    iov.reset();
    try {
      iotlb.translate(this.iova, this.size, this.access, mem, iov);
    } catch (err) {
      if (err instanceof VringError) {
        throw new VringError(err.code, `${this.what} at iova 0x${this.iova.toString(16)}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    if (iov.count !== 1 || iov.lens[0] !== this.size) {
      throw new VringError(
        'EFAULT',
        `${this.what} at iova 0x${this.iova.toString(16)} (${this.size} bytes) is not contiguous in guest memory`,
      );
    }
    const bytes = iov.bufs[0];
    this.view = new DataView(bytes.buffer, bytes.byteOffset + iov.offs[0], this.size);
    this.generation = iotlb.generation;
    this.memGeneration = mem.generation;
    return this.view;
  }
}

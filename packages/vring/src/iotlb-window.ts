import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';

/** An empty window: `start > last`, so no address is inside. */
const EMPTY_START = 1;
const EMPTY_LAST = 0;
const EMPTY_BYTES = new Uint8Array(0);
/** What an empty window was loaded from: no batch translates through these two. */
const NO_IOTLB = new Iotlb();
const NO_MEMORY = new GuestMemory();

/**
 * A range of IOVAs that one IOTLB entry maps into one guest-memory region: inside it, translating
 * `[iova, iova + len)` for an access the entry permits is `bytes[iova + delta, iova + delta + len)`,
 * exactly what `Iotlb.translate` gives. A batch translator (`VringhLoopback`) checks each buffer
 * with {@link cover}, which {@link refresh}es on a miss.
 *
 * A window lies in the part of its entry that the entry translates (`IotlbEntry.from` onwards: past
 * every lower-starting entry overlapping it), so a buffer inside the window translates through that
 * entry whatever its address, overlaps or not. Valid until the IOTLB or the memory
 * regions change: a batch starts with {@link revalidate} (as `VringhLoopback`'s passes do), which
 * keeps the window only when it was loaded from the same IOTLB and memory and neither's `generation`
 * has moved since, or with {@link clear}.
 *
 * @example
 * const w = new IotlbWindow();
 * if (w.cover(tlb, mem, addr, len, VHOST_ACCESS_RO)) use(w.bytes, addr + w.delta);
 */
export class IotlbWindow {
  /** First IOVA of the window. */
  start = EMPTY_START;
  /** Last IOVA of the window (inclusive). */
  last = EMPTY_LAST;
  /** Added to an IOVA inside the window, gives its offset in {@link bytes}. */
  delta = 0;
  /** The entry's permission bits (`VHOST_ACCESS_RO` / `VHOST_ACCESS_WO`). */
  perm = 0;
  /** Byte view of the region the window lies in. */
  bytes: Uint8Array = EMPTY_BYTES;
  /**
   * The IOTLB and memory the window was loaded from, and their generations then; an empty window
   * holds placeholders of the same classes (fields that always hold one class keep the hot path
   * monomorphic).
   */
  private iotlb: Iotlb = NO_IOTLB;
  private iotlbGeneration = 0;
  private mem: GuestMemory = NO_MEMORY;
  private memGeneration = 0;

  /**
   * Whether `[iova, iova + len)` (len ≥ 1) lies in the window and its entry grants `need`. Small
   * enough to be inlined in a batch loop.
   */
  holds(iova: number, len: number, need: number): boolean {
    return iova >= this.start && iova <= this.last - len + 1 && (this.perm & need) !== 0;
  }

  /**
   * {@link holds}, moving the window to `iova`'s entry first when it does not: the per-buffer check
   * of a batch translator. When it returns true, the buffer is `bytes[iova + delta, + len)`.
   * @returns false when no window holds the buffer (the caller takes the general translation, which
   * reports the error). An entry that lacks `need` is not left in the window: after a refusal the
   * window is empty or its entry grants `need`, so a window only ever covered for one access (as each
   * of `VringhLoopback`'s) holds bounds valid for that access.
   */
  cover(iotlb: Iotlb, mem: GuestMemory, iova: number, len: number, need: number): boolean {
    if (this.holds(iova, len, need)) return true;
    this.refresh(iotlb, mem, iova);
    if (this.holds(iova, len, need)) return true;
    if ((this.perm & need) === 0) this.clear();
    return false;
  }

  /**
   * Keeps the window for a new batch over `iotlb` and `mem` when it was loaded from these two and
   * neither has changed since (their generations); empties it otherwise. Either way {@link holds}
   * is then exact for them.
   */
  revalidate(iotlb: Iotlb, mem: GuestMemory): void {
    if (
      this.iotlb !== iotlb ||
      this.iotlbGeneration !== iotlb.generation ||
      this.mem !== mem ||
      this.memGeneration !== mem.generation
    ) {
      this.clear();
    }
  }

  /** Empties the window. */
  clear(): void {
    this.start = EMPTY_START;
    this.last = EMPTY_LAST;
    this.delta = 0;
    this.perm = 0;
    this.bytes = EMPTY_BYTES;
    this.iotlb = NO_IOTLB;
    this.mem = NO_MEMORY;
  }

  /**
   * Makes the window the part of the entry holding `iova` that lies in the region holding its
   * physical address.
   * @returns false, with the window empty, when there is no such entry or region (the caller then
   * takes the general translation, which reports the error)
   */
  refresh(iotlb: Iotlb, mem: GuestMemory, iova: number): boolean {
    const e = iotlb.entryAt(iova);
    const r = e === undefined ? undefined : mem.findRegion(iova + e.delta, 1);
    if (e === undefined || r === undefined) {
      this.clear();
      return false;
    }
    // The IOVAs the entry translates ([e.from, e.last]) whose physical address lies in the region.
    const regionFirst = r.gpa - e.delta;
    const regionLast = r.gpa + r.size - 1 - e.delta;
    this.start = e.from > regionFirst ? e.from : regionFirst;
    this.last = e.last < regionLast ? e.last : regionLast;
    this.delta = e.delta - r.gpa;
    this.perm = e.perm;
    this.bytes = r.bytes;
    this.iotlb = iotlb;
    this.iotlbGeneration = iotlb.generation;
    this.mem = mem;
    this.memGeneration = mem.generation;
    return true;
  }
}

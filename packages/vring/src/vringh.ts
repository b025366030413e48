import {
  U16_MASK,
  VHOST_ACCESS_RO,
  VHOST_ACCESS_WO,
  VIRTQ_AVAIL_ELEM_SIZE,
  VIRTQ_AVAIL_FLAGS_OFF,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_AVAIL_IDX_OFF,
  VIRTQ_AVAIL_RING_OFF,
  VIRTQ_DESC_ADDR_OFF,
  VIRTQ_DESC_FLAGS_OFF,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
  VIRTQ_USED_FLAGS_OFF,
  VIRTQ_USED_F_NO_NOTIFY,
  VIRTQ_USED_IDX_OFF,
  VIRTQ_USED_RING_OFF,
  vringAvailEventOffset,
  vringAvailSize,
  vringDescSize,
  vringNeedEvent,
  vringUsedEventOffset,
  vringUsedSize,
} from '@vdpa-kit/virtio-spec';
import { VringError, checkAddress } from './errors.js';
import { GuestMemory } from './guest-memory.js';
import { Iotlb } from './iotlb.js';
import type { Iov } from './iov.js';
import { checkQueueSize } from './split-ring-layout.js';
import { VringhArea } from './vringh-area.js';
import { VringhChain } from './vringh-chain.js';
import { VringhRingState } from './vringh-ring-state.js';
import type { DeviceVirtqueue } from './vringh-device-virtqueue.js';

/** Ring indices wrap modulo 2^16 (§2.7): a module-local copy of `U16_MASK`. */
const IDX_MASK = U16_MASK;

/** A generation no IOTLB or memory has: the batch state's views must be translated first. */
const STATE_STALE = -1;
/** Whether typed arrays read the ring's little-endian fields as they are (the batch state needs it). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Offset of the high 32-bit word inside a little-endian u64. */
const U64_HI_OFF = 4;

// Module-local copies of the layout constants the datapath uses. An imported binding is a live module
// cell that optimised code loads and checks on every use; a local `const` folds to an immediate.
const AVAIL_FLAGS = VIRTQ_AVAIL_FLAGS_OFF;
const AVAIL_IDX = VIRTQ_AVAIL_IDX_OFF;
const AVAIL_RING = VIRTQ_AVAIL_RING_OFF;
const AVAIL_ELEM = VIRTQ_AVAIL_ELEM_SIZE;
const USED_IDX = VIRTQ_USED_IDX_OFF;
const USED_RING = VIRTQ_USED_RING_OFF;
const USED_ELEM = VIRTQ_USED_ELEM_SIZE;
const USED_ID = VIRTQ_USED_ELEM_ID_OFF;
const USED_LEN = VIRTQ_USED_ELEM_LEN_OFF;
const F_NO_INTERRUPT = VIRTQ_AVAIL_F_NO_INTERRUPT;
const DESC_SIZE = VIRTQ_DESC_SIZE;
const DESC_ADDR_LO = VIRTQ_DESC_ADDR_OFF;
const DESC_ADDR_HI = VIRTQ_DESC_ADDR_OFF + U64_HI_OFF;
const DESC_LEN = VIRTQ_DESC_LEN_OFF;
const DESC_FLAGS = VIRTQ_DESC_FLAGS_OFF;
const F_NEXT = VIRTQ_DESC_F_NEXT;
const F_WRITE = VIRTQ_DESC_F_WRITE;
const F_INDIRECT = VIRTQ_DESC_F_INDIRECT;

/** Options of {@link Vringh.init} (`vringh_init_iotlb`). */
export interface VringhInitOptions {
  /** Queue size: a power of two in 1..32768 (§2.7). */
  readonly num: number;
  /** IOVA of the descriptor table (16·num bytes, needs read permission). */
  readonly descAddr: number;
  /** IOVA of the available ring (4 + 2·num bytes, + 2 with EVENT_IDX; needs read permission). */
  readonly availAddr: number;
  /** IOVA of the used ring (4 + 8·num bytes, + 2 with EVENT_IDX; needs write permission). */
  readonly usedAddr: number;
  /** `VIRTIO_RING_F_EVENT_IDX` was negotiated: use `used_event` / `avail_event` (§2.7.10). */
  readonly eventIdx: boolean;
  /** Guest memory the IOTLB maps into. */
  readonly mem: GuestMemory;
  /** Address space of the ring and of every buffer. */
  readonly iotlb: Iotlb;
}

/**
 * The device side of a split virtqueue (the kernel's `vringh` with IOTLB accessors, `vringh.c`:
 * `vringh_init_iotlb()`, `vringh_getdesc_iotlb()`, `vringh_complete_iotlb()`): takes chains the
 * driver made available, translates their buffers through the IOTLB into readable and writable
 * {@link Iov} lists, puts completed chains on the used ring and applies the notification
 * suppression rules.
 *
 * Ring areas are IOVAs, and every ring access is translated through the IOTLB as the kernel's IOTLB
 * accessors do (descriptor table and available ring with `VHOST_ACCESS_RO`, used ring with
 * `VHOST_ACCESS_WO`), so a ring area may span IOTLB entries mapped anywhere. An area that translates
 * whole into one contiguous memory range is accessed through one cached view, checked again only when
 * the IOTLB's or guest memory's generation moves (see {@link VringhArea}). Buffers are translated per
 * descriptor, readable ones with `VHOST_ACCESS_RO`, writable ones with `VHOST_ACCESS_WO`, so no copy
 * ever leaves what the IOTLB grants.
 *
 * Bad guest input is a `VringError`, never another exception, an out-of-bounds access or a hang:
 * `EINVAL` (bad head, next, indirect table, ordering, unmapped IOVA), `ELOOP` (loops, chains longer
 * than the queue), `EPROTO` (a buffer kind the caller gave no list for), `EPERM` (missing
 * permission), `EFAULT` (a descriptor or used element that does not translate, memory outside guest
 * memory), `ENOBUFS` (a 16-bit ring field split over two IOTLB entries). Nothing is allocated per chain
 * or per descriptor.
 *
 * Only little-endian (VERSION_1) rings are handled. Memory ordering across threads: the accesses are
 * plain DataView and typed-array reads and writes; a device in a worker must synchronise with the
 * driver through the doorbell's `Atomics` operations (which order everything before them), as the
 * kernel's barriers do.
 *
 * @example
 * const vrh = new Vringh();
 * vrh.init({ num: 256, descAddr, availAddr, usedAddr, eventIdx: true, mem, iotlb: Iotlb.identity() });
 * const riov = new Iov();
 * const wiov = new Iov();
 * for (let head = vrh.getdesc(riov, wiov); head >= 0; head = vrh.getdesc(riov, wiov)) {
 *   const n = vrh.pull(riov, scratch);
 *   vrh.complete(head, vrh.push(wiov, scratch, n));
 * }
 * if (vrh.needNotify()) raiseInterrupt();
 */
export class Vringh implements DeviceVirtqueue {
  private size = 0;
  private mask = 0;
  private eventIdx = false;
  private mem = new GuestMemory();
  private iotlb = new Iotlb();
  private lastAvail = 0;
  private lastUsed = 0;
  /** Chains completed since the last {@link needNotify} (`vrh->completed`). */
  private completed = 0;

  private readonly desc = new VringhArea('descriptor table', VHOST_ACCESS_RO, false);
  private readonly avail = new VringhArea('available ring', VHOST_ACCESS_RO, true);
  // Kernel quirk, not reproduced: vringh's IOTLB accessors translate used-element writes with
  // VHOST_ACCESS_WO but 16-bit index writes (used->idx, used->flags, avail_event, via putu16) with
  // VHOST_ACCESS_RO, so on a write-only used ring the index writes fail and on a read-only one they
  // succeed. Here every used-ring write needs VHOST_ACCESS_WO.
  private readonly used = new VringhArea('used ring', VHOST_ACCESS_WO, true);
  /** A used element as written when the used ring is not direct. */
  private readonly usedElemBytes = new Uint8Array(USED_ELEM);
  private readonly usedElemView = new DataView(this.usedElemBytes.buffer);
  private readonly chain = new VringhChain();
  private readonly ringState = new VringhRingState();
  /**
   * The IOTLB's and memory's `generation` when {@link ringState}'s views were last set, or
   * STATE_STALE: while both still match, a batch skips the three area checks.
   */
  private stateIotlbGeneration = STATE_STALE;
  private stateMemGeneration = STATE_STALE;

  /**
   * Sets up the ring (`vringh_init_iotlb`): size, area addresses, EVENT_IDX, memory and IOTLB; zeroes
   * `lastAvailIdx`, `lastUsedIdx` and the completion count. No ring memory is touched: areas are
   * translated on first use. Alignment is not checked (the kernel's vringh does not either).
   *
   * @throws VringError `EINVAL` for a queue size that is not a power of two in 1..32768 (`queue size
   * 300 is not a power of two`), `ERANGE` for an area beyond 2^53.
   * @example
   * vrh.init({ num: 256, descAddr: 0x1000, availAddr: 0x2000, usedAddr: 0x3000, eventIdx: false, mem, iotlb });
   */
  init(options: VringhInitOptions): void {
    const { num, descAddr, availAddr, usedAddr, eventIdx, mem, iotlb } = options;
    checkQueueSize(num);
    const availSize = eventIdx ? vringAvailSize(num) : vringUsedEventOffset(num);
    const usedSize = eventIdx ? vringUsedSize(num) : vringAvailEventOffset(num);
    checkArea(descAddr, vringDescSize(num), 'descriptor table');
    checkArea(availAddr, availSize, 'available ring');
    checkArea(usedAddr, usedSize, 'used ring');
    this.size = num;
    this.mask = num - 1;
    this.eventIdx = eventIdx;
    this.mem = mem;
    this.iotlb = iotlb;
    this.stateIotlbGeneration = STATE_STALE;
    this.lastAvail = 0;
    this.lastUsed = 0;
    this.completed = 0;
    this.desc.configure(descAddr, vringDescSize(num));
    this.avail.configure(availAddr, availSize);
    this.used.configure(usedAddr, usedSize);
  }

  /** Queue size given to {@link init} (0 before). */
  get num(): number {
    return this.size;
  }

  /**
   * Replaces the IOTLB (`vringh_set_iotlb`, e.g. after `set_group_asid`); cached areas are translated
   * again on next use.
   */
  setIotlb(iotlb: Iotlb): void {
    this.iotlb = iotlb;
    this.stateIotlbGeneration = STATE_STALE;
    this.desc.invalidate();
    this.avail.invalidate();
    this.used.invalidate();
  }

  /**
   * Index of the next available entry {@link getdesc} takes (`last_avail_idx`; `get_vq_state` /
   * `set_vq_state`).
   * @throws VringError `ERANGE` on set unless an integer in 0..65535.
   */
  get lastAvailIdx(): number {
    return this.lastAvail;
  }

  set lastAvailIdx(value: number) {
    this.lastAvail = checkU16(value, 'last avail idx');
  }

  /**
   * Used index as of the last {@link needNotify} (`last_used_idx`); {@link complete} writes entries
   * from `lastUsedIdx + completed`. Setting it leaves the completion count alone, as the kernel does (a
   * simulator sets it to `lastAvailIdx` when a queue becomes ready).
   * @throws VringError `ERANGE` on set unless an integer in 0..65535.
   */
  get lastUsedIdx(): number {
    return this.lastUsed;
  }

  set lastUsedIdx(value: number) {
    this.lastUsed = checkU16(value, 'last used idx');
  }

  /**
   * The driver's available index (`avail->idx`).
   * @throws VringError if the available ring does not translate, or `EINVAL` before {@link init}.
   */
  availIdx(): number {
    if (this.size === 0) throw notInitialised();
    return this.availU16(AVAIL_IDX);
  }

  /**
   * True when `avail->idx` differs from `lastAvailIdx`: {@link getdesc} has a chain (or an error) to
   * return.
   * @throws VringError as {@link availIdx}.
   */
  hasWork(): boolean {
    return this.availIdx() !== this.lastAvail;
  }

  /**
   * Takes the next available chain (`vringh_getdesc_iotlb`). Resets both lists, then, if the driver
   * made an entry available with a head below the queue size, consumes it (`lastAvailIdx` moves on
   * *before* the chain is walked, so a bad chain is skipped rather than retried forever) and gathers its
   * buffers: readable ones into `riov`, writable ones into `wiov`. Zero-length descriptors are accepted
   * and add nothing. How far `avail->idx` moved is not checked (`__vringh_get_head()` does not either).
   *
   * @param riov list for the device-readable buffers, or `null` when this queue has none
   * @param wiov list for the device-writable buffers, or `null` when this queue has none
   * @returns the head descriptor id (≥ 0), or -1 when the ring is empty
   * @throws VringError, leaving the lists partly filled. Nothing is consumed for an error in
   * `avail->idx` or the ring entry, nor for a head ≥ num (`__vringh_get_head()`); the chain is
   * consumed for any later error:
   * - `EINVAL`: head ≥ num; both lists `null`; `next` beyond the table; an indirect table whose length
   *   is not a multiple of 16; an indirect descriptor inside an indirect table; a readable descriptor
   *   after a writable one; a chain longer than 2^32 − 1 bytes; an unmapped buffer (within the list's
   *   `Iov.limit`: bytes past it are walked, not translated); an unmapped available ring
   *   (`getu16_iotlb`).
   * - `ELOOP`: more descriptors than the queue size (indirect ones included), or than an indirect
   *   table's entries.
   * - `EPROTO`: a readable (writable) descriptor when `riov` (`wiov`) is `null`.
   * - `EPERM`: a buffer or the available ring mapped without the permission it needs.
   * - `EFAULT`: a descriptor that does not translate (`copydesc_iotlb`), a mapping pointing outside
   *   guest memory.
   * - `ENOBUFS`: `avail->idx` or the ring entry split over two IOTLB entries.
   * @example
   * const head = vrh.getdesc(riov, wiov);
   * if (head >= 0) vrh.complete(head, vrh.push(wiov, reply));
   */
  getdesc(riov: Iov | null, wiov: Iov | null): number {
    if (riov !== null) riov.reset();
    if (wiov !== null) wiov.reset();
    const num = this.size;
    if (num === 0) throw notInitialised();
    const iotlb = this.iotlb;
    const mem = this.mem;
    const avail = this.avail;
    const availDirect = avail.ensure(iotlb, mem);
    const last = this.lastAvail;
    const idx = availDirect ? avail.view.getUint16(AVAIL_IDX, true) : avail.getU16(iotlb, mem, AVAIL_IDX);
    if (idx === last) return -1;
    // The ring entry is read only after the index that published it (the kernel's read barrier here).
    const slot = last & this.mask;
    const slotOff = AVAIL_RING + slot * AVAIL_ELEM;
    const head = availDirect ? avail.view.getUint16(slotOff, true) : avail.getU16(iotlb, mem, slotOff);
    // A bad head is not consumed (`__vringh_get_head()` moves last_avail_idx only past a good one).
    if (head >= num) throw badHeadError(head, slot, num);
    this.lastAvail = (last + 1) & IDX_MASK;
    if (riov === null && wiov === null) throw noListsError(head);
    const desc = this.desc;
    const direct = desc.ensure(iotlb, mem);
    if (direct) {
      // Fast path, the usual chain of one direct, non-empty descriptor below 4 GiB: nothing of the
      // walk's rules can fail, only the translation. Any other chain, and a kind of buffer the caller
      // has no list for, takes the full walk.
      const table = desc.view;
      const off = head * DESC_SIZE;
      const flags = table.getUint16(off + DESC_FLAGS, true);
      if ((flags & (F_NEXT | F_INDIRECT)) === 0) {
        const write = (flags & F_WRITE) !== 0;
        const iov = write ? wiov : riov;
        const len = table.getUint32(off + DESC_LEN, true);
        if (iov !== null && len !== 0 && table.getUint32(off + DESC_ADDR_HI, true) === 0) {
          const addr = table.getUint32(off + DESC_ADDR_LO, true);
          const n = len < iov.limit ? len : iov.limit;
          if (n > 0) iotlb.translate(addr, n, write ? VHOST_ACCESS_WO : VHOST_ACCESS_RO, mem, iov);
          return head;
        }
      }
    }
    this.chain.gather(desc, direct, num, head, riov, wiov, iotlb, mem);
    return head;
  }

  /**
   * Copies up to `len` bytes (default and at most `dst.length`) out of `riov` into `dst`, consuming
   * them (`vringh_iov_pull_iotlb`).
   * @returns bytes copied
   */
  pull(riov: Iov, dst: Uint8Array, len = dst.length): number {
    return riov.pull(dst, 0, len < dst.length ? len : dst.length);
  }

  /**
   * Copies up to `len` bytes (default and at most `src.length`) of `src` into `wiov`, consuming them
   * (`vringh_iov_push_iotlb`).
   * @returns bytes copied
   */
  push(wiov: Iov, src: Uint8Array, len = src.length): number {
    return wiov.push(src, 0, len < src.length ? len : src.length);
  }

  /**
   * Puts chain `head` on the used ring with `len` bytes written (`vringh_complete_iotlb`): writes the
   * element at slot `(lastUsedIdx + completed) % num`, then `used->idx`. Call {@link needNotify} after
   * a batch.
   *
   * @param head the id {@link getdesc} returned
   * @param len bytes written into the chain's writable buffers
   * @throws VringError `EINVAL` for a head not below the queue size (a device bug), `ERANGE` for a
   * length that is not a u32, or a used-ring translation error (`EPERM` without write permission).
   * @example
   * vrh.complete(head, written);
   */
  complete(head: number, len: number): void {
    if (this.size === 0) throw notInitialised();
    this.checkCompletion(head, len);
    const next = this.lastUsed + this.completed;
    const off = USED_RING + (next & this.mask) * USED_ELEM;
    const used = this.used;
    const iotlb = this.iotlb;
    const mem = this.mem;
    // The element must be visible before the index that publishes it (the kernel's write barrier);
    // the completion counts only once both are written (`__vringh_complete()`).
    if (used.ensure(iotlb, mem)) {
      const view = used.view;
      view.setUint32(off + USED_ID, head, true);
      view.setUint32(off + USED_LEN, len, true);
      view.setUint16(USED_IDX, (next + 1) & IDX_MASK, true);
    } else {
      const elem = this.usedElemView;
      elem.setUint32(USED_ID, head, true);
      elem.setUint32(USED_LEN, len, true);
      used.write(iotlb, mem, off, this.usedElemBytes, USED_ELEM);
      used.putU16(iotlb, mem, USED_IDX, (next + 1) & IDX_MASK);
    }
    this.completed++;
  }

  /**
   * Whether the driver wants an interrupt for the chains completed since the last call
   * (`vringh_need_notify_iotlb`), and the end of that batch: `lastUsedIdx += completed`, completed = 0.
   * Without EVENT_IDX: unless `avail->flags` has `VIRTQ_AVAIL_F_NO_INTERRUPT` (even when nothing was
   * completed). With EVENT_IDX: `vringNeedEvent(used_event, lastUsedIdx + completed, lastUsedIdx)`, or
   * always after more than 65535 completions, where the u16 window no longer tells.
   *
   * @throws VringError if the available ring does not translate.
   * @example
   * if (vrh.needNotify()) raiseInterrupt();
   */
  needNotify(): boolean {
    if (this.size === 0) throw notInitialised();
    const old = this.lastUsed;
    const completed = this.completed;
    // The used index written by complete() must be visible before the driver's threshold is read.
    let notify: boolean;
    if (!this.eventIdx) {
      notify = (this.availU16(AVAIL_FLAGS) & F_NO_INTERRUPT) === 0;
    } else {
      // used_event is read (and its error reported) even when the count alone decides.
      const usedEvent = this.availU16(vringUsedEventOffset(this.size));
      notify = completed > IDX_MASK || vringNeedEvent(usedEvent, (old + completed) & IDX_MASK, old);
    }
    // The kernel returns early without EVENT_IDX and leaves last_used_idx behind; the slots complete()
    // writes are the same either way, and this keeps lastUsedIdx equal to used->idx after a batch.
    this.lastUsed = (old + completed) & IDX_MASK;
    this.completed = 0;
    return notify;
  }

  /**
   * Asks the driver to kick again (`vringh_notify_enable_iotlb`): with EVENT_IDX writes
   * `avail_event = lastAvailIdx`, without it clears `used->flags`; then looks at `avail->idx` again.
   *
   * @returns true when the ring is still empty, false when the driver added buffers meanwhile (process
   * them, and call this again before sleeping)
   * @throws VringError if the used or available ring does not translate.
   */
  notifyEnable(): boolean {
    if (this.size === 0) throw notInitialised();
    if (this.eventIdx) this.usedPutU16(vringAvailEventOffset(this.size), this.lastAvail);
    else this.usedPutU16(VIRTQ_USED_FLAGS_OFF, 0);
    // The write above must be visible before avail->idx is read again (the kernel's full barrier), or a
    // kick sent in between is lost.
    return this.availU16(AVAIL_IDX) === this.lastAvail;
  }

  /**
   * Tells the driver not to kick while the device polls (`vringh_notify_disable_iotlb`): without
   * EVENT_IDX sets `VIRTQ_USED_F_NO_NOTIFY` in `used->flags`; with EVENT_IDX does nothing (the driver
   * kicks only when it passes `avail_event`).
   * @throws VringError if the used ring does not translate.
   */
  notifyDisable(): void {
    if (this.size === 0) throw notInitialised();
    if (this.eventIdx) return;
    this.usedPutU16(VIRTQ_USED_FLAGS_OFF, VIRTQ_USED_F_NO_NOTIFY);
  }

  /**
   * The ring as a datapath primitive working on several chains at once sees it (see
   * {@link VringhRingState}): the three areas translated, the indices, the address space. Nothing is
   * consumed or completed until {@link commitRingState}. The object is reused by every call.
   * @returns the state, or undefined before {@link init}, when an area is not direct (not translated
   * whole into one contiguous view: the per-chain calls then access it field by field, or report its
   * error), or when an area is not placed in its memory buffer at a
   * multiple of its word size (2 bytes for the available ring, 4 for the others), or on a big-endian
   * host (the per-chain calls then take every chain)
   */
  ringStateForBatch(): VringhRingState | undefined {
    if (this.size === 0) return undefined;
    const st = this.ringState;
    const iotlb = this.iotlb;
    const mem = this.mem;
    // The views are translated again only when the IOTLB or memory changed since they were set
    // (init and setIotlb, which replace either object, make the state stale too).
    // A word array of length 0 is over a buffer detached since (transferred away): the views are made
    // again, which throws the TypeError a DataView access would.
    if (
      this.stateIotlbGeneration !== iotlb.generation ||
      this.stateMemGeneration !== mem.generation ||
      st.availWords.length === 0 ||
      st.descWords.length === 0 ||
      st.usedWords.length === 0
    ) {
      // An area that is not direct (not contiguous, not wholly mapped) is for the per-chain calls.
      if (!(this.avail.ensure(iotlb, mem) && this.desc.ensure(iotlb, mem) && this.used.ensure(iotlb, mem))) {
        return undefined;
      }
      st.avail = this.avail.view;
      st.desc = this.desc.view;
      st.used = this.used.view;
      // Word arrays need the areas aligned in their buffer (and a little-endian host to read them).
      const avail = st.avail;
      const desc = st.desc;
      const used = st.used;
      if (
        !LITTLE_ENDIAN_HOST ||
        ((avail.byteOffset & 1) | (desc.byteOffset & 3) | (used.byteOffset & 3)) !== 0
      ) {
        return undefined;
      }
      st.availWords = new Uint16Array(avail.buffer, avail.byteOffset, avail.byteLength >> 1);
      st.descWords = new Uint32Array(desc.buffer, desc.byteOffset, desc.byteLength >> 2);
      st.usedWords = new Uint32Array(used.buffer, used.byteOffset, used.byteLength >> 2);
      st.iotlb = iotlb;
      st.mem = mem;
      this.stateIotlbGeneration = iotlb.generation;
      this.stateMemGeneration = mem.generation;
    }
    st.num = this.size;
    st.lastAvail = this.lastAvail;
    st.usedIdx = (this.lastUsed + this.completed) & IDX_MASK;
    return st;
  }

  /**
   * Ends a batch worked on through {@link ringStateForBatch}: `taken` more chains are consumed and
   * `completed` more used elements, written by the caller from the state's `usedIdx` on, are
   * published with one `used->idx` store.
   * @throws VringError `EINVAL` unless both are integers in 0..queue size.
   */
  commitRingState(taken: number, completed: number): void {
    const num = this.size;
    if (!(
      Number.isInteger(taken) &&
      taken >= 0 &&
      taken <= num &&
      Number.isInteger(completed) &&
      completed >= 0 &&
      completed <= num
    )) {
      throw new VringError(
        'EINVAL',
        `cannot commit ${taken} chains taken and ${completed} completed on a queue of size ${num}`,
      );
    }
    this.lastAvail = (this.lastAvail + taken) & IDX_MASK;
    if (completed === 0) return;
    this.completed += completed;
    // The elements were written before the index that publishes them (the kernel's write barrier).
    this.usedPutU16(USED_IDX, (this.lastUsed + this.completed) & IDX_MASK);
  }

  /** A 16-bit field of the available ring (`getu16_iotlb`). */
  private availU16(off: number): number {
    const a = this.avail;
    return a.ensure(this.iotlb, this.mem) ? a.view.getUint16(off, true) : a.getU16(this.iotlb, this.mem, off);
  }

  /** Writes a 16-bit field of the used ring (`putu16_iotlb`). */
  private usedPutU16(off: number, value: number): void {
    const u = this.used;
    if (u.ensure(this.iotlb, this.mem)) u.view.setUint16(off, value, true);
    else u.putU16(this.iotlb, this.mem, off, value);
  }

  private checkCompletion(head: number, len: number): void {
    if (!(head >= 0 && head < this.size && Number.isInteger(head))) throw badCompletedHead(head, this.size);
    if (len >>> 0 !== len) throw badUsedLen(len);
  }
}

// Error builders, out of line so the hot methods stay small enough for the JIT to inline.

function noListsError(head: number): VringError {
  return new VringError('EINVAL', `chain of head ${head} taken with neither a readable nor a writable iov`);
}

function badHeadError(head: number, slot: number, num: number): VringError {
  return new VringError('EINVAL', `head ${head} at avail slot ${slot} is not below queue size ${num}`);
}

function badCompletedHead(head: number, num: number): VringError {
  return new VringError('EINVAL', `completed head ${head} is not below queue size ${num}`);
}

function badUsedLen(len: number): VringError {
  return new VringError('ERANGE', `used length ${len} is not a u32`);
}

function notInitialised(): VringError {
  return new VringError('EINVAL', 'vringh is not initialised: queue size 0');
}

function checkU16(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > IDX_MASK) {
    throw new VringError('ERANGE', `${what} ${value} is not a u16`);
  }
  return value;
}

function checkArea(addr: number, size: number, what: string): void {
  checkAddress(addr, `${what} address`);
  checkAddress(addr + size - 1, `${what} end`);
}

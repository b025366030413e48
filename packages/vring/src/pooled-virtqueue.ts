import { VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { DmaAllocator } from './dma-allocator.js';
import type { PooledVirtqueueOptions } from './pooled-virtqueue-options.js';
import { VirtqueueCore } from './virtqueue-core.js';
import { VirtqueueRings } from './virtqueue-rings.js';
import {
  U16_MASK,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_DESC_LEN_OFF,
  VIRTQ_DESC_SIZE,
  VIRTQ_USED_ELEM_ID_OFF,
  VIRTQ_USED_ELEM_LEN_OFF,
  VIRTQ_USED_ELEM_SIZE,
} from '@vdpa-kit/virtio-spec';

/** Ring indices wrap modulo 2^16 (§2.7): a module-local copy of `U16_MASK`. */
const IDX_MASK = U16_MASK;

/** Largest buffer (its limit, plus one, is kept in a u32; the pool is allocated as one area). */
const BUF_SIZE_MAX = 0x7fff_ffff;
const DEFAULT_BUF_ALIGN = 64;
// Module-local copies of the layout constants the loops use (an imported binding is re-read per use).
const F_WRITE = VIRTQ_DESC_F_WRITE;
const DESC_SIZE = VIRTQ_DESC_SIZE;
const DESC_LEN = VIRTQ_DESC_LEN_OFF;
const USED_ELEM = VIRTQ_USED_ELEM_SIZE;
const USED_ID = VIRTQ_USED_ELEM_ID_OFF;
const USED_LEN = VIRTQ_USED_ELEM_LEN_OFF;

/** Where {@link PooledVirtqueue.reap} leaves the slots it took back. */
export type SlotArray = Uint16Array | Uint32Array | number[];

/**
 * A driver-side split virtqueue over a fixed pool of equal buffers, descriptor `i` bound to buffer `i`
 * for the queue's life: the way a NIC driver runs its receive and transmit rings (DPDK's "simple"
 * virtio Rx/Tx paths). There is no free list, no chain and no token: a buffer is named by its slot,
 * buffers are made available in ring order (slot `availIdx mod num` next), and posting one writes
 * only its length (on transmit) and the avail index. The descriptors' addresses and flags and the avail
 * ring (entry `i` is always slot `i`) are written when the queue is created or reset; both are
 * driver-owned (§2.7.5, §2.7.6) and only the device reads them, so a device that writes them only
 * misleads itself.
 *
 * Everything the device writes is checked as by {@link Virtqueue}: a used index that runs ahead of
 * what was made available, a used id out of range or not in flight, a used `len` beyond what the
 * buffer was posted with make the queue broken (`EIO`) until {@link reset}. A device may use buffers
 * in any order; the oldest buffer still in flight holds back posting past its slot ({@link freeRun}).
 *
 * @example
 * const rx = PooledVirtqueue.create(mem, dma, {
 *   index: 0, num: 256, eventIdx: true, bufSize: 2048, writable: true, notify: (q) => kick(q.index),
 * });
 * rx.post(rx.num);
 * rx.kick();
 * // later, in the interrupt handler
 * const n = rx.reap(slots, lens);
 * for (let k = 0; k < n; k++) deliver(rx.bytes, rx.bufferOffset(slots[k]), lens[k]);
 * rx.post(rx.freeRun()); // not `n`: a device that used buffers out of order holds some back
 */
export class PooledVirtqueue extends VirtqueueCore {
  /** Bytes per buffer. */
  readonly bufSize: number;
  /** Whether the buffers are device-writable (receive) rather than device-readable (transmit). */
  readonly writable: boolean;
  /** Guest-physical address of buffer 0; buffer `slot` is at `poolAddr + slot * bufStride`. */
  readonly poolAddr: number;
  /** Distance between two buffers: `bufSize` rounded up to the buffer alignment. */
  readonly bufStride: number;
  /** Byte view of the memory region holding the pool (see {@link bufferOffset}). */
  readonly bytes: Uint8Array;

  private readonly notifyFn: (vq: PooledVirtqueue) => void;
  private readonly callback: ((vq: PooledVirtqueue) => void) | undefined;
  private readonly dma: DmaAllocator;
  /** Offset of buffer 0 in {@link bytes}. */
  private readonly poolOff: number;
  /** Device address of buffer 0. */
  private readonly poolDma: number;
  /**
   * Per slot of a writable queue, while its buffer is in flight: one more than the bytes it was
   * posted with, so a used `len` is good iff it is below it. (A readable buffer's limit is 1: its used
   * `len` must be 0.) Not written for a readable queue.
   */
  private readonly limits: Uint32Array;
  /**
   * Ring position (u16, as avail indices) of the oldest buffer still in flight; `availIdx` when none
   * is. Every buffer posted before it was taken back, so the next `num - (availIdx - oldest)` slots
   * are free and the one after is not: {@link freeRun} without a scan.
   *
   * The buffers in flight are those at ring positions `oldest..availIdx-1` except the ones marked in
   * {@link takenAhead}. So a used element naming the buffer at `oldest` (the usual case: a device
   * using buffers in order) is in flight without a per-slot lookup, and neither posting nor taking
   * back writes a per-slot mark.
   */
  private oldest = 0;
  /** Per slot: 1 when its buffer was taken back ahead of {@link oldest} (out of order), else 0. */
  private readonly takenAhead: Uint8Array;
  /**
   * How many slots {@link takenAhead} marks. While it is 0, as with a device that uses buffers in
   * order, {@link oldest} just moves with each element and the marks are not scanned.
   */
  private reapedAhead = 0;
  /** Whether a post gave some descriptor a length other than {@link bufSize}. */
  private lensWritten = false;

  /**
   * Allocates the rings and the buffer pool from `dma`, writes the descriptors and returns a queue
   * with every buffer free.
   *
   * @param mem the memory `dma` allocates from; every area must lie inside one of its regions
   * @param dma the driver's DMA allocator
   * @param options queue parameters
   * @throws VringError `EINVAL` for a bad index, size, alignment, buffer size or `initialIdx`,
   * `ENOMEM` when the allocator is full (nothing stays allocated), `EFAULT` if an area is not inside
   * one region of `mem`.
   */
  static create(mem: GuestMemory, dma: DmaAllocator, options: PooledVirtqueueOptions): PooledVirtqueue {
    const { num, bufSize } = options;
    const initialIdx = VirtqueueCore.checkQueueOptions(options.index, num, options.initialIdx);
    if (!Number.isInteger(bufSize) || bufSize < 1 || bufSize > BUF_SIZE_MAX) {
      throw new VringError('EINVAL', `buffer size ${bufSize} is not in 1..${BUF_SIZE_MAX}`);
    }
    const bufAlign = options.bufAlign ?? DEFAULT_BUF_ALIGN;
    if (
      !Number.isInteger(bufAlign) ||
      bufAlign < 1 ||
      bufAlign > BUF_SIZE_MAX ||
      (bufAlign & (bufAlign - 1)) !== 0
    ) {
      throw new VringError('EINVAL', `buffer alignment ${bufAlign} is not a power of two`);
    }
    const stride = Math.ceil(bufSize / bufAlign) * bufAlign;
    const rings = VirtqueueRings.alloc(mem, dma, num, options.align, 0);
    let poolAddr: number;
    let region;
    try {
      poolAddr = dma.alloc(num * stride, bufAlign);
      try {
        region = mem.regionOf(poolAddr, num * stride);
      } catch (err) {
        dma.free(poolAddr);
        throw err;
      }
    } catch (err) {
      rings.free();
      throw err;
    }
    const vq = new PooledVirtqueue(
      options,
      rings,
      dma,
      poolAddr,
      stride,
      region.bytes,
      poolAddr - region.gpa,
    );
    vq.init(initialIdx);
    return vq;
  }

  private constructor(
    options: PooledVirtqueueOptions,
    rings: VirtqueueRings,
    dma: DmaAllocator,
    poolAddr: number,
    stride: number,
    bytes: Uint8Array,
    poolOff: number,
  ) {
    super(options.index, options.eventIdx, rings);
    this.bufSize = options.bufSize;
    this.writable = options.writable;
    this.poolAddr = poolAddr;
    this.bufStride = stride;
    this.bytes = bytes;
    this.notifyFn = options.notify;
    this.callback = options.callback;
    this.dma = dma;
    this.poolOff = poolOff;
    this.poolDma = dma.dmaAddress(poolAddr);
    this.limits = new Uint32Array(this.num);
    this.takenAhead = new Uint8Array(this.num);
  }

  /** Buffers not in flight. */
  get numFree(): number {
    return this.num - ((this.availIdxShadow - this.lastUsedIdx_) & IDX_MASK);
  }

  /** The slot the next {@link post} makes available first: `availIdx mod num`. */
  get nextSlot(): number {
    return this.availIdxShadow & this.mask;
  }

  /** Offset of buffer `slot` in {@link bytes}: where the driver reads or writes its contents. */
  bufferOffset(slot: number): number {
    return this.poolOff + this.slotOf(slot) * this.bufStride;
  }

  /** Guest-physical address of buffer `slot`. */
  bufferAddr(slot: number): number {
    return this.poolAddr + this.slotOf(slot) * this.bufStride;
  }

  /** Whether buffer `slot` is available to the device or used by it and not yet reaped. */
  inFlight(slot: number): boolean {
    return this.isInFlight(this.slotOf(slot));
  }

  /**
   * How many buffers from {@link nextSlot} on, in ring order, are free: what the next {@link post}
   * can take. It is {@link numFree} unless the device used buffers out of order, when the oldest
   * buffer still in flight holds back the slots after it. A transmit path fills that many buffers,
   * then posts them.
   */
  freeRun(): number {
    return this.num - ((this.availIdxShadow - this.oldest) & IDX_MASK);
  }

  /**
   * Makes the next `count` buffers (slots {@link nextSlot} on, in ring order) available with one
   * `avail.idx` store, buffer `k` with length `lens[k]` or, without `lens`, the whole buffer. For a
   * transmit queue fill the buffers first. All or nothing: every length and the space are checked
   * before anything is published, so on an error nothing was posted (only the descriptors of free
   * slots may hold lengths written before the bad one; a post writes its own). The "kick before
   * 0xffff undecided additions" rule of {@link Virtqueue} holds; when it kicks inside the call (a
   * queue not kicked for 0xffff additions), what was posted before that kick stays posted if the rest
   * then fails.
   *
   * @param count buffers to post: an integer in 0..{@link freeRun}() (and ≤ `lens.length`)
   * @param lens bytes to offer in each buffer, 1..{@link bufSize}: a frame's length on transmit
   * @throws VringError `EINVAL` for a bad count or length (naming the element), `ENOSPC` when one of
   * the `count` slots is still in flight, `EIO` if the queue is broken; `ECANCELED` when the notify of
   * a kick inside the call reset the queue before its last buffer (the rest is not posted; a reset at
   * the last buffer is no error: everything was posted before the reset dropped it).
   */
  post(count: number, lens?: ArrayLike<number>): void {
    if (this.broken) throw this.brokenError();
    if (
      !Number.isInteger(count) ||
      count < 0 ||
      count > this.num ||
      (lens !== undefined && count > lens.length)
    ) {
      const max = lens === undefined ? this.num : Math.min(this.num, lens.length);
      throw new VringError('EINVAL', `post count ${count} is not an integer in 0..${max}`);
    }
    if (count > this.freeRun()) throw this.noSpace(count);
    if (count === 0) return;
    if (count < this.addsBeforeForcedKick()) {
      // The usual case: one run and no kick inside it. The run checks each length as it writes it,
      // and throws before publishing anything.
      this.postRun(0, count, lens);
      return;
    }
    if (lens !== undefined) this.checkLens(lens, 0, count);
    let done = 0;
    const resets = this.resets;
    while (done < count) {
      const run = this.addsBeforeForcedKick();
      if (count - done < run) {
        this.postRun(done, count, lens);
        return;
      }
      // Only a queue that was not kicked for 0xffff additions gets here; notify may then re-enter
      // the queue, so the rest is checked again.
      this.postRun(done, done + run, lens);
      done += run;
      this.kickInBatch(resets, done, count);
      // notify may have re-entered the queue or changed `lens`: check the rest again.
      if (done < count) {
        if (count - done > this.freeRun()) throw this.noSpace(count - done);
        if (lens !== undefined) this.checkLens(lens, done, count);
      }
    }
  }

  /**
   * Takes back up to `max` used buffers (`virtqueue_get_buf` for a pool): buffer `k` leaves its slot
   * in `slots[k]` and the bytes the device wrote in `lens[k]`. Each element is checked as
   * {@link Virtqueue.getBuf} checks it; a bad one ends the batch before it, and the next call throws.
   * With `EVENT_IDX` and interrupts enabled, `used_event` moves once per call.
   *
   * @param slots receives the slots
   * @param lens receives the used lengths
   * @param max most buffers to take (default and upper bound: the shorter of `slots` and `lens`; not
   * a positive number: none)
   * @returns buffers taken back, 0 when none is pending
   * @throws VringError `EIO` when the first pending element is bad (the queue becomes broken) or the
   * queue is broken.
   */
  reap(slots: SlotArray, lens: Uint32Array, max: number = lens.length): number {
    let limit = lens.length < slots.length ? lens.length : slots.length;
    // `!(max >= limit)` also takes NaN, as none.
    if (!(max >= limit)) limit = max > 0 ? Math.floor(max) : 0;
    return this.consume(slots, lens, limit);
  }

  /**
   * {@link reap} without the slots and lengths: takes back up to `max` used buffers of a transmit
   * queue (default: all pending; not a positive number: none), with the same checks.
   * @returns buffers taken back
   * @throws VringError as {@link reap}.
   */
  reclaim(max: number = this.num): number {
    return this.consume(undefined, undefined, max > 0 ? Math.floor(max) : 0);
  }

  /** Calls the `notify` option. */
  protected notifyDevice(): void {
    this.notifyFn(this);
  }

  /** Calls the `callback` option. */
  protected callDriver(): void {
    this.callback?.(this);
  }

  /** Frees the rings and the buffer pool. */
  protected freeAreas(): void {
    this.rings.free();
    this.dma.free(this.poolAddr);
  }

  /** (Re)initialises the queue with every ring index at `start`. */
  protected init(start: number): void {
    this.initRings(start);
    const rings = this.rings;
    const flags = this.writable ? F_WRITE : 0;
    for (let i = 0; i < this.num; i++) {
      rings.setAvailRing(i, i);
      rings.writeDesc(i, this.poolDma + i * this.bufStride, this.bufSize, flags, 0);
    }
    this.limits.fill(0);
    this.takenAhead.fill(0);
    this.oldest = start;
    this.reapedAhead = 0;
    this.lensWritten = false;
  }

  /**
   * Posts elements `from..to-1`, whose slots the caller found free, and publishes them with one
   * `avail.idx` store. Checks each length as it writes it: on a bad one it throws `EINVAL` before
   * publishing, having written only the lengths (and limits) of free slots, which a post rewrites.
   */
  private postRun(from: number, to: number, lens: ArrayLike<number> | undefined): void {
    const rings = this.rings;
    const limits = this.limits;
    const mask = this.mask;
    const bufSize = this.bufSize;
    const writable = this.writable;
    const start = this.availIdxShadow;
    if (lens === undefined) {
      // The whole buffers: the descriptors already say so unless a post with lengths changed them.
      const rewrite = this.lensWritten;
      if (writable || rewrite) {
        for (let k = from; k < to; k++) {
          const slot = (start + k - from) & mask;
          if (rewrite) rings.setDescLen(slot, bufSize);
          if (writable) limits[slot] = bufSize + 1;
        }
      }
    } else {
      // Set first: a post without lengths then rewrites what this one wrote, even if it throws.
      this.lensWritten = true;
      const descView = rings.descView;
      const lenOff = rings.descOff + DESC_LEN;
      for (let k = from; k < to; k++) {
        const slot = (start + k - from) & mask;
        const len = lens[k];
        // `(len | 0) === len` within 1..bufSize (< 2^31) is "an integer in range", NaN included.
        if (!(len >= 1 && len <= bufSize && (len | 0) === len)) throw this.badLen(len, k);
        descView.setUint32(lenOff + slot * DESC_SIZE, len, true);
        if (writable) limits[slot] = len + 1;
      }
    }
    const idx = (start + to - from) & IDX_MASK;
    this.availIdxShadow = idx;
    // The descriptors are written before the index that publishes them (virtio_wmb in the kernel);
    // one index store for the run.
    rings.setAvailIdx(idx);
  }

  /** Checks `lens[from..to-1]` against 1..{@link bufSize}, naming the first bad element. */
  private checkLens(lens: ArrayLike<number>, from: number, to: number): void {
    const bufSize = this.bufSize;
    for (let k = from; k < to; k++) {
      const len = lens[k];
      // `(len | 0) === len` within 1..bufSize (< 2^31) is "an integer in range", NaN included.
      if (!(len >= 1 && len <= bufSize && (len | 0) === len)) throw this.badLen(len, k);
    }
  }

  /** The error of post element `k`'s length `len`. */
  private badLen(len: number, k: number): VringError {
    return new VringError('EINVAL', `buffer length ${len} is not in 1..${this.bufSize} (post element ${k})`);
  }

  /** The error of a post of `count` buffers when fewer are free in ring order. */
  private noSpace(count: number): VringError {
    const run = this.freeRun();
    const held = run < this.numFree ? `; slot ${this.oldest & this.mask} is still in flight` : '';
    return new VringError(
      'ENOSPC',
      `virtqueue ${this.index}: ${run} buffers can be posted, not ${count}${held}`,
    );
  }

  /** {@link reap} / {@link reclaim}: takes up to `max` used elements, writing the outputs if given. */
  private consume(slots: SlotArray | undefined, lens: Uint32Array | undefined, max: number): number {
    if (this.broken) throw this.brokenError();
    const rings = this.rings;
    const usedView = rings.usedView;
    const last = this.lastUsedIdx_;
    const usedIdx = usedView.getUint16(rings.usedIdxOff, true);
    let pending = (usedIdx - last) & IDX_MASK;
    if (pending === 0) return 0;
    if (pending > ((this.availIdxShadow - last) & IDX_MASK)) {
      throw this.markBroken(
        `used idx ${usedIdx} is ahead of avail idx ${this.availIdxShadow} (last used ${last})`,
      );
    }
    // Nothing to take: leave used_event alone (rewriting it could undo an enableCbDelayed threshold).
    if (max === 0) return 0;
    if (pending > max) pending = max;
    const ringOff = rings.usedRingOff;
    const mask = this.mask;
    const num = this.num;
    const limits = this.limits;
    const takenAhead = this.takenAhead;
    const writable = this.writable;
    const avail = this.availIdxShadow;
    let oldest = this.oldest;
    let ahead = this.reapedAhead;
    let k = 0;
    // The elements are read only after used.idx showed them (virtio_rmb in the kernel).
    for (; k < pending; k++) {
      const elem = ringOff + ((last + k) & mask) * USED_ELEM;
      const id = usedView.getUint32(elem + USED_ID, true);
      const len = usedView.getUint32(elem + USED_LEN, true);
      if (id === (oldest & mask)) {
        // The oldest buffer in flight (one is: no more elements are pending than buffers in flight).
        if (len >= (writable ? limits[id] : 1)) {
          if (k > 0) break;
          throw this.badUsed(id, len);
        }
        oldest = (oldest + 1) & IDX_MASK;
        // Buffers taken back out of order stop holding `oldest` back once the ones before them are.
        if (ahead > 0) {
          while (oldest !== avail && takenAhead[oldest & mask] !== 0) {
            takenAhead[oldest & mask] = 0;
            oldest = (oldest + 1) & IDX_MASK;
            ahead--;
          }
        }
      } else {
        // Out of order: in flight iff posted after `oldest` (before `avail`) and not taken back yet.
        if (!(
          id < num &&
          ((id - oldest) & mask) < ((avail - oldest) & IDX_MASK) &&
          takenAhead[id] === 0 &&
          len < (writable ? limits[id] : 1)
        )) {
          if (k > 0) break;
          throw this.badUsed(id, len);
        }
        takenAhead[id] = 1;
        ahead++;
      }
      if (slots !== undefined && lens !== undefined) {
        slots[k] = id;
        lens[k] = len;
      }
    }
    this.oldest = oldest;
    this.reapedAhead = ahead;
    this.consumedUpTo((last + k) & IDX_MASK);
    return k;
  }

  /** Marks the queue broken for a used element with a bad id or length, and says why. */
  private badUsed(id: number, len: number): VringError {
    if (id >= this.num) return this.markBroken(`used id ${id} is out of range for queue size ${this.num}`);
    if (!this.isInFlight(id)) return this.markBroken(`used id ${id} is not in flight`);
    const writable = this.writable ? this.limits[id] - 1 : 0;
    return this.markBroken(`used len ${len} is beyond the ${writable} writable bytes of id ${id}`);
  }

  /** Whether the buffer of `slot` (in range) is in flight: see {@link oldest}. */
  private isInFlight(slot: number): boolean {
    const oldest = this.oldest;
    return (
      ((slot - oldest) & this.mask) < ((this.availIdxShadow - oldest) & IDX_MASK) &&
      this.takenAhead[slot] === 0
    );
  }

  /** `slot` if it names a buffer of the pool. @throws VringError `ERANGE` otherwise */
  private slotOf(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.num) {
      throw new VringError('ERANGE', `slot ${slot} is not in 0..${this.num - 1}`);
    }
    return slot;
  }
}

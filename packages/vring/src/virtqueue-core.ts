import { VringError } from './errors.js';
import {
  U16_MASK,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_USED_F_NO_NOTIFY,
  vringNeedEvent,
} from '@vdpa-kit/virtio-spec';
import type { VirtqueueRings } from './virtqueue-rings.js';
import { type SplitRingLayout, checkQueueSize } from './split-ring-layout.js';

/** Ring indices wrap modulo 2^16 (§2.7): a module-local copy of `U16_MASK`. */
const IDX_MASK = U16_MASK;

// Module-local copies of the flags (an imported binding is re-read on every use).
const F_NO_INTERRUPT = VIRTQ_AVAIL_F_NO_INTERRUPT;
const F_NO_NOTIFY = VIRTQ_USED_F_NO_NOTIFY;
/** `virtqueue_enable_cb_delayed` asks for an interrupt after 3/4 of the outstanding buffers: numerator. */
const DELAYED_CB_NUMERATOR = 3;
/** ... and denominator. */
const DELAYED_CB_DENOMINATOR = 4;

/**
 * What every driver-side split virtqueue shares, whatever it keeps per buffer: the ring indices, the
 * kick decision and interrupt suppression with or without `EVENT_IDX` (the kernel's
 * `virtqueue_kick_prepare_split`, `virtqueue_enable_cb*`, `vring_interrupt`), the broken state and
 * teardown. {@link Virtqueue} (any chain, a free list) and {@link PooledVirtqueue} (one fixed buffer per
 * descriptor) extend it with their own add and get-used calls.
 */
export abstract class VirtqueueCore {
  /** Queue index on its device. */
  readonly index: number;
  /** Queue size. */
  readonly num: number;
  /** Whether `EVENT_IDX` suppression is in use. */
  readonly eventIdx: boolean;

  protected readonly rings: VirtqueueRings;
  protected readonly mask: number;
  /** The next `avail.idx` to publish. */
  protected availIdxShadow = 0;
  /** Avail idx at the previous kickPrepare (`avail_idx_shadow - num_added` in the kernel). */
  protected kickedIdx = 0;
  protected lastUsedIdx_ = 0;
  protected availFlagsShadow = 0;
  protected broken = false;
  protected destroyed = false;
  /** Bumped by every {@link reset}: a batch that kicks part-way through sees whether notify reset it. */
  protected resets = 0;

  /**
   * Checks the options every queue has: the index, the size and the initial ring index.
   * @returns the initial ring index (0 when not given)
   * @throws VringError `EINVAL` for a bad index, size or initial index
   */
  protected static checkQueueOptions(index: number, num: number, initialIdx = 0): number {
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new VringError('EINVAL', `virtqueue index ${index} is not a non-negative integer`);
    }
    checkQueueSize(num);
    if (!Number.isInteger(initialIdx) || initialIdx < 0 || initialIdx > IDX_MASK) {
      throw new VringError('EINVAL', `initial ring index ${initialIdx} is not a u16`);
    }
    return initialIdx;
  }

  protected constructor(index: number, eventIdx: boolean, rings: VirtqueueRings) {
    this.index = index;
    this.num = rings.layout.num;
    this.mask = this.num - 1;
    this.eventIdx = eventIdx;
    this.rings = rings;
  }

  /** The ring addresses as the driver (CPU) sees them: guest-physical. */
  get layout(): SplitRingLayout {
    return this.rings.layout;
  }

  /**
   * The ring addresses as the device sees them (the DMA allocator's `dmaOffset` applied): what the
   * transport passes to `setVqAddress`. Equal to {@link layout} with an identity DMA mapping.
   */
  get deviceLayout(): SplitRingLayout {
    return this.rings.deviceLayout;
  }

  /** Whether the device broke the protocol (or the queue was destroyed); datapath calls then throw `EIO`. */
  get isBroken(): boolean {
    return this.broken;
  }

  /** The driver's shadow of `avail.idx`: the next index it will publish (u16). */
  get availIdx(): number {
    return this.availIdxShadow;
  }

  /** Used ring index the driver has consumed up to (u16). */
  get lastUsedIdx(): number {
    return this.lastUsedIdx_;
  }

  /**
   * Decides whether the device must be notified of the buffers added since the previous call
   * (`virtqueue_kick_prepare_split`). With `EVENT_IDX`: `vringNeedEvent(avail_event, availIdx, old)`
   * where `old` is the avail idx at the previous call; without: unless `used.flags` has `NO_NOTIFY`.
   * @throws VringError `EIO` if the queue is broken.
   */
  kickPrepare(): boolean {
    if (this.broken) throw this.brokenError();
    const newIdx = this.availIdxShadow;
    const old = this.kickedIdx;
    this.kickedIdx = newIdx;
    // avail.idx was written before this read of the device's suppression state (virtio_mb in the
    // kernel); in one thread program order gives that.
    if (this.eventIdx) return vringNeedEvent(this.rings.availEvent(), newIdx, old);
    return (this.rings.usedFlags() & F_NO_NOTIFY) === 0;
  }

  /**
   * Notifies the device unconditionally (`virtqueue_notify`): calls the `notify` option.
   * @throws VringError `EIO` if the queue is broken; whatever `notify` throws.
   */
  notify(): void {
    if (this.broken) throw this.brokenError();
    this.notifyDevice();
  }

  /**
   * {@link kickPrepare}, then {@link notify} if needed (`virtqueue_kick`).
   * @returns whether the device was notified
   * @throws VringError `EIO` if the queue is broken.
   */
  kick(): boolean {
    if (!this.kickPrepare()) return false;
    this.notify();
    return true;
  }

  /** Whether the device has used buffers the driver has not consumed (`more_used_split`). */
  moreUsed(): boolean {
    return this.rings.usedIdx() !== this.lastUsedIdx_;
  }

  /**
   * Asks the device not to interrupt (`virtqueue_disable_cb`): sets `NO_INTERRUPT` in `avail.flags` —
   * a hint the device ignores with `EVENT_IDX`, where `used_event` is left as it is and simply stops
   * advancing. Works on a broken queue.
   */
  disableCb(): void {
    if ((this.availFlagsShadow & F_NO_INTERRUPT) !== 0) return;
    this.availFlagsShadow |= F_NO_INTERRUPT;
    this.rings.setAvailFlags(this.availFlagsShadow);
  }

  /**
   * Re-enables interrupts (`virtqueue_enable_cb`): clears `NO_INTERRUPT`, with `EVENT_IDX` writes
   * `used_event = lastUsedIdx`, then re-checks the used ring.
   * @returns `false` if used buffers are already pending (the caller must poll again, or it may miss
   * them), `true` otherwise
   * @throws VringError `EIO` if the queue is broken.
   */
  enableCb(): boolean {
    if (this.broken) throw this.brokenError();
    this.clearNoInterrupt();
    if (this.eventIdx) this.rings.setUsedEvent(this.lastUsedIdx_);
    // The threshold is written before used.idx is re-read (virtio_mb in the kernel).
    return !this.moreUsed();
  }

  /**
   * Re-enables interrupts but asks for one only after 3/4 of the outstanding buffers are used
   * (`virtqueue_enable_cb_delayed`): `used_event = lastUsedIdx + floor(3 · outstanding / 4)` with
   * `EVENT_IDX`; without it the same as {@link enableCb} with the delayed re-check.
   * @returns `false` if more than that many used buffers are already pending, `true` otherwise
   * @throws VringError `EIO` if the queue is broken.
   */
  enableCbDelayed(): boolean {
    if (this.broken) throw this.brokenError();
    this.clearNoInterrupt();
    const last = this.lastUsedIdx_;
    const outstanding = (this.availIdxShadow - last) & IDX_MASK;
    const bufs = Math.floor((outstanding * DELAYED_CB_NUMERATOR) / DELAYED_CB_DENOMINATOR);
    if (this.eventIdx) this.rings.setUsedEvent((last + bufs) & IDX_MASK);
    // The threshold is written before used.idx is re-read (virtio_mb in the kernel).
    return ((this.rings.usedIdx() - last) & IDX_MASK) <= bufs;
  }

  /**
   * The interrupt handler (`vring_interrupt`): does nothing if no used buffer is pending or the queue
   * is broken; otherwise calls the `callback` option.
   */
  interrupt(): void {
    if (!this.moreUsed()) return;
    if (this.broken) return;
    this.callDriver();
  }

  /**
   * Returns the queue to its initial state without reallocating (`virtqueue_reinit_split`), after the
   * device was reset: rings zeroed (a {@link PooledVirtqueue} writes its descriptors and avail ring
   * again), every index 0, every descriptor free, interrupts enabled, not broken. What was still in
   * flight is dropped: a {@link Virtqueue}'s caller takes its tokens back with `detachUnusedBuf` first.
   * @throws VringError `EIO` if the queue was destroyed.
   */
  reset(): void {
    if (this.destroyed) throw this.brokenError();
    this.resets++;
    this.init(0);
  }

  /** Frees the rings (and what the queue allocated with them); the queue is then broken. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.broken = true;
    this.freeAreas();
  }

  /** (Re)initialises the queue with every ring index at `start` ({@link initRings} and its own state). */
  protected abstract init(start: number): void;

  /** Calls the `notify` option with this queue. */
  protected abstract notifyDevice(): void;

  /** Calls the `callback` option, if any, with this queue. */
  protected abstract callDriver(): void;

  /** Frees the DMA areas of the queue ({@link destroy}). */
  protected abstract freeAreas(): void;

  /**
   * Zeroes the rings and sets every index to `start` (written into the rings when not 0), interrupts
   * enabled, not broken: the common part of a queue's (re)initialisation.
   */
  protected initRings(start: number): void {
    this.rings.zero();
    this.availIdxShadow = start;
    this.kickedIdx = start;
    this.lastUsedIdx_ = start;
    this.availFlagsShadow = 0;
    this.broken = false;
    if (start !== 0) {
      this.rings.setAvailIdx(start);
      this.rings.setUsedEvent(start);
      this.rings.setUsedIdx(start);
      this.rings.setAvailEvent(start);
    }
  }

  /**
   * How many buffers may be published before {@link kickPrepare} must run: `vring_need_event` cannot
   * see more than 0xffff additions between two decisions, so an add kicks when it reaches that many.
   */
  protected addsBeforeForcedKick(): number {
    const since = (this.availIdxShadow - this.kickedIdx) & IDX_MASK;
    return since === IDX_MASK ? IDX_MASK + 1 : IDX_MASK - since;
  }

  /** With `EVENT_IDX` and interrupts enabled, moves `used_event` to `next` (after consuming used elements). */
  protected consumedUpTo(next: number): void {
    this.lastUsedIdx_ = next;
    if (this.eventIdx && (this.availFlagsShadow & F_NO_INTERRUPT) === 0) this.rings.setUsedEvent(next);
  }

  protected clearNoInterrupt(): void {
    if ((this.availFlagsShadow & F_NO_INTERRUPT) === 0) return;
    this.availFlagsShadow &= ~F_NO_INTERRUPT;
    this.rings.setAvailFlags(this.availFlagsShadow);
  }

  /** Marks the queue broken and returns the `EIO` error saying why. */
  protected markBroken(message: string): VringError {
    this.broken = true;
    return new VringError('EIO', `virtqueue ${this.index}: ${message}`);
  }

  /**
   * The kick a batch add makes when it reaches 0xffff undecided additions, after `done` of its `count`
   * buffers. notify may re-enter the queue; when the batch goes on, this checks what it relies on:
   * a queue broken or destroyed meanwhile is `EIO`, one reset meanwhile (`resets` moved) is
   * `ECANCELED`. The caller then checks its space and, since notify may also have changed its arrays,
   * the rest of the batch again.
   */
  protected kickInBatch(resets: number, done: number, count: number): void {
    this.kick();
    if (done === count) return;
    if (this.broken) throw this.brokenError();
    if (this.resets !== resets) throw this.resetInBatch(done, count);
  }

  /**
   * The error of a batch whose forced kick reset the queue (its notify called {@link reset}): what it
   * had added went with the reset, and the rest is not added.
   */
  private resetInBatch(added: number, count: number): VringError {
    return new VringError(
      'ECANCELED',
      `virtqueue ${this.index} was reset by its notify during a batch: the reset dropped the ${added} ` +
        `buffers added before it; ${count - added} of ${count} not added`,
    );
  }

  /** The error of a datapath call on a broken or destroyed queue. */
  protected brokenError(): VringError {
    const why = this.destroyed ? 'destroyed' : 'broken';
    return new VringError('EIO', `virtqueue ${this.index} is ${why}`);
  }
}

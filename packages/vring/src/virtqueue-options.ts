import type { Virtqueue } from './virtqueue.js';

/** Options of {@link Virtqueue.create}. */
export interface VirtqueueOptions<T> {
  /** Queue index on its device (reported in errors and passed to the transport). */
  readonly index: number;
  /** Queue size: a power of two in 1..32768. */
  readonly num: number;
  /**
   * If given, allocate one legacy contiguous area (§2.7.2) with the used ring at this alignment (the
   * transport's `getVqAlign`, a power of two). If not, allocate three separate minimally aligned areas.
   */
  readonly align?: number;
  /** `VIRTIO_RING_F_EVENT_IDX` was negotiated: use `used_event` / `avail_event`. */
  readonly eventIdx: boolean;
  /** `VIRTIO_RING_F_INDIRECT_DESC` was negotiated: chains of more than one buffer use indirect tables. */
  readonly indirect: boolean;
  /**
   * Descriptors per indirect table (1..num, default min(16, num)). One table per descriptor slot is
   * preallocated, so adding never allocates; a longer chain falls back to direct descriptors.
   */
  readonly maxIndirect?: number;
  /** Kicks the device (the transport's `kickVq`); called by {@link Virtqueue.notify}. */
  readonly notify: (vq: Virtqueue<T>) => void;
  /** The vq callback: called by {@link Virtqueue.interrupt} when used buffers are pending. */
  readonly callback?: (vq: Virtqueue<T>) => void;
  /**
   * Test hook: start every index (avail idx, used idx, last used, `used_event`, `avail_event`) here
   * instead of 0, as if the ring had already run; give the device side the same `lastAvailIdx`.
   * 0..65535; {@link Virtqueue.reset} returns to 0.
   */
  readonly initialIdx?: number;
}

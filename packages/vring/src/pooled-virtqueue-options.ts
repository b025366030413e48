import type { PooledVirtqueue } from './pooled-virtqueue.js';

/** Parameters of {@link PooledVirtqueue.create}. */
export interface PooledVirtqueueOptions {
  /** Queue index on its device (a non-negative integer). */
  readonly index: number;
  /** Queue size: a power of two in 1..32768; also the number of buffers in the pool. */
  readonly num: number;
  /** Legacy contiguous ring layout with the used ring at this alignment; omitted: three separate areas. */
  readonly align?: number;
  /** Whether `VIRTIO_F_EVENT_IDX` was negotiated. */
  readonly eventIdx: boolean;
  /**
   * Bytes per buffer: an integer in 1..2^31 - 1. The pool, `num` buffers `bufSize` rounded up to
   * `bufAlign` apart, is allocated as one area.
   */
  readonly bufSize: number;
  /** Alignment of each buffer and of the pool: a power of two (default 64, a cache line). */
  readonly bufAlign?: number;
  /** `true`: device-writable buffers (a receive queue); `false`: device-readable (a transmit queue). */
  readonly writable: boolean;
  /** Tells the device there is work (the transport's `kick_vq`). */
  readonly notify: (vq: PooledVirtqueue) => void;
  /** Called by {@link PooledVirtqueue.interrupt} when used buffers are pending. */
  readonly callback?: (vq: PooledVirtqueue) => void;
  /** Start every ring index here instead of 0 (a u16; for wrap-around tests). */
  readonly initialIdx?: number;
}

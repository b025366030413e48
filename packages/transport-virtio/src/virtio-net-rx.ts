import { VdpaError } from '@vdpa-kit/core-bus';
import { ETH_HLEN } from '@vdpa-kit/virtio-spec';
import type { PooledVirtqueue } from '@vdpa-kit/vring';
import type { RxBatch } from './net-interface.js';
import { NetQueueCounters } from './net-queue-counters.js';

/** Receives a batch; returns false when nobody took it (the frames count as drops). */
export type RxSink = (batch: RxBatch) => boolean;

/**
 * One virtio-net receive queue (`struct receive_queue`) over a `PooledVirtqueue`: buffer `i` of the
 * queue's pool (virtio-net header + largest frame, rounded up to 64 bytes), bound to writable
 * descriptor `i`, is receive slot `i`. Received frames are gathered into one reused {@link RxBatch}
 * (each used element checked by the queue), and the buffers are posted again after the batch was
 * delivered, with one `avail->idx` store (`try_fill_recv()`). Nothing is allocated per frame or per
 * batch.
 *
 * @example
 * const [rxVq] = vdev.findVqs([{ name: 'rx0', pool: { bufSize: 1536, writable: true }, callback }]);
 * const rx = NetRxQueue.create({ vq: rxVq, pair: 0, hdrLen: 12, sink });
 * rx.refill();   // post every buffer, kick if needed
 * rx.poll();     // on the vq callback: NAPI-style receive loop
 */
export class NetRxQueue {
  readonly counters: NetQueueCounters;
  /** The batch handed to the sink, reused. */
  readonly batch: RxBatch;
  readonly vq: PooledVirtqueue;
  private readonly hdrLen: number;
  private readonly sink: RxSink;
  /** Offset of slot 0's frame (after its header) in the pool's view, and the distance between slots. */
  private readonly frameOff: number;
  private readonly stride: number;
  /** Slots and used lengths of one reap, reused. */
  private readonly done: Uint16Array;
  private readonly doneLens: Uint32Array;
  private polling = false;
  private stopped = false;

  /**
   * Takes a receive queue made by `findVqs` with a writable pool.
   * @param options.vq the queue
   * @param options.pair its queue pair (the batch's `queue`)
   * @param options.hdrLen virtio-net header length (12 with VERSION_1, else 10)
   * @param options.sink receives every batch
   * @throws VdpaError `EINVAL` for a readable pool or buffers smaller than a header and an Ethernet
   * header
   */
  static create(options: {
    readonly vq: PooledVirtqueue;
    readonly pair: number;
    readonly hdrLen: number;
    readonly sink: RxSink;
  }): NetRxQueue {
    const { vq, hdrLen } = options;
    if (!vq.writable || vq.bufSize < hdrLen + ETH_HLEN) {
      throw new VdpaError(
        'EINVAL',
        `receive vq ${vq.index} needs device-writable buffers of at least ${hdrLen + ETH_HLEN} bytes, ` +
          `not ${vq.writable ? 'writable' : 'readable'} ones of ${vq.bufSize}`,
      );
    }
    return new NetRxQueue(options);
  }

  private constructor(options: {
    readonly vq: PooledVirtqueue;
    readonly pair: number;
    readonly hdrLen: number;
    readonly sink: RxSink;
  }) {
    const { vq } = options;
    this.vq = vq;
    this.counters = new NetQueueCounters(vq.index, 'rx');
    this.hdrLen = options.hdrLen;
    this.sink = options.sink;
    this.frameOff = vq.bufferOffset(0) + options.hdrLen;
    this.stride = vq.bufStride;
    this.done = new Uint16Array(vq.num);
    this.doneLens = new Uint32Array(vq.num);
    this.batch = {
      queue: options.pair,
      count: 0,
      data: new Array<Uint8Array>(vq.num).fill(vq.bytes),
      offsets: new Uint32Array(vq.num),
      lengths: new Uint32Array(vq.num),
    };
  }

  /**
   * Posts every free buffer with one `avail->idx` store (`try_fill_recv()`) and kicks the device if it
   * asked for it; nothing when no buffer is free.
   * @throws VringError / VdpaError from the ring or the kick
   */
  refill(): void {
    const vq = this.vq;
    // In ring order: a buffer the device still holds (used out of order) holds back the ones after it.
    const n = vq.freeRun();
    if (n === 0) return;
    vq.post(n);
    if (vq.kickPrepare()) {
      vq.notify();
      this.counters.kicks++;
    }
  }

  /**
   * The NAPI loop (`virtnet_poll()`): with callbacks disabled, receive and deliver batches and refill
   * after each one until the ring is empty, then re-enable callbacks and look again
   * (`virtqueue_enable_cb()` returning false means buffers arrived meanwhile). Re-entrant calls (from
   * a receiver) return 0.
   *
   * @returns frames delivered
   * @throws VringError `EIO` when the device broke the ring protocol (used id not in flight, used length
   * beyond the buffer); VdpaError from the refill kick
   */
  poll(): number {
    if (this.polling || this.stopped) return 0;
    this.polling = true;
    const vq = this.vq;
    let frames = 0;
    try {
      vq.disableCb();
      for (;;) {
        while (this.receive() > 0) {
          const count = this.batch.count;
          frames += count;
          if (count > 0 && !this.sink(this.batch)) this.counters.drops += count;
          // A receiver may have closed the interface: the vq is gone, nothing is reposted.
          if (this.stopped) return frames;
          this.refill();
        }
        if (vq.enableCb()) break;
        vq.disableCb();
      }
    } finally {
      this.polling = false;
    }
    return frames;
  }

  /**
   * Stops polling; call when the device was reset and the vq deleted (which freed the buffers with the
   * rings).
   */
  destroy(): void {
    this.stopped = true;
  }

  /**
   * Takes up to one ring's worth of used buffers into {@link batch}: frames shorter than the header
   * plus an Ethernet header count as errors. Every buffer taken is posted again by the next refill.
   * @returns buffers consumed (frames and errors)
   */
  private receive(): number {
    const { vq, batch, counters, hdrLen, done, doneLens, frameOff, stride } = this;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    const cap = vq.num;
    let n = 0;
    let consumed = 0;
    while (consumed < cap) {
      const got = vq.reap(done, doneLens, cap - consumed);
      if (got === 0) break;
      consumed += got;
      const first = n;
      let errors = 0;
      let bytes = 0;
      for (let k = 0; k < got; k++) {
        const len = doneLens[k];
        if (len < hdrLen + ETH_HLEN) {
          errors++;
          continue;
        }
        const frameLen = len - hdrLen;
        offsets[n] = frameOff + done[k] * stride;
        lengths[n] = frameLen;
        bytes += frameLen;
        n++;
      }
      // Counted per ring batch, so frames taken before a later batch fails stay counted.
      counters.errors += errors;
      counters.packets += n - first;
      counters.bytes += bytes;
    }
    batch.count = n;
    return consumed;
  }
}

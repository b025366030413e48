import { VdpaError } from '@vdpa-kit/core-bus';
import { type PooledVirtqueue, VringError } from '@vdpa-kit/vring';
import { NetQueueCounters } from './net-queue-counters.js';

/**
 * One virtio-net transmit queue (`struct send_queue`) over a `PooledVirtqueue`: buffer `i` of the
 * queue's pool, bound to descriptor `i`, is transmit slot `i`, each starting with a `virtio_net_hdr_v1`
 * zeroed once when the queue is made (no checksum offload, `GSO_NONE`: virtio 1.2 §5.1.6.2). `send`
 * copies the frame behind the next free slot's header; `flush` makes the frames sent since the last
 * one available with one `avail->idx` store (`virtqueue_add_outbuf()` per frame, one publish per
 * batch) and makes the kick decision (`virtqueue_kick_prepare()`); `reclaim` takes completed slots
 * back (`free_old_xmit()`). Slots are used in ring order. Nothing is allocated per frame.
 *
 * @example
 * const [, txVq] = vdev.findVqs([rxInfo, { name: 'tx0', pool: { bufSize: 1536, writable: false } }]);
 * const tx = NetTxQueue.create({ vq: txVq, hdrLen: 12, maxFrame: 1514 });
 * if (tx.send(frame)) tx.flush();
 */
export class NetTxQueue {
  readonly counters: NetQueueCounters;
  readonly vq: PooledVirtqueue;
  /** Largest frame `send` accepts. */
  readonly maxFrame: number;
  private readonly bytes: Uint8Array;
  /** Offset of slot 0's buffer in {@link bytes}, and the distance between two slots. */
  private readonly poolOff: number;
  private readonly stride: number;
  private readonly hdrLen: number;
  private readonly mask: number;
  /** Frames written since the last {@link flush}, in the slots from `vq.nextSlot` on. */
  private pending = 0;
  /** Descriptor length (header and frame) of each pending frame, in ring order. */
  private readonly pendingLens: Uint32Array;
  /** Frame length in each slot, counted when the slot completes. */
  private readonly slotLen: Uint32Array;
  /** Slots and used lengths of one {@link reclaim} batch, reused. */
  private readonly done: Uint16Array;
  private readonly doneLens: Uint32Array;

  /**
   * Takes a transmit queue made by `findVqs` with a readable pool, and zeroes every slot's header.
   * @param options.vq the queue; its buffers must hold a header and `maxFrame` bytes
   * @param options.hdrLen virtio-net header length (12 with VERSION_1, else 10)
   * @param options.maxFrame largest frame (MTU plus Ethernet header)
   * @throws VdpaError `EINVAL` for a writable pool or buffers too small for a header and `maxFrame`
   */
  static create(options: {
    readonly vq: PooledVirtqueue;
    readonly hdrLen: number;
    readonly maxFrame: number;
  }): NetTxQueue {
    const { vq, hdrLen, maxFrame } = options;
    if (vq.writable || vq.bufSize < hdrLen + maxFrame) {
      throw new VdpaError(
        'EINVAL',
        `transmit vq ${vq.index} needs device-readable buffers of ${hdrLen + maxFrame} bytes, not ` +
          `${vq.writable ? 'writable' : 'readable'} ones of ${vq.bufSize}`,
      );
    }
    return new NetTxQueue(vq, hdrLen, maxFrame);
  }

  private constructor(vq: PooledVirtqueue, hdrLen: number, maxFrame: number) {
    this.vq = vq;
    this.counters = new NetQueueCounters(vq.index, 'tx');
    this.maxFrame = maxFrame;
    this.bytes = vq.bytes;
    this.poolOff = vq.bufferOffset(0);
    this.stride = vq.bufStride;
    this.hdrLen = hdrLen;
    this.mask = vq.num - 1;
    this.pendingLens = new Uint32Array(vq.num);
    this.slotLen = new Uint32Array(vq.num);
    this.done = new Uint16Array(vq.num);
    this.doneLens = new Uint32Array(vq.num);
    // Every slot's virtio_net_hdr_v1 is all zero once and for all: the driver writes only frames after
    // it and the device only reads the slots.
    this.bytes.fill(0, this.poolOff, this.poolOff + vq.num * this.stride);
  }

  /** Slots free for `send` without reclaiming. */
  get freeSlots(): number {
    return this.vq.freeRun() - this.pending;
  }

  /**
   * Queues one frame in the next free slot; {@link flush} makes it available. When no slot is free it
   * reclaims; if still none, it flushes (kicking the pending frames, as Linux does when the queue
   * stops) and reclaims again; if still none, counts a drop and returns false.
   *
   * @throws VdpaError `EINVAL` for a frame of 0 bytes or longer than {@link maxFrame}; VringError `EIO`
   * on a broken queue; VringError or VdpaError from the ring or the kick
   */
  send(frame: Uint8Array): boolean {
    const len = frame.length;
    if (len === 0 || len > this.maxFrame) {
      throw new VdpaError('EINVAL', `frame of ${len} bytes is not in 1..${this.maxFrame}`);
    }
    const vq = this.vq;
    if (vq.isBroken) throw new VringError('EIO', `virtqueue ${vq.index} is broken`);
    if (vq.freeRun() === this.pending) {
      this.reclaim();
      if (vq.freeRun() === this.pending) {
        this.flush();
        this.reclaim();
        if (vq.freeRun() === 0) {
          this.counters.drops++;
          return false;
        }
      }
    }
    const slot = (vq.nextSlot + this.pending) & this.mask;
    // The slot's header was zeroed when the queue was made and is never written again.
    this.bytes.set(frame, this.poolOff + slot * this.stride + this.hdrLen);
    this.slotLen[slot] = len;
    this.pendingLens[this.pending++] = this.hdrLen + len;
    return true;
  }

  /**
   * Makes the frames queued since the last call available with one `avail->idx` store, then one kick
   * decision for them (`virtqueue_kick()`); nothing when nothing was queued.
   * @throws VringError / VdpaError from the ring or the kick op
   */
  flush(): void {
    const n = this.pending;
    if (n === 0) return;
    this.pending = 0;
    // Lengths were checked by send; space was reserved slot by slot (freeRun - pending).
    this.vq.post(n, this.pendingLens);
    if (this.vq.kickPrepare()) {
      this.vq.notify();
      this.counters.kicks++;
    }
  }

  /**
   * Takes every completed slot back (`free_old_xmit()`) and counts the frames as transmitted.
   * @returns slots reclaimed
   * @throws VringError `EIO` when the device broke the ring protocol (a used id not in flight, a used
   * length other than 0)
   */
  reclaim(): number {
    const { vq, counters, done, doneLens, slotLen } = this;
    let total = 0;
    for (let n = vq.reap(done, doneLens); n > 0; n = vq.reap(done, doneLens)) {
      let bytes = 0;
      for (let k = 0; k < n; k++) bytes += slotLen[done[k]];
      counters.packets += n;
      counters.bytes += bytes;
      total += n;
    }
    return total;
  }

  /**
   * Drops the frames not flushed; call when the device was reset and the vq deleted (which freed the
   * slots with the rings).
   */
  destroy(): void {
    this.pending = 0;
  }
}

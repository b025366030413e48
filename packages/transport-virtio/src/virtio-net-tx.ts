import { VdpaError } from '@vdpa-kit/core-bus';
import type { DmaAllocator, GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import { allocNetBufferPool } from './net-buffer-pool.js';
import { NetQueueCounters } from './net-queue-counters.js';

/**
 * One virtio-net transmit queue (`struct send_queue`): a preallocated DMA pool of one slot per ring
 * entry, each starting with a `virtio_net_hdr_v1` zeroed once when the pool is made; `send` copies the
 * frame behind a free slot's header and makes header and frame available as one readable descriptor
 * (token = slot); `flush` makes the kick decision; `reclaim`
 * takes completed slots back. Nothing is allocated per frame.
 *
 * @example
 * const tx = NetTxQueue.create({ vq, mem, dma, hdrLen: 12, slotSize: 1536, maxFrame: 1514 });
 * if (tx.send(frame)) tx.flush();
 */
export class NetTxQueue {
  readonly counters: NetQueueCounters;
  readonly vq: Virtqueue<number>;
  /** Largest frame `send` accepts. */
  readonly maxFrame: number;
  private readonly poolAddr: number;
  private readonly poolOffset: number;
  private readonly bytes: Uint8Array;
  private readonly slotSize: number;
  private readonly hdrLen: number;
  private readonly free: Uint16Array;
  private freeTop = 0;
  /** Frames queued since the last kick decision. */
  private queued = 0;
  /** Frame length in each slot, counted when the slot completes. */
  private readonly slotLen: Uint32Array;
  /** Slots (tokens) and used lengths of one {@link reclaim} batch, reused. */
  private readonly done: number[];
  private readonly doneLens: Uint32Array;

  /**
   * Allocates the slot pool (`vq.num` slots of `slotSize` bytes).
   * @throws VringError `ENOMEM` when the DMA range is full, `EFAULT` if the pool is not inside one region
   */
  static create(options: {
    readonly vq: Virtqueue<number>;
    readonly mem: GuestMemory;
    readonly dma: DmaAllocator;
    readonly hdrLen: number;
    readonly slotSize: number;
    readonly maxFrame: number;
  }): NetTxQueue {
    const { vq, mem, dma, slotSize } = options;
    const pool = allocNetBufferPool(mem, dma, vq.num * slotSize);
    return new NetTxQueue(options, pool.addr, pool.bytes, pool.offset);
  }

  private constructor(
    options: {
      readonly vq: Virtqueue<number>;
      readonly hdrLen: number;
      readonly slotSize: number;
      readonly maxFrame: number;
    },
    poolAddr: number,
    bytes: Uint8Array,
    poolOffset: number,
  ) {
    const { vq } = options;
    this.vq = vq;
    this.counters = new NetQueueCounters(vq.index, 'tx');
    this.maxFrame = options.maxFrame;
    this.poolAddr = poolAddr;
    this.poolOffset = poolOffset;
    this.bytes = bytes;
    this.slotSize = options.slotSize;
    this.hdrLen = options.hdrLen;
    this.free = new Uint16Array(vq.num);
    this.slotLen = new Uint32Array(vq.num);
    this.done = new Array<number>(vq.num).fill(0);
    this.doneLens = new Uint32Array(vq.num);
    for (let slot = vq.num - 1; slot >= 0; slot--) this.free[this.freeTop++] = slot;
    // Every slot's virtio_net_hdr_v1 is all zero (no checksum offload, GSO_NONE) once and for all: the
    // driver writes only frames after it and the device only reads the slots.
    bytes.fill(0, poolOffset, poolOffset + vq.num * this.slotSize);
  }

  /** Slots free for `send` without reclaiming. */
  get freeSlots(): number {
    return this.freeTop;
  }

  /**
   * Queues one frame. When no slot is free it reclaims; if still none, it kicks pending buffers (as
   * Linux does when the queue stops) and reclaims again; if still none, counts a drop and returns false.
   *
   * @throws VdpaError `EINVAL` for a frame of 0 bytes or longer than {@link maxFrame}; VringError or
   * VdpaError from the ring or the kick
   */
  send(frame: Uint8Array): boolean {
    const len = frame.length;
    if (len === 0 || len > this.maxFrame) {
      throw new VdpaError('EINVAL', `frame of ${len} bytes is not in 1..${this.maxFrame}`);
    }
    if (this.freeTop === 0) {
      this.reclaim();
      if (this.freeTop === 0) {
        this.flush();
        this.reclaim();
        if (this.freeTop === 0) {
          this.counters.drops++;
          return false;
        }
      }
    }
    const slot = this.free[--this.freeTop];
    const hdrLen = this.hdrLen;
    const slotOff = slot * this.slotSize;
    // The slot's header was zeroed when the pool was made and is never written again.
    this.bytes.set(frame, this.poolOffset + slotOff + hdrLen);
    this.slotLen[slot] = len;
    this.vq.addOutbuf(this.poolAddr + slotOff, hdrLen + len, slot);
    this.queued++;
    return true;
  }

  /**
   * One kick decision for everything queued since the last one (`virtqueue_kick`); nothing when nothing
   * was queued.
   * @throws VringError / VdpaError from the ring or the kick op
   */
  flush(): void {
    if (this.queued === 0) return;
    this.queued = 0;
    if (this.vq.kickPrepare()) {
      this.vq.notify();
      this.counters.kicks++;
    }
  }

  /**
   * Takes every completed slot back (`free_old_xmit`) and counts the frames as transmitted.
   * @returns slots reclaimed
   * @throws VringError `EIO` when the device broke the ring protocol
   */
  reclaim(): number {
    const vq = this.vq;
    const counters = this.counters;
    const done = this.done;
    const free = this.free;
    const slotLen = this.slotLen;
    let total = 0;
    for (let n = vq.getBufs(done, this.doneLens); n > 0; n = vq.getBufs(done, this.doneLens)) {
      let bytes = 0;
      for (let k = 0; k < n; k++) {
        const slot = done[k];
        free[this.freeTop++] = slot;
        bytes += slotLen[slot];
      }
      counters.packets += n;
      counters.bytes += bytes;
      total += n;
    }
    return total;
  }

  /** Frees the slot pool; call after the device was reset and the vq deleted. */
  destroy(dma: DmaAllocator): void {
    dma.free(this.poolAddr);
  }
}

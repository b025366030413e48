import type { DmaAllocator, GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import { ETH_HLEN } from '@vdpa-kit/virtio-spec';
import { allocNetBufferPool } from './net-buffer-pool.js';
import type { RxBatch } from './net-interface.js';
import { NetQueueCounters } from './net-queue-counters.js';

/** Receives a batch; returns false when nobody took it (the frames count as drops). */
export type RxSink = (batch: RxBatch) => boolean;

/**
 * One virtio-net receive queue (`struct receive_queue`): a preallocated DMA pool of one buffer per
 * ring slot (virtio-net header + largest frame, rounded up to 64 bytes), posted as single writable
 * descriptors whose token is the slot number; received frames are gathered into one reused
 * {@link RxBatch} and the slots are reposted after the batch was delivered. Nothing is allocated per
 * frame or per batch.
 *
 * @example
 * const rx = NetRxQueue.create({ vq, pair: 0, mem, dma, hdrLen: 12, bufSize: 1536, sink });
 * rx.refill();   // post every buffer, kick if needed
 * rx.poll();     // on the vq callback: NAPI-style receive loop
 */
export class NetRxQueue {
  readonly counters: NetQueueCounters;
  /** The batch handed to the sink, reused. */
  readonly batch: RxBatch;
  readonly vq: Virtqueue<number>;
  private readonly poolAddr: number;
  private readonly poolOffset: number;
  private readonly bufSize: number;
  private readonly hdrLen: number;
  private readonly sink: RxSink;
  /** Slots to repost. */
  private readonly free: Uint16Array;
  /** Slots (tokens) and used lengths of one `getBufs` batch, reused. */
  private readonly done: number[];
  private readonly doneLens: Uint32Array;
  /** Addresses, lengths and tokens of one `addInbufs` refill, reused. */
  private readonly postAddrs: Float64Array;
  private readonly postLens: Uint32Array;
  private readonly postSlots: number[];
  private freeCount = 0;
  private polling = false;
  private stopped = false;

  /**
   * Allocates the buffer pool (`vq.num` buffers of `bufSize` bytes).
   * @throws VringError `ENOMEM` when the DMA range is full, `EFAULT` if the pool is not inside one region
   */
  static create(options: {
    readonly vq: Virtqueue<number>;
    readonly pair: number;
    readonly mem: GuestMemory;
    readonly dma: DmaAllocator;
    readonly hdrLen: number;
    readonly bufSize: number;
    readonly sink: RxSink;
  }): NetRxQueue {
    const { vq, mem, dma, bufSize } = options;
    const pool = allocNetBufferPool(mem, dma, vq.num * bufSize);
    return new NetRxQueue(options, pool.addr, pool.bytes, pool.offset);
  }

  private constructor(
    options: {
      readonly vq: Virtqueue<number>;
      readonly pair: number;
      readonly hdrLen: number;
      readonly bufSize: number;
      readonly sink: RxSink;
    },
    poolAddr: number,
    regionBytes: Uint8Array,
    poolOffset: number,
  ) {
    const { vq } = options;
    this.vq = vq;
    this.counters = new NetQueueCounters(vq.index, 'rx');
    this.poolAddr = poolAddr;
    this.poolOffset = poolOffset;
    this.bufSize = options.bufSize;
    this.hdrLen = options.hdrLen;
    this.sink = options.sink;
    this.free = new Uint16Array(vq.num);
    this.done = new Array<number>(vq.num).fill(0);
    this.doneLens = new Uint32Array(vq.num);
    this.postAddrs = new Float64Array(vq.num);
    this.postLens = new Uint32Array(vq.num).fill(options.bufSize);
    this.postSlots = new Array<number>(vq.num).fill(0);
    for (let slot = vq.num - 1; slot >= 0; slot--) this.free[this.freeCount++] = slot;
    this.batch = {
      queue: options.pair,
      count: 0,
      data: new Array<Uint8Array>(vq.num).fill(regionBytes),
      offsets: new Uint32Array(vq.num),
      lengths: new Uint32Array(vq.num),
    };
  }

  /** Address of the buffer pool, for {@link destroy}. */
  get pool(): number {
    return this.poolAddr;
  }

  /**
   * Posts every free buffer (`try_fill_recv`) and kicks the device if it asked for it; nothing when no
   * buffer is free.
   * @throws VringError / VdpaError from the ring or the kick
   */
  refill(): void {
    const n = this.freeCount;
    if (n === 0) return;
    const vq = this.vq;
    const bufSize = this.bufSize;
    const addrs = this.postAddrs;
    const slots = this.postSlots;
    // Most recently freed first, as a stack pops them.
    for (let k = 0; k < n; k++) {
      const slot = this.free[n - 1 - k];
      addrs[k] = this.poolAddr + slot * bufSize;
      slots[k] = slot;
    }
    // All or nothing: on an error no buffer was posted and every slot stays free.
    vq.addInbufs(addrs, this.postLens, slots, n);
    this.freeCount = 0;
    if (vq.kickPrepare()) {
      vq.notify();
      this.counters.kicks++;
    }
  }

  /**
   * The NAPI loop: with callbacks disabled, receive and deliver batches and refill after each one
   * until the ring is empty, then re-enable callbacks and look again (`virtqueue_enable_cb` returning
   * false means buffers arrived meanwhile). Re-entrant calls (from a receiver) return 0.
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

  /** Frees the buffer pool; call after the device was reset and the vq deleted. Polling stops. */
  destroy(dma: DmaAllocator): void {
    this.stopped = true;
    dma.free(this.poolAddr);
  }

  /**
   * Takes up to one ring's worth of used buffers into {@link batch}: frames shorter than the header
   * plus an Ethernet header count as errors. Every consumed slot is queued for reposting.
   * @returns buffers consumed (frames and errors)
   */
  private receive(): number {
    const vq = this.vq;
    const batch = this.batch;
    const offsets = batch.offsets;
    const lengths = batch.lengths;
    const counters = this.counters;
    const hdrLen = this.hdrLen;
    const done = this.done;
    const doneLens = this.doneLens;
    const free = this.free;
    const base = this.poolOffset + hdrLen;
    const bufSize = this.bufSize;
    const cap = vq.num;
    let n = 0;
    let consumed = 0;
    while (consumed < cap) {
      const got = vq.getBufs(done, doneLens, cap - consumed);
      if (got === 0) break;
      consumed += got;
      const first = n;
      let errors = 0;
      let bytes = 0;
      for (let k = 0; k < got; k++) {
        const slot = done[k];
        free[this.freeCount++] = slot;
        const len = doneLens[k];
        if (len < hdrLen + ETH_HLEN) {
          errors++;
          continue;
        }
        const frameLen = len - hdrLen;
        offsets[n] = base + slot * bufSize;
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

import { VringError } from './errors.js';
import type { GuestMemory } from './guest-memory.js';
import type { DmaAllocator } from './dma-allocator.js';
import type { BufferList } from './virtqueue-buffer-list.js';
import type { VirtqueueOptions } from './virtqueue-options.js';
import { VirtqueueRings } from './virtqueue-rings.js';
import { VirtqueueCore } from './virtqueue-core.js';
import { U16_MASK, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '@vdpa-kit/virtio-spec';

/** Ring indices wrap modulo 2^16 (§2.7): a module-local copy of `U16_MASK`. */
const IDX_MASK = U16_MASK;

/** Largest `le32 len` of a descriptor (§2.7.5). */
const DESC_LEN_MAX = 0xffff_ffff;
/** Indirect table capacity (descriptors) when `maxIndirect` is not given, capped at the queue size. */
const DEFAULT_MAX_INDIRECT = 16;
// Module-local copies of the flags the datapath tests. An imported binding is a live module cell that
// optimised code loads and checks on every use; a local `const` folds to an immediate.
const F_NEXT = VIRTQ_DESC_F_NEXT;
const F_WRITE = VIRTQ_DESC_F_WRITE;

/**
 * Whether one buffer of a single-buffer chain breaks the rules of `addOutbuf`/`addInbuf`: no token, an
 * address not in [0, 2^53), a length not in 1..2^32 - 1. Small enough to be inlined in the add loops.
 */
function isBadBuffer(addr: number, len: number, token: unknown): boolean {
  return (
    token === undefined ||
    !Number.isSafeInteger(addr) ||
    addr < 0 ||
    !Number.isInteger(len) ||
    len < 1 ||
    len > DESC_LEN_MAX
  );
}

/**
 * The driver side of one split virtqueue (the kernel's `virtio_ring` / `vring_virtqueue`): descriptor
 * free list, available ring publication, used ring consumption, indirect descriptors and notification
 * suppression with or without `EVENT_IDX`. `T` is the per-request token handed back by {@link getBuf}.
 *
 * Nothing is allocated per request: ring areas, the indirect table pool and all bookkeeping are created
 * once; rings are accessed through the DataView of the memory region that holds them. A device that
 * breaks the protocol (bad used id or length) makes the queue `broken`: the failing call and every later
 * datapath call throw `VringError('EIO')` until {@link reset}. A queue of fixed one-buffer chains (a
 * NIC's receive or transmit ring) is a {@link PooledVirtqueue}, posted and reaped in batches.
 *
 * @example
 * const vq = Virtqueue.create<number>(mem, dma, {
 *   index: 0, num: 256, eventIdx: true, indirect: true, notify: (q) => handle.kickVq(q.index),
 * });
 * handle.setVqAddress(0, vq.layout.descAddr, vq.layout.availAddr, vq.layout.usedAddr);
 * vq.addOutbuf(frameAddr, 60, 1);
 * vq.kick();
 * const done = vq.getBuf(); // 1, once the device has used it
 */
export class Virtqueue<T> extends VirtqueueCore {
  /** Descriptors per indirect table; 0 when indirect descriptors are off. */
  readonly maxIndirect: number;

  private readonly notifyFn: (vq: Virtqueue<T>) => void;
  private readonly callback: ((vq: Virtqueue<T>) => void) | undefined;

  // Driver-private state the device cannot corrupt (the kernel's desc_extra / desc_state).
  /** Free-list link of each descriptor; chains keep their links while in flight. */
  private readonly nextOf: Uint16Array;
  /** Ring descriptors held by the chain at each head (1 for indirect); 0 when not a head in flight. */
  private readonly chainCount: Uint16Array;
  /** Last ring descriptor of the chain at each head. */
  private readonly chainTail: Uint16Array;
  /** Total device-writable bytes of the chain at each head: the bound on its used `len`. */
  private readonly writable: Float64Array;
  private readonly tokens: (T | undefined)[];

  private freeHead = 0;
  private numFree_ = 0;
  private lastLen_ = 0;

  /**
   * Allocates and zeroes the rings (and the indirect table pool) from `dma` and returns an empty queue.
   *
   * @param mem the memory `dma` allocates from; every area must lie inside one of its regions
   * @param dma the driver's DMA allocator
   * @param options queue parameters
   * @throws VringError `EINVAL` for a bad index, size, alignment, `maxIndirect` or `initialIdx`,
   * `ENOMEM` when the allocator is full (nothing stays allocated), `EFAULT` if an area is not inside
   * one region of `mem`.
   * @example
   * const vq = Virtqueue.create<string>(mem, new DmaAllocator(mem), {
   *   index: 0, num: 64, align: 4096, eventIdx: false, indirect: false, notify: () => {},
   * });
   */
  static create<T>(mem: GuestMemory, dma: DmaAllocator, options: VirtqueueOptions<T>): Virtqueue<T> {
    const num = options.num;
    const initialIdx = VirtqueueCore.checkQueueOptions(options.index, num, options.initialIdx);
    let maxIndirect = 0;
    if (options.indirect) {
      maxIndirect = options.maxIndirect ?? Math.min(DEFAULT_MAX_INDIRECT, num);
      if (!Number.isInteger(maxIndirect) || maxIndirect < 1 || maxIndirect > num) {
        throw new VringError('EINVAL', `indirect table size ${maxIndirect} is not in 1..${num}`);
      }
    }
    const vq = new Virtqueue<T>(options, VirtqueueRings.alloc(mem, dma, num, options.align, maxIndirect));
    vq.init(initialIdx);
    return vq;
  }

  private constructor(options: VirtqueueOptions<T>, rings: VirtqueueRings) {
    super(options.index, options.eventIdx, rings);
    const num = rings.layout.num;
    this.maxIndirect = rings.maxIndirect;
    this.notifyFn = options.notify;
    this.callback = options.callback;
    this.nextOf = new Uint16Array(num);
    this.chainCount = new Uint16Array(num);
    this.chainTail = new Uint16Array(num);
    this.writable = new Float64Array(num);
    this.tokens = new Array<T | undefined>(num).fill(undefined);
  }

  /** Descriptors not held by any chain in flight. */
  get numFree(): number {
    return this.numFree_;
  }

  /** `len` of the used element consumed by the last successful {@link getBuf}: bytes the device wrote. */
  get lastLen(): number {
    return this.lastLen_;
  }

  /**
   * Makes a chain of `out` (device-readable) then `inb` (device-writable) buffers available
   * (`virtqueue_add_split`). With indirect descriptors and more than one buffer (up to `maxIndirect`)
   * the chain goes into this head's preallocated indirect table and takes one ring descriptor;
   * otherwise it takes one free descriptor per buffer. `avail.idx` is written at once; call
   * {@link kick} (or {@link kickPrepare} + {@link notify}) to tell the device.
   *
   * @param out device-readable buffers
   * @param inb device-writable buffers
   * @param token returned by {@link getBuf} or {@link detachUnusedBuf} for this chain; not `undefined`
   * @throws VringError `EINVAL` for an empty chain, a zero total length, a chain longer than the queue
   * or an undefined token; `ENOSPC` when not enough descriptors are free; `EIO` if the queue is broken.
   */
  add(out: BufferList, inb: BufferList, token: T): void {
    if (this.broken) throw this.brokenError();
    if (token === undefined) throw new VringError('EINVAL', `token of virtqueue ${this.index} is undefined`);
    const outN = out.count;
    const total = outN + inb.count;
    if (total === 0) throw new VringError('EINVAL', `buffer chain of ${total} buffers is empty`);
    if (total > this.num) {
      throw new VringError(
        'EINVAL',
        `buffer chain of ${total} buffers is longer than queue size ${this.num}`,
      );
    }
    const inLen = inb.totalLength();
    if (out.totalLength() + inLen === 0) {
      throw new VringError('EINVAL', `buffer chain of ${total} buffers has zero total length`);
    }
    const useIndirect = total > 1 && total <= this.maxIndirect;
    const needed = useIndirect ? 1 : total;
    if (this.numFree_ < needed) throw this.noSpace(needed);

    const rings = this.rings;
    const head = this.freeHead;
    const nextOf = this.nextOf;
    if (useIndirect) {
      for (let i = 0; i < total; i++) {
        const last = i === total - 1;
        const list = i < outN ? out : inb;
        const k = i < outN ? i : i - outN;
        const flags = (i < outN ? 0 : F_WRITE) | (last ? 0 : F_NEXT);
        rings.writeIndirectDesc(head, i, list.addr(k), list.len(k), flags, last ? 0 : i + 1);
      }
      rings.writeIndirectHead(head, total);
      this.freeHead = nextOf[head];
      this.chainTail[head] = head;
    } else {
      // Direct chains follow the free list, whose links are driver-private (desc_extra in the kernel).
      let d = head;
      let tail = head;
      for (let i = 0; i < total; i++) {
        const last = i === total - 1;
        const list = i < outN ? out : inb;
        const k = i < outN ? i : i - outN;
        const flags = (i < outN ? 0 : F_WRITE) | (last ? 0 : F_NEXT);
        rings.writeDesc(d, list.addr(k), list.len(k), flags, last ? 0 : nextOf[d]);
        tail = d;
        d = nextOf[d];
      }
      this.freeHead = d;
      this.chainTail[head] = tail;
    }
    this.numFree_ -= needed;
    this.chainCount[head] = needed;
    this.writable[head] = inLen;
    this.tokens[head] = token;
    this.publish(head);
  }

  /**
   * Fast path of {@link add} for one device-readable buffer (`virtqueue_add_outbuf` with one entry).
   * @throws VringError `EINVAL` for a zero or too long length or an undefined token, `ERANGE` for a bad
   * address, `ENOSPC` when no descriptor is free, `EIO` if the queue is broken.
   */
  addOutbuf(addr: number, len: number, token: T): void {
    this.addOne(addr, len, 0, token);
  }

  /**
   * Fast path of {@link add} for one device-writable buffer (`virtqueue_add_inbuf` with one entry).
   * @throws VringError as {@link addOutbuf}.
   */
  addInbuf(addr: number, len: number, token: T): void {
    this.addOne(addr, len, F_WRITE, token);
  }

  /**
   * Consumes one used element (`virtqueue_get_buf`): frees its chain, sets {@link lastLen} and returns its
   * token, or `undefined` when none is pending. With `EVENT_IDX` and callbacks enabled, moves
   * `used_event` to the new last used index.
   * @throws VringError `EIO` (and the queue becomes broken) if the device published more used
   * elements than were outstanding, a used id out of range or not in flight, or a used len beyond the
   * chain's writable bytes; `EIO` if the queue is already broken.
   */
  getBuf(): T | undefined {
    if (this.broken) throw this.brokenError();
    const last = this.lastUsedIdx_;
    const rings = this.rings;
    const usedIdx = rings.usedIdx();
    if (usedIdx === last) return undefined;
    // The element is read only after used.idx showed it (virtio_rmb in the kernel).
    const slot = last & this.mask;
    const id = rings.usedId(slot);
    const len = rings.usedLen(slot);
    // One combined test on the fast path; the cold path finds which rule the device broke.
    if (
      ((usedIdx - last) & IDX_MASK) > ((this.availIdxShadow - last) & IDX_MASK) ||
      id >= this.num ||
      this.chainCount[id] === 0 ||
      len > this.writable[id]
    ) {
      throw this.badUsed(usedIdx, last, id, len);
    }
    const token = this.tokens[id];
    this.detach(id);
    this.lastLen_ = len;
    this.consumedUpTo((last + 1) & IDX_MASK);
    return token;
  }

  /**
   * Takes back one chain still in flight, for teardown after the device was reset
   * (`virtqueue_detach_unused_buf`): frees it, steps the avail index back and returns its token, or
   * `undefined` when none is left. Works on a broken queue.
   */
  detachUnusedBuf(): T | undefined {
    for (let head = 0; head < this.num; head++) {
      if (this.chainCount[head] === 0) continue;
      const token = this.tokens[head];
      this.detach(head);
      this.availIdxShadow = (this.availIdxShadow - 1) & IDX_MASK;
      this.rings.setAvailIdx(this.availIdxShadow);
      return token;
    }
    return undefined;
  }

  /** Calls the `notify` option. */
  protected notifyDevice(): void {
    this.notifyFn(this);
  }

  /** Calls the `callback` option. */
  protected callDriver(): void {
    this.callback?.(this);
  }

  /** Frees the rings and the indirect pool back to the DMA allocator. */
  protected freeAreas(): void {
    this.rings.free();
  }

  /** (Re)initialises the queue with every ring index at `start`. */
  protected init(start: number): void {
    const num = this.num;
    this.initRings(start);
    for (let i = 0; i < num; i++) this.nextOf[i] = i + 1;
    this.chainCount.fill(0);
    this.chainTail.fill(0);
    this.writable.fill(0);
    this.tokens.fill(undefined);
    this.freeHead = 0;
    this.numFree_ = num;
    this.lastLen_ = 0;
  }

  private addOne(addr: number, len: number, flags: number, token: T): void {
    if (this.broken) throw this.brokenError();
    // One combined test on the fast path; the cold path names the bad value.
    if (isBadBuffer(addr, len, token)) throw this.badBuffer(addr, len, token);
    if (this.numFree_ < 1) throw this.noSpace(1);
    const head = this.freeHead;
    this.rings.writeDesc(head, addr, len, flags, 0);
    this.freeHead = this.nextOf[head];
    this.numFree_ -= 1;
    this.chainCount[head] = 1;
    this.chainTail[head] = head;
    this.writable[head] = flags === F_WRITE ? len : 0;
    this.tokens[head] = token;
    this.publish(head);
  }

  /** Puts `head` in the next avail slot and publishes the new avail idx. */
  private publish(head: number): void {
    const slot = this.availIdxShadow & this.mask;
    this.rings.setAvailRing(slot, head);
    this.availIdxShadow = (this.availIdxShadow + 1) & IDX_MASK;
    // The ring entry is written before the index that publishes it (virtio_wmb in the kernel).
    this.rings.setAvailIdx(this.availIdxShadow);
    // vring_need_event cannot see more than 0xffff additions between decisions: kick before that.
    if (((this.availIdxShadow - this.kickedIdx) & IDX_MASK) === IDX_MASK) this.kick();
  }

  /** Returns the chain at `head` to the free list (`detach_buf_split`). */
  private detach(head: number): void {
    const count = this.chainCount[head];
    this.nextOf[this.chainTail[head]] = this.freeHead;
    this.freeHead = head;
    this.numFree_ += count;
    // `writable[head]` is left as it is: a chain count of 0 already marks the head as not in flight,
    // and the next add at this head writes it again.
    this.chainCount[head] = 0;
    this.tokens[head] = undefined;
  }

  /** The error of a single-buffer add with a bad token, address or length. */
  private badBuffer(addr: number, len: number, token: T | undefined): VringError {
    if (token === undefined) {
      return new VringError('EINVAL', `token of virtqueue ${this.index} is undefined`);
    }
    if (!Number.isSafeInteger(addr) || addr < 0) {
      return new VringError('ERANGE', `buffer address ${addr} is not an address in [0, 2^53)`);
    }
    return new VringError('EINVAL', `buffer length ${len} is not in 1..${DESC_LEN_MAX}`);
  }

  /** Marks the queue broken for the used element that failed {@link getBuf}'s checks, and says why. */
  private badUsed(usedIdx: number, last: number, id: number, len: number): VringError {
    if (((usedIdx - last) & IDX_MASK) > ((this.availIdxShadow - last) & IDX_MASK)) {
      return this.markBroken(
        `used idx ${usedIdx} is ahead of avail idx ${this.availIdxShadow} (last used ${last})`,
      );
    }
    if (id >= this.num) return this.markBroken(`used id ${id} is out of range for queue size ${this.num}`);
    if (this.chainCount[id] === 0) return this.markBroken(`used id ${id} is not in flight`);
    return this.markBroken(`used len ${len} is beyond the ${this.writable[id]} writable bytes of id ${id}`);
  }

  /** The error of an add that needs `needed` descriptors for `what` (a chain or a batch). */
  private noSpace(needed: number, what = 'the chain'): VringError {
    return new VringError(
      'ENOSPC',
      `virtqueue ${this.index} has ${this.numFree_} free descriptors, ${what} needs ${needed}`,
    );
  }
}

import type { DeviceHandle, Logger } from '@vdpa-kit/core-bus';
import {
  type DmaAllocator,
  type GuestMemory,
  PooledVirtqueue,
  Virtqueue,
  type VirtqueueCore,
} from '@vdpa-kit/vring';
import { VirtioError } from './errors.js';

/** Default `get_vq_num_min` when the device has no such op (`virtio_vdpa_setup_vq()`: `min_num` 1). */
const VQ_NUM_MIN_DEFAULT = 1;
/** Bits of a u32, for the power-of-two rounding below. */
const U32_BITS = 32;

/** One entry of `findVqs` (`struct virtqueue_info`): a general queue, any chain per buffer. */
export interface VirtqueueInfo {
  /** Name for logs and errors (`rx0`, `tx0`, `cvq`). */
  readonly name: string;
  /**
   * The vq callback, called from the device's used-buffer notification when used buffers are pending
   * (`vring_interrupt`). Without one, `setVqCb` is given `null`.
   */
  readonly callback?: (vq: Virtqueue<number>) => void;
}

/**
 * The fixed buffers of a pooled queue: `num` buffers of `bufSize` bytes allocated with the rings,
 * descriptor `i` bound to buffer `i` for the queue's life (see vring's `PooledVirtqueue`).
 */
export interface VirtqueuePool {
  /** Bytes per buffer. */
  readonly bufSize: number;
  /** Device-writable buffers (a receive queue) rather than device-readable ones (a transmit queue). */
  readonly writable: boolean;
  /** Alignment of each buffer (a power of two; default 64). */
  readonly bufAlign?: number;
}

/**
 * One entry of `findVqs` for a queue over a fixed buffer pool (a NIC's receive or transmit ring): the
 * vq is a `PooledVirtqueue`, posted and reaped in batches.
 */
export interface PooledVirtqueueInfo {
  /** Name for logs and errors (`rx0`, `tx0`). */
  readonly name: string;
  /** The buffers, allocated with the rings and freed with them. */
  readonly pool: VirtqueuePool;
  /** The vq callback, as {@link VirtqueueInfo.callback}. */
  readonly callback?: (vq: PooledVirtqueue) => void;
}

/** The virtqueue `findVqs` makes for an entry: pooled for a {@link PooledVirtqueueInfo}. */
export type VirtqueueOf<I> = I extends null
  ? null
  : I extends PooledVirtqueueInfo
    ? PooledVirtqueue
    : Virtqueue<number>;

/** What {@link setupVq} needs from its device. */
export interface VqSetupContext {
  readonly dev: string;
  readonly handle: DeviceHandle;
  readonly mem: GuestMemory;
  readonly dma: DmaAllocator;
  readonly logger: Logger;
  /** Negotiated `VIRTIO_RING_F_EVENT_IDX`. */
  readonly eventIdx: boolean;
  /** Negotiated `VIRTIO_RING_F_INDIRECT_DESC`. */
  readonly indirect: boolean;
  /** Kicks the device for a vq (`handle.kickVq(vq.index)`), created once per device. */
  readonly notify: (vq: VirtqueueCore) => void;
  /** The device's used-buffer callback for a vq, created once per vq. */
  readonly interrupt: (vq: VirtqueueCore) => () => void;
}

function floorPow2(n: number): number {
  return 1 << (U32_BITS - 1 - Math.clz32(n));
}

function ceilPow2(n: number): number {
  const f = floorPow2(n);
  return f === n ? n : f * 2;
}

/**
 * The ring size used for a vq: the requested size capped at `max` and rounded down to a power of two,
 * raised to `min` when below it; exactly `max` when `max === min` (the kernel's `may_reduce_num`
 * false).
 *
 * @throws VirtioError `EINVAL` (reason `vq-setup`) when no power of two lies in `[min, max]`
 */
export function chooseQueueSize(
  dev: string,
  index: number,
  requested: number,
  min: number,
  max: number,
): number {
  const cap = max === min ? max : Math.min(requested, max);
  let num = floorPow2(cap);
  if (num < min) num = ceilPow2(min);
  if (num > max || num < 1) {
    throw new VirtioError(
      'EINVAL',
      'vq-setup',
      dev,
      `vq ${index} has no power-of-two size between min ${min} and max ${max}`,
    );
  }
  return num;
}

/**
 * `virtio_vdpa_setup_vq()`: index ≥ nvqs → `ENOENT`; already ready → `ENOENT`; size from
 * `getVqSize ?? getVqNumMax` (0 → `ENOENT`); min from `getVqNumMin ?? 1`; `getVqAlign`; the vring is
 * created from the DMA allocator (a `PooledVirtqueue` with its buffers for a
 * {@link PooledVirtqueueInfo}); then `setVqCb`, `setVqNum`, `setVqAddress(desc, avail, used)`,
 * `setVqState({availIndex: 0})`, `setVqReady(true)`. On an error after the ready check the vring is
 * freed, `setVqReady(false)` is issued and `getVqReady` checked, as the kernel does.
 *
 * @param ctx the device context
 * @param index vq index
 * @param info name and callback
 * @param requested the requested ring size
 * @returns the ready virtqueue
 * @throws VirtioError (reason `vq-setup`) carrying the errno of the failing step: `ENOENT` for the
 * checks above, `EINVAL` for a failed `setVqAddress` (as the kernel) or an impossible size, the op's
 * errno otherwise, `ENOMEM` when the rings do not fit the DMA range
 */
export function setupVq(
  ctx: VqSetupContext,
  index: number,
  info: PooledVirtqueueInfo,
  requested: number,
): PooledVirtqueue;
export function setupVq(
  ctx: VqSetupContext,
  index: number,
  info: VirtqueueInfo,
  requested: number,
): Virtqueue<number>;
export function setupVq(
  ctx: VqSetupContext,
  index: number,
  info: VirtqueueInfo | PooledVirtqueueInfo,
  requested: number,
): Virtqueue<number> | PooledVirtqueue;
export function setupVq(
  ctx: VqSetupContext,
  index: number,
  info: VirtqueueInfo | PooledVirtqueueInfo,
  requested: number,
): Virtqueue<number> | PooledVirtqueue {
  const { dev, handle } = ctx;
  const fail = (code: 'ENOENT', message: string): VirtioError =>
    new VirtioError(code, 'vq-setup', dev, message);
  if (index >= handle.nvqs)
    throw fail('ENOENT', `vq index ${index} (${info.name}) is not below nvqs ${handle.nvqs}`);
  if (handle.getVqReady(index)) throw fail('ENOENT', `vq ${index} (${info.name}) is already ready`);
  let vq: VirtqueueCore | undefined;
  try {
    const max = handle.has('getVqSize') ? handle.getVqSize(index) : handle.getVqNumMax();
    if (max === 0) throw fail('ENOENT', `vq ${index} (${info.name}) has maximum size 0`);
    const min = handle.has('getVqNumMin') ? handle.getVqNumMin() : VQ_NUM_MIN_DEFAULT;
    const align = handle.getVqAlign();
    const num = chooseQueueSize(dev, index, requested, min, max);
    const created = createVq(ctx, index, num, align, info);
    vq = created;
    handle.setVqCb(index, info.callback === undefined ? null : ctx.interrupt(created));
    handle.setVqNum(index, num);
    const { descAddr, availAddr, usedAddr } = created.deviceLayout;
    try {
      handle.setVqAddress(index, descAddr, availAddr, usedAddr);
    } catch (err) {
      // The kernel turns any set_vq_address failure into -EINVAL.
      const cause = VirtioError.wrap(
        err,
        'vq-setup',
        dev,
        `set address of vq ${index} (${info.name}) failed`,
      );
      throw new VirtioError('EINVAL', 'vq-setup', dev, cause.message, { cause: err });
    }
    handle.setVqState(index, { kind: 'split', availIndex: 0 });
    handle.setVqReady(index, true);
    return created;
  } catch (err) {
    vq?.destroy();
    rollbackVq(ctx, index);
    throw VirtioError.wrap(err, 'vq-setup', dev, `setup of vq ${index} (${info.name}) failed`);
  }
}

/** The vring of one entry: pooled (its buffers allocated with it) or general. */
function createVq(
  ctx: VqSetupContext,
  index: number,
  num: number,
  align: number,
  info: VirtqueueInfo | PooledVirtqueueInfo,
): Virtqueue<number> | PooledVirtqueue {
  if ('pool' in info) {
    const { pool } = info;
    return PooledVirtqueue.create(ctx.mem, ctx.dma, {
      index,
      num,
      align,
      eventIdx: ctx.eventIdx,
      bufSize: pool.bufSize,
      writable: pool.writable,
      ...(pool.bufAlign === undefined ? {} : { bufAlign: pool.bufAlign }),
      notify: ctx.notify,
      ...(info.callback === undefined ? {} : { callback: info.callback }),
    });
  }
  return Virtqueue.create<number>(ctx.mem, ctx.dma, {
    index,
    num,
    align,
    eventIdx: ctx.eventIdx,
    indirect: ctx.indirect,
    notify: ctx.notify,
    callback: info.callback,
  });
}

/** `error_new_virtqueue`: `setVqReady(false)`, then warn if the device still reports the vq ready. */
function rollbackVq(ctx: VqSetupContext, index: number): void {
  try {
    ctx.handle.setVqReady(index, false);
    if (ctx.handle.getVqReady(index))
      ctx.logger.warn('vq still ready after rollback', { dev: ctx.dev, vq: index });
  } catch (err) {
    ctx.logger.warn('vq rollback failed', { dev: ctx.dev, vq: index, message: String(err) });
  }
}

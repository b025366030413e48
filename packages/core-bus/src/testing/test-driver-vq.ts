import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from '@vdpa-kit/virtio-spec';
import { type DmaAllocator, type GuestMemory, Virtqueue } from '@vdpa-kit/vring';
import type { DeviceHandle } from '../device-handle.js';

/**
 * The start of virtio_vdpa's bring-up (virtio_dev_probe()), for test driver sides: reset, ACKNOWLEDGE,
 * DRIVER, `setDriverFeatures(features ?? offered)`, FEATURES_OK. DRIVER_OK is left to the caller.
 * @returns the features the device reports as negotiated (`getDriverFeatures`)
 * @example
 * const features = negotiateTestFeatures(handle);
 */
export function negotiateTestFeatures(handle: DeviceHandle, features?: bigint): bigint {
  handle.reset();
  let status: number = VIRTIO_CONFIG_S_ACKNOWLEDGE;
  handle.setStatus(status);
  status |= VIRTIO_CONFIG_S_DRIVER;
  handle.setStatus(status);
  handle.setDriverFeatures(features ?? handle.getDeviceFeatures());
  const negotiated = handle.getDriverFeatures();
  status |= VIRTIO_CONFIG_S_FEATURES_OK;
  handle.setStatus(status);
  return negotiated;
}

/** Options of {@link setupTestVq}. */
export interface TestVqOptions {
  /** The vq index on the device. */
  readonly index: number;
  /** Ring size. */
  readonly num: number;
  /** Ring alignment (legacy layout), usually `handle.getVqAlign()`. */
  readonly align: number;
  /** Memory and allocator the rings come from. */
  readonly mem: GuestMemory;
  readonly dma: DmaAllocator;
  /** Runs when the device signals used buffers and some are pending (`Virtqueue.interrupt`). */
  readonly onUsed: (vq: Virtqueue<number>) => void;
  /** Runs on every device callback for the vq, before the interrupt handler. */
  readonly onCallback?: () => void;
  /** Added to the ring addresses given to the device (its IOVAs in another address space). */
  readonly iovaOffset?: number;
  /** Also program `setVqState` (avail index 0) before ready (default false). */
  readonly setState?: boolean;
}

/**
 * Creates the driver side of vq `index` (no EVENT_IDX, no indirect descriptors; kicks go to
 * `kickVq`) and programs it on the device as virtio_vdpa does: callback, size, addresses, optionally
 * the state, ready.
 * @example
 * const rx = setupTestVq(handle, { index: 0, num: 256, align, mem, dma, onUsed: () => drain() });
 */
export function setupTestVq(handle: DeviceHandle, options: TestVqOptions): Virtqueue<number> {
  const { index, num, align, mem, dma, onUsed, onCallback } = options;
  const offset = options.iovaOffset ?? 0;
  const vq = Virtqueue.create<number>(mem, dma, {
    index,
    num,
    align,
    eventIdx: false,
    indirect: false,
    notify: (q) => handle.kickVq(q.index),
    callback: onUsed,
  });
  handle.setVqCb(index, () => {
    onCallback?.();
    vq.interrupt();
  });
  handle.setVqNum(index, num);
  const l = vq.deviceLayout;
  handle.setVqAddress(index, l.descAddr + offset, l.availAddr + offset, l.usedAddr + offset);
  if (options.setState === true) handle.setVqState(index, { kind: 'split', availIndex: 0 });
  handle.setVqReady(index, true);
  return vq;
}

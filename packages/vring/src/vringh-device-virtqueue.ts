import type { Iotlb } from './iotlb.js';
import type { Iov } from './iov.js';

/**
 * The device side of one virtqueue, whatever its layout: what a device's datapath needs to take
 * buffers the driver made available, fill or drain them, give them back and decide whether to
 * interrupt the driver. {@link Vringh} implements it for split virtqueues; a packed implementation
 * plugs in behind the same interface. Layout specifics (ring addresses, wrap counters, the available
 * index) stay on the implementing class.
 *
 * Every method that touches the ring throws `VringError` on bad guest input or a bad translation
 * (`EINVAL`, `EPERM`, `EFAULT`, `ELOOP`, `EPROTO`, `ERANGE`); it never reads or writes outside memory
 * the IOTLB grants with the needed permission.
 *
 * @example
 * function drain(vq: DeviceVirtqueue, riov: Iov, wiov: Iov, buf: Uint8Array): void {
 *   for (let head = vq.getdesc(riov, wiov); head >= 0; head = vq.getdesc(riov, wiov)) {
 *     const n = vq.pull(riov, buf);
 *     vq.complete(head, vq.push(wiov, buf, n));
 *   }
 *   if (vq.needNotify()) signalDriver();
 * }
 */
export interface DeviceVirtqueue {
  /** Index of the next available entry the device will take (`last_avail_idx`, vq state). */
  lastAvailIdx: number;
  /** Index of the next used entry after the last `needNotify` (`last_used_idx`, vq state). */
  lastUsedIdx: number;

  /** Replaces the address space ring and buffer addresses are translated through (`vringh_set_iotlb`). */
  setIotlb(iotlb: Iotlb): void;

  /**
   * Takes the next available chain: resets both lists, fills `riov` with its device-readable buffers
   * and `wiov` with its device-writable ones (`vringh_getdesc`).
   * @param riov list for readable buffers, or `null` if the queue carries none (a readable one is `EPROTO`)
   * @param wiov list for writable buffers, or `null` likewise
   * @returns the chain's head id (≥ 0) to pass to {@link complete}, or -1 when nothing is available
   */
  getdesc(riov: Iov | null, wiov: Iov | null): number;

  /** Copies up to `len` bytes (default `dst.length`) out of `riov` into `dst`. @returns bytes copied */
  pull(riov: Iov, dst: Uint8Array, len?: number): number;

  /** Copies up to `len` bytes (default `src.length`) of `src` into `wiov`. @returns bytes copied */
  push(wiov: Iov, src: Uint8Array, len?: number): number;

  /**
   * Gives chain `head` back to the driver, `len` bytes written into its writable buffers, and publishes
   * it (`vringh_complete`).
   */
  complete(head: number, len: number): void;

  /**
   * Whether the driver wants an interrupt for the chains completed since the last call; ends that batch
   * (`vringh_need_notify`).
   */
  needNotify(): boolean;

  /**
   * Asks the driver to kick again (`vringh_notify_enable`).
   * @returns false when buffers arrived meanwhile: the device must process them before sleeping
   */
  notifyEnable(): boolean;

  /** Tells the driver kicks are not needed while the device is polling (`vringh_notify_disable`). */
  notifyDisable(): void;

  /** True when the driver made entries available that {@link getdesc} has not taken yet. */
  hasWork(): boolean;
}

import type { OpName, VdpaConfigOps } from './config-ops.js';
import type { VdpaClassId } from './vdpa-device.js';

/**
 * What a transport holds instead of a device (the core wrappers of include/linux/vdpa.h included): every op of
 * `VdpaConfigOps` except `free` (the bus releases devices), plus device metadata. Optional ops the
 * device lacks are present and throw `EOPNOTSUPP`; `has(op)` tells which exist. Every call is an op
 * event on `bus.events$` and passes the bus interceptors.
 *
 * Core wrappers: `getConfig` first calls `setDriverFeatures(0n)` while features are not valid;
 * `setDriverFeatures` marks them valid; `reset(flags)` clears them and calls `compatReset(flags)` when
 * flags are non-zero and the device has it; callbacks given to `setVqCb` / `setConfigCb` are wrapped so
 * that their invocation is a `cb` event.
 *
 * A handle dies when its driver is removed (unbind, driver or device unregistration): every call then
 * throws `VdpaError('ENODEV')` and callbacks it registered are no longer delivered.
 *
 * @example
 * probe(handle: DeviceHandle) {
 *   handle.reset();
 *   handle.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
 *   const features = handle.getDeviceFeatures();
 * }
 */
export interface DeviceHandle extends Omit<Required<VdpaConfigOps>, 'free' | 'reset'> {
  /** Device name. */
  readonly name: string;
  /** Device index. */
  readonly index: number;
  /** Number of virtqueues. */
  readonly nvqs: number;
  /** Number of virtqueue groups. */
  readonly ngroups: number;
  /** Number of address spaces. */
  readonly nas: number;
  /** Transport classes the device can be served by. */
  readonly classIds: readonly VdpaClassId[];
  /** Creating management device, if any. */
  readonly mgmtdev: string | undefined;
  /** VA mode. */
  readonly useVa: boolean;
  /** False once the driver holding this handle was removed. */
  readonly alive: boolean;
  /** True when the device implements `op`. */
  has(op: OpName): boolean;
  /**
   * `vdpa_reset`: clears features valid; `compatReset(flags)` if `flags` ≠ 0 and supported, else `reset()`.
   * @param flags `VDPA_RESET_F_*` (default 0)
   */
  reset(flags?: number): void;
}

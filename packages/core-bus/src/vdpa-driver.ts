import type { DeviceHandle } from './device-handle.js';
import type { VdpaClassId } from './vdpa-device.js';

/**
 * A bus driver (`struct vdpa_driver`): a transport. It lists the class ids it claims; the bus binds a
 * device to the first registered driver whose `idTable` intersects the device's `classIds` (unless
 * the device's `driverOverride` names another one) and calls `probe` with a `DeviceHandle`.
 *
 * @example
 * const driver: VdpaDriver = {
 *   name: 'virtio_vdpa',
 *   idTable: ['virtio'],
 *   probe(handle) { if (handle.getDeviceId() === 0) throw new VdpaError('EINVAL', 'device id 0'); },
 *   remove(handle) { handle.reset(); },
 * };
 */
export interface VdpaDriver {
  /** Unique driver name (`driverOverride` and `bind` refer to it). */
  readonly name: string;
  /** Class ids this driver serves. */
  readonly idTable: readonly VdpaClassId[];
  /**
   * Takes the device. Throw (preferably a `VdpaError`) to refuse it; the handle is then dead.
   * @param handle the device's config-ops channel, alive until `remove` returns
   */
  probe(handle: DeviceHandle): void;
  /**
   * Releases the device (unbind, driver or device unregistration). The handle is still alive during
   * the call and dead afterwards.
   */
  remove(handle: DeviceHandle): void;
}

import type { VirtioError } from './errors.js';
import type { VirtioDevice } from './virtio-device.js';

/**
 * A driver on the virtio bus (`struct virtio_driver`): virtio-net, later virtio-blk. The `VirtioBus`
 * matches it to devices by virtio device id, negotiates features (the transport's plus the driver's
 * `features`, only those offered) and calls `probe` once FEATURES_OK holds. The bus sets DRIVER_OK after
 * `probe` if the driver did not (`virtio_device_ready`).
 *
 * @example
 * const driver: VirtioDriver = {
 *   name: 'virtio_rng', deviceIds: [VIRTIO_ID_RNG], features: 0n,
 *   probe(vdev) { vdev.findVqs([{ name: 'input' }]); vdev.ready(); },
 *   remove(vdev) { vdev.teardown(); },
 * };
 */
export interface VirtioDriver {
  /** Unique driver name (`virtio_net`). */
  readonly name: string;
  /** Virtio device ids it drives (§5). */
  readonly deviceIds: readonly number[];
  /** Device-type features it understands (its feature table); transport features are added by the bus. */
  readonly features: bigint;
  /**
   * `drv->validate`: returns the subset of `features` to accept, dropping features whose dependencies
   * are missing (the driver must not accept a feature without its dependency, §6). Bits it adds are
   * ignored.
   */
  validateFeatures?(vdev: VirtioDevice, features: bigint): bigint;
  /**
   * Takes the device (FEATURES_OK is set; features are final). Throw to refuse it: the bus then sets
   * FAILED. Typically reads config, calls `findVqs`, then `ready()`.
   */
  probe(vdev: VirtioDevice): void;
  /** Releases the device: stops using it, resets it, deletes its virtqueues and frees its buffers. */
  remove(vdev: VirtioDevice): void;
  /** The device's configuration changed (`config_changed`); delivered only after DRIVER_OK. */
  configChanged?(vdev: VirtioDevice): void;
  /** The device broke (protocol violation, DEVICE_NEEDS_RESET) and was marked FAILED: stop using it. */
  broken?(vdev: VirtioDevice, error: VirtioError): void;
}

import type { VirtioError } from './errors.js';
import type { VirtioDevice } from './virtio-device.js';

/**
 * A driver on the virtio bus (`struct virtio_driver`): virtio-net, later virtio-blk. The `VirtioBus`
 * matches it to devices by virtio device id and runs `virtio.c: virtio_dev_probe()`: DRIVER, the
 * features written (the driver's `features` and the transport's, only those offered), `validate`,
 * FEATURES_OK, `probe`, DRIVER_OK if the driver did not set it (`virtio_device_ready`), config changes
 * enabled, then `open` (the interface brought up).
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
   * `drv->validate`: runs after the features were written and before FEATURES_OK. It may read config
   * and drop features with `vdev.clearFeature` (the bus then writes them again), or throw to refuse the
   * device (the bus sets FAILED), as `virtio_net.c: virtnet_validate()` does for a feature whose
   * dependency is missing.
   */
  validate?(vdev: VirtioDevice): void;
  /**
   * Takes the device (FEATURES_OK is set; features are final). Throw to refuse it: the bus then sets
   * FAILED. Typically reads config, calls `findVqs`, then `ready()`.
   */
  probe(vdev: VirtioDevice): void;
  /**
   * Brings the interface up after the probe completed (`ndo_open` for a net device: receive buffers
   * posted, link state read), as if its user did so at once. Throwing does not unbind the driver.
   */
  open?(vdev: VirtioDevice): void;
  /** Releases the device: stops using it, resets it, deletes its virtqueues and frees its buffers. */
  remove(vdev: VirtioDevice): void;
  /**
   * The device's configuration changed (`config_changed`); delivered only after the probe completed and
   * while the driver has not disabled config changes (`vdev.configDriverDisable`).
   */
  configChanged?(vdev: VirtioDevice): void;
  /** The device broke (protocol violation, DEVICE_NEEDS_RESET) and was marked FAILED: stop using it. */
  broken?(vdev: VirtioDevice, error: VirtioError): void;
}

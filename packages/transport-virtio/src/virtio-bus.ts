import { LOGGER, type Logger, VdpaError } from '@vdpa-kit/core-bus';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
} from '@vdpa-kit/virtio-spec';
import { inject, injectable, multiInject, optional } from 'inversify';
import { type Observable, Subject, concat, defer, from } from 'rxjs';
import { VirtioError } from './errors.js';
import { negotiateFeatures } from './features.js';
import { VIRTIO_DRIVER } from './tokens.js';
import type { VirtioDevice } from './virtio-device.js';
import type { VirtioDriver } from './virtio-driver.js';
import { VirtioNet } from './virtio-net.js';

/**
 * The virtio bus: the devices `virtio_vdpa` created, and the virtio drivers (bound under
 * `VIRTIO_DRIVER`) matched to them by device id. Adding a device does what `register_virtio_device`
 * and `virtio_dev_probe` do: reset, ACKNOWLEDGE, then for a matching driver DRIVER, feature
 * negotiation (FEATURES_OK re-read), the driver's `probe`, and DRIVER_OK if the driver did not set it.
 * A failed probe marks the device FAILED, reports the error on its `errors$` and throws.
 *
 * @example
 * const vbus = container.get<VirtioBus>(VIRTIO_BUS);
 * const net = vbus.netDevice('vdpa0');
 * net?.send(frame);
 */
@injectable()
export class VirtioBus {
  /** The devices on the bus when subscribed, then every device added later (after its driver probed). */
  readonly added$: Observable<VirtioDevice>;
  private readonly addedSubject = new Subject<VirtioDevice>();
  private readonly driverList: VirtioDriver[] = [];
  private readonly list = new Map<string, VirtioDevice>();

  /**
   * @param drivers the virtio drivers bound under `VIRTIO_DRIVER`
   * @param logger the stack's logger
   */
  constructor(
    @multiInject(VIRTIO_DRIVER) @optional() drivers: readonly VirtioDriver[] | undefined,
    @inject(LOGGER) private readonly logger: Logger,
  ) {
    for (const d of drivers ?? []) this.driverList.push(d);
    this.added$ = defer(() => concat(from([...this.list.values()]), this.addedSubject));
  }

  /** The devices on the bus, in the order they were added. */
  devices(): VirtioDevice[] {
    return [...this.list.values()];
  }

  /** A device by its vdpa name. */
  device(name: string): VirtioDevice | undefined {
    return this.list.get(name);
  }

  /** The virtio-net interface of device `vdpaName`, if it is a net device with a bound driver. */
  netDevice(vdpaName: string): VirtioNet | undefined {
    const data = this.list.get(vdpaName)?.driverData;
    return data instanceof VirtioNet ? data : undefined;
  }

  /** The registered virtio drivers. */
  drivers(): readonly VirtioDriver[] {
    return this.driverList;
  }

  /**
   * Adds a virtio driver and probes every device without a driver whose id it serves.
   * @throws VdpaError `EEXIST` for a duplicate driver name
   */
  registerDriver(driver: VirtioDriver): void {
    if (this.driverList.some((d) => d.name === driver.name)) {
      throw new VdpaError('EEXIST', `virtio driver ${driver.name} already exists`);
    }
    this.driverList.push(driver);
    for (const vdev of this.list.values()) {
      if (vdev.driver !== undefined || vdev.broken || !driver.deviceIds.includes(vdev.deviceId)) continue;
      try {
        this.probe(vdev, driver);
      } catch (err) {
        this.logger.warn('virtio probe failed', {
          dev: vdev.name,
          driver: driver.name,
          message: String(err),
        });
      }
    }
  }

  /**
   * `register_virtio_device`: resets the device, sets ACKNOWLEDGE, adds it and probes the first driver
   * serving its device id. A device no driver serves stays on the bus without one.
   *
   * @throws VdpaError `EEXIST` when a device of that name is on the bus; the probe's error (a
   * `VirtioError`, the device then FAILED and not added)
   */
  add(vdev: VirtioDevice): void {
    if (this.list.has(vdev.name))
      throw new VdpaError('EEXIST', `virtio device ${vdev.name} is already on the bus`);
    vdev.reset();
    vdev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    const driver = this.driverList.find((d) => d.deviceIds.includes(vdev.deviceId));
    if (driver === undefined) {
      this.logger.info('no virtio driver for device', { dev: vdev.name, deviceId: vdev.deviceId });
    } else {
      this.probe(vdev, driver);
    }
    this.list.set(vdev.name, vdev);
    this.addedSubject.next(vdev);
  }

  /**
   * `unregister_virtio_device`: the driver's `remove`, then the device is left quiet (reset, vqs
   * deleted) and taken off the bus. Errors are logged, not thrown.
   */
  remove(vdev: VirtioDevice): void {
    const driver = vdev.driver;
    if (driver !== undefined) {
      try {
        driver.remove(vdev);
      } catch (err) {
        this.logger.error('virtio driver remove threw', {
          dev: vdev.name,
          driver: driver.name,
          message: String(err),
        });
      }
    }
    vdev.teardown();
    vdev.driver = undefined;
    vdev.driverData = undefined;
    this.list.delete(vdev.name);
    vdev.dispose();
  }

  /** `virtio_dev_probe`. */
  private probe(vdev: VirtioDevice, driver: VirtioDriver): void {
    vdev.driver = driver;
    try {
      vdev.addStatus(VIRTIO_CONFIG_S_DRIVER);
      let features = negotiateFeatures(vdev.name, vdev.readDeviceFeatures(), driver.features);
      if (driver.validateFeatures !== undefined) features &= driver.validateFeatures(vdev, features);
      vdev.finalizeFeatures(features);
      driver.probe(vdev);
      if ((vdev.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) vdev.ready();
    } catch (err) {
      vdev.driver = undefined;
      vdev.driverData = undefined;
      const error = VirtioError.wrap(
        err,
        'device-op',
        vdev.name,
        `virtio driver ${driver.name} probe failed`,
      );
      vdev.fail(error);
      throw error;
    }
    this.logger.debug('virtio device bound', { dev: vdev.name, driver: driver.name });
  }
}

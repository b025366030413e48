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
 * A failed probe marks the device FAILED and reports the error on its `errors$` and `probeError`; the
 * device stays on the bus without a driver. Every status write is preceded by a status read
 * (`virtio_add_status()`).
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
      this.tryProbe(vdev, driver);
    }
  }

  /**
   * `virtio.c: register_virtio_device()`: resets the device, sets ACKNOWLEDGE, adds it and probes the
   * first driver serving its device id. A device no driver serves stays on the bus without one; so does
   * a device whose driver's probe failed (FAILED, its error in `probeError`), as the driver core keeps
   * a device whose probe failed.
   *
   * @throws VdpaError `EEXIST` when a device of that name is on the bus; the error of the reset or of
   * the ACKNOWLEDGE write (the device is then not added)
   */
  add(vdev: VirtioDevice): void {
    if (this.list.has(vdev.name))
      throw new VdpaError('EEXIST', `virtio device ${vdev.name} is already on the bus`);
    vdev.reset();
    vdev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.list.set(vdev.name, vdev);
    const driver = this.driverList.find((d) => d.deviceIds.includes(vdev.deviceId));
    if (driver === undefined) {
      this.logger.info('no virtio driver for device', { dev: vdev.name, deviceId: vdev.deviceId });
    } else {
      this.tryProbe(vdev, driver);
    }
    this.addedSubject.next(vdev);
  }

  /**
   * `virtio.c: unregister_virtio_device()`. With a driver bound, `virtio_dev_remove()`: config changes
   * disabled, the driver's `remove` (which resets the device and deletes its vqs), the status read (it
   * should be 0), and ACKNOWLEDGE put back. A device without a driver is left as it is. Errors are
   * logged, not thrown.
   */
  remove(vdev: VirtioDevice): void {
    this.list.delete(vdev.name);
    const driver = vdev.driver;
    if (driver !== undefined) this.removeDriver(vdev, driver);
    vdev.dispose();
  }

  /** `virtio_dev_remove()`. */
  private removeDriver(vdev: VirtioDevice, driver: VirtioDriver): void {
    vdev.configCoreDisable();
    try {
      driver.remove(vdev);
    } catch (err) {
      this.logger.error('virtio driver remove threw', {
        dev: vdev.name,
        driver: driver.name,
        message: String(err),
      });
    }
    // A driver that threw may have left rings the device could still use.
    if (vdev.virtqueues.length > 0) vdev.teardown();
    vdev.driver = undefined;
    vdev.driverData = undefined;
    try {
      // The kernel WARNs when the driver did not reset the device.
      const status = vdev.readStatus();
      if (status !== 0) this.logger.warn('virtio driver left the device unreset', { dev: vdev.name, status });
      vdev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    } catch (err) {
      this.logger.warn('acknowledging the device after remove failed', {
        dev: vdev.name,
        message: String(err),
      });
    }
  }

  /** {@link probe}, with a failure logged and kept in `probeError` (the driver core's `probe failed`). */
  private tryProbe(vdev: VirtioDevice, driver: VirtioDriver): void {
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

  /**
   * `virtio.c: virtio_dev_probe()`: DRIVER; the offered features read and the accepted ones written
   * (`finalize_features`, which the device may refuse); the driver's `validate` (features written again
   * if it dropped some); FEATURES_OK (`virtio_features_ok()`); the driver's `probe`; the status read and
   * DRIVER_OK set unless the driver did; config changes enabled; then the driver's `open`. On failure
   * FAILED is added to the status (`virtio_add_status()`), the error goes to the device's `errors$` and
   * `probeError`, and is thrown.
   */
  private probe(vdev: VirtioDevice, driver: VirtioDriver): void {
    vdev.driver = driver;
    try {
      vdev.addStatus(VIRTIO_CONFIG_S_DRIVER);
      vdev.finalizeFeatures(negotiateFeatures(vdev.readDeviceFeatures(), driver.features));
      if (driver.validate !== undefined) {
        const written = vdev.features;
        driver.validate(vdev);
        if (vdev.features !== written) vdev.finalizeFeatures(vdev.features);
      }
      vdev.featuresOk();
      driver.probe(vdev);
      if ((vdev.readStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) vdev.ready();
    } catch (err) {
      vdev.driver = undefined;
      vdev.driverData = undefined;
      const error = VirtioError.wrap(
        err,
        'device-op',
        vdev.name,
        `virtio driver ${driver.name} probe failed`,
      );
      // The driver cleans up after itself; a ring it left behind is deleted like its error path would.
      if (vdev.virtqueues.length > 0) vdev.teardown();
      vdev.probeError = error;
      vdev.fail(error);
      throw error;
    }
    vdev.configCoreEnable();
    this.logger.debug('virtio device bound', { dev: vdev.name, driver: driver.name });
    if (driver.open === undefined) return;
    try {
      driver.open(vdev);
    } catch (err) {
      this.logger.warn('virtio driver open failed', {
        dev: vdev.name,
        driver: driver.name,
        message: String(err),
      });
    }
  }
}

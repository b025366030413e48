import { LOGGER, type Logger } from '@vdpa-kit/core-bus';
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_MIN_MTU,
  bit,
} from '@vdpa-kit/virtio-spec';
import { inject, injectable } from 'inversify';
import { VirtioError } from './errors.js';
import type { ResolvedTransportVirtioOptions } from './options.js';
import { TRANSPORT_VIRTIO_OPTIONS } from './tokens.js';
import type { VirtioDevice } from './virtio-device.js';
import type { VirtioDriver } from './virtio-driver.js';
import { VirtioNet } from './virtio-net.js';

/** Name of the virtio-net driver on the virtio bus. */
export const VIRTIO_NET_DRIVER_NAME = 'virtio_net';

/** Device features virtio-net understands (its feature table). */
export const VIRTIO_NET_DRIVER_FEATURES =
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_MTU) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_RX) |
  bit(VIRTIO_NET_F_MQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/**
 * Features of the driver's table that need the control queue: `virtnet_validate_features()` refuses a
 * device that negotiated one of them without CTRL_VQ.
 */
const NEEDS_CTRL_VQ: readonly (readonly [number, string])[] = [
  [VIRTIO_NET_F_CTRL_RX, 'CTRL_RX'],
  [VIRTIO_NET_F_MQ, 'MQ'],
  [VIRTIO_NET_F_CTRL_MAC_ADDR, 'CTRL_MAC_ADDR'],
];

/**
 * The virtio-net driver (`virtio_net`, device id 1): creates a {@link VirtioNet} per device and
 * forwards config changes and breakage to it.
 *
 * @example
 * bind<VirtioDriver>(VIRTIO_DRIVER).to(VirtioNetDriver).inSingletonScope();
 */
@injectable()
export class VirtioNetDriver implements VirtioDriver {
  readonly name = VIRTIO_NET_DRIVER_NAME;
  readonly deviceIds: readonly number[] = [VIRTIO_ID_NET];
  readonly features = VIRTIO_NET_DRIVER_FEATURES;

  /**
   * @param logger the stack's logger
   * @param options queue size and control-queue timeout
   */
  constructor(
    @inject(LOGGER) private readonly logger: Logger,
    @inject(TRANSPORT_VIRTIO_OPTIONS) private readonly options: ResolvedTransportVirtioOptions,
  ) {}

  /**
   * `virtio_net.c: virtnet_validate()`: refuses (`EINVAL`) a feature that needs the control queue
   * without CTRL_VQ (`virtnet_validate_features()`), and with `VIRTIO_NET_F_MTU` reads the MTU
   * (`virtio_cread16`) and drops the feature when it is below 68.
   * @throws VirtioError `EINVAL` (reason `features`); from the config read
   */
  validate(vdev: VirtioDevice): void {
    if (!vdev.hasFeature(VIRTIO_NET_F_CTRL_VQ)) {
      for (const [n, name] of NEEDS_CTRL_VQ) {
        if (vdev.hasFeature(n)) {
          throw new VirtioError(
            'EINVAL',
            'features',
            vdev.name,
            `device ${vdev.name} advertises feature ${name} but not CTRL_VQ`,
          );
        }
      }
    }
    if (vdev.hasFeature(VIRTIO_NET_F_MTU) && vdev.cread16(VIRTIO_NET_CONFIG_MTU) < VIRTIO_NET_MIN_MTU)
      vdev.clearFeature(VIRTIO_NET_F_MTU);
  }

  /**
   * `virtnet_probe`.
   * @throws VirtioError / VringError when the device cannot be brought up (everything undone)
   */
  probe(vdev: VirtioDevice): void {
    const net = new VirtioNet(vdev, {
      queueSize: this.options.queueSize,
      cvqTimeoutMs: this.options.cvqTimeoutMs,
      logger: this.logger,
    });
    vdev.driverData = net;
    net.start();
  }

  /** `virtnet_open`: the interface brought up (receive buffers posted and kicked, link status read). */
  open(vdev: VirtioDevice): void {
    if (vdev.driverData instanceof VirtioNet) vdev.driverData.open();
  }

  /** `virtnet_remove`: closes the interface (reset, vqs deleted, buffers freed). */
  remove(vdev: VirtioDevice): void {
    if (vdev.driverData instanceof VirtioNet) vdev.driverData.close();
  }

  /** Forwards a config change to the device's `VirtioNet` (link status, `config$`). */
  configChanged(vdev: VirtioDevice): void {
    if (vdev.driverData instanceof VirtioNet) vdev.driverData.configChanged();
  }

  /** Tells the device's `VirtioNet` that the device failed. */
  broken(vdev: VirtioDevice, error: VirtioError): void {
    if (vdev.driverData instanceof VirtioNet) vdev.driverData.deviceBroken(error);
  }
}

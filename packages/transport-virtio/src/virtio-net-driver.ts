import { LOGGER, type Logger } from '@vdpa-kit/core-bus';
import {
  VIRTIO_ID_NET,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  bit,
} from '@vdpa-kit/virtio-spec';
import { inject, injectable } from 'inversify';
import type { VirtioError } from './errors.js';
import { hasFeature } from './features.js';
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

/** Features that need the control queue (§5.1.3.1). */
const NEEDS_CTRL_VQ = bit(VIRTIO_NET_F_CTRL_RX) | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

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

  /** `virtnet_validate_features`: CTRL_RX, MQ and CTRL_MAC_ADDR are dropped without CTRL_VQ. */
  validateFeatures(_vdev: VirtioDevice, features: bigint): bigint {
    return hasFeature(features, VIRTIO_NET_F_CTRL_VQ) ? features : features & ~NEEDS_CTRL_VQ;
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

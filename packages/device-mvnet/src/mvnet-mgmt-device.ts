import { VDPA_ATTR_DEV_NET_CFG_MACADDR, VDPA_ATTR_DEV_NET_CFG_MTU, bit } from '@vdpa-kit/virtio-spec';
import { VIRTIO_ID_NET } from '@vdpa-kit/virtio-spec';
import type { GuestMemory } from '@vdpa-kit/vring';
import { GUEST_MEMORY, LOGGER, VDPA_BUS, WORK_QUEUE, type Logger, type WorkQueue } from '@vdpa-kit/core-bus';
import type { MgmtDevice, VdpaBus, VdpaDevSetConfig, VdpaDevice } from '@vdpa-kit/core-bus';
import { inject, injectable } from 'inversify';
import * as C from './constants.js';
import { MvnetDevice } from './mvnet-device.js';

/**
 * The `mvnet` management device (`vdpa dev add name vdpa0 mgmtdev mvnet [mac M] [mtu N]`). Its devices
 * have class id `virtio` only: the bus binds them to a virtio transport, never to vhost.
 */
@injectable()
export class MvnetMgmtDevice implements MgmtDevice {
  readonly name = C.MVNET_MGMTDEV_NAME;
  readonly idTable = [VIRTIO_ID_NET];
  readonly configAttrMask = bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) | bit(VDPA_ATTR_DEV_NET_CFG_MTU);
  readonly supportedFeatures = C.MVNET_FEATURES;
  readonly maxSupportedVqs = C.MVNET_NVQS;
  constructor(
    @inject(VDPA_BUS) private readonly bus: VdpaBus,
    @inject(GUEST_MEMORY) private readonly mem: GuestMemory,
    @inject(WORK_QUEUE) private readonly workQueue: WorkQueue,
    @inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `dev_add`: builds the device and registers it with 2 vqs, which binds a driver. @throws `EEXIST` */
  devAdd(name: string, config: VdpaDevSetConfig): VdpaDevice {
    const { mem, workQueue, logger } = this;
    const ops = new MvnetDevice({ name, mac: config.net?.mac, mtu: config.net?.mtu, mem, workQueue, logger });
    const dev = this.bus.allocDevice({ ops, name, classIds: ['virtio'], mgmtdev: this.name });
    try {
      this.bus.registerDevice(dev, C.MVNET_NVQS);
    } catch (err) {
      this.bus.releaseDevice(dev); // e.g. the name is taken
      throw err;
    }
    return dev;
  }
  /** `dev_del`: unregisters the device; the bus removes its driver and calls `free`. */
  devDel(dev: VdpaDevice): void {
    this.bus.unregisterDevice(dev);
  }
}

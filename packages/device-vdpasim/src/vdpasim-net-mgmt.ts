import {
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VIRTIO_ID_NET,
  bit,
} from '@vdpa-kit/virtio-spec';
import {
  GUEST_MEMORY,
  LOGGER,
  VDPA_BUS,
  VdpaError,
  WORK_QUEUE,
  type Logger,
  type MgmtDevice,
  type VdpaBus,
  type VdpaDevSetConfig,
  type VdpaDevice,
  type WorkQueue,
} from '@vdpa-kit/core-bus';
import type { GuestMemory } from '@vdpa-kit/vring';
import { inject, injectable } from 'inversify';
import {
  VDPASIM_NET_MAX_SUPPORTED_VQS,
  VDPASIM_NET_MGMTDEV_NAME,
  VDPASIM_NET_NAS,
  VDPASIM_NET_NGROUPS,
  VDPASIM_NET_SUPPORTED_FEATURES,
} from './constants.js';
import { VdpasimNet } from './vdpasim-net.js';
import type { ResolvedVdpasimOptions } from './vdpasim-options.js';
import { VDPASIM_OPTIONS } from './tokens.js';

/**
 * The `vdpasim_net` management device (vdpa_sim_net.c, `vdpasim_net_mgmtdev`): creates and deletes
 * {@link VdpasimNet} devices on `vdpa dev add … mgmtdev vdpasim_net`. Class ids `virtio` and `vhost`.
 *
 * - `configAttrMask`: MACADDR | MTU | FEATURES and, beyond the kernel, MAX_VQP.
 * - `supportedFeatures`: `VDPASIM_NET_FEATURES` (0x308830028) | MQ | CTRL_RX.
 * - `maxSupportedVqs`: 17 = 2 · 8 pairs + the control queue (the kernel has one pair and reports 3).
 * - `devSetAttr`: the MAC only.
 *
 * The bus validates `dev add` attributes first (vdpa.c: vdpa_nl_cmd_dev_add_set_doit()); `devAdd` adds the
 * device's own checks (features ⊆ supported, `max_vqp` ≤ 8).
 *
 * @example
 * const { bus } = composeStack([vdpasimModule()]); bus.devAdd('vdpasim_net', 'vdpa0', { net: { mac: new
 * Uint8Array([0, 0x11, 0x22, 0x33, 0x44, 0x55]), maxVqPairs: 2 } });
 */
@injectable()
export class VdpasimNetMgmt implements MgmtDevice {
  /** Management device handle. */
  readonly name = VDPASIM_NET_MGMTDEV_NAME;
  /** Creates network devices. */
  readonly idTable: readonly number[] = [VIRTIO_ID_NET];
  /** Attributes `devAdd` accepts. */
  readonly configAttrMask =
    bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) |
    bit(VDPA_ATTR_DEV_NET_CFG_MTU) |
    bit(VDPA_ATTR_DEV_FEATURES) |
    bit(VDPA_ATTR_DEV_NET_CFG_MAX_VQP);
  /** Features its devices can offer. */
  readonly supportedFeatures = VDPASIM_NET_SUPPORTED_FEATURES;
  /** Largest vq count of a device it creates. */
  readonly maxSupportedVqs = VDPASIM_NET_MAX_SUPPORTED_VQS;
  private readonly sims = new Map<string, VdpasimNet>();

  /**
   * @param bus the vDPA bus devices are registered on
   * @param mem guest memory the devices' IOTLBs map into
   * @param workQueue where the devices' datapaths run
   * @param logger where guest errors are reported
   * @param options the module's tuning
   */
  constructor(
    @inject(VDPA_BUS) private readonly bus: VdpaBus,
    @inject(GUEST_MEMORY) private readonly mem: GuestMemory,
    @inject(WORK_QUEUE) private readonly workQueue: WorkQueue,
    @inject(LOGGER) private readonly logger: Logger,
    @inject(VDPASIM_OPTIONS) private readonly options: ResolvedVdpasimOptions,
  ) {}

  /**
   * `dev_add`: creates a {@link VdpasimNet} from the provisioned attributes and registers it with
   * 2·max_vqp + 1 vqs, 2 groups and 2 address spaces.
   * @throws VdpaError `EINVAL` for provisioned features outside the supported set (or lacking CTRL_VQ
   * for a control-queue feature) or `max_vqp` above 8; the bus's `EEXIST` for a taken name
   */
  devAdd(name: string, config: VdpaDevSetConfig): VdpaDevice {
    const mask = config.mask;
    const net = config.net;
    const sim = new VdpasimNet(
      {
        name,
        mac: (mask & bit(VDPA_ATTR_DEV_NET_CFG_MACADDR)) !== 0n ? net?.mac : undefined,
        mtu: (mask & bit(VDPA_ATTR_DEV_NET_CFG_MTU)) !== 0n ? net?.mtu : undefined,
        maxVqPairs: (mask & bit(VDPA_ATTR_DEV_NET_CFG_MAX_VQP)) !== 0n ? net?.maxVqPairs : undefined,
        deviceFeatures: (mask & bit(VDPA_ATTR_DEV_FEATURES)) !== 0n ? config.deviceFeatures : undefined,
        workBudget: this.options.workBudget,
        maxIotlbEntries: this.options.maxIotlbEntries,
      },
      { mem: this.mem, workQueue: this.workQueue, logger: this.logger },
    );
    const dev = this.bus.allocDevice({
      ops: sim,
      name,
      ngroups: VDPASIM_NET_NGROUPS,
      nas: VDPASIM_NET_NAS,
      classIds: ['virtio', 'vhost'],
      mgmtdev: this.name,
    });
    try {
      this.bus.registerDevice(dev, sim.attr.nvqs);
    } catch (err) {
      this.bus.releaseDevice(dev);
      throw err;
    }
    this.sims.set(dev.name, sim);
    return dev;
  }

  /** `dev_del`: unregisters the device (the bus frees it). */
  devDel(dev: VdpaDevice): void {
    this.bus.unregisterDevice(dev);
    this.sims.delete(dev.name);
  }

  /**
   * `dev_set_attr`: sets the MAC (the config-change callback runs).
   * @throws VdpaError `EOPNOTSUPP` without a MAC attribute, `ENODEV` for a device it did not create
   */
  devSetAttr(dev: VdpaDevice, config: VdpaDevSetConfig): void {
    const sim = this.sims.get(dev.name);
    if (sim === undefined || sim !== dev.ops)
      throw new VdpaError('ENODEV', `device ${dev.name} was not created by ${this.name}`);
    const mac = config.net?.mac;
    if ((config.mask & bit(VDPA_ATTR_DEV_NET_CFG_MACADDR)) === 0n || mac === undefined) {
      throw new VdpaError('EOPNOTSUPP', `device ${dev.name}: only the mac attribute can be set`);
    }
    sim.setAttrMac(mac);
  }

  /** The simulator behind device `name` (for link control, statistics and tests), if it created it. */
  device(name: string): VdpasimNet | undefined {
    return this.sims.get(name);
  }
}

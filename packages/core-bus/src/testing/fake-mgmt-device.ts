import {
  VDPA_ATTR_DEV_FEATURES,
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MAX_VQ_PAIRS,
  VIRTIO_NET_CONFIG_MTU,
  bit,
} from '@vdpa-kit/virtio-spec';
import { VdpaError } from '../errors.js';
import type { MgmtDevice, VdpaDevSetConfig } from '../mgmt-device.js';
import type { VdpaBus } from '../vdpa-bus.js';
import type { VdpaClassId, VdpaDevice } from '../vdpa-device.js';
import { FakeDevice, type FakeDeviceOptions } from './fake-device.js';

/** Options of {@link FakeMgmtDevice}. */
export interface FakeMgmtDeviceOptions {
  /** Handle (default `fake_mgmt`). */
  readonly name?: string;
  /** Virtio ids (default `[VIRTIO_ID_NET]`). */
  readonly idTable?: readonly number[];
  /** Accepted attributes (default MAC, MTU, MAX_VQP, FEATURES). */
  readonly configAttrMask?: bigint;
  /** Default: the devices' offered features. */
  readonly supportedFeatures?: bigint;
  /** Default 3. */
  readonly maxSupportedVqs?: number;
  /** Class ids of created devices (default virtio and vhost). */
  readonly classIds?: readonly VdpaClassId[];
  /** Implement `devSetAttr` (default true). */
  readonly withSetAttr?: boolean;
  /** Options of every created {@link FakeDevice}. */
  readonly device?: FakeDeviceOptions;
}

const LE = true;

/**
 * A `MgmtDevice` for tests: `devAdd` creates a {@link FakeDevice} (provisioned features and net
 * attributes written into its config), registers it with `mgmtdev` set, and keeps it in `devices`.
 *
 * @example
 * const mgmt = new FakeMgmtDevice(bus, { name: 'vdpasim_net' });
 * bus.registerMgmtDevice(mgmt);
 * bus.devAdd('vdpasim_net', 'vdpa0', { net: { mtu: 1500 } });
 */
export class FakeMgmtDevice implements MgmtDevice {
  readonly name: string;
  readonly idTable: readonly number[];
  readonly configAttrMask: bigint;
  readonly supportedFeatures: bigint;
  readonly maxSupportedVqs: number;
  /** Created devices by name. */
  readonly devices = new Map<string, FakeDevice>();
  /** Every `devSetAttr` config received. */
  readonly setAttrs: VdpaDevSetConfig[] = [];

  constructor(
    private readonly bus: VdpaBus,
    private readonly options: FakeMgmtDeviceOptions = {},
  ) {
    this.name = options.name ?? 'fake_mgmt';
    this.idTable = options.idTable ?? [VIRTIO_ID_NET];
    this.configAttrMask =
      options.configAttrMask ??
      bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) |
        bit(VDPA_ATTR_DEV_NET_CFG_MTU) |
        bit(VDPA_ATTR_DEV_NET_CFG_MAX_VQP) |
        bit(VDPA_ATTR_DEV_FEATURES);
    this.maxSupportedVqs = options.maxSupportedVqs ?? 3;
    this.supportedFeatures = options.supportedFeatures ?? new FakeDevice(options.device).deviceFeatures;
    if (options.withSetAttr === false)
      Object.defineProperty(this, 'devSetAttr', { value: undefined, enumerable: false });
  }

  devAdd(name: string, config: VdpaDevSetConfig): VdpaDevice {
    const fake = new FakeDevice({ nvqs: this.maxSupportedVqs, ...this.options.device });
    if (config.deviceFeatures !== undefined) {
      if ((config.deviceFeatures & ~this.supportedFeatures) !== 0n) {
        throw new VdpaError(
          'EINVAL',
          `features 0x${config.deviceFeatures.toString(16)} exceed the supported set`,
        );
      }
      fake.deviceFeatures = config.deviceFeatures;
    }
    const view = new DataView(fake.config.buffer, fake.config.byteOffset, fake.config.byteLength);
    if (config.net?.mac !== undefined) fake.config.set(config.net.mac, VIRTIO_NET_CONFIG_MAC);
    if (config.net?.mtu !== undefined) view.setUint16(VIRTIO_NET_CONFIG_MTU, config.net.mtu, LE);
    if (config.net?.maxVqPairs !== undefined)
      view.setUint16(VIRTIO_NET_CONFIG_MAX_VQ_PAIRS, config.net.maxVqPairs, LE);
    const dev = this.bus.allocDevice({
      ops: fake,
      name,
      classIds: this.options.classIds ?? ['virtio', 'vhost'],
      mgmtdev: this.name,
    });
    try {
      this.bus.registerDevice(dev, fake.nvqs);
    } catch (err) {
      this.bus.releaseDevice(dev);
      throw err;
    }
    fake.vdpa = dev;
    this.devices.set(name, fake);
    return dev;
  }

  devDel(dev: VdpaDevice): void {
    this.bus.unregisterDevice(dev);
    this.devices.delete(dev.name);
  }

  devSetAttr(dev: VdpaDevice, config: VdpaDevSetConfig): void {
    this.setAttrs.push(config);
    const fake = this.devices.get(dev.name);
    if (fake !== undefined && config.net?.mac !== undefined)
      fake.config.set(config.net.mac, VIRTIO_NET_CONFIG_MAC);
  }
}

// @ts-check
/**
 * vdpa-kit-plugin-null-net: an example third-party device plugin, plain ESM JavaScript with JSDoc
 * types (no build step). It contributes the `nullnet` management device to the `MGMT_DEVICE`
 * multi-token; `vdpa-kit --plugin ./examples/plugin-null-net …` loads it.
 *
 * A nullnet device is a virtio-net device whose link is always down: it accepts any driver, counts
 * the kicks it receives and never completes a buffer (the virtio equivalent of an unplugged cable).
 */
import { MGMT_DEVICE, VDPA_BUS, VdpaError } from '@vdpa-kit/core-bus';
import {
  VDPA_ATTR_DEV_NET_CFG_MACADDR,
  VDPA_ATTR_DEV_NET_CFG_MTU,
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_VERSION_1,
  VIRTIO_ID_NET,
  VIRTIO_NET_CONFIG_MAC,
  VIRTIO_NET_CONFIG_MTU,
  VIRTIO_NET_CONFIG_SIZE,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  bit,
} from '@vdpa-kit/virtio-spec';
import { ContainerModule } from 'inversify';

/** @typedef {import('@vdpa-kit/core-bus').VdpaBus} VdpaBus */
/** @typedef {import('@vdpa-kit/core-bus').VdpaConfigOps} VdpaConfigOps */
/** @typedef {import('@vdpa-kit/core-bus').VdpaDevSetConfig} VdpaDevSetConfig */
/** @typedef {import('@vdpa-kit/core-bus').VdpaDevice} VdpaDevice */
/** @typedef {import('@vdpa-kit/core-bus').VdpaVqState} VdpaVqState */

/** Management device handle. */
export const NULLNET_MGMTDEV_NAME = 'nullnet';
/** Virtqueues of a nullnet device: one receiveq, one transmitq. */
const NULLNET_NVQS = 2;
/** Largest ring size. */
const NULLNET_QUEUE_MAX = 256;
/** Ring alignment the driver uses (a page). */
const NULLNET_QUEUE_ALIGN = 4096;
/** Default MTU in config space. */
const NULLNET_DEFAULT_MTU = 1500;
/** Features offered: virtio 1.x with an IOMMU, a MAC, a link status and an MTU in config space. */
export const NULLNET_FEATURES =
  bit(VIRTIO_F_VERSION_1) |
  bit(VIRTIO_F_ACCESS_PLATFORM) |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_MTU);

/**
 * The config ops of one nullnet device.
 * @implements {VdpaConfigOps}
 */
class NullNetDevice {
  /** @param {VdpaDevSetConfig} config the `dev add` attributes */
  constructor(config) {
    this.status = 0;
    this.features = 0n;
    this.kicks = new Array(NULLNET_NVQS).fill(0);
    this.ready = new Array(NULLNET_NVQS).fill(false);
    this.avail = new Array(NULLNET_NVQS).fill(0);
    this.config = new Uint8Array(VIRTIO_NET_CONFIG_SIZE);
    const view = new DataView(this.config.buffer);
    if (config.net?.mac !== undefined) this.config.set(config.net.mac, VIRTIO_NET_CONFIG_MAC);
    // status stays 0: the link is down.
    view.setUint16(VIRTIO_NET_CONFIG_MTU, config.net?.mtu ?? NULLNET_DEFAULT_MTU, true);
  }

  /** @param {number} idx */
  checkVq(idx) {
    if (!Number.isInteger(idx) || idx < 0 || idx >= NULLNET_NVQS)
      throw new VdpaError('EINVAL', `vq index ${idx} is out of range`);
  }
  /** @param {number} idx @param {number} _desc @param {number} _driver @param {number} _device */
  setVqAddress(idx, _desc, _driver, _device) {
    this.checkVq(idx);
  }
  /** @param {number} idx @param {number} _num */
  setVqNum(idx, _num) {
    this.checkVq(idx);
  }
  /** @param {number} idx */
  kickVq(idx) {
    this.checkVq(idx);
    this.kicks[idx]++;
  }
  /** @param {number} idx @param {unknown} _cb */
  setVqCb(idx, _cb) {
    this.checkVq(idx);
  }
  /** @param {number} idx @param {boolean} ready */
  setVqReady(idx, ready) {
    this.checkVq(idx);
    this.ready[idx] = ready;
  }
  /** @param {number} idx */
  getVqReady(idx) {
    this.checkVq(idx);
    return this.ready[idx];
  }
  /** @param {number} idx @param {VdpaVqState} state */
  setVqState(idx, state) {
    this.checkVq(idx);
    if (state.kind !== 'split') throw new VdpaError('EOPNOTSUPP', `vq state kind ${state.kind} is not split`);
    this.avail[idx] = state.availIndex;
  }
  /** @param {number} idx @returns {VdpaVqState} */
  getVqState(idx) {
    this.checkVq(idx);
    return { kind: 'split', availIndex: this.avail[idx] };
  }
  /** @param {number} idx */
  getVendorVqStats(idx) {
    this.checkVq(idx);
    return [{ name: 'kicks', value: BigInt(this.kicks[idx]) }];
  }
  getVqAlign() {
    return NULLNET_QUEUE_ALIGN;
  }
  getDeviceFeatures() {
    return NULLNET_FEATURES;
  }
  /** @param {bigint} features */
  setDriverFeatures(features) {
    this.features = features & NULLNET_FEATURES;
  }
  getDriverFeatures() {
    return this.features;
  }
  /** @param {unknown} _cb */
  setConfigCb(_cb) {}
  getVqNumMax() {
    return NULLNET_QUEUE_MAX;
  }
  getDeviceId() {
    return VIRTIO_ID_NET;
  }
  getVendorId() {
    return 0;
  }
  getStatus() {
    return this.status;
  }
  /** @param {number} status */
  setStatus(status) {
    this.status = status;
  }
  reset() {
    this.status = 0;
    this.features = 0n;
    this.ready.fill(false);
    this.avail.fill(0);
  }
  getConfigSize() {
    return this.config.length;
  }
  /** @param {number} offset @param {Uint8Array} buf */
  getConfig(offset, buf) {
    if (offset + buf.length > this.config.length) return;
    buf.set(this.config.subarray(offset, offset + buf.length));
  }
  /** @param {number} _offset @param {Uint8Array} _buf */
  setConfig(_offset, _buf) {}
}

/** The `nullnet` management device. */
export class NullNetMgmtDevice {
  /** @param {VdpaBus} bus */
  constructor(bus) {
    this.bus = bus;
    this.name = NULLNET_MGMTDEV_NAME;
    this.idTable = [VIRTIO_ID_NET];
    this.configAttrMask = bit(VDPA_ATTR_DEV_NET_CFG_MACADDR) | bit(VDPA_ATTR_DEV_NET_CFG_MTU);
    this.supportedFeatures = NULLNET_FEATURES;
    this.maxSupportedVqs = NULLNET_NVQS;
  }

  /**
   * @param {string} name
   * @param {VdpaDevSetConfig} config
   * @returns {VdpaDevice}
   */
  devAdd(name, config) {
    const dev = this.bus.allocDevice({
      ops: new NullNetDevice(config),
      name,
      classIds: ['virtio', 'vhost'],
      mgmtdev: this.name,
    });
    try {
      this.bus.registerDevice(dev, NULLNET_NVQS);
    } catch (err) {
      this.bus.releaseDevice(dev);
      throw err;
    }
    return dev;
  }

  /** @param {VdpaDevice} dev */
  devDel(dev) {
    this.bus.unregisterDevice(dev);
  }
}

/**
 * The plugin's `ContainerModule`: binds the `nullnet` management device to core-bus's `MGMT_DEVICE`.
 * @returns {ContainerModule}
 * @example
 * // vdpa-kit --plugin ./examples/plugin-null-net mgmtdev show nullnet
 */
export function nullNetModule() {
  return new ContainerModule(({ bind }) => {
    bind(MGMT_DEVICE)
      .toDynamicValue((ctx) => new NullNetMgmtDevice(ctx.get(VDPA_BUS)))
      .inSingletonScope();
  });
}

export default nullNetModule;

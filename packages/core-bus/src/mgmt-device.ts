import type { VendorStat } from './config-ops.js';
import type { VdpaDevice } from './vdpa-device.js';

/**
 * Attributes a `dev add` may carry (`struct vdpa_dev_set_config`, include/linux/vdpa.h). `mask` has
 * `bit(VDPA_ATTR_*)` set for each attribute actually supplied; the bus computes it.
 */
export interface VdpaDevSetConfig {
  /** Provisioned device features (`VDPA_ATTR_DEV_FEATURES`). */
  readonly deviceFeatures?: bigint;
  /** Net attributes. */
  readonly net?: {
    /** MAC address, 6 bytes (`VDPA_ATTR_DEV_NET_CFG_MACADDR`). */
    readonly mac?: Uint8Array;
    /** MTU, 68..65535 (`VDPA_ATTR_DEV_NET_CFG_MTU`). */
    readonly mtu?: number;
    /** Maximum virtqueue pairs (`VDPA_ATTR_DEV_NET_CFG_MAX_VQP`). */
    readonly maxVqPairs?: number;
  };
  /** `bit(VDPA_ATTR_*)` of the supplied attributes. */
  readonly mask: bigint;
}

/** A `dev add` request as a user gives it: the attributes present; the bus derives the mask. */
export type VdpaDevAddRequest = Omit<VdpaDevSetConfig, 'mask'>;

/**
 * A management device (`struct vdpa_mgmt_dev` + its ops, include/linux/vdpa.h): what creates and deletes
 * vDPA devices on user request (`vdpa dev add`). It receives the bus at construction (DI: inject
 * `VDPA_BUS`) and, in `devAdd`, allocates the device with `mgmtdev: this.name`, initialises it fully
 * and registers it.
 *
 * @example
 * class SimNetMgmt implements MgmtDevice {
 *   readonly name = 'vdpasim_net';
 *   readonly idTable = [VIRTIO_ID_NET];
 *   // ...
 *   devAdd(name: string, config: VdpaDevSetConfig): VdpaDevice {
 * const dev = this.bus.allocDevice({ ops: new SimNet(config), name, classIds: ['virtio', 'vhost'], mgmtdev:
 * this.name });
 *     this.bus.registerDevice(dev, 3);
 *     return dev;
 *   }
 * }
 */
export interface MgmtDevice {
  /** Handle `[bus/]devname`: `vdpasim_net`, `pci/0000:03:00.0`. */
  readonly name: string;
  /** Virtio device ids (`VIRTIO_ID_*`) it can create. */
  readonly idTable: readonly number[];
  /** `bit(VDPA_ATTR_*)` of the attributes `devAdd` accepts. */
  readonly configAttrMask: bigint;
  /** Features its devices can offer. */
  readonly supportedFeatures: bigint;
  /** Largest number of vqs of a device it creates. */
  readonly maxSupportedVqs: number;
  /**
   * Creates, initialises and registers a device (`dev_add`).
   * @throws VdpaError to refuse
   */
  devAdd(name: string, config: VdpaDevSetConfig): VdpaDevice;
  /** Unregisters and frees a device it created (`dev_del`). */
  devDel(dev: VdpaDevice): void;
  /** Changes attributes of a live device (`dev_set_attr`, net MAC only). */
  devSetAttr?(dev: VdpaDevice, config: VdpaDevSetConfig): void;
}

/** `MGMTDEV_GET` data for one management device. */
export interface MgmtDevInfo {
  /** Full handle. */
  readonly name: string;
  /** Bus part of the handle (`pci`), undefined for bus-less handles. */
  readonly busName: string | undefined;
  /** Device part of the handle. */
  readonly devName: string;
  /** `bit(id)` of every supported virtio id ≤ 63. */
  readonly supportedClasses: bigint;
  /** Supported virtio ids, in table order. */
  readonly classIds: readonly number[];
  readonly maxSupportedVqs: number;
  readonly supportedFeatures: bigint;
}

/** `DEV_GET` data for one device (read through the op channel). */
export interface VdpaDevInfo {
  readonly name: string;
  readonly mgmtdev: string;
  readonly deviceId: number;
  readonly vendorId: number;
  /** `nvqs`. */
  readonly maxVqs: number;
  readonly maxVqSize: number;
  readonly minVqSize: number;
}

/** Net part of `DEV_CONFIG_GET`; each field only when its feature is offered. */
export interface VdpaNetConfigInfo {
  /** Device features (`VDPA_ATTR_DEV_FEATURES`). */
  readonly deviceFeatures: bigint;
  readonly mac?: Uint8Array;
  /** `le16 status` (VIRTIO_NET_F_STATUS). */
  readonly status?: number;
  /** VIRTIO_NET_F_MQ or VIRTIO_NET_F_RSS. */
  readonly maxVqPairs?: number;
  /** VIRTIO_NET_F_MTU. */
  readonly mtu?: number;
}

/** Blk part of `DEV_CONFIG_GET`; each field only when its feature is offered. */
export interface VdpaBlkConfigInfo {
  readonly deviceFeatures: bigint;
  readonly capacity: bigint;
  readonly sizeMax?: number;
  readonly segMax?: number;
  readonly blkSize?: number;
  readonly numQueues?: number;
  readonly physicalBlockExp?: number;
  readonly alignmentOffset?: number;
  readonly minIoSize?: number;
  readonly optIoSize?: number;
  readonly maxDiscardSectors?: number;
  readonly maxDiscardSeg?: number;
  readonly discardSectorAlignment?: number;
  readonly maxWriteZeroesSectors?: number;
  readonly maxWriteZeroesSeg?: number;
  readonly readOnly: boolean;
  readonly flush: boolean;
}

/** `DEV_CONFIG_GET` data. */
export interface VdpaDevConfigInfo {
  readonly name: string;
  readonly deviceId: number;
  /** Only once the status has FEATURES_OK. */
  readonly negotiatedFeatures?: bigint;
  readonly net?: VdpaNetConfigInfo;
  readonly blk?: VdpaBlkConfigInfo;
}

/** `DEV_VSTATS_GET` data. */
export interface VdpaDevVstats {
  readonly name: string;
  readonly deviceId: number;
  readonly negotiatedFeatures: bigint;
  /** Only with VIRTIO_NET_F_MQ or VIRTIO_NET_F_RSS negotiated. */
  readonly maxVqPairs?: number;
  readonly queueIndex: number;
  readonly stats: readonly VendorStat[];
}

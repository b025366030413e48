/**
 * The virtio constants core-bus uses, with the names and values of `@vdpa-kit/vring`'s
 * `constants.ts` (virtio 1.2; reference §7).
 *
 * TODO(barrel): `@vdpa-kit/vring`'s `index.ts` does not export its constants yet. Once it does, replace
 * this file's body with `export { bit, VIRTIO_… } from '@vdpa-kit/vring';` — every use in core-bus
 * imports from here, so that is the only change.
 */

/** `1n << BigInt(n)`: the 64-bit mask of feature bit `n`. */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

// §2.1 Device Status Field
/** Guest OS has noticed the device (§2.1). */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
/** Guest OS knows how to drive the device (§2.1). */
export const VIRTIO_CONFIG_S_DRIVER = 2;
/** Driver is set up and ready to drive the device (§2.1). */
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
/** Feature negotiation is complete (§2.1). */
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;

// §6 Reserved Feature Bits
/** Compliance with virtio 1.x (§6). */
export const VIRTIO_F_VERSION_1 = 32;
/** Device accesses memory through an IOMMU / platform translation (§6). */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** vdpa core's mask of device-type feature bits (all but 28..42). */
export const VDPA_DEVICE_FEATURES_MASK = 0xfffffc000fffffffn;

// §5 Device Types
/** Network card (§5.1). */
export const VIRTIO_ID_NET = 1;
/** Block device (§5.2). */
export const VIRTIO_ID_BLOCK = 2;

// §5.1.3 virtio-net feature bits
/** Device maximum MTU reporting (§5.1.3). */
export const VIRTIO_NET_F_MTU = 3;
/** Device has a given MAC address (§5.1.3). */
export const VIRTIO_NET_F_MAC = 5;
/** Configuration status field is available (§5.1.3). */
export const VIRTIO_NET_F_STATUS = 16;
/** Control channel is available (§5.1.3). */
export const VIRTIO_NET_F_CTRL_VQ = 17;
/** Multiqueue with automatic receive steering (§5.1.3). */
export const VIRTIO_NET_F_MQ = 22;
/** RSS (§5.1.3). */
export const VIRTIO_NET_F_RSS = 60;

// §5.1.4 virtio-net configuration layout
/** Offset of `mac[6]` in `virtio_net_config` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MAC = 0;
/** Offset of `le16 status` (§5.1.4). */
export const VIRTIO_NET_CONFIG_STATUS = 6;
/** Offset of `le16 max_virtqueue_pairs` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MAX_VQ_PAIRS = 8;
/** Offset of `le16 mtu` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MTU = 10;
/** Size of `virtio_net_config` as Linux defines it (§5.1.4). */
export const VIRTIO_NET_CONFIG_SIZE = 24;
/** Smallest MTU a device may offer (§5.1.4.1). */
export const VIRTIO_NET_MIN_MTU = 68;
/** Maximum queue pairs (§5.1.4). */
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX = 0x8000;

// §5.2.3 virtio-blk feature bits
/** `size_max` is valid (§5.2.3). */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
/** `seg_max` is valid (§5.2.3). */
export const VIRTIO_BLK_F_SEG_MAX = 2;
/** Device is read-only (§5.2.3). */
export const VIRTIO_BLK_F_RO = 5;
/** `blk_size` is valid (§5.2.3). */
export const VIRTIO_BLK_F_BLK_SIZE = 6;
/** Cache flush command support (§5.2.3). */
export const VIRTIO_BLK_F_FLUSH = 9;
/** Topology information is available (§5.2.3). */
export const VIRTIO_BLK_F_TOPOLOGY = 10;
/** `num_queues` is valid (§5.2.3). */
export const VIRTIO_BLK_F_MQ = 12;
/** Discard command support (§5.2.3). */
export const VIRTIO_BLK_F_DISCARD = 13;
/** Write-zeroes command support (§5.2.3). */
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;

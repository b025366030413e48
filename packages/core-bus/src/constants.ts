/**
 * Constants of the vDPA core that are not virtio spec constants (those live in `@vdpa-kit/vring`):
 * kernel `include/linux/vdpa.h` / uapi `include/uapi/linux/vdpa.h` values (reference §1.1, §2.6) and
 * the virtio-blk config offsets the `DEV_CONFIG_GET` helper reads (virtio 1.2 §5.2.4).
 */

/** `compat_reset` flag: also restore the default (identity) mapping (include/linux/vdpa.h, reference §1.1). */
export const VDPA_RESET_F_CLEAN_MAP = 1;

/** Default minimum vq size when a device has no `getVqNumMin` (reference §1.2, `get_vq_num_min`). */
export const VDPA_VQ_NUM_MIN_DEFAULT = 1;

/** Largest virtio device id that can appear in a mgmtdev's supported-classes bit mask (§2.5). */
export const VDPA_MGMTDEV_CLASS_ID_MAX = 63;

/** Length of an Ethernet address (`ETH_ALEN`). */
export const ETH_ALEN = 6;

/** Group (multicast) bit of an Ethernet address's first octet (`is_multicast_ether_addr`). */
export const ETH_ADDR_GROUP_BIT = 0x01;

/** Largest value of a netlink `u16` attribute (MTU, max_vqp). */
export const U16_MAX = 0xffff;

/** Largest 15-bit index of a packed vq state (`last_avail_idx`, `last_used_idx`, reference §1.1). */
export const PACKED_VQ_IDX_MAX = 0x7fff;

/** Largest value of a `u32` (vq indices, queue index attributes). */
export const U32_MAX = 0xffffffff;

/** One past the largest `u64` feature mask. */
export const U64_LIMIT = 1n << 64n;

// uapi include/uapi/linux/vdpa.h `enum vdpa_attr` (reference §2.6). A mgmtdev's `configAttrMask` and a
// `VdpaDevSetConfig.mask` are made of `bit(VDPA_ATTR_*)`.
/** Management device bus name (string). */
export const VDPA_ATTR_MGMTDEV_BUS_NAME = 1;
/** Management device name (string). */
export const VDPA_ATTR_MGMTDEV_DEV_NAME = 2;
/** Supported classes bit mask (u64). */
export const VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES = 3;
/** vDPA device name (string). */
export const VDPA_ATTR_DEV_NAME = 4;
/** Virtio device id (u32). */
export const VDPA_ATTR_DEV_ID = 5;
/** Virtio vendor id (u32). */
export const VDPA_ATTR_DEV_VENDOR_ID = 6;
/** Number of virtqueues (u32). */
export const VDPA_ATTR_DEV_MAX_VQS = 7;
/** Largest vq size (u16). */
export const VDPA_ATTR_DEV_MAX_VQ_SIZE = 8;
/** Smallest vq size (u16). */
export const VDPA_ATTR_DEV_MIN_VQ_SIZE = 9;
/** Net MAC address (binary, 6 bytes). */
export const VDPA_ATTR_DEV_NET_CFG_MACADDR = 10;
/** Net link status (u16 on the wire). */
export const VDPA_ATTR_DEV_NET_STATUS = 11;
/** Net maximum virtqueue pairs (u16). */
export const VDPA_ATTR_DEV_NET_CFG_MAX_VQP = 12;
/** Net MTU (u16, policy minimum 68). */
export const VDPA_ATTR_DEV_NET_CFG_MTU = 13;
/** Negotiated features (u64). */
export const VDPA_ATTR_DEV_NEGOTIATED_FEATURES = 14;
/** Management device maximum vqs (u32). */
export const VDPA_ATTR_DEV_MGMTDEV_MAX_VQS = 15;
/** Management device supported features (u64). */
export const VDPA_ATTR_DEV_SUPPORTED_FEATURES = 16;
/** Queue index for vendor stats (u32). */
export const VDPA_ATTR_DEV_QUEUE_INDEX = 17;
/** Vendor statistic name (string). */
export const VDPA_ATTR_DEV_VENDOR_ATTR_NAME = 18;
/** Vendor statistic value (u64). */
export const VDPA_ATTR_DEV_VENDOR_ATTR_VALUE = 19;
/** Provisioned device features (u64). */
export const VDPA_ATTR_DEV_FEATURES = 20;
/** Blk capacity in 512-byte sectors (u64). */
export const VDPA_ATTR_DEV_BLK_CFG_CAPACITY = 21;
/** Blk maximum segment size (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX = 22;
/** Blk block size (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE = 23;
/** Blk maximum segments (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_SEG_MAX = 24;
/** Blk number of queues (u16). */
export const VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES = 25;
/** Blk physical block exponent (u8). */
export const VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP = 26;
/** Blk alignment offset (u8). */
export const VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET = 27;
/** Blk minimum I/O size (u16). */
export const VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE = 28;
/** Blk optimal I/O size (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE = 29;
/** Blk maximum discard sectors (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC = 30;
/** Blk maximum discard segments (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG = 31;
/** Blk discard sector alignment (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN = 32;
/** Blk maximum write-zeroes sectors (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC = 33;
/** Blk maximum write-zeroes segments (u32). */
export const VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG = 34;
/** Blk read-only flag (u8). */
export const VDPA_ATTR_DEV_BLK_READ_ONLY = 35;
/** Blk flush flag (u8). */
export const VDPA_ATTR_DEV_BLK_FLUSH = 36;

// virtio 1.2 §5.2.4 `struct virtio_blk_config` field offsets (little-endian), read by `devConfig`.
/** `le64 capacity` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_CAPACITY = 0;
/** `le32 size_max` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SIZE_MAX = 8;
/** `le32 seg_max` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SEG_MAX = 12;
/** `le32 blk_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_BLK_SIZE = 20;
/** `u8 topology.physical_block_exp` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_PHYSICAL_BLOCK_EXP = 24;
/** `u8 topology.alignment_offset` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_ALIGNMENT_OFFSET = 25;
/** `le16 topology.min_io_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MIN_IO_SIZE = 26;
/** `le32 topology.opt_io_size` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_OPT_IO_SIZE = 28;
/** `le16 num_queues` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_NUM_QUEUES = 34;
/** `le32 max_discard_sectors` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_DISCARD_SECTORS = 36;
/** `le32 max_discard_seg` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_DISCARD_SEG = 40;
/** `le32 discard_sector_alignment` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_DISCARD_SECTOR_ALIGNMENT = 44;
/** `le32 max_write_zeroes_sectors` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SECTORS = 48;
/** `le32 max_write_zeroes_seg` (§5.2.4). */
export const VIRTIO_BLK_CONFIG_MAX_WRITE_ZEROES_SEG = 52;
/** Bytes of `virtio_blk_config` up to and including the write-zeroes block (§5.2.4). */
export const VIRTIO_BLK_CONFIG_READ_SIZE = 60;

/** Version of the event record format (`BusEvent.v`). */
export const EVENT_FORMAT_VERSION = 1;

/** Default size of the `GUEST_MEMORY` region the core module provides: 64 MiB. */
export const DEFAULT_GUEST_MEMORY_SIZE = 64 * 1024 * 1024;

/**
 * The vdpa management netlink interface: uapi `linux/vdpa.h` (`enum vdpa_command`, `enum vdpa_attr`),
 * and `include/linux/vdpa.h`'s reset flag. A management device's `configAttrMask` and a
 * `VdpaDevSetConfig.mask` are made of `bit(VDPA_ATTR_*)`.
 */

/** Generic netlink family name. */
export const VDPA_GENL_NAME = 'vdpa';
/** Generic netlink family version. */
export const VDPA_GENL_VERSION = 0x1;

// `enum vdpa_command`
/** Unused command 0. */
export const VDPA_CMD_UNSPEC = 0;
/** Reserved (no handler). */
export const VDPA_CMD_MGMTDEV_NEW = 1;
/** `vdpa mgmtdev show` (can dump). */
export const VDPA_CMD_MGMTDEV_GET = 2;
/** `vdpa dev add`. */
export const VDPA_CMD_DEV_NEW = 3;
/** `vdpa dev del`. */
export const VDPA_CMD_DEV_DEL = 4;
/** `vdpa dev show` (can dump). */
export const VDPA_CMD_DEV_GET = 5;
/** `vdpa dev config show` (can dump). */
export const VDPA_CMD_DEV_CONFIG_GET = 6;
/** `vdpa dev vstats show`. */
export const VDPA_CMD_DEV_VSTATS_GET = 7;
/** `vdpa dev set`. */
export const VDPA_CMD_DEV_ATTR_SET = 8;

// `enum vdpa_attr`
/** Unused attribute 0. */
export const VDPA_ATTR_UNSPEC = 0;
/** Pad attribute for 64-bit alignment (same value as `VDPA_ATTR_UNSPEC`). */
export const VDPA_ATTR_PAD = VDPA_ATTR_UNSPEC;
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
/** One past the last attribute (`VDPA_ATTR_MAX` in the enum). */
export const VDPA_ATTR_MAX = 37;

// include/linux/vdpa.h
/** `compat_reset` flag: also restore the default (identity) mapping (`include/linux/vdpa.h`). */
export const VDPA_RESET_F_CLEAN_MAP = 1;

/**
 * Virtio constants, named as in the virtio 1.2 specification (oasis-tcs/virtio-spec v1.2-cs01) and the
 * Linux uapi headers. Feature bits are bit numbers; use {@link bit} to turn one into a `bigint` mask.
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
/** Device has experienced an error from which it cannot recover (§2.1). */
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
/** Driver has given up on the device (§2.1). */
export const VIRTIO_CONFIG_S_FAILED = 0x80;

// §6 Reserved Feature Bits
/** Legacy: notify when the avail ring is empty (§6). */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
/** Legacy: any descriptor layout (§6). */
export const VIRTIO_F_ANY_LAYOUT = 27;
/** Indirect descriptors (§2.7.5.3). */
export const VIRTIO_RING_F_INDIRECT_DESC = 28;
/** `used_event` / `avail_event` notification suppression (§2.7.10). */
export const VIRTIO_RING_F_EVENT_IDX = 29;
/** Compliance with virtio 1.x (§6). */
export const VIRTIO_F_VERSION_1 = 32;
/** Device accesses memory through an IOMMU / platform translation (§6). */
export const VIRTIO_F_ACCESS_PLATFORM = 33;
/** Packed virtqueue layout (§2.8). */
export const VIRTIO_F_RING_PACKED = 34;
/** Buffers are used in the order made available (§6). */
export const VIRTIO_F_IN_ORDER = 35;
/** Memory accesses ordered by platform rules (§6). */
export const VIRTIO_F_ORDER_PLATFORM = 36;
/** Single root I/O virtualisation (§6). */
export const VIRTIO_F_SR_IOV = 37;
/** Driver passes extra data in notifications (§6). */
export const VIRTIO_F_NOTIFICATION_DATA = 38;
/** Driver uses the device-provided notification data (virtio 1.3). */
export const VIRTIO_F_NOTIF_CONFIG_DATA = 39;
/** Individual virtqueue reset (§6). */
export const VIRTIO_F_RING_RESET = 40;
/** Administration virtqueue (virtio 1.3). */
export const VIRTIO_F_ADMIN_VQ = 41;
/** Linux: first transport feature bit. */
export const VIRTIO_TRANSPORT_F_START = 28;
/** Linux: one past the last transport feature bit. */
export const VIRTIO_TRANSPORT_F_END = 42;
/** vdpa core's mask of device-type feature bits (all but 28..42). */
export const VDPA_DEVICE_FEATURES_MASK = 0xfffffc000fffffffn;

// §2.7.5 The Virtqueue Descriptor Table
/** Buffer continues via the `next` field (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
/** Buffer is device write-only (§2.7.5). */
export const VIRTQ_DESC_F_WRITE = 2;
/** Buffer contains a table of descriptors (§2.7.5.3). */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** Size of one split descriptor `{le64 addr, le32 len, le16 flags, le16 next}` (§2.7.5). */
export const VIRTQ_DESC_SIZE = 16;
// §2.7.6 The Virtqueue Available Ring
/** Driver asks the device not to interrupt (§2.7.6). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
// §2.7.8 The Virtqueue Used Ring
/** Device asks the driver not to notify (§2.7.8). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** Size of one used element `{le32 id, le32 len}` (§2.7.8). */
export const VIRTQ_USED_ELEM_SIZE = 8;
/** Largest split queue size (§2.7). */
export const VIRTQ_MAX_SIZE = 32768;
/** Descriptor table alignment (§2.7, table 2.3). */
export const VIRTQ_DESC_ALIGN = 16;
/** Available ring alignment (§2.7). */
export const VIRTQ_AVAIL_ALIGN = 2;
/** Used ring alignment (§2.7). */
export const VIRTQ_USED_ALIGN = 4;
/** Legacy interface queue alignment (§2.7.2). */
export const VIRTIO_LEGACY_QUEUE_ALIGN = 4096;

// §2.8 Packed Virtqueues
/** Packed descriptor AVAIL flag bit (§2.8.1). */
export const VIRTQ_DESC_F_AVAIL = 1 << 7;
/** Packed descriptor USED flag bit (§2.8.1). */
export const VIRTQ_DESC_F_USED = 1 << 15;
/** Packed event suppression: enable (§2.8.10). */
export const RING_EVENT_FLAGS_ENABLE = 0;
/** Packed event suppression: disable (§2.8.10). */
export const RING_EVENT_FLAGS_DISABLE = 1;
/** Packed event suppression: by descriptor (§2.8.10). */
export const RING_EVENT_FLAGS_DESC = 2;

// §5 Device Types
/** Network card (§5.1). */
export const VIRTIO_ID_NET = 1;
/** Block device (§5.2). */
export const VIRTIO_ID_BLOCK = 2;
/** Console (§5.3). */
export const VIRTIO_ID_CONSOLE = 3;
/** Entropy source (§5.4). */
export const VIRTIO_ID_RNG = 4;
/** Memory balloon (§5.5). */
export const VIRTIO_ID_BALLOON = 5;
/** SCSI host (§5.6). */
export const VIRTIO_ID_SCSI = 8;
/** 9P transport. */
export const VIRTIO_ID_9P = 9;
/** Socket device (§5.10). */
export const VIRTIO_ID_VSOCK = 19;

// §5.1.3 virtio-net feature bits
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_GSO = 6;
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
export const VIRTIO_NET_F_GUEST_TSO6 = 8;
export const VIRTIO_NET_F_GUEST_ECN = 9;
export const VIRTIO_NET_F_GUEST_UFO = 10;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_HOST_TSO6 = 12;
export const VIRTIO_NET_F_HOST_ECN = 13;
export const VIRTIO_NET_F_HOST_UFO = 14;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_F_CTRL_VQ = 17;
export const VIRTIO_NET_F_CTRL_RX = 18;
export const VIRTIO_NET_F_CTRL_VLAN = 19;
export const VIRTIO_NET_F_CTRL_RX_EXTRA = 20;
export const VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
export const VIRTIO_NET_F_MQ = 22;
export const VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
export const VIRTIO_NET_F_DEVICE_STATS = 50;
export const VIRTIO_NET_F_VQ_NOTF_COAL = 52;
export const VIRTIO_NET_F_NOTF_COAL = 53;
export const VIRTIO_NET_F_GUEST_USO4 = 54;
export const VIRTIO_NET_F_GUEST_USO6 = 55;
export const VIRTIO_NET_F_HOST_USO = 56;
export const VIRTIO_NET_F_HASH_REPORT = 57;
export const VIRTIO_NET_F_GUEST_HDRLEN = 59;
export const VIRTIO_NET_F_RSS = 60;
export const VIRTIO_NET_F_RSC_EXT = 61;
export const VIRTIO_NET_F_STANDBY = 62;
export const VIRTIO_NET_F_SPEED_DUPLEX = 63;

// §5.1.4 virtio-net configuration layout
/** Offset of `mac[6]` in `virtio_net_config` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MAC = 0;
/** Offset of `le16 status` (§5.1.4). */
export const VIRTIO_NET_CONFIG_STATUS = 6;
/** Offset of `le16 max_virtqueue_pairs` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MAX_VQ_PAIRS = 8;
/** Offset of `le16 mtu` (§5.1.4). */
export const VIRTIO_NET_CONFIG_MTU = 10;
/** Offset of `le32 speed` (§5.1.4). */
export const VIRTIO_NET_CONFIG_SPEED = 12;
/** Offset of `u8 duplex` (§5.1.4). */
export const VIRTIO_NET_CONFIG_DUPLEX = 16;
/** Size of `virtio_net_config` as Linux defines it (§5.1.4). */
export const VIRTIO_NET_CONFIG_SIZE = 24;
/** Link is up (§5.1.4). */
export const VIRTIO_NET_S_LINK_UP = 1;
/** Driver should announce (§5.1.4). */
export const VIRTIO_NET_S_ANNOUNCE = 2;
/** Smallest MTU a device may offer (§5.1.4.1). */
export const VIRTIO_NET_MIN_MTU = 68;
/** Minimum / maximum queue pairs (§5.1.4). */
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN = 1;
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX = 0x8000;

// §5.1.6 virtio-net header
/** Size of `virtio_net_hdr_v1` (with VERSION_1 or MRG_RXBUF) (§5.1.6). */
export const VIRTIO_NET_HDR_V1_SIZE = 12;
/** Size of the legacy `virtio_net_hdr` (§5.1.6). */
export const VIRTIO_NET_HDR_LEGACY_SIZE = 10;
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// §5.1.6.5 Control virtqueue
export const VIRTIO_NET_OK = 0;
export const VIRTIO_NET_ERR = 1;
export const VIRTIO_NET_CTRL_RX = 0;
export const VIRTIO_NET_CTRL_RX_PROMISC = 0;
export const VIRTIO_NET_CTRL_RX_ALLMULTI = 1;
export const VIRTIO_NET_CTRL_RX_ALLUNI = 2;
export const VIRTIO_NET_CTRL_RX_NOMULTI = 3;
export const VIRTIO_NET_CTRL_RX_NOUNI = 4;
export const VIRTIO_NET_CTRL_RX_NOBCAST = 5;
export const VIRTIO_NET_CTRL_MAC = 1;
export const VIRTIO_NET_CTRL_MAC_TABLE_SET = 0;
export const VIRTIO_NET_CTRL_MAC_ADDR_SET = 1;
export const VIRTIO_NET_CTRL_VLAN = 2;
export const VIRTIO_NET_CTRL_VLAN_ADD = 0;
export const VIRTIO_NET_CTRL_VLAN_DEL = 1;
export const VIRTIO_NET_CTRL_ANNOUNCE = 3;
export const VIRTIO_NET_CTRL_ANNOUNCE_ACK = 0;
export const VIRTIO_NET_CTRL_MQ = 4;
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
export const VIRTIO_NET_CTRL_MQ_RSS_CONFIG = 1;
export const VIRTIO_NET_CTRL_MQ_HASH_CONFIG = 2;
export const VIRTIO_NET_CTRL_GUEST_OFFLOADS = 5;
export const VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET = 0;
export const VIRTIO_NET_CTRL_NOTF_COAL = 6;

// §5.2.3 virtio-blk feature bits
export const VIRTIO_BLK_F_BARRIER = 0;
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_GEOMETRY = 4;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_SCSI = 7;
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_MQ = 12;
export const VIRTIO_BLK_F_DISCARD = 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 14;
export const VIRTIO_BLK_F_LIFETIME = 15;
export const VIRTIO_BLK_F_SECURE_ERASE = 16;
export const VIRTIO_BLK_F_ZONED = 17;

// §5.2.6 virtio-blk requests
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_GET_LIFETIME = 10;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;
export const VIRTIO_BLK_T_SECURE_ERASE = 14;
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
/** Size of `virtio_blk_outhdr` (§5.2.6). */
export const VIRTIO_BLK_OUTHDR_SIZE = 16;
/** Length of the GET_ID string (§5.2.6). */
export const VIRTIO_BLK_ID_BYTES = 20;
/** Sector size of virtio-blk addressing, whatever the block size (§5.2.6). */
export const VIRTIO_BLK_SECTOR_SIZE = 512;
/** Write-zeroes flag: the device may unmap (§5.2.6). */
export const VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP = 1;
/** Size of `virtio_blk_config` in current Linux headers (§5.2.4). */
export const VIRTIO_BLK_CONFIG_SIZE = 96;

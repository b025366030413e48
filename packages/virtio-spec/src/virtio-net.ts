/**
 * The network device: uapi `linux/virtio_net.h`, virtio 1.2 §5.1 (feature bits §5.1.3, configuration
 * layout §5.1.4, `virtio_net_hdr` §5.1.6, control virtqueue §5.1.6.5).
 */

// §5.1.2 Virtqueues
/** Virtqueues per queue pair: receiveq N is vq 2N, transmitq N is vq 2N+1 (§5.1.2). */
export const VIRTIO_NET_VQS_PER_PAIR = 2;

// §5.1.3 Feature bits
/** Device handles packets with partial checksum (§5.1.3). */
export const VIRTIO_NET_F_CSUM = 0;
/** Driver handles packets with partial checksum (§5.1.3). */
export const VIRTIO_NET_F_GUEST_CSUM = 1;
/** Control channel offloads reconfiguration (§5.1.3). */
export const VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = 2;
/** Device reports its maximum MTU in `mtu` (§5.1.3). */
export const VIRTIO_NET_F_MTU = 3;
/** Device has a MAC address in `mac` (§5.1.3). */
export const VIRTIO_NET_F_MAC = 5;
/** Legacy: device handles packets with any GSO type (§5.1.3.1). */
export const VIRTIO_NET_F_GSO = 6;
/** Driver can receive TSOv4 (§5.1.3). */
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
/** Driver can receive TSOv6 (§5.1.3). */
export const VIRTIO_NET_F_GUEST_TSO6 = 8;
/** Driver can receive TSO with ECN (§5.1.3). */
export const VIRTIO_NET_F_GUEST_ECN = 9;
/** Driver can receive UFO (§5.1.3). */
export const VIRTIO_NET_F_GUEST_UFO = 10;
/** Device can receive TSOv4 (§5.1.3). */
export const VIRTIO_NET_F_HOST_TSO4 = 11;
/** Device can receive TSOv6 (§5.1.3). */
export const VIRTIO_NET_F_HOST_TSO6 = 12;
/** Device can receive TSO with ECN (§5.1.3). */
export const VIRTIO_NET_F_HOST_ECN = 13;
/** Device can receive UFO (§5.1.3). */
export const VIRTIO_NET_F_HOST_UFO = 14;
/** Driver can merge receive buffers (§5.1.3). */
export const VIRTIO_NET_F_MRG_RXBUF = 15;
/** Configuration `status` field is available (§5.1.3). */
export const VIRTIO_NET_F_STATUS = 16;
/** Control channel is available (§5.1.3). */
export const VIRTIO_NET_F_CTRL_VQ = 17;
/** Control channel RX mode support (§5.1.3). */
export const VIRTIO_NET_F_CTRL_RX = 18;
/** Control channel VLAN filtering (§5.1.3). */
export const VIRTIO_NET_F_CTRL_VLAN = 19;
/** Control channel extra RX modes (§5.1.3). */
export const VIRTIO_NET_F_CTRL_RX_EXTRA = 20;
/** Driver can send gratuitous packets (§5.1.3). */
export const VIRTIO_NET_F_GUEST_ANNOUNCE = 21;
/** Device supports multiqueue with automatic receive steering (§5.1.3). */
export const VIRTIO_NET_F_MQ = 22;
/** MAC address can be set through the control channel (§5.1.3). */
export const VIRTIO_NET_F_CTRL_MAC_ADDR = 23;
/** Device can provide device-level statistics (virtio 1.3). */
export const VIRTIO_NET_F_DEVICE_STATS = 50;
/** Per-virtqueue notification coalescing (virtio 1.3). */
export const VIRTIO_NET_F_VQ_NOTF_COAL = 52;
/** Notification coalescing (§5.1.3). */
export const VIRTIO_NET_F_NOTF_COAL = 53;
/** Driver can receive USOv4 (virtio 1.3). */
export const VIRTIO_NET_F_GUEST_USO4 = 54;
/** Driver can receive USOv6 (virtio 1.3). */
export const VIRTIO_NET_F_GUEST_USO6 = 55;
/** Device can receive USO (§5.1.3). */
export const VIRTIO_NET_F_HOST_USO = 56;
/** Device can report per-packet hash values (§5.1.3). */
export const VIRTIO_NET_F_HASH_REPORT = 57;
/** Driver can provide the exact `hdr_len` (§5.1.3). */
export const VIRTIO_NET_F_GUEST_HDRLEN = 59;
/** Receive-side scaling (§5.1.3). */
export const VIRTIO_NET_F_RSS = 60;
/** Device can process duplicated ACKs and report coalesced segments (§5.1.3). */
export const VIRTIO_NET_F_RSC_EXT = 61;
/** Device may act as a standby for a primary device with the same MAC (§5.1.3). */
export const VIRTIO_NET_F_STANDBY = 62;
/** Device reports `speed` and `duplex` (§5.1.3). */
export const VIRTIO_NET_F_SPEED_DUPLEX = 63;

// §5.1.4 Device configuration layout (`struct virtio_net_config`)
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
/** Fewest queue pairs a driver may ask for (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN = 1;
/** Most queue pairs a driver may ask for (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX = 0x8000;

// §5.1.6 Device Operation: `struct virtio_net_hdr`
/** Size of `virtio_net_hdr_v1` (with VERSION_1 or MRG_RXBUF) (§5.1.6). */
export const VIRTIO_NET_HDR_V1_SIZE = 12;
/** Size of the legacy `virtio_net_hdr` (§5.1.6). */
export const VIRTIO_NET_HDR_LEGACY_SIZE = 10;
/** `flags`: the checksum starting at `csum_start` is partial (§5.1.6). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** `flags`: the data has been validated (§5.1.6). */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
/** `flags`: the header carries RSC information (§5.1.6). */
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;
/** `gso_type`: not a GSO frame (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** `gso_type`: TCPv4 segmentation (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
/** `gso_type`: UDP fragmentation (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_UDP = 3;
/** `gso_type`: TCPv6 segmentation (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
/** `gso_type`: UDP segmentation (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** `gso_type` flag: the TCP header has the ECN bit set (§5.1.6). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// §5.1.6.5 Control Virtqueue: `struct virtio_net_ctrl_hdr {u8 class; u8 cmd}`, data, `u8 ack`
/** Size of `struct virtio_net_ctrl_hdr` `{u8 class; u8 cmd}` (§5.1.6.5). */
export const VIRTIO_NET_CTRL_HDR_SIZE = 2;
/** Offset of `cmd` in `virtio_net_ctrl_hdr`, after the `u8 class` (§5.1.6.5). */
export const VIRTIO_NET_CTRL_HDR_CMD_OFF = 1;
/** Size of the `u8 ack` a device writes after a control command (§5.1.6.5). */
export const VIRTIO_NET_CTRL_ACK_SIZE = 1;
/** Size of the `u8 on` argument of the `VIRTIO_NET_CTRL_RX` commands (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_ONOFF_SIZE = 1;
/** Size of the `le16 virtqueue_pairs` of `VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET` (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ_PAIRS_SIZE = 2;
/** `ack`: the command succeeded (§5.1.6.5). */
export const VIRTIO_NET_OK = 0;
/** `ack`: the command failed (§5.1.6.5). */
export const VIRTIO_NET_ERR = 1;
/** Class: packet receive filtering (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX = 0;
/** RX command: promiscuous mode on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_PROMISC = 0;
/** RX command: receive all multicast on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_ALLMULTI = 1;
/** RX command: receive all unicast on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_ALLUNI = 2;
/** RX command: suppress multicast on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_NOMULTI = 3;
/** RX command: suppress unicast on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_NOUNI = 4;
/** RX command: suppress broadcast on/off (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_NOBCAST = 5;
/** Class: MAC address filtering (§5.1.6.5.2). */
export const VIRTIO_NET_CTRL_MAC = 1;
/** MAC command: set the unicast and multicast filter tables (§5.1.6.5.2). */
export const VIRTIO_NET_CTRL_MAC_TABLE_SET = 0;
/** MAC command: set the default MAC address (§5.1.6.5.2). */
export const VIRTIO_NET_CTRL_MAC_ADDR_SET = 1;
/** Class: VLAN filtering (§5.1.6.5.3). */
export const VIRTIO_NET_CTRL_VLAN = 2;
/** VLAN command: add a VLAN id to the filter (§5.1.6.5.3). */
export const VIRTIO_NET_CTRL_VLAN_ADD = 0;
/** VLAN command: remove a VLAN id from the filter (§5.1.6.5.3). */
export const VIRTIO_NET_CTRL_VLAN_DEL = 1;
/** Class: gratuitous packet sending (§5.1.6.5.4). */
export const VIRTIO_NET_CTRL_ANNOUNCE = 3;
/** ANNOUNCE command: the driver has announced (§5.1.6.5.4). */
export const VIRTIO_NET_CTRL_ANNOUNCE_ACK = 0;
/** Class: multiqueue and receive-side scaling (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ = 4;
/** MQ command: set the number of queue pairs in use (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET = 0;
/** MQ command: set the RSS configuration (§5.1.6.5). */
export const VIRTIO_NET_CTRL_MQ_RSS_CONFIG = 1;
/** MQ command: set the hash reporting configuration (§5.1.6.5). */
export const VIRTIO_NET_CTRL_MQ_HASH_CONFIG = 2;
/** Class: offloads state configuration (§5.1.6.5). */
export const VIRTIO_NET_CTRL_GUEST_OFFLOADS = 5;
/** GUEST_OFFLOADS command: set the offloads in use (§5.1.6.5). */
export const VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET = 0;
/** Class: notification coalescing (§5.1.6.5). */
export const VIRTIO_NET_CTRL_NOTF_COAL = 6;

/**
 * Constants of transport-virtio that are not in `@vdpa-kit/vring`'s virtio constants: a few spec and
 * Ethernet values, and this transport's own defaults and bounds. Spec values cite their section
 * (virtio 1.2, oasis-tcs/virtio-spec v1.2-cs01) or the Linux header they come from.
 */

/** Device id 0 is reserved: no device (§5, "Device Types"); `virtio_vdpa` refuses it (reference §5.1). */
export const VIRTIO_ID_RESERVED = 0;

/** `struct virtio_net_ctrl_hdr {u8 class; u8 cmd}` (§5.1.6.5). */
export const VIRTIO_NET_CTRL_HDR_SIZE = 2;
/** The `u8 ack` a device writes after a control command (§5.1.6.5). */
export const VIRTIO_NET_CTRL_ACK_SIZE = 1;
/** Size of the `le16 virtqueue_pairs` of `VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET` (§5.1.6.5.5). */
export const VIRTIO_NET_CTRL_MQ_PAIRS_SIZE = 2;
/** Size of the on/off byte of the `VIRTIO_NET_CTRL_RX` commands (§5.1.6.5.1). */
export const VIRTIO_NET_CTRL_RX_ONOFF_SIZE = 1;
/** Virtqueues per queue pair: receiveq N is vq 2N, transmitq N is vq 2N+1 (§5.1.2). */
export const VIRTIO_NET_VQS_PER_PAIR = 2;
/** Offset of `cmd` in `virtio_net_ctrl_hdr`, after the `u8 class` (§5.1.6.5). */
export const VIRTIO_NET_CTRL_HDR_CMD_OFF = 1;
/** Bytes of `virtio_net_config` the driver reads: `mac[6]`, `status`, `max_virtqueue_pairs`, `mtu` (§5.1.4). */
export const VIRTIO_NET_CONFIG_READ_SIZE = 12;

/** Length of an Ethernet address (Linux `ETH_ALEN`). */
export const ETH_ALEN = 6;
/** Length of an Ethernet header (Linux `ETH_HLEN`): the shortest frame a receiver accepts. */
export const ETH_HLEN = 14;
/** Default Ethernet payload size, the MTU without `VIRTIO_NET_F_MTU` (Linux `ETH_DATA_LEN`). */
export const ETH_DATA_LEN = 1500;
/** Largest frame at the default MTU, without FCS (Linux `ETH_FRAME_LEN`). */
export const ETH_FRAME_LEN = 1514;
/** Multicast bit of the first address byte (IEEE 802). */
export const ETH_ADDR_MULTICAST = 0x01;
/** Locally administered bit of the first address byte (IEEE 802). */
export const ETH_ADDR_LOCAL = 0x02;

/** Queue size requested when no `queueSize` option is given (capped at the device maximum). */
export const DEFAULT_QUEUE_SIZE = 256;
/** Config reads retried while `config_generation` moves before the read fails (§2.5.1, bounded here). */
export const CONFIG_GENERATION_RETRIES = 16;
/** Receive and transmit buffers are rounded up to this many bytes. */
export const NET_BUF_ALIGN = 64;
/** Control command slots (request + ack areas) allocated per control queue, capped at its size. */
export const CVQ_SLOTS = 16;
/** Bytes of one control command slot: header, up to {@link CVQ_DATA_MAX} data bytes, ack. */
export const CVQ_SLOT_SIZE = 16;
/** Largest command data carried in a slot (the 6-byte MAC of `MAC_ADDR_SET` is the largest sent). */
export const CVQ_DATA_MAX = 8;
/** Offset of the ack byte inside a control command slot. */
export const CVQ_ACK_OFFSET = 12;
/** Value the ack byte holds until the device writes one (Linux initialises it to `~0`). */
export const CVQ_ACK_PENDING = 0xff;
/** Milliseconds a control command waits for the device's ack before it fails (default). */
export const DEFAULT_CVQ_TIMEOUT_MS = 1000;
/** Mask of a free-running u16 ring index (§2.7). */
export const U16_MASK = 0xffff;

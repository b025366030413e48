/**
 * Ethernet framing: uapi `linux/if_ether.h` (lengths, `struct ethhdr`, EtherTypes) and the IEEE 802
 * address bits the kernel tests in `include/linux/etherdevice.h`.
 */

/** Octets in one Ethernet address. */
export const ETH_ALEN = 6;
/** Total octets in an Ethernet header: destination, source, EtherType. */
export const ETH_HLEN = 14;
/** Minimum octets in a frame without FCS. */
export const ETH_ZLEN = 60;
/** Maximum octets of payload: the MTU without `VIRTIO_NET_F_MTU`. */
export const ETH_DATA_LEN = 1500;
/** Maximum octets in a frame at the default MTU, without FCS. */
export const ETH_FRAME_LEN = 1514;

// `struct ethhdr {u8 h_dest[ETH_ALEN]; u8 h_source[ETH_ALEN]; be16 h_proto}`
/** Offset of `h_dest` in `struct ethhdr`. */
export const ETH_DEST_OFFSET = 0;
/** Offset of `h_source` in `struct ethhdr`. */
export const ETH_SOURCE_OFFSET = 6;
/** Offset of the big-endian `h_proto` (EtherType) in `struct ethhdr`. */
export const ETH_TYPE_OFFSET = 12;

/** EtherType of IEEE 802.1 Local Experimental 1 frames. */
export const ETH_P_802_EX1 = 0x88b5;

// IEEE 802 address bits of the first octet (`is_multicast_ether_addr`, `is_local_ether_addr`)
/** Group (multicast) bit of an address's first octet. */
export const ETH_ADDR_MULTICAST = 0x01;
/** Locally administered bit of an address's first octet. */
export const ETH_ADDR_LOCAL = 0x02;

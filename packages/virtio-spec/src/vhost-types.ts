/**
 * vhost message and feature values: uapi `linux/vhost_types.h` (`struct vhost_iotlb_msg`, `struct
 * vhost_msg_v2`, vhost and backend feature bits). Backend features are bit numbers; `bit()` turns one
 * into a mask (`BIT_ULL`).
 */

// `struct vhost_iotlb_msg` `perm`
/** The device may read the range. */
export const VHOST_ACCESS_RO = 0x1;
/** The device may write the range. */
export const VHOST_ACCESS_WO = 0x2;
/** The device may read and write the range. */
export const VHOST_ACCESS_RW = 0x3;

// `struct vhost_iotlb_msg` `type`
/** The device asks for a translation it lacks. */
export const VHOST_IOTLB_MISS = 1;
/** Add a mapping. */
export const VHOST_IOTLB_UPDATE = 2;
/** Remove the mappings of a range. */
export const VHOST_IOTLB_INVALIDATE = 3;
/** The device reports an access without permission. */
export const VHOST_IOTLB_ACCESS_FAIL = 4;
/** Start of a batch of `VHOST_IOTLB_UPDATE` messages. */
export const VHOST_IOTLB_BATCH_BEGIN = 5;
/** End of a batch: the updates take effect. */
export const VHOST_IOTLB_BATCH_END = 6;

// `struct vhost_msg` / `struct vhost_msg_v2` `type`
/** `struct vhost_msg` carrying an IOTLB message. */
export const VHOST_IOTLB_MSG = 0x1;
/** `struct vhost_msg_v2` (with an `asid`) carrying an IOTLB message. */
export const VHOST_IOTLB_MSG_V2 = 0x2;

// Feature bits
/** Log all write descriptors; can change while the device is active. */
export const VHOST_F_LOG_ALL = 26;
/** vhost-net adds `virtio_net_hdr` on RX and strips it on TX. */
export const VHOST_NET_F_VIRTIO_NET_HDR = 27;

// Backend feature bits (`VHOST_GET_BACKEND_FEATURES` / `VHOST_SET_BACKEND_FEATURES`)
/** IOTLB messages use `struct vhost_msg_v2`. */
export const VHOST_BACKEND_F_IOTLB_MSG_V2 = 0x1;
/** IOTLB accepts `VHOST_IOTLB_BATCH_BEGIN` / `_END` hints. */
export const VHOST_BACKEND_F_IOTLB_BATCH = 0x2;
/** IOTLB accepts an address space id in v2 messages. */
export const VHOST_BACKEND_F_IOTLB_ASID = 0x3;
/** The device can be suspended. */
export const VHOST_BACKEND_F_SUSPEND = 0x4;
/** The device can be resumed. */
export const VHOST_BACKEND_F_RESUME = 0x5;
/** The driver may enable virtqueues both before and after DRIVER_OK. */
export const VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK = 0x6;
/** A virtqueue's rings may sit in a different group (ASID) than its buffers; needs `IOTLB_ASID`. */
export const VHOST_BACKEND_F_DESC_ASID = 0x7;
/** The IOTLB keeps its mappings across a device reset. */
export const VHOST_BACKEND_F_IOTLB_PERSIST = 0x8;

// `struct vhost_msg` / `struct vhost_msg_v2` layout (both 72 bytes: a u32 type, a u32 pad or asid, then
// the union of `struct vhost_iotlb_msg` and 64 bytes of padding, 8-byte aligned)
/** `sizeof(struct vhost_msg_v2)` (= `sizeof(struct vhost_msg)`): what a successful `write()` returns. */
export const VHOST_MSG_V2_SIZE = 72;
/** Offset of `asid` in `struct vhost_msg_v2`. */
export const VHOST_MSG_V2_ASID_OFFSET = 4;
/** Offset of the `struct vhost_iotlb_msg` union member in `struct vhost_msg` and `struct vhost_msg_v2`. */
export const VHOST_MSG_IOTLB_OFFSET = 8;
/** Offset of `iova` (u64) in `struct vhost_iotlb_msg`. */
export const VHOST_IOTLB_MSG_IOVA_OFFSET = 0;
/** Offset of `size` (u64) in `struct vhost_iotlb_msg`. */
export const VHOST_IOTLB_MSG_SIZE_OFFSET = 8;
/** Offset of `uaddr` (u64) in `struct vhost_iotlb_msg`. */
export const VHOST_IOTLB_MSG_UADDR_OFFSET = 16;
/** Offset of `perm` (u8) in `struct vhost_iotlb_msg`. */
export const VHOST_IOTLB_MSG_PERM_OFFSET = 24;
/** Offset of `type` (u8) in `struct vhost_iotlb_msg`. */
export const VHOST_IOTLB_MSG_TYPE_OFFSET = 25;
/** `sizeof(struct vhost_iotlb_msg)`. */
export const VHOST_IOTLB_MSG_SIZE = 32;

// uapi `linux/vhost.h`
/** `struct vhost_vring_file` `fd` that unbinds the eventfd. */
export const VHOST_FILE_UNBIND = -1;
/** `struct vhost_vring_addr` `flags` bit: log writes to the used ring (the only flag accepted). */
export const VHOST_VRING_F_LOG = 0;
/** Number of `/dev/vhost-vdpa-N` minors (`1U << MINORBITS`, drivers/vhost/vdpa.c). */
export const VHOST_VDPA_DEV_MAX = 1 << 20;
/** ioctl type of every vhost ioctl. */
export const VHOST_VIRTIO = 0xaf;

// The vhost ioctls vhost-vdpa answers, as full `_IOC` values (uapi `linux/vhost.h`)
/** `_IOR(VHOST_VIRTIO, 0x00, __u64)`: device features. */
export const VHOST_GET_FEATURES = 0x8008af00;
/** `_IOW(VHOST_VIRTIO, 0x00, __u64)`: driver features. */
export const VHOST_SET_FEATURES = 0x4008af00;
/** `_IO(VHOST_VIRTIO, 0x01)`: become the owner. */
export const VHOST_SET_OWNER = 0xaf01;
/** `_IO(VHOST_VIRTIO, 0x02)`: give up ownership. */
export const VHOST_RESET_OWNER = 0xaf02;
/** `_IOW(VHOST_VIRTIO, 0x03, struct vhost_memory)`: memory table (not used by vhost-vdpa's datapath). */
export const VHOST_SET_MEM_TABLE = 0x4008af03;
/** `_IOW(VHOST_VIRTIO, 0x04, __u64)`: dirty log base. */
export const VHOST_SET_LOG_BASE = 0x4008af04;
/** `_IOW(VHOST_VIRTIO, 0x07, int)`: dirty log eventfd. */
export const VHOST_SET_LOG_FD = 0x4004af07;
/** `_IOW(VHOST_VIRTIO, 0x10, struct vhost_vring_state)`: ring size. */
export const VHOST_SET_VRING_NUM = 0x4008af10;
/** `_IOW(VHOST_VIRTIO, 0x11, struct vhost_vring_addr)`: ring addresses. */
export const VHOST_SET_VRING_ADDR = 0x4028af11;
/** `_IOW(VHOST_VIRTIO, 0x12, struct vhost_vring_state)`: next available index. */
export const VHOST_SET_VRING_BASE = 0x4008af12;
/** `_IOWR(VHOST_VIRTIO, 0x12, struct vhost_vring_state)`: read the next available index. */
export const VHOST_GET_VRING_BASE = 0xc008af12;
/** `_IOW(VHOST_VIRTIO, 0x20, struct vhost_vring_file)`: kick eventfd. */
export const VHOST_SET_VRING_KICK = 0x4008af20;
/** `_IOW(VHOST_VIRTIO, 0x21, struct vhost_vring_file)`: call eventfd. */
export const VHOST_SET_VRING_CALL = 0x4008af21;
/** `_IOW(VHOST_VIRTIO, 0x22, struct vhost_vring_file)`: error eventfd. */
export const VHOST_SET_VRING_ERR = 0x4008af22;
/** `_IOW(VHOST_VIRTIO, 0x25, __u64)`: backend features. */
export const VHOST_SET_BACKEND_FEATURES = 0x4008af25;
/** `_IOR(VHOST_VIRTIO, 0x26, __u64)`: backend features offered. */
export const VHOST_GET_BACKEND_FEATURES = 0x8008af26;
/** `_IOR(VHOST_VIRTIO, 0x70, __u32)`: virtio device id. */
export const VHOST_VDPA_GET_DEVICE_ID = 0x8004af70;
/** `_IOR(VHOST_VIRTIO, 0x71, __u8)`: device status. */
export const VHOST_VDPA_GET_STATUS = 0x8001af71;
/** `_IOW(VHOST_VIRTIO, 0x72, __u8)`: write device status. */
export const VHOST_VDPA_SET_STATUS = 0x4001af72;
/** `_IOR(VHOST_VIRTIO, 0x73, struct vhost_vdpa_config)`: read config space. */
export const VHOST_VDPA_GET_CONFIG = 0x8008af73;
/** `_IOW(VHOST_VIRTIO, 0x74, struct vhost_vdpa_config)`: write config space. */
export const VHOST_VDPA_SET_CONFIG = 0x4008af74;
/** `_IOW(VHOST_VIRTIO, 0x75, struct vhost_vring_state)`: enable or disable a ring. */
export const VHOST_VDPA_SET_VRING_ENABLE = 0x4008af75;
/** `_IOR(VHOST_VIRTIO, 0x76, __u16)`: largest ring size. */
export const VHOST_VDPA_GET_VRING_NUM = 0x8002af76;
/** `_IOW(VHOST_VIRTIO, 0x77, int)`: config-change eventfd. */
export const VHOST_VDPA_SET_CONFIG_CALL = 0x4004af77;
/** `_IOR(VHOST_VIRTIO, 0x78, struct vhost_vdpa_iova_range)`: usable IOVA range. */
export const VHOST_VDPA_GET_IOVA_RANGE = 0x8010af78;
/** `_IOR(VHOST_VIRTIO, 0x79, __u32)`: config space size. */
export const VHOST_VDPA_GET_CONFIG_SIZE = 0x8004af79;
/** `_IOR(VHOST_VIRTIO, 0x7A, unsigned int)`: number of address spaces. */
export const VHOST_VDPA_GET_AS_NUM = 0x8004af7a;
/** `_IOWR(VHOST_VIRTIO, 0x7B, struct vhost_vring_state)`: group of a ring. */
export const VHOST_VDPA_GET_VRING_GROUP = 0xc008af7b;
/** `_IOW(VHOST_VIRTIO, 0x7C, struct vhost_vring_state)`: bind a group to an address space. */
export const VHOST_VDPA_SET_GROUP_ASID = 0x4008af7c;
/** `_IO(VHOST_VIRTIO, 0x7D)`: stop processing descriptors. */
export const VHOST_VDPA_SUSPEND = 0xaf7d;
/** `_IO(VHOST_VIRTIO, 0x7E)`: resume processing. */
export const VHOST_VDPA_RESUME = 0xaf7e;
/** `_IOWR(VHOST_VIRTIO, 0x7F, struct vhost_vring_state)`: group of a ring's descriptor areas. */
export const VHOST_VDPA_GET_VRING_DESC_GROUP = 0xc008af7f;
/** `_IOR(VHOST_VIRTIO, 0x80, __u32)`: number of virtqueues. */
export const VHOST_VDPA_GET_VQS_COUNT = 0x8004af80;
/** `_IOR(VHOST_VIRTIO, 0x81, __u32)`: number of virtqueue groups. */
export const VHOST_VDPA_GET_GROUP_NUM = 0x8004af81;
/** `_IOWR(VHOST_VIRTIO, 0x82, struct vhost_vring_state)`: size of one ring. */
export const VHOST_VDPA_GET_VRING_SIZE = 0xc008af82;

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

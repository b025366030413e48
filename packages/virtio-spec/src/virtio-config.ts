/**
 * Device status bits and transport feature bits: uapi `linux/virtio_config.h`, virtio 1.2 §2.1 (Device
 * Status Field) and §6 (Reserved Feature Bits). Feature bits are bit numbers; {@link bit} turns one into
 * a 64-bit mask.
 */

/**
 * `BIT_ULL(n)`: the 64-bit mask of feature bit `n`.
 * @example
 * bit(VIRTIO_F_VERSION_1); // 0x100000000n
 */
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
/** Largest device status value: the status is one byte (§2.1). */
export const VIRTIO_STATUS_MAX = 0xff;

// §6 Reserved Feature Bits
/** Legacy: notify when the avail ring is empty (§6). */
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
/** Legacy: any descriptor layout (§6). */
export const VIRTIO_F_ANY_LAYOUT = 27;
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
/** First transport feature bit (`virtio_config.h`). */
export const VIRTIO_TRANSPORT_F_START = 28;
/** One past the last transport feature bit (`virtio_config.h`). */
export const VIRTIO_TRANSPORT_F_END = 42;

/** Virtio device ids: uapi `linux/virtio_ids.h`, virtio 1.2 §5 (Device Types). */

/** Device id 0 is reserved: no device (§5); `virtio_vdpa` refuses it. */
export const VIRTIO_ID_RESERVED = 0;
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

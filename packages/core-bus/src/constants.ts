/**
 * Constants of the vDPA core that are not spec or uAPI values (those live in `@vdpa-kit/virtio-spec`):
 * the kernel vdpa core's own rules (`drivers/vdpa/vdpa.c`, `include/linux/vdpa.h`) and this package's
 * event format and defaults.
 */
import { VIRTIO_BLK_CONFIG_MAX_SECURE_ERASE_SECTORS } from '@vdpa-kit/virtio-spec';

/** Default minimum vq size when a device has no `getVqNumMin` (`vdpa.c`: `get_vq_num_min`). */
export const VDPA_VQ_NUM_MIN_DEFAULT = 1;

/** Largest virtio device id that can appear in a mgmtdev's supported-classes bit mask. */
export const VDPA_MGMTDEV_CLASS_ID_MAX = 63;

/**
 * The vdpa core's mask of device-type feature bits: all but the transport bits 28..41 (`vdpa.c`:
 * `VIRTIO_DEVICE_F_MASK`).
 */
export const VDPA_DEVICE_FEATURES_MASK = 0xfffffc000fffffffn;

/** Largest 15-bit index of a packed vq state (`vdpa_vq_state_packed`: `last_avail_idx`, `last_used_idx`). */
export const PACKED_VQ_IDX_MAX = 0x7fff;

/**
 * Bytes of `virtio_blk_config` the `DEV_CONFIG_GET` helper reads: every field up to the secure-erase
 * block (virtio 1.2 §5.2.4).
 */
export const BLK_CONFIG_READ_SIZE = VIRTIO_BLK_CONFIG_MAX_SECURE_ERASE_SECTORS;

/** Version of the event record format (`BusEvent.v`). */
export const EVENT_FORMAT_VERSION = 1;

/** Default size of the `GUEST_MEMORY` region the core module provides: 64 MiB. */
export const DEFAULT_GUEST_MEMORY_SIZE = 64 * 1024 * 1024;

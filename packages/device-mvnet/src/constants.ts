import { VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_ANY_LAYOUT, VIRTIO_F_VERSION_1 } from '@vdpa-kit/virtio-spec';
import { VIRTIO_NET_F_MAC, VIRTIO_NET_F_MTU, VIRTIO_NET_F_STATUS, bit } from '@vdpa-kit/virtio-spec';

/** Handle of the management device (`vdpa mgmtdev show`). */
export const MVNET_MGMTDEV_NAME = 'mvnet';
/** Receive queue index (virtio-net receiveq1, virtio 1.2 §5.1.2). */
export const MVNET_RX_VQ = 0;
/** Transmit queue index (virtio-net transmitq1, §5.1.2). */
export const MVNET_TX_VQ = 1;
/** Number of virtqueues: one RX/TX pair, no control queue. */
export const MVNET_NVQS = 2;
/** Largest ring size (the sample's and vdpa_sim's queue max). */
export const MVNET_QUEUE_MAX = 256;
/** Ring alignment the driver must use (the kernel's `PAGE_SIZE`). */
export const MVNET_QUEUE_ALIGN = 4096;
/** Virtio vendor id: 0, as in the sample and vdpa_sim. */
export const MVNET_VENDOR_ID = 0;
/** Config-space MTU when `dev add` gives none. */
export const MVNET_DEFAULT_MTU = 1500;
/** Frames per work pass before yielding (the sample used 5; bigger batches mean fewer interrupts). */
export const MVNET_WORK_BUDGET = 64;
/** ACCESS_PLATFORM: the device reads memory through a translation, so the driver must accept it. */
export const MVNET_REQUIRED_FEATURES = bit(VIRTIO_F_ACCESS_PLATFORM);
const NET_CONFIG_FEATURES = bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_MTU) | bit(VIRTIO_NET_F_STATUS);
/** Offered: the sample's ANY_LAYOUT, VERSION_1, ACCESS_PLATFORM, plus MAC, MTU, STATUS: the config space. */
export const MVNET_FEATURES =
  bit(VIRTIO_F_ANY_LAYOUT) | bit(VIRTIO_F_VERSION_1) | MVNET_REQUIRED_FEATURES | NET_CONFIG_FEATURES;

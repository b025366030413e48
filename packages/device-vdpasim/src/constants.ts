/**
 * Constants of the vDPA device simulator (kernel `drivers/vdpa/vdpa_sim/`). Spec and uAPI constants
 * come from `@vdpa-kit/virtio-spec`.
 */
import {
  VIRTIO_F_ACCESS_PLATFORM,
  VIRTIO_F_ANY_LAYOUT,
  VIRTIO_F_VERSION_1,
  VIRTIO_NET_F_CTRL_MAC_ADDR,
  VIRTIO_NET_F_CTRL_RX,
  VIRTIO_NET_F_CTRL_VQ,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MQ,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  bit,
} from '@vdpa-kit/virtio-spec';

/** Ring alignment the simulator reports (`VDPASIM_QUEUE_ALIGN` = PAGE_SIZE, vdpa_sim.c). */
export const VDPASIM_QUEUE_ALIGN = 4096;

/** Largest (and default) queue size (`VDPASIM_QUEUE_MAX`, vdpa_sim.c). */
export const VDPASIM_QUEUE_MAX = 256;

/** Virtio vendor id of every simulated device (`VDPASIM_VENDOR_ID`, vdpa_sim.c). */
export const VDPASIM_VENDOR_ID = 0;

/** Features of every simulated device: ANY_LAYOUT | VERSION_1 | ACCESS_PLATFORM (`VDPASIM_FEATURES`, §3.1). */
export const VDPASIM_FEATURES =
  bit(VIRTIO_F_ANY_LAYOUT) | bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_ACCESS_PLATFORM);

/**
 * The kernel's `VDPASIM_NET_FEATURES` = VDPASIM_FEATURES | MAC | STATUS | MTU | CTRL_VQ | CTRL_MAC_ADDR
 * = `0x308830028` (vdpa_sim_net.c).
 */
export const VDPASIM_NET_FEATURES =
  VDPASIM_FEATURES |
  bit(VIRTIO_NET_F_MAC) |
  bit(VIRTIO_NET_F_STATUS) |
  bit(VIRTIO_NET_F_MTU) |
  bit(VIRTIO_NET_F_CTRL_VQ) |
  bit(VIRTIO_NET_F_CTRL_MAC_ADDR);

/**
 * What the `vdpasim_net` management device supports: {@link VDPASIM_NET_FEATURES} plus, beyond the
 * kernel, MQ (`VQ_PAIRS_SET`) and CTRL_RX (`PROMISC` / `ALLMULTI`).
 */
export const VDPASIM_NET_SUPPORTED_FEATURES =
  VDPASIM_NET_FEATURES | bit(VIRTIO_NET_F_MQ) | bit(VIRTIO_NET_F_CTRL_RX);

/** Largest `max_vqp` a `vdpasim_net` device accepts (beyond the kernel, which has one pair). */
export const VDPASIM_NET_MAX_VQP = 8;

/**
 * `max_supported_vqs` of `vdpasim_net`: 2 · {@link VDPASIM_NET_MAX_VQP} data queues + the control
 * queue = 17. The kernel reports 3 because it has exactly one queue pair.
 */
export const VDPASIM_NET_MAX_SUPPORTED_VQS = 2 * VDPASIM_NET_MAX_VQP + 1;

/**
 * Most bytes of a frame, virtio-net header included, that `vdpasim_net_work()` moves: its bounce
 * buffer is one page (`kvmalloc(PAGE_SIZE)` in `vdpasim_net_dev_add()`, 4096 bytes on x86-64). A longer
 * frame is cut there, and the counters count what was moved.
 */
export const VDPASIM_NET_BUFFER_SIZE = 4096;

/** MTU a `vdpasim_net` device reports when none is provisioned (vdpa_sim_net.c). */
export const VDPASIM_NET_DEFAULT_MTU = 1500;

/** Virtqueue groups of a `vdpasim_net` device: data queues and the control queue (vdpa_sim_net.c). */
export const VDPASIM_NET_NGROUPS = 2;

/** Address spaces of a `vdpasim_net` device (vdpa_sim_net.c). */
export const VDPASIM_NET_NAS = 2;

/** Group of the data virtqueues (`get_vq_group`, vdpa_sim.c). */
export const VDPASIM_DATAVQ_GROUP = 0;

/** Group of the control virtqueue (`get_vq_group`, vdpa_sim.c). */
export const VDPASIM_CVQ_GROUP = 1;

/** Name of the net management device (vdpa_sim_net.c). */
export const VDPASIM_NET_MGMTDEV_NAME = 'vdpasim_net';

/**
 * Default packets (or control requests) one work pass processes per queue before it requeues
 * itself. The kernel uses 5; a larger batch amortises the pass and its notification decision.
 */
export const VDPASIM_DEFAULT_WORK_BUDGET = 64;

/** Default IOTLB entry limit per address space, 0 = unlimited (`max_iotlb_entries`, vdpa_sim.c). */
export const VDPASIM_DEFAULT_MAX_IOTLB_ENTRIES = 2048;

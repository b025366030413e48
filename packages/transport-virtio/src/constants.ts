/**
 * This transport's own defaults and bounds (spec and uAPI constants come from `@vdpa-kit/virtio-spec`).
 * Sections cited are of virtio 1.2 (oasis-tcs/virtio-spec v1.2-cs01).
 */
import { VIRTIO_NET_CONFIG_SPEED } from '@vdpa-kit/virtio-spec';

/**
 * Bytes of `virtio_net_config` the driver reads: `mac[6]`, `status`, `max_virtqueue_pairs`, `mtu`, the
 * fields before `speed` (§5.1.4).
 */
export const NET_CONFIG_READ_SIZE = VIRTIO_NET_CONFIG_SPEED;

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

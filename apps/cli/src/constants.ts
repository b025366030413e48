/**
 * Constants of the `vdpa-kit` CLI that are not spec values (Ethernet framing comes from
 * `@vdpa-kit/virtio-spec`): the packet generator's frame layout and the defaults of `run` (the
 * benchmarks' own are in `@vdpa-kit/bench`).
 */
import { ETH_HLEN } from '@vdpa-kit/virtio-spec';

/** Largest frame `run` generates: a 64 KiB jumbo frame would not fit the transport's RX buffers. */
export const PKTGEN_MAX_FRAME = 9018;
/** Source MAC of generated frames: locally administered, unicast (02:00:00:00:00:01). */
export const PKTGEN_SOURCE_MAC: readonly number[] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/** Bytes of a 32-bit field. */
export const U32_BYTES = 4;
/** Bytes of a 16-bit field. */
export const U16_BYTES = 2;

/** Offset of the 32-bit big-endian sequence number in a generated frame. */
export const PKTGEN_SEQ_OFFSET = ETH_HLEN;
/** Offset of the 16-bit big-endian queue-pair index. */
export const PKTGEN_QUEUE_OFFSET = PKTGEN_SEQ_OFFSET + U32_BYTES;
/** Offset of the 32-bit big-endian FNV-1a checksum. */
export const PKTGEN_CSUM_OFFSET = PKTGEN_QUEUE_OFFSET + U16_BYTES;
/** Offset of the payload pattern. */
export const PKTGEN_PAYLOAD_OFFSET = PKTGEN_CSUM_OFFSET + U32_BYTES;

/** FNV-1a 32-bit offset basis. */
export const FNV1A_OFFSET_BASIS = 0x811c9dc5;
/** FNV-1a 32-bit prime. */
export const FNV1A_PRIME = 0x01000193;

/** `run --count` default: frames to send. */
export const RUN_DEFAULT_COUNT = 100_000;
/** `run --size` default: frame bytes. */
export const RUN_DEFAULT_SIZE = 64;
/** `run --burst` default: frames per flush. */
export const RUN_DEFAULT_BURST = 32;
/** `run --mgmtdev` default. */
export const RUN_DEFAULT_MGMTDEV = 'vdpasim_net';
/** Name of the device `run` creates in its own, throw-away stack. */
export const RUN_DEVICE_NAME = 'vdpa0';
/**
 * MAC given to that device when `--mac` is absent and the management device accepts a MAC
 * (locally administered), so that generated frames pass its MAC filter.
 */
export const RUN_DEFAULT_MAC = '52:54:00:12:34:56';
/** Bursts between two yields to the event loop (progress display, I/O) in inline mode. */
export const RUN_BURSTS_PER_YIELD = 64;
/** Abort the drain or a stalled send loop after this long without any progress. */
export const RUN_STALL_TIMEOUT_MS = 2_000;
/** Progress redraws at most this often. */
export const RUN_PROGRESS_INTERVAL_MS = 100;

/** Nanoseconds per second. */
export const NS_PER_SEC = 1e9;
/** Nanoseconds per millisecond. */
export const NS_PER_MS = 1e6;
/** Bits per byte. */
export const BITS_PER_BYTE = 8;
/** Units per mega (Mpps). */
export const PER_MEGA = 1e6;
/** Units per giga (Gbit/s). */
export const PER_GIGA = 1e9;

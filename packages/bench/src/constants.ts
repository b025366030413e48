/**
 * Constants of the benchmarks: their defaults, warm-ups and goals (spec and Ethernet values come from
 * `@vdpa-kit/virtio-spec`).
 */
import { ETH_FRAME_LEN } from '@vdpa-kit/virtio-spec';

/** Name of the device the loopback and trace benchmarks create in their own, throw-away stack. */
export const BENCH_DEVICE_NAME = 'vdpa0';
/** The loopback benchmark device's MAC (locally administered), so the MAC filter accepts the frames. */
export const BENCH_MAC: readonly number[] = [0x52, 0x54, 0x00, 0x00, 0x00, 0x01];
/** `bench loopback --size` default: frame bytes. */
export const BENCH_DEFAULT_SIZE = 64;
/** `bench loopback --runs` default: timed rounds (medians are reported). */
export const BENCH_DEFAULT_RUNS = 5;
/** `bench loopback --packets` default: packets per timed run. */
export const BENCH_DEFAULT_PACKETS = 1_000_000;
/** Frames per flush in the loopback benchmark's loop. */
export const BENCH_BURST = 64;
/** Packets of the untimed warm-up pass (JIT) before the timed runs. */
export const BENCH_WARMUP_PACKETS = 100_000;
/** Copies timed for the copy ceiling. */
export const BENCH_COPIES = 2_000_000;
/** Goals of the loopback benchmark: stack Mpps / reference-loop Mpps at 64 B and at 1500 B. */
export const BENCH_GOALS: Readonly<Record<number, number>> = { 64: 0.35, 1500: 0.5 };
/** Abort the loopback benchmark after this long without any progress. */
export const BENCH_STALL_TIMEOUT_MS = 2_000;

/** `bench trace --ops` default: config ops per timed recording run. */
export const BENCH_TRACE_DEFAULT_OPS = 50_000;
/** `bench trace --runs` default: timed runs (medians are reported). */
export const BENCH_TRACE_DEFAULT_RUNS = 5;
/** Config ops of the trace benchmark's untimed warm-up run. */
export const BENCH_TRACE_WARMUP_OPS = 20_000;
/** Bytes the trace benchmark's recorder and writing ceiling batch per write. */
export const BENCH_TRACE_BATCH_BYTES = 65_536;
/** Goals of the trace benchmark: recorder / writing ceiling and replay / reading ceiling. */
export const BENCH_TRACE_GOALS = { record: 0.25, replay: 0.5 } as const;

/**
 * Largest frame the loopback benchmark sends: what vdpasim_net's default MTU carries (1500 bytes of
 * payload, `ETH_FRAME_LEN`), which also fits the reference loop's 2048-byte buffers.
 */
export const BENCH_MAX_FRAME = ETH_FRAME_LEN;
/** Source MAC of the benchmark's frames: locally administered, unicast (02:00:00:00:00:01). */
export const BENCH_SOURCE_MAC: readonly number[] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

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

import { VdpaError } from '@vdpa-kit/core-bus';
import { type RxBatch, VIRTIO_BUS, type VirtioBus } from '@vdpa-kit/transport-virtio';
import { composeBenchStack } from '../bench-stack.js';
import {
  BENCH_BURST,
  BENCH_COPIES,
  BENCH_DEVICE_NAME,
  BENCH_GOALS,
  BENCH_MAC,
  BENCH_STALL_TIMEOUT_MS,
  BENCH_WARMUP_PACKETS,
  BITS_PER_BYTE,
  NS_PER_MS,
  NS_PER_SEC,
  PER_GIGA,
  PER_MEGA,
} from '../constants.js';
import { BenchError } from '../errors.js';
import { benchFrame, checkFrameSize } from './bench-frame.js';
import { REFERENCE_CEILINGS, type ReferenceCeilings } from './ceilings.js';

/** Options of {@link benchLoopback}. */
export interface LoopbackBenchOptions {
  /** Frame size (64 and 1500 are the reference points). */
  readonly size: number;
  /** Packets per timed run. */
  readonly packets: number;
  /** Timed runs; the medians are reported. */
  readonly runs: number;
}

/** The JSON of `bench loopback`. */
export interface LoopbackBenchReport {
  readonly size: number;
  readonly packets: number;
  /** Median Mpps of the full stack. */
  readonly mpps: number;
  /** Median Mpps of the reference loop (`ring/reference-loop.ts`), measured in the same runs. */
  readonly referenceMpps: number;
  /** `mpps / referenceMpps`. */
  readonly ratio: number;
  /** `copyWithin` of `size` bytes, millions per second (median). */
  readonly copyMops: number;
  /** Full-stack Gbit/s (median run). */
  readonly gbps: number;
  /** The goal for this size (`ratio` to reach), if it has one. */
  readonly goal: number | undefined;
  /** Every run: stack and reference Mpps. */
  readonly runs: readonly {
    readonly mpps: number;
    readonly referenceMpps: number;
    readonly copyMops: number;
  }[];
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * One timed pass of the full stack in one thread: a fresh stack (inline work queue, virtio
 * transport), a `vdpasim_net` device, and the virtio-net driver sending `packets` frames of `size`
 * bytes that the device loops back (driver → bus → vdpasim_net → driver). Bursts of `BENCH_BURST`
 * frames, one flush each; the receive handler only counts.
 *
 * @returns packets per second
 * @throws BenchError for a bad size, when the stack cannot be built or stalls
 */
export function loopbackOnce(size: number, packets: number): number {
  const frame = benchFrame(size, BENCH_MAC);
  const { bus, container } = composeBenchStack({ transport: true });
  try {
    try {
      bus.devAdd('vdpasim_net', BENCH_DEVICE_NAME, { net: { mac: Uint8Array.from(BENCH_MAC) } });
    } catch (err) {
      throw new BenchError(`vdpasim_net refused the bench device: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
    const net = container.get<VirtioBus>(VIRTIO_BUS).netDevice(BENCH_DEVICE_NAME);
    if (net === undefined)
      throw new BenchError(`bench device ${BENCH_DEVICE_NAME} has no virtio-net interface`);
    let received = 0;
    const off = net.onReceive((batch: RxBatch) => {
      received += batch.count;
    });
    let sent = 0;
    const stallNs = BigInt(BENCH_STALL_TIMEOUT_MS * NS_PER_MS);
    const t0 = process.hrtime.bigint();
    let lastMove = t0;
    while (received < packets) {
      let n = 0;
      while (n < BENCH_BURST && sent < packets && net.send(frame, 0)) {
        sent++;
        n++;
      }
      net.flush(0);
      if (net.reclaim(0) === 0 && n === 0) {
        net.poll(0);
        const t = process.hrtime.bigint();
        if (t - lastMove > stallNs)
          throw new BenchError(`bench stalled after ${sent} sent, ${received} received`);
      } else {
        lastMove = process.hrtime.bigint();
      }
    }
    const ns = Number(process.hrtime.bigint() - t0);
    off();
    net.close();
    return (packets * NS_PER_SEC) / ns;
  } finally {
    bus.dispose();
  }
}

/**
 * `vdpa-kit bench loopback`: `runs` rounds, each timing the reference loop, the full stack and the
 * copy ceiling back to back (after one untimed warm-up of each), so that the ratio compares numbers
 * measured under the same machine load. Reports medians.
 *
 * @param ceilings the in-run ceilings (fixed figures in tests)
 * @throws BenchError for a bad size, packet count or run count, or from {@link loopbackOnce}
 * @example
 * const report = benchLoopback({ size: 64, packets: 1e6, runs: 5 });
 * report.ratio; // stack Mpps / reference Mpps
 */
export function benchLoopback(
  options: LoopbackBenchOptions,
  ceilings: ReferenceCeilings = REFERENCE_CEILINGS,
): LoopbackBenchReport {
  const { size, packets, runs } = options;
  checkFrameSize(size);
  if (!Number.isInteger(packets) || packets < 1)
    throw new BenchError(`--packets ${packets} is not a positive integer`);
  if (!Number.isInteger(runs) || runs < 1) throw new BenchError(`--runs ${runs} is not a positive integer`);
  const warm = Math.min(packets, BENCH_WARMUP_PACKETS);
  ceilings.referenceLoop(size, warm);
  loopbackOnce(size, warm);
  const results: { mpps: number; referenceMpps: number; copyMops: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const referenceMpps = ceilings.referenceLoop(size, packets) / PER_MEGA;
    const mpps = loopbackOnce(size, packets) / PER_MEGA;
    const copyMops = ceilings.copyCeiling(size, BENCH_COPIES) / PER_MEGA;
    results.push({ mpps, referenceMpps, copyMops });
  }
  const mpps = median(results.map((r) => r.mpps));
  const referenceMpps = median(results.map((r) => r.referenceMpps));
  return {
    size,
    packets,
    mpps,
    referenceMpps,
    ratio: mpps / referenceMpps,
    copyMops: median(results.map((r) => r.copyMops)),
    gbps: (mpps * PER_MEGA * size * BITS_PER_BYTE) / PER_GIGA,
    goal: BENCH_GOALS[size],
    runs: results,
  };
}

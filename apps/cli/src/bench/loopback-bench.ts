import { VdpaError } from '@vdpa-kit/core-bus';
import { type RxBatch, VIRTIO_BUS, type VirtioBus } from '@vdpa-kit/transport-virtio';
import { composeCliStack } from '../compose.js';
import {
  BENCH_BURST,
  BENCH_COPIES,
  BENCH_GOALS,
  BENCH_WARMUP_PACKETS,
  BITS_PER_BYTE,
  NS_PER_MS,
  NS_PER_SEC,
  PER_GIGA,
  PER_MEGA,
  RUN_DEVICE_NAME,
  RUN_STALL_TIMEOUT_MS,
} from '../constants.js';
import { CliError } from '../errors.js';
import { PacketGenerator, checkFrameSize } from '../run/packet-generator.js';
import type { VringCeilings } from './vring-ceilings.js';

/** The bench device's MAC (locally administered), so the MAC filter accepts the frames. */
const BENCH_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x00, 0x00, 0x01]);

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
  /** Median Mpps of vring's reference loop, measured in the same runs. */
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
 * @throws CliError when the stack cannot be built or stalls
 */
export function loopbackOnce(size: number, packets: number): number {
  checkFrameSize(size);
  const { bus, container } = composeCliStack({ transport: true, workQueue: 'inline' });
  try {
    try {
      bus.devAdd('vdpasim_net', RUN_DEVICE_NAME, { net: { mac: BENCH_MAC } });
    } catch (err) {
      throw new CliError(`vdpasim_net refused the bench device: ${VdpaError.from(err).message}`, {
        cause: err,
      });
    }
    const net = container.get<VirtioBus>(VIRTIO_BUS).netDevice(RUN_DEVICE_NAME);
    if (net === undefined) throw new CliError(`bench device ${RUN_DEVICE_NAME} has no virtio-net interface`);
    const frame = new PacketGenerator(size, BENCH_MAC).fill(0, 0);
    let received = 0;
    const off = net.onReceive((batch: RxBatch) => {
      received += batch.count;
    });
    let sent = 0;
    const stallNs = BigInt(RUN_STALL_TIMEOUT_MS * NS_PER_MS);
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
          throw new CliError(`bench stalled after ${sent} sent, ${received} received`);
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
 * `vdpa-kit bench loopback`: `runs` rounds, each timing vring's reference loop, the full stack and
 * the copy ceiling back to back (after one untimed warm-up of each), so that the ratio compares
 * numbers measured under the same machine load. Reports medians.
 *
 * @example
 * const report = benchLoopback({ size: 64, packets: 1e6, runs: 5 }, VRING_CEILINGS);
 * report.ratio; // stack Mpps / reference Mpps
 */
export function benchLoopback(options: LoopbackBenchOptions, ceilings: VringCeilings): LoopbackBenchReport {
  const { size, packets, runs } = options;
  checkFrameSize(size);
  if (!Number.isInteger(packets) || packets < 1)
    throw new CliError(`--packets ${packets} is not a positive integer`);
  if (!Number.isInteger(runs) || runs < 1) throw new CliError(`--runs ${runs} is not a positive integer`);
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

/**
 * Ring benchmark (`npm run bench`, `vdpa-kit bench ring`): the driver side and the device side the
 * product runs, in one thread, TX chain -> device copies into an RX chain (loopback), with IOTLB
 * translation on (IOVAs are offset from physical addresses, so every ring and buffer access is
 * translated). The vring loop, {@link createPooledLoop}, is the virtio-net driver's `PooledVirtqueue`
 * rings and vdpasim_net's datapath (`VdpasimNetLoopback`: vring's `VringhLoopback` and per-chain
 * `getdesc` for what it declines). In the same process it measures the in-run ceilings of the
 * reference loop and the copy ceiling, and the validated loop's data point, and reports one record per
 * packet size. Every loop is set up once per size and warmed up; a run then moves `packets` packets
 * through each loop in slices of {@link SLICE}, the loops taking turns slice by slice, so that a swing
 * of the machine's load (they run for seconds, on a shared machine) hits every loop alike. Each figure
 * is the median of the runs. Goals: `ratio` >= 0.6 at 64 B and >= 0.8 at 1500 B.
 */
import { BenchError } from '../errors.js';
import type { BenchLoop } from './bench-loop.js';
import { BENCH_MIN_FRAME, frameTooSmall } from './loopback-device.js';
import { createPooledLoop } from './pooled-loop.js';
import { createCopyCeiling, createReferenceLoop } from './reference-loop.js';
import { createValidatedLoop } from './validated-loop.js';

/** Largest packet: the loops' buffers are 2 KiB. */
export const RING_BENCH_MAX_SIZE = 2048;
/** Smallest packet: vdpasim_net drops a frame shorter than its virtio-net header and an address. */
export const RING_BENCH_MIN_SIZE = BENCH_MIN_FRAME;
/** Packets a loop moves before the next loop takes its turn: 3-10 ms, shorter than most load swings. */
const SLICE = 50_000;
/** Packets each loop moves before the runs (fewer for short runs), so that the JIT has compiled it. */
const WARMUP = 200_000;
/** Sizes measured when none is given. */
const DEFAULT_SIZES: readonly number[] = [64, 1500];
/** Timed runs per size when none is given. */
export const RING_BENCH_DEFAULT_RUNS = 5;
/** Packets per loop and run when none is given. */
export const RING_BENCH_DEFAULT_PACKETS = 1_000_000;
/** `ratio` to reach at 64 B (and below) ... */
const GOAL_SMALL = 0.6;
/** ... and above. */
const GOAL_LARGE = 0.8;
/** Sizes up to this one have the small-packet goal. */
const SMALL_SIZE = 64;
const BITS_PER_BYTE = 8;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Options of {@link benchRing}. */
export interface RingBenchOptions {
  /** Packet sizes, each run on its own (default 64 and 1500). */
  readonly sizes?: readonly number[];
  /** Timed runs per size (default 5). */
  readonly runs?: number;
  /** Packets per loop and run (default 1 000 000). */
  readonly packets?: number;
  /** Called before each run (a progress line). */
  readonly onRun?: (size: number, run: number, runs: number) => void;
}

/** One size's figures (the JSON line of the ring benchmark). */
export interface RingBenchReport {
  readonly size: number;
  /** Median Mpps of the vring loop (the driver's `PooledVirtqueue`s, vdpasim_net's datapath). */
  readonly mpps: number;
  /** Median Mpps of the reference loop. */
  readonly referenceMpps: number;
  /** `mpps / referenceMpps`: the goal's measure. */
  readonly ratio: number;
  /** The lowest and highest ratio of one run's vring figure to the reference's in the same run. */
  readonly ratioRange: readonly [number, number];
  /** Median Mpps of the validated loop (`validated-loop.ts`: the checks without vring's structure). */
  readonly validatedMpps: number;
  /** `validatedMpps / referenceMpps`. */
  readonly validatedRatio: number;
  /** Median millions of `copyWithin` calls of `size` bytes per second (the copy ceiling). */
  readonly copyMops: number;
  /** Gbit/s of the vring loop. */
  readonly gbps: number;
  readonly goal: number;
  readonly meetsGoal: boolean;
  readonly runs: number;
  readonly packets: number;
}

function positive(value: number, flag: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BenchError(`${flag} ${String(value)} is not a positive integer`);
  }
  return value;
}

/** Checks a packet size of the ring benchmark. @throws BenchError naming it */
function checkSize(size: number): void {
  positive(size, '--size');
  if (size < RING_BENCH_MIN_SIZE) throw frameTooSmall(size);
  if (size > RING_BENCH_MAX_SIZE) {
    throw new BenchError(`--size ${size} is larger than the ${RING_BENCH_MAX_SIZE}-byte buffers`);
  }
}

/**
 * Runs the ring benchmark in this process (see the module comment).
 * @returns one report per size, in the order given
 * @throws BenchError for a bad size, run count or packet count; Error if a loop lost or corrupted data
 * @example
 * const [r64] = benchRing({ sizes: [64], runs: 5 });
 * r64.ratio; // the product's rings / reference loop
 */
export function benchRing(options: RingBenchOptions = {}): RingBenchReport[] {
  const sizes = options.sizes ?? DEFAULT_SIZES;
  const runs = positive(options.runs ?? RING_BENCH_DEFAULT_RUNS, '--runs');
  const packets = positive(options.packets ?? RING_BENCH_DEFAULT_PACKETS, '--packets');
  for (const size of sizes) checkSize(size);
  const reports: RingBenchReport[] = [];
  for (const size of sizes) {
    // Measured in this order, every run: the vring loops, then the ceilings.
    const loops: BenchLoop[] = [
      createPooledLoop(size),
      createReferenceLoop(size),
      createValidatedLoop(size),
      createCopyCeiling(size),
    ];
    for (const loop of loops) {
      loop.run(Math.min(WARMUP, 2 * packets));
      loop.verify();
    }
    const rates: number[][] = loops.map(() => []);
    for (let i = 0; i < runs; i++) {
      options.onRun?.(size, i + 1, runs);
      const ns = loops.map(() => 0);
      for (let done = 0; done < packets; done += SLICE) {
        const n = Math.min(SLICE, packets - done);
        for (let k = 0; k < loops.length; k++) {
          ns[k] += loops[k].run(n);
          // Outside the clock: the frames of this slice, then poison for the next.
          loops[k].verify();
        }
      }
      for (let k = 0; k < loops.length; k++) rates[k].push((packets * 1e9) / ns[k]);
    }
    const [p, r, w, c] = rates;
    const mpps = median(p) / 1e6;
    const referenceMpps = median(r) / 1e6;
    const validatedMpps = median(w) / 1e6;
    // Each run's vring figure against the reference's in the same run: how far one run's ratio strays.
    const paired = p.map((x, i) => x / r[i]);
    const goal = size <= SMALL_SIZE ? GOAL_SMALL : GOAL_LARGE;
    // Rounded as printed, and the goal judged on the printed figure.
    const ratio = Number((mpps / referenceMpps).toFixed(3));
    reports.push({
      size,
      mpps: Number(mpps.toFixed(3)),
      referenceMpps: Number(referenceMpps.toFixed(3)),
      ratio,
      ratioRange: [Number(Math.min(...paired).toFixed(3)), Number(Math.max(...paired).toFixed(3))],
      validatedMpps: Number(validatedMpps.toFixed(3)),
      validatedRatio: Number((validatedMpps / referenceMpps).toFixed(3)),
      copyMops: Number((median(c) / 1e6).toFixed(3)),
      gbps: Number(((mpps * size * BITS_PER_BYTE) / 1e3).toFixed(2)),
      goal,
      meetsGoal: ratio >= goal,
      runs,
      packets,
    });
  }
  return reports;
}

const USAGE = `usage: ring-bench [--size BYTES] [--runs N] [--packets N]

Runs the product's rings (the virtio-net driver's PooledVirtqueues and vdpasim_net's datapath, in one
thread, IOTLB translation on), the reference loop, the validated loop and the copyWithin ceiling in
this process, taking turns every 50000 packets, and prints one JSON line per packet size (64 and 1500
unless --size is given, 18..2048): medians of --runs runs (default 5) of --packets packets (default
1000000) per loop. "ratio" (product / reference) is the goal's measure: >= 0.6 at 64 B, >= 0.8 at
1500 B.`;

/** The value after `flag` in `argv` as a positive integer, or `fallback` when the flag is absent. */
function intOption(argv: readonly string[], flag: string, fallback: number): number {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BenchError(`${flag} ${String(argv[at + 1])} is not a positive integer`);
  }
  return value;
}

/**
 * The ring benchmark's command line (`node dist/bin/ring-bench.js [--size BYTES] [--runs N]
 * [--packets N]`): runs {@link benchRing} and prints one JSON line per size: `mpps` (the driver's
 * `PooledVirtqueue`s and vdpasim_net's datapath), `referenceMpps` and `ratio` (the goal's measure),
 * `ratioRange` (the lowest and highest ratio of one run's vring figure to the reference's in the same
 * run), `validatedMpps` and `validatedRatio` (see `validated-loop.ts`: the checks without vring's
 * structure), `copyMops` (the copy ceiling), `gbps`, `goal`, `meetsGoal`, `runs`, `packets`.
 * @param argv the arguments after the program name
 * @returns the process exit code: 0, or 2 for bad arguments
 */
export function ringBenchMain(argv: readonly string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let sizes: readonly number[];
  let runs: number;
  let packets: number;
  try {
    sizes = argv.includes('--size') ? [intOption(argv, '--size', SMALL_SIZE)] : DEFAULT_SIZES;
    runs = intOption(argv, '--runs', RING_BENCH_DEFAULT_RUNS);
    packets = intOption(argv, '--packets', RING_BENCH_DEFAULT_PACKETS);
    // The rest of the checks, before anything runs.
    for (const size of sizes) checkSize(size);
  } catch (err) {
    if (!(err instanceof BenchError)) throw err;
    console.error(`ring-bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  for (const size of sizes) {
    const [report] = benchRing({
      sizes: [size],
      runs,
      packets,
      onRun: (s, i, n) => {
        if (process.stderr.isTTY) process.stderr.write(`ring-bench: ${s} B, run ${i} of ${n}\r`);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\x1b[K');
    console.log(JSON.stringify(report));
  }
  return 0;
}

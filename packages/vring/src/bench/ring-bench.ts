/**
 * Ring benchmark (`npm run bench -w @vdpa-kit/vring`): vring's driver side and device side in one
 * thread, TX chain -> device copies into an RX chain (loopback), with IOTLB translation on (IOVAs are
 * offset from physical addresses, so every ring and buffer access is translated). Two vring loops: the
 * main one, {@link pooledLoop} (`PooledVirtqueue`: a fixed buffer pool, as the reference loop's driver),
 * and {@link virtqueueLoop} (the general `Virtqueue`: any chain, free list, tokens). In the same
 * process it measures the in-run ceilings of {@link referenceLoop} and {@link copyCeiling}, and the
 * validated loop's data point, and prints one JSON line per packet size. Every loop is set up once
 * per size and warmed up; a run then moves `--packets` packets through each loop in slices of
 * {@link SLICE}, the loops taking turns slice by slice, so that a swing of the machine's load (they run
 * for seconds, on a shared machine) hits every loop alike. Each figure is the median of the runs.
 * Goals (../shared/reference/performance.md): `ratio` >= 0.6 at 64 B and >= 0.8 at 1500 B.
 */
import type { BenchLoop } from './bench-loop.js';
import { createPooledLoop } from './pooled-loop.js';
import { createCopyCeiling, createReferenceLoop } from './reference-loop.js';
import { createValidatedLoop } from './validated-loop.js';
import { createVirtqueueLoop } from './virtqueue-loop.js';

/** Largest packet: the loops' buffers are 2 KiB. */
const BUF = 2048;
/** Packets a loop moves before the next loop takes its turn: 3-10 ms, shorter than most load swings. */
const SLICE = 50_000;
/** Packets each loop moves before the runs (fewer for short runs), so that the JIT has compiled it. */
const WARMUP = 200_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const USAGE = `usage: ring-bench [--size BYTES] [--runs N] [--packets N]

Runs vring's loopbacks (driver side and device side in one thread, IOTLB translation on: the
PooledVirtqueue one and the general Virtqueue one), the reference loop, the validated loop and the
copyWithin ceiling in this process, taking turns every 50000 packets, and prints one JSON line per
packet size (64 and 1500 unless --size is given): medians of --runs runs (default 5) of --packets
packets (default 1000000) per loop. "ratio" (PooledVirtqueue / reference) is the goal's measure:
>= 0.6 at 64 B, >= 0.8 at 1500 B.`;

/** The value after `flag` in `argv` as a positive integer, or `fallback` when the flag is absent. */
function intOption(argv: readonly string[], flag: string, fallback: number): number {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${flag} ${String(argv[at + 1])} is not a positive integer`);
  }
  return value;
}

/**
 * Runs the benchmark and prints one JSON line per size: `mpps` (vring with `PooledVirtqueue`),
 * `referenceMpps` and `ratio` (the goal's measure), `ratioRange` (the lowest and highest ratio of
 * one run's vring figure to the reference's in the same run), `virtqueueMpps` and `virtqueueRatio` (vring with
 * the general `Virtqueue`), `validatedMpps` and `validatedRatio` (see `validated-loop.ts`: the checks
 * without vring's structure), `copyMops` (the copy ceiling), `gbps`, `goal`, `meetsGoal`.
 * @returns the process exit code: 0, or 2 for bad arguments
 */
export function main(argv: readonly string[] = process.argv.slice(2)): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let sizes: number[];
  let runs: number;
  let packets: number;
  try {
    sizes = argv.includes('--size') ? [intOption(argv, '--size', 64)] : [64, 1500];
    runs = intOption(argv, '--runs', 5);
    packets = intOption(argv, '--packets', 1_000_000);
    if (sizes[0] > BUF) throw new Error(`--size ${sizes[0]} is larger than the ${BUF}-byte buffers`);
  } catch (err) {
    console.error(`ring-bench: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  for (const size of sizes) {
    // Measured in this order, every run: the vring loops, then the ceilings.
    const loops: BenchLoop[] = [
      createPooledLoop(size),
      createVirtqueueLoop(size),
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
      if (process.stderr.isTTY) process.stderr.write(`ring-bench: ${size} B, run ${i + 1} of ${runs}\r`);
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
    if (process.stderr.isTTY) process.stderr.write('\x1b[K');
    const [p, v, r, w, c] = rates;
    const mpps = median(p) / 1e6;
    const virtqueueMpps = median(v) / 1e6;
    const referenceMpps = median(r) / 1e6;
    const validatedMpps = median(w) / 1e6;
    // Each run's vring figure against the reference's in the same run: how far one run's ratio strays.
    const paired = p.map((x, i) => x / r[i]);
    const goal = size <= 64 ? 0.6 : 0.8;
    // Rounded as printed, and the goal judged on the printed figure.
    const ratio = Number((mpps / referenceMpps).toFixed(3));
    console.log(
      JSON.stringify({
        size,
        mpps: Number(mpps.toFixed(3)),
        referenceMpps: Number(referenceMpps.toFixed(3)),
        ratio,
        ratioRange: [Math.min(...paired), Math.max(...paired)].map((x) => Number(x.toFixed(3))),
        virtqueueMpps: Number(virtqueueMpps.toFixed(3)),
        virtqueueRatio: Number((virtqueueMpps / referenceMpps).toFixed(3)),
        validatedMpps: Number(validatedMpps.toFixed(3)),
        validatedRatio: Number((validatedMpps / referenceMpps).toFixed(3)),
        copyMops: Number((median(c) / 1e6).toFixed(3)),
        gbps: Number(((mpps * size * 8) / 1e3).toFixed(2)),
        goal,
        meetsGoal: ratio >= goal,
        runs,
        packets,
      }),
    );
  }
  return 0;
}

if (process.argv[1]?.endsWith('ring-bench.js')) process.exitCode = main();

import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceHandle, type VdpaBus, VdpaError, type VdpaDriver } from '@vdpa-kit/core-bus';
import { type TraceRecord, createTraceHeader, readTrace, recordToFile, verifyTrace } from '@vdpa-kit/trace';
import { Subject } from 'rxjs';
import { composeBenchStack } from '../bench-stack.js';
import {
  BENCH_DEVICE_NAME,
  BENCH_TRACE_BATCH_BYTES,
  BENCH_TRACE_GOALS,
  BENCH_TRACE_WARMUP_OPS,
  NS_PER_SEC,
} from '../constants.js';
import { BenchError } from '../errors.js';

/** The management device the trace bench drives (the real simulator, control ops only). */
const BENCH_MGMTDEV = 'vdpasim_net';
/** Name of the bench's in-process driver: it only keeps the handle it is given. */
const BENCH_DRIVER = 'trace_bench';
/** Queue size the bench sets (vdpasim_net's maximum). */
const BENCH_VQ_NUM = 256;
/** Bytes of config space the bench reads (the MAC). */
const BENCH_CONFIG_BYTES = 6;
/** Distinct ops of the bench's op cycle (see {@link driveOps}). */
const BENCH_OP_KINDS = 8;

/** Options of {@link benchTrace}. */
export interface TraceBenchOptions {
  /** Config ops per timed recording run (the replayed trace holds about twice as many events). */
  readonly ops: number;
  /** Timed runs; medians are reported. */
  readonly runs: number;
}

/** One timed run of {@link benchTrace}. */
export interface TraceBenchRun {
  readonly recordOpsPerSec: number;
  readonly recordCeiling: number;
  readonly replayEventsPerSec: number;
  readonly replayCeiling: number;
}

/** The JSON of `bench trace`. */
export interface TraceBenchReport extends TraceBenchRun {
  readonly ops: number;
  /** Records of the replayed trace (after the header). */
  readonly events: number;
  /** `recordOpsPerSec / recordCeiling` (medians). */
  readonly recordRatio: number;
  /** `replayEventsPerSec / replayCeiling` (medians). */
  readonly replayRatio: number;
  /** The goals of the two ratios. */
  readonly goals: { readonly record: number; readonly replay: number };
  readonly runs: readonly TraceBenchRun[];
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function elapsedSec(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / NS_PER_SEC;
}

/**
 * `ops` control-path config ops through a handle: a fixed cycle of reads and writes with results of
 * every kind (number, bigint, boolean, config bytes, void), none depending on ring contents.
 */
function driveOps(h: DeviceHandle, ops: number, config: Uint8Array): void {
  for (let i = 0; i < ops; i++) {
    switch (i % BENCH_OP_KINDS) {
      case 0:
        h.getStatus();
        break;
      case 1:
        h.getDeviceFeatures();
        break;
      case 2:
        h.getVqNumMax();
        break;
      case 3:
        h.setVqNum(0, BENCH_VQ_NUM);
        break;
      case 4:
        h.getVqReady(0);
        break;
      case 5:
        h.getConfig(0, config);
        break;
      case 6:
        h.getVendorId();
        break;
      default:
        h.getDeviceId();
        break;
    }
  }
}

/**
 * Records `ops` config ops on a fresh `vdpasim_net` device to `path` (recorder on, batched writes).
 * @returns recorded ops per second, timed from the first op to the flushed, closed file
 */
function recordOnce(path: string, ops: number): number {
  const { bus } = composeBenchStack({ transport: false, clock: 'logical' });
  let handle: DeviceHandle | undefined;
  const driver: VdpaDriver = {
    name: BENCH_DRIVER,
    idTable: ['virtio'],
    probe: (h) => {
      handle = h;
    },
    remove: () => {
      handle = undefined;
    },
  };
  try {
    bus.registerDriver(driver);
    const header = createTraceHeader({
      stack: { mgmtdev: BENCH_MGMTDEV, dev: BENCH_DEVICE_NAME, driver: BENCH_DRIVER, bench: 'trace' },
      createdAt: new Date(0),
    });
    const recording = recordToFile(bus, path, { header, batchBytes: BENCH_TRACE_BATCH_BYTES });
    let stopped = false;
    try {
      bus.devAdd(BENCH_MGMTDEV, BENCH_DEVICE_NAME);
      const h = handle;
      if (h === undefined)
        throw new BenchError(`bench device ${BENCH_DEVICE_NAME} did not bind to ${BENCH_DRIVER}`);
      const config = new Uint8Array(BENCH_CONFIG_BYTES);
      const t0 = process.hrtime.bigint();
      driveOps(h, ops, config);
      stopped = true;
      recording.stop();
      return ops / elapsedSec(t0);
    } finally {
      if (!stopped) recording.stop();
    }
  } catch (err) {
    if (err instanceof BenchError) throw err;
    throw new BenchError(`trace bench recording failed: ${VdpaError.from(err).message}`, { cause: err });
  } finally {
    bus.dispose();
  }
}

/**
 * The writing ceiling: the same records `JSON.stringify`-ed and written as JSON Lines in 64 KiB
 * batches with `writeSync`.
 * @returns records written per second
 */
function writeCeiling(path: string, records: readonly TraceRecord[]): number {
  const t0 = process.hrtime.bigint();
  const fd = openSync(path, 'w');
  try {
    let batch = '';
    for (let i = 0; i < records.length; i++) {
      batch += `${JSON.stringify(records[i])}\n`;
      if (batch.length >= BENCH_TRACE_BATCH_BYTES) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    if (batch.length > 0) writeSync(fd, batch);
  } finally {
    closeSync(fd);
  }
  return records.length / elapsedSec(t0);
}

/**
 * Replays (verifies) the trace file against a fresh `vdpasim_net` device on `bus`: read, parse,
 * validate, create the device, replay and compare, delete the device.
 * @param bus a composed stack, shared by all replay runs: `verifyTrace` leaves it as it found it, and
 *   composing one per run would put the garbage collection its guest memory allocation triggers into
 *   the timed region (a cost of the composition, not of the replay)
 * @returns trace records per second
 */
function replayOnce(bus: VdpaBus, path: string): { eventsPerSec: number; events: number } {
  try {
    const t0 = process.hrtime.bigint();
    const trace = readTrace(path);
    const report = verifyTrace(trace, { bus, mgmtdev: BENCH_MGMTDEV });
    const sec = elapsedSec(t0);
    if (!report.ok) {
      const d = report.divergence;
      throw new BenchError(
        `trace bench replay diverged${d === undefined ? '' : ` at seq ${d.seq} (${d.op})`}`,
      );
    }
    return { eventsPerSec: trace.records.length / sec, events: trace.records.length };
  } catch (err) {
    if (err instanceof BenchError) throw err;
    throw new BenchError(`trace bench replay failed: ${VdpaError.from(err).message}`, { cause: err });
  }
}

/**
 * The writing ceiling in ops per second for the records of the trace file (read here, so that they
 * are garbage again once measured and do not weigh on the replay that follows).
 */
function writeCeilingOps(tracePath: string, ceilingPath: string, ops: number): number {
  const records = readTrace(tracePath).records;
  // The same records per op, written without the bus and the recorder.
  return (writeCeiling(ceilingPath, records) * ops) / records.length;
}

/**
 * The reading ceiling: the file read in bulk, split into lines, each `JSON.parse`-d and pushed
 * through an RxJS `Subject` with one subscriber.
 * @returns records (lines after the header) per second
 */
function readCeiling(path: string): number {
  const subject = new Subject<unknown>();
  let seen = 0;
  const sub = subject.subscribe(() => {
    seen++;
  });
  const t0 = process.hrtime.bigint();
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) if (lines[i].length > 0) subject.next(JSON.parse(lines[i]));
  const sec = elapsedSec(t0);
  sub.unsubscribe();
  // The header line is read too but is not an event.
  return (seen - 1) / sec;
}

/**
 * `vdpa-kit bench trace`: `runs` rounds, each measuring back to back (after an untimed warm-up) the
 * recorder (config ops per second through the bus into a trace file) against its ceiling (the same
 * records written as batched JSON Lines), and replay in verify mode (trace records per second: read,
 * validate, replay against a live `vdpasim_net`, compare) against its ceiling (bulk read, split,
 * `JSON.parse`, a `Subject`). Reports medians, the two ratios and their goals (0.25, 0.5).
 * Temporary files are removed.
 *
 * @throws BenchError for bad options or a replay that diverges
 * @example
 * const r = benchTrace({ ops: 200000, runs: 5 });
 * r.recordRatio; // recordOpsPerSec / recordCeiling
 */
export function benchTrace(options: TraceBenchOptions): TraceBenchReport {
  const { ops, runs } = options;
  if (!Number.isInteger(ops) || ops < 1) throw new BenchError(`--ops ${ops} is not a positive integer`);
  if (!Number.isInteger(runs) || runs < 1) throw new BenchError(`--runs ${runs} is not a positive integer`);
  const dir = mkdtempSync(join(tmpdir(), 'vdpa-kit-bench-trace-'));
  const { bus: replayBus } = composeBenchStack({ transport: false, clock: 'logical' });
  try {
    const tracePath = join(dir, 'recorded.jsonl');
    const ceilingPath = join(dir, 'ceiling.jsonl');
    const warm = Math.min(ops, BENCH_TRACE_WARMUP_OPS);
    recordOnce(tracePath, warm);
    writeCeilingOps(tracePath, ceilingPath, warm);
    replayOnce(replayBus, tracePath);
    readCeiling(tracePath);
    const results: TraceBenchRun[] = [];
    let events = 0;
    for (let i = 0; i < runs; i++) {
      const recordOpsPerSec = recordOnce(tracePath, ops);
      const recordCeiling = writeCeilingOps(tracePath, ceilingPath, ops);
      const replay = replayOnce(replayBus, tracePath);
      events = replay.events;
      results.push({
        recordOpsPerSec,
        recordCeiling,
        replayEventsPerSec: replay.eventsPerSec,
        replayCeiling: readCeiling(tracePath),
      });
    }
    const recordOpsPerSec = median(results.map((r) => r.recordOpsPerSec));
    const recordCeiling = median(results.map((r) => r.recordCeiling));
    const replayEventsPerSec = median(results.map((r) => r.replayEventsPerSec));
    const replayCeiling = median(results.map((r) => r.replayCeiling));
    return {
      ops,
      events,
      recordOpsPerSec,
      recordCeiling,
      replayEventsPerSec,
      replayCeiling,
      recordRatio: recordOpsPerSec / recordCeiling,
      replayRatio: replayEventsPerSec / replayCeiling,
      goals: { record: BENCH_TRACE_GOALS.record, replay: BENCH_TRACE_GOALS.replay },
      runs: results,
    };
  } finally {
    replayBus.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

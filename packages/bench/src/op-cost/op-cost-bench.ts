/**
 * Benchmark of the config-ops channel: ns per `kickVq` (the per-batch datapath op) called
 * (a) directly on the device object, (b) through a `DeviceHandle` with no subscribers and no
 * interceptors (the fast path: no event objects built), (c) with one `events$` subscriber (a `call`
 * and a `return` event per op), and (d) with one subscriber and one pass-through interceptor; plus
 * the in-run ceiling (e): one bare RxJS `Subject.next` of a pre-built record to one subscriber.
 *
 * {@link benchOpCost} returns
 * `{directNsPerOp, handleNsPerOp, subscribedNsPerOp, interceptedNsPerOp, subjectNextNs, overheadRatio, ratioToCeiling}`
 * where `overheadRatio = handleNsPerOp / directNsPerOp` and
 * `ratioToCeiling = subscribedNsPerOp / (2 × subjectNextNs)` (a subscribed op emits two events).
 * Every figure is the median of `runs` timed runs; the ceiling and the subscribed op are timed
 * alternately so that a change in machine load hits both.
 *
 * Run: `npm run bench -w @vdpa-kit/bench` (ring, then op-cost), `node packages/bench/dist/bin/op-cost.js`
 * or `vdpa-kit bench op-cost`.
 */
import { type BusEvent, type DeviceHandle, LogicalClock, VdpaBus } from '@vdpa-kit/core-bus';
import { FakeDevice, FakeTransport } from '@vdpa-kit/core-bus/testing';
import { Subject } from 'rxjs';
import { BenchError } from '../errors.js';

/** Timed runs of each body (medians are reported). */
const RUNS = 5;
/** Ops per run of the bodies that build no events. */
const FAST_ITERATIONS = 5_000_000;
/** Ops per run of the bodies that emit events. */
const EVENT_ITERATIONS = 500_000;
/** Ops of each body's untimed warm-up. */
const WARMUP_ITERATIONS = 100_000;
const NS_PER_MS = 1e6;
const ROUND_TO = 100;
/** Events a subscribed op emits (`call` and `return`). */
const EVENTS_PER_OP = 2;

/** A fake whose kick does not record (no allocation), like a real device's doorbell. */
class BenchDevice extends FakeDevice {
  kicked = 0;
  override kickVq(idx: number): void {
    this.kicked += idx + 1;
  }
}

type Body = (n: number) => void;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function sample(iterations: number, body: Body): number {
  const start = performance.now();
  body(iterations);
  return ((performance.now() - start) * NS_PER_MS) / iterations;
}

/** Median ns per iteration of each body over `runs` runs; the bodies' runs alternate. */
function measure(iterations: number, runs: number, bodies: readonly Body[]): number[] {
  for (const body of bodies) body(Math.min(iterations, WARMUP_ITERATIONS)); // lets the JIT settle
  const samples = bodies.map((): number[] => []);
  for (let r = 0; r < runs; r++) {
    for (let b = 0; b < bodies.length; b++) samples[b].push(sample(iterations, bodies[b]));
  }
  return samples.map(median);
}

function round(ns: number): number {
  return Math.round(ns * ROUND_TO) / ROUND_TO;
}

/** Options of {@link benchOpCost}: smaller figures for tests. */
export interface OpCostBenchOptions {
  /** Timed runs of each body (default 5). */
  readonly runs?: number;
  /** Ops per run of the bodies that build no events (default 5 000 000). */
  readonly fastIterations?: number;
  /** Ops per run of the bodies that emit events (default 500 000). */
  readonly eventIterations?: number;
}

/** The JSON of the op-cost benchmark (ns per op, medians; see the module comment). */
export interface OpCostBenchReport {
  readonly directNsPerOp: number;
  readonly handleNsPerOp: number;
  readonly subscribedNsPerOp: number;
  readonly interceptedNsPerOp: number;
  readonly subjectNextNs: number;
  /** `handleNsPerOp / directNsPerOp`. */
  readonly overheadRatio: number;
  /** `subscribedNsPerOp / (2 × subjectNextNs)`. */
  readonly ratioToCeiling: number;
}

/**
 * Runs the op-cost benchmark in this process (see the module comment): a fresh bus with a fake
 * transport and a device whose kick records nothing.
 * @throws BenchError for a bad option, or if a body did not run
 * @example
 * const r = benchOpCost();
 * r.ratioToCeiling; // subscribed op / two bare Subject.next calls
 */
export function benchOpCost(options: OpCostBenchOptions = {}): OpCostBenchReport {
  const runs = positive(options.runs ?? RUNS, 'runs');
  const fast = positive(options.fastIterations ?? FAST_ITERATIONS, 'fastIterations');
  const events = positive(options.eventIterations ?? EVENT_ITERATIONS, 'eventIterations');
  const bus = new VdpaBus(new LogicalClock());
  const transport = new FakeTransport('bench', ['virtio']);
  bus.registerDriver(transport);
  const device = new BenchDevice({ nvqs: 1 });
  device.register(bus, { classIds: ['virtio'] });
  const handle: DeviceHandle = transport.handle('vdpa0');

  const [directNsPerOp] = measure(fast, runs, [
    (n) => {
      for (let i = 0; i < n; i++) device.kickVq(0);
    },
  ]);
  const [handleNsPerOp] = measure(fast, runs, [
    (n) => {
      for (let i = 0; i < n; i++) handle.kickVq(0);
    },
  ]);

  // The ceiling: a bare Subject with one subscriber doing the same work as the bus subscriber below,
  // fed a record built once, so that only `Subject.next` is timed.
  const ceiling = new Subject<BusEvent>();
  let ceilingSeen = 0;
  const ceilingSub = ceiling.subscribe(() => {
    ceilingSeen++;
  });
  const record: BusEvent = Object.freeze({
    v: 1,
    seq: 0,
    ts: 0,
    dev: 'vdpa0',
    kind: 'op',
    op: 'kickVq',
    phase: 'return',
  });

  let seen = 0;
  const sub = bus.events$.subscribe(() => {
    seen++;
  });
  const [subjectNextNs, subscribedNsPerOp] = measure(events, runs, [
    (n) => {
      for (let i = 0; i < n; i++) ceiling.next(record);
    },
    (n) => {
      for (let i = 0; i < n; i++) handle.kickVq(0);
    },
  ]);
  const remove = bus.addInterceptor((_call, next) => next());
  const [interceptedNsPerOp] = measure(events, runs, [
    (n) => {
      for (let i = 0; i < n; i++) handle.kickVq(0);
    },
  ]);
  remove();
  sub.unsubscribe();
  ceilingSub.unsubscribe();
  bus.dispose();

  if (seen === 0 || ceilingSeen === 0 || device.kicked === 0)
    throw new BenchError('op-cost benchmark did not run');
  return {
    directNsPerOp: round(directNsPerOp),
    handleNsPerOp: round(handleNsPerOp),
    subscribedNsPerOp: round(subscribedNsPerOp),
    interceptedNsPerOp: round(interceptedNsPerOp),
    subjectNextNs: round(subjectNextNs),
    overheadRatio: round(handleNsPerOp / directNsPerOp),
    ratioToCeiling: round(subscribedNsPerOp / (EVENTS_PER_OP * subjectNextNs)),
  };
}

function positive(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new BenchError(`${what} ${value} is not a positive integer`);
  return value;
}

/**
 * Benchmark of the config-ops channel: ns per `kickVq` (the per-batch datapath op) called
 * (a) directly on the device object, (b) through a `DeviceHandle` with no subscribers and no
 * interceptors (the fast path: no event objects built), (c) with one `events$` subscriber (a `call`
 * and a `return` event per op), and (d) with one subscriber and one pass-through interceptor; plus
 * the in-run ceiling (e): one bare RxJS `Subject.next` of a pre-built record to one subscriber.
 *
 * Prints one JSON line:
 * `{"directNsPerOp","handleNsPerOp","subscribedNsPerOp","interceptedNsPerOp","subjectNextNs","overheadRatio","ratioToCeiling"}`
 * where `overheadRatio = handleNsPerOp / directNsPerOp` and
 * `ratioToCeiling = subscribedNsPerOp / (2 × subjectNextNs)` (a subscribed op emits two events).
 * Every figure is the median of {@link RUNS} timed runs in one fresh process; the ceiling and the
 * subscribed op are timed alternately so that a change in machine load hits both.
 *
 * Run: `cd packages/core-bus && npm run bench` (builds, then `node dist/bench-op-cost.js`).
 * This module runs the benchmark when loaded: never import it.
 */
import { Subject } from 'rxjs';
import { LogicalClock } from './clock.js';
import type { DeviceHandle } from './device-handle.js';
import type { BusEvent } from './events.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { VdpaBus } from './vdpa-bus.js';

const RUNS = 5;
const FAST_ITERATIONS = 5_000_000;
const EVENT_ITERATIONS = 500_000;
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

/** Median ns per iteration of each body; the bodies' runs alternate. */
function measure(iterations: number, bodies: readonly Body[]): number[] {
  for (const body of bodies) body(Math.min(iterations, WARMUP_ITERATIONS)); // lets the JIT settle
  const samples = bodies.map((): number[] => []);
  for (let r = 0; r < RUNS; r++) {
    for (let b = 0; b < bodies.length; b++) samples[b].push(sample(iterations, bodies[b]));
  }
  return samples.map(median);
}

function round(ns: number): number {
  return Math.round(ns * ROUND_TO) / ROUND_TO;
}

const bus = new VdpaBus(new LogicalClock());
const transport = new FakeTransport('bench', ['virtio']);
bus.registerDriver(transport);
const device = new BenchDevice({ nvqs: 1 });
device.register(bus, { classIds: ['virtio'] });
const handle: DeviceHandle = transport.handle('vdpa0');

const [directNsPerOp] = measure(FAST_ITERATIONS, [
  (n) => {
    for (let i = 0; i < n; i++) device.kickVq(0);
  },
]);
const [handleNsPerOp] = measure(FAST_ITERATIONS, [
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
const [subjectNextNs, subscribedNsPerOp] = measure(EVENT_ITERATIONS, [
  (n) => {
    for (let i = 0; i < n; i++) ceiling.next(record);
  },
  (n) => {
    for (let i = 0; i < n; i++) handle.kickVq(0);
  },
]);
const remove = bus.addInterceptor((_call, next) => next());
const [interceptedNsPerOp] = measure(EVENT_ITERATIONS, [
  (n) => {
    for (let i = 0; i < n; i++) handle.kickVq(0);
  },
]);
remove();
sub.unsubscribe();
ceilingSub.unsubscribe();

if (seen === 0 || ceilingSeen === 0 || device.kicked === 0) throw new Error('benchmark did not run');
process.stdout.write(
  `${JSON.stringify({
    directNsPerOp: round(directNsPerOp),
    handleNsPerOp: round(handleNsPerOp),
    subscribedNsPerOp: round(subscribedNsPerOp),
    interceptedNsPerOp: round(interceptedNsPerOp),
    subjectNextNs: round(subjectNextNs),
    overheadRatio: round(handleNsPerOp / directNsPerOp),
    ratioToCeiling: round(subscribedNsPerOp / (EVENTS_PER_OP * subjectNextNs)),
  })}\n`,
);

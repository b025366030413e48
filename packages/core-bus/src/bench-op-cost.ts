/**
 * Benchmark of the config-ops channel: ns per `kickVq` (the per-batch datapath op) called
 * (a) directly on the device object, (b) through a `DeviceHandle` with no subscribers and no
 * interceptors (the fast path: no event objects built), (c) with one `events$` subscriber, and
 * (d) with one subscriber and one pass-through interceptor. Prints one JSON line:
 * `{"directNsPerOp","handleNsPerOp","subscribedNsPerOp","interceptedNsPerOp","overheadRatio"}` where
 * `overheadRatio = handleNsPerOp / directNsPerOp`. Medians of several runs in one fresh process.
 *
 * Run: `cd packages/core-bus && npx tsc -b tsconfig.lib.json && node dist/bench-op-cost.js`.
 * This module runs the benchmark when loaded: never import it.
 */
import { LogicalClock } from './clock.js';
import type { DeviceHandle } from './device-handle.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { VdpaBus } from './vdpa-bus.js';

const RUNS = 7;
const FAST_ITERATIONS = 5_000_000;
const EVENT_ITERATIONS = 500_000;
const NS_PER_MS = 1e6;

/** A fake whose kick does not record (no allocation), like a real device's doorbell. */
class BenchDevice extends FakeDevice {
  kicked = 0;
  override kickVq(idx: number): void {
    this.kicked += idx + 1;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(iterations: number, body: (n: number) => void): number {
  body(Math.min(iterations, 100_000)); // warm-up, lets the JIT settle
  const samples: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    body(iterations);
    samples.push(((performance.now() - start) * NS_PER_MS) / iterations);
  }
  return median(samples);
}

function round(ns: number): number {
  return Math.round(ns * 100) / 100;
}

const bus = new VdpaBus(new LogicalClock());
const transport = new FakeTransport('bench', ['virtio']);
bus.registerDriver(transport);
const device = new BenchDevice({ nvqs: 1 });
device.register(bus, { classIds: ['virtio'] });
const handle: DeviceHandle = transport.handle('vdpa0');

const directNsPerOp = measure(FAST_ITERATIONS, (n) => {
  for (let i = 0; i < n; i++) device.kickVq(0);
});
const handleNsPerOp = measure(FAST_ITERATIONS, (n) => {
  for (let i = 0; i < n; i++) handle.kickVq(0);
});
let seen = 0;
const sub = bus.events$.subscribe(() => {
  seen++;
});
const subscribedNsPerOp = measure(EVENT_ITERATIONS, (n) => {
  for (let i = 0; i < n; i++) handle.kickVq(0);
});
const remove = bus.addInterceptor({ before: () => undefined, after: () => undefined });
const interceptedNsPerOp = measure(EVENT_ITERATIONS, (n) => {
  for (let i = 0; i < n; i++) handle.kickVq(0);
});
remove();
sub.unsubscribe();

if (seen === 0 || device.kicked === 0) throw new Error('benchmark did not run');
process.stdout.write(
  `${JSON.stringify({
    directNsPerOp: round(directNsPerOp),
    handleNsPerOp: round(handleNsPerOp),
    subscribedNsPerOp: round(subscribedNsPerOp),
    interceptedNsPerOp: round(interceptedNsPerOp),
    overheadRatio: round(handleNsPerOp / directNsPerOp),
  })}\n`,
);

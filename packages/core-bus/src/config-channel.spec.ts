import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogicalClock } from './clock.js';
import type { OpName } from './config-ops.js';
import type { DeviceHandle } from './device-handle.js';
import { VdpaError } from './errors.js';
import { encodeArgs, encodeValue } from './event-codec.js';
import type { BusEvent, JsonValue, OpEvent } from './events.js';
import type { OpCall } from './interceptor.js';
import { FakeDevice } from './testing/fake-device.js';
import { FakeTransport } from './testing/fake-transport.js';
import { collectEvents, type EventCollector } from './testing/collect-events.js';
import { VdpaBus } from './vdpa-bus.js';

const NVQS = 2;

/** One step of a driver session: an op on the handle, or a device-side action. */
type Step =
  | { readonly op: OpName; readonly args: readonly unknown[] }
  | { readonly fail: OpName }
  | { readonly trigger: number };

/** An index that is mostly valid, sometimes out of range, and sometimes not an index at all. */
const index = fc.oneof(
  fc.integer({ min: 0, max: NVQS - 1 }),
  fc.integer({ min: -2, max: 1100 }),
  fc.constantFrom(-0, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 40),
);
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const step: fc.Arbitrary<Step> = fc.oneof(
  index.map((i): Step => ({ op: 'kickVq', args: [i] })),
  fc.tuple(index, u32).map(([i, n]): Step => ({ op: 'setVqNum', args: [i, n] })),
  fc.tuple(index, u32, u32, u32).map(([i, a, b, c]): Step => ({ op: 'setVqAddress', args: [i, a, b, c] })),
  fc.tuple(index, fc.boolean()).map(([i, r]): Step => ({ op: 'setVqReady', args: [i, r] })),
  index.map((i): Step => ({ op: 'getVqReady', args: [i] })),
  index.map((i): Step => ({ op: 'setVqCb', args: [i, (): void => undefined] })),
  fc
    .tuple(index, fc.integer({ min: 0, max: 0xffff }))
    .map(([i, a]): Step => ({ op: 'setVqState', args: [i, { kind: 'split', availIndex: a }] })),
  index.map((i): Step => ({ op: 'getVqState', args: [i] })),
  fc.integer({ min: 0, max: 0xff }).map((s): Step => ({ op: 'setStatus', args: [s] })),
  fc.constant<Step>({ op: 'getStatus', args: [] }),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((f): Step => ({ op: 'setDriverFeatures', args: [f] })),
  fc.constant<Step>({ op: 'getDeviceFeatures', args: [] }),
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 8 }))
    .map(([off, len]): Step => ({ op: 'getConfig', args: [off, new Uint8Array(len)] })),
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), fc.uint8Array({ maxLength: 6 }))
    .map(([off, bytes]): Step => ({ op: 'setConfig', args: [off, bytes] })),
  fc.constant<Step>({ op: 'suspend', args: [] }),
  fc.constantFrom<OpName>('kickVq', 'getStatus', 'setVqNum').map((op): Step => ({ fail: op })),
  fc.integer({ min: 0, max: NVQS - 1 }).map((i): Step => ({ trigger: i })),
);

/**
 * Runs `op` on the handle with `args` (fresh buffers are copied so that every stack gets its own; a
 * `setVqCb` registers a callback that records its vq index in `interrupts`).
 */
function callOp(h: DeviceHandle, op: OpName, args: readonly unknown[], interrupts: number[]): unknown {
  const a = args.map((v) => (v instanceof Uint8Array ? Uint8Array.from(v) : v)) as number[];
  switch (op) {
    case 'setVqCb':
      return h.setVqCb(a[0], () => interrupts.push(a[0]));
    case 'setVqState':
      return h.setVqState(a[0], args[1] as { kind: 'split'; availIndex: number });
    case 'setDriverFeatures':
      return h.setDriverFeatures(args[0] as bigint);
    case 'getConfig':
    case 'setConfig':
      return h[op](a[0], a[1] as unknown as Uint8Array);
    default:
      return (h[op as 'setVqAddress'] as (...v: number[]) => unknown)(...a);
  }
}

interface Outcome {
  readonly results: readonly JsonValue[];
  readonly deviceCalls: readonly JsonValue[];
  readonly interrupts: readonly number[];
  readonly events: readonly BusEvent[];
}

/**
 * Runs a session on a fresh stack: `observe` subscribes to `events$`, `intercept` adds a pass-through
 * interceptor (the general path). Each op's result or errno is recorded.
 */
function run(steps: readonly Step[], observe: boolean, intercept: boolean): Outcome {
  const bus = new VdpaBus(new LogicalClock());
  const t = new FakeTransport('virtio_vdpa', ['virtio']);
  bus.registerDriver(t);
  const fake = new FakeDevice({ nvqs: NVQS, without: ['suspend'] });
  fake.register(bus, { classIds: ['virtio'] });
  fake.calls.length = 0;
  const log: EventCollector | undefined = observe ? collectEvents(bus) : undefined;
  if (intercept) bus.addInterceptor((_call, next) => next());
  const h = t.handle('vdpa0');
  const results: JsonValue[] = [];
  const interrupts: number[] = [];
  for (const s of steps) {
    if ('fail' in s) fake.failOp(s.fail, 'EIO', 1);
    else if ('trigger' in s) fake.triggerVq(s.trigger);
    else {
      try {
        results.push(encodeValue(callOp(h, s.op, s.args, interrupts)));
      } catch (err) {
        results.push(`${VdpaError.from(err).code}: ${VdpaError.from(err).message}`);
      }
    }
  }
  return {
    results,
    deviceCalls: fake.calls.map((c) => [c.op, encodeArgs(c.op, c.args)]),
    interrupts,
    events: log?.events ?? [],
  };
}

describe('ConfigChannel paths', () => {
  it('the observed path, the intercepted path and the unobserved path agree on every session', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const observed = run(steps, true, false);
        const intercepted = run(steps, true, true);
        const unobserved = run(steps, false, false);
        expect(observed.events).toStrictEqual(intercepted.events);
        expect(observed.results).toStrictEqual(intercepted.results);
        expect(observed.results).toStrictEqual(unobserved.results);
        expect(observed.deviceCalls).toStrictEqual(unobserved.deviceCalls);
        expect(observed.interrupts).toStrictEqual(unobserved.interrupts);
        expect(unobserved.events).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('records each driver call with the codec encoding of its arguments, in frozen records and lists', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
        const { events } = run(steps, true, false);
        const calls = events.filter(
          (e): e is OpEvent => e.kind === 'op' && e.phase === 'call' && e.origin === undefined,
        );
        const expected = steps.flatMap((s) => ('op' in s ? [[s.op, encodeArgs(s.op, s.args)]] : []));
        expect(calls.map((e) => [e.op, e.args])).toStrictEqual(expected);
        for (const e of events) {
          expect(Object.isFrozen(e)).toBe(true);
          if ((e.kind === 'op' || e.kind === 'cb') && e.args !== undefined)
            expect(Object.isFrozen(e.args)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps -0 and out-of-range indices exact in recorded arguments', () => {
    const { events } = run(
      [
        { op: 'kickVq', args: [-0] },
        { op: 'kickVq', args: [0] },
        { op: 'kickVq', args: [5000] },
        { op: 'kickVq', args: [Number.NaN] },
      ],
      true,
      false,
    );
    const args = events.filter((e) => e.kind === 'op' && e.phase === 'call').map((e) => e.args);
    expect(args).toStrictEqual([[-0], [0], [5000], [null]]);
    expect(Object.is((args[0] as number[])[0], -0)).toBe(true);
  });

  it('builds no event while nobody observes: seq resumes where it stopped', () => {
    const bus = new VdpaBus(new LogicalClock());
    const t = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(t);
    new FakeDevice({ nvqs: NVQS }).register(bus, { classIds: ['virtio'] });
    const h = t.handle('vdpa0');
    const first = collectEvents(bus);
    h.kickVq(0);
    first.stop();
    for (let i = 0; i < 10; i++) h.kickVq(1);
    const second = collectEvents(bus);
    h.kickVq(0);
    second.stop();
    const last = first.events[first.events.length - 1];
    expect(second.events.map((e) => e.seq)).toEqual([last.seq + 1, last.seq + 2]);
  });

  it('lets an interceptor added while a call event is delivered take part in that op', () => {
    const bus = new VdpaBus(new LogicalClock());
    const t = new FakeTransport('virtio_vdpa', ['virtio']);
    bus.registerDriver(t);
    const fake = new FakeDevice({ nvqs: NVQS });
    fake.register(bus, { classIds: ['virtio'] });
    fake.calls.length = 0;
    const log = collectEvents(bus);
    const seen: OpCall[] = [];
    const adder = bus.events$.subscribe((e) => {
      if (e.kind === 'op' && e.op === 'getStatus' && e.phase === 'call') {
        bus.addInterceptor((call) => {
          seen.push(call);
          throw new VdpaError('EPERM', 'refused by a late interceptor');
        });
      }
    });
    let code: string | undefined;
    try {
      t.handle('vdpa0').getStatus();
    } catch (err) {
      code = VdpaError.from(err).code;
    }
    adder.unsubscribe();
    expect(code).toBe('EPERM');
    expect(seen.map((c) => [c.op, c.args, c.seq])).toEqual([['getStatus', [], log.events[0].seq]]);
    expect(fake.callNames()).toEqual([]);
    expect(log.events.map((e) => (e.kind === 'op' ? [e.op, e.phase, e.err] : e.op))).toEqual([
      ['getStatus', 'call', undefined],
      ['getStatus', 'error', 'EPERM'],
    ]);
  });
});
